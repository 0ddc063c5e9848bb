"""Benchmark: where the crawl's time goes, seen from inside. Our full crawl and the no-op spider
(the same URLs, as in crawl_scale.py) run in turns with an extension that samples the engine four
times a second (bench/_engine_monitor.py). Prints, per run: pages fetched in the first second;
then, over the steady state (from 1.25 s after the spider opened to 1 s before it closed), pages
per second and the CPU each process spends a page (the crawl process, and its ingest worker).
Prints figures; asserts nothing.

Why: the whole-crawl share in crawl_scale.py mixes the start (sitemaps read, thousands of
requests scheduled), the steady state and the end, and a noisy machine moves it by several
points between rounds. CPU per page in the steady state says which process sets the pace, and
by how much each would have to get cheaper.

Usage: python bench/crawl_steady.py [--articles 10000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from crawl_scale import COMMON, ROOT, monitored  # noqa: E402

MONITOR = {"_engine_monitor.EngineMonitor": 900}


def steady(samples: list[dict]) -> dict:
    """Steady-state figures from a run's samples."""
    end = samples[-1]["t"]
    window = [s for s in samples if 1.25 <= s["t"] <= end - 1.0]
    if len(window) < 4:
        raise SystemExit(f"a crawl of {end:.1f} s leaves no steady state to measure: "
                         "use more articles (--articles)")
    first, last = window[0], window[-1]
    seconds, pages = last["t"] - first["t"], last["pages"] - first["pages"]
    crawl_cpu = last["cpu"] - first["cpu"]
    worker_cpu = last["worker_cpu"] - first["worker_cpu"]
    early = max(s["pages"] for s in samples if s["t"] <= 1.0)
    return {"rate": pages / seconds, "crawl_busy": crawl_cpu / seconds,
            "crawl_ms": crawl_cpu / pages * 1000, "worker_busy": worker_cpu / seconds,
            "worker_ms": worker_cpu / pages * 1000, "first_second": early}


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def show(label: str, run: dict, figures: dict) -> None:
    print(f"{label:<22} {run['pages']:>6} {run['elapsed']:>7.2f} {figures['first_second']:>7} "
          f"{figures['rate']:>8.0f} {figures['crawl_busy']:>6.0%} {figures['crawl_ms']:>7.3f} "
          f"{figures['worker_busy']:>7.0%} {figures['worker_ms']:>7.3f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"{'crawl':<22} {'pages':>6} {'crawl s':>7} {'in 1st s':>7} {'steady':>8} "
          f"{'crawl':>6} {'ms/page':>7} {'worker':>7} {'ms/page':>7}")
    print("(steady: pages/s from 1.25 s to 1 s before the end; crawl, worker: share of a core "
          "busy, and CPU ms per page, in that window)")
    results: dict[str, list[dict]] = {"noop": [], "ours": []}
    labels = {"noop": "no-op spider", "ours": "our crawl"}
    with tempfile.TemporaryDirectory() as tmpdir:
        for spider, n, run, samples in monitored(args.articles, args.rounds, MONITOR,
                                                 "MONITOR_FILE", Path(tmpdir)):
            figures = steady(read(samples))
            results[spider].append(figures)
            show(f"{labels[spider]} #{n}", run, figures)
    for key in ("noop", "ours"):
        runs = results[key]
        print(f"median, {key}: steady {statistics.median(r['rate'] for r in runs):.0f} pages/s, "
              f"crawl process {statistics.median(r['crawl_ms'] for r in runs):.3f} ms/page"
              + ("" if key == "noop" else ", worker "
                 f"{statistics.median(r['worker_ms'] for r in runs):.3f} ms/page")
              + f", {statistics.median(r['first_second'] for r in runs):.0f} pages in the "
                "first second")
    shares = [o["rate"] / b["rate"] for o, b in zip(results["ours"], results["noop"])]
    print("steady-state share of the no-op spider's rate, round by round: "
          + ", ".join(f"{s:.0%}" for s in shares) + f"; median {statistics.median(shares):.0%}")
    print(f"(COMMON settings for both: {COMMON}; project folder {ROOT})")


if __name__ == "__main__":
    main()
