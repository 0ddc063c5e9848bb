"""Benchmark: how long each crawl process waits in its event loop, and for what. Our full crawl
and the no-op spider (the same URLs, as in crawl_scale.py) run in turns with an extension that
times every ``select()`` the reactor makes (bench/_idle_monitor.py). Prints, per run, the crawl
time, the crawl process's CPU seconds over it (its threads included), and the seconds it was
blocked, by what it had in hand meanwhile. Prints figures; asserts nothing.

Why: crawl_scale.py's ceiling says how fast the CPU a page would let a crawl go; a crawl falls
short of it either by waiting (for the server, AutoThrottle's delay, the ingest worker) or by
waiting for a core. This tells the first from the second: what is not CPU and not blocked is
time spent runnable but not running.

Usage: python bench/crawl_idle.py [--articles 10000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from crawl_scale import monitored  # noqa: E402

MONITOR = {"_idle_monitor.IdleMonitor": 900}
KINDS = ("transfers", "delay", "worker", "nothing", "poll")


def show(label: str, run: dict, idle: dict) -> None:
    blocked = idle["blocked"]
    other = idle["wall"] - idle["cpu"] - sum(blocked.values())
    print(f"{label:<20} {run['pages']:>6} {idle['wall']:>7.2f} {idle['cpu']:>6.2f} "
          + " ".join(f"{blocked.get(kind, 0.0):>9.3f}" for kind in KINDS)
          + f" {max(other, 0.0):>9.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    print(f"{'crawl':<20} {'pages':>6} {'crawl s':>7} {'CPU s':>6} "
          + " ".join(f"{kind:>9}" for kind in KINDS) + f" {'no core':>9}")
    print("(seconds from the spider's opening to its closing; blocked in select() by what was "
          "in hand:\n transfers: requests with the server; delay: requests held back by "
          "AutoThrottle; worker: items\n at the ingest worker, nothing to fetch; poll: "
          "zero-timeout checks; no core: the rest, runnable\n but not running)")
    labels = {"noop": "no-op spider", "ours": "our crawl"}
    with tempfile.TemporaryDirectory() as tmpdir:
        for spider, n, run, out in monitored(args.articles, args.rounds, MONITOR, "IDLE_FILE",
                                             Path(tmpdir)):
            show(f"{labels[spider]} #{n}", run, json.loads(out.read_text()))


if __name__ == "__main__":
    main()
