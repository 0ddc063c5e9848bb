"""Benchmark: the no-op spider of ``bench/crawl_scale.py`` alone, and beside a busy process on
the second core, in turns. Prints each run's rate and CPU a page and the medians' ratio;
asserts nothing.

Why: ``crawl_scale.py`` compares our crawl's rate with the no-op spider's, which has the
machine nearly to itself (the server's thread takes about a sixth of a core), while our crawl
keeps the second core busy with its ingest worker. This measures what a busy second core
alone costs the no-op spider, before any work of ours: the busy process (a pure Python loop
at ``nice`` 19, so the server's thread still gets a core when it wants one) stands in for the
worker.

Usage: python bench/noop_neighbor.py [--articles 10000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crawl_scale import noop, warm_up  # noqa: E402 - from bench/, this script's directory
from pressarchive.sitegen import FamilyServer, SiteFamily  # noqa: E402

BUSY = [sys.executable, "-c", "while True: pass"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    runs: dict[str, list[tuple[float, float]]] = {"alone": [], "beside a busy core": []}
    with tempfile.TemporaryDirectory() as name, FamilyServer(
            SiteFamily(args.articles, seed=0), cache_pages=10 * args.articles + 1000) as server:
        tmp = Path(name)
        _, urls = warm_up(server.origins["arabpress"], tmp)  # every page rendered, and listed
        for n in range(1, args.rounds + 1):
            for mode in runs:
                busy = subprocess.Popen(["nice", "-n", "19", *BUSY]) if mode != "alone" else None
                try:
                    run = noop(urls, tmp)
                finally:
                    if busy is not None:
                        busy.kill()
                        busy.wait()
                rate, cpu = run["pages"] / run["elapsed"], run["crawl_cpu"] / run["pages"] * 1000
                runs[mode].append((rate, cpu))
                print(f"no-op spider {mode:18s} #{n}: {rate:6.0f} pages/s, {cpu:.3f} ms CPU a page",
                      flush=True)
    alone, beside = (statistics.median(rate for rate, _ in runs[m]) for m in runs)
    print(f"medians: alone {alone:.0f} pages/s, beside a busy core {beside:.0f} pages/s: "
          f"{beside / alone:.0%} of its rate alone")


if __name__ == "__main__":
    main()
