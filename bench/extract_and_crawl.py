"""Benchmark: extraction time per page against a bare lxml parse, and crawl throughput of the
bundled local site. Prints figures; asserts nothing. Ratios come from one run on one machine.

Usage: python bench/extract_and_crawl.py [--repeat 20] [--crawls 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import lxml.html

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pressarchive.extract import extract  # noqa: E402
from pressarchive.localsite import FIXTURES, serving, site_roots  # noqa: E402


def best_of(fn, repeat: int) -> float:
    """The fastest of ``repeat`` runs, in seconds: the least disturbed by a noisy machine."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_extract(repeat: int) -> None:
    print(f"extraction, best of {repeat} runs per page")
    print(f"{'case':<40} {'KiB':>6} {'lxml ms':>8} {'extract ms':>10} {'ratio':>6}")
    ratios = []
    total_extract = 0.0
    cases = sorted(p for p in (FIXTURES / "articles").iterdir() if (p / "page.html").exists())
    for case in cases:
        meta = json.loads((case / "meta.json").read_text())
        html = (case / "page.html").read_bytes()
        parse = best_of(lambda: lxml.html.fromstring(html), repeat)
        ours = best_of(lambda: extract(html, meta["url"], meta["fetched_at"],
                                       site=meta.get("site")), repeat)
        ratios.append(ours / parse)
        total_extract += ours
        print(f"{case.name:<40} {len(html) / 1024:>6.1f} {parse * 1e3:>8.3f} {ours * 1e3:>10.3f} "
              f"{ours / parse:>6.1f}")
    print(f"median ratio extract/lxml.html.fromstring: {statistics.median(ratios):.1f}x; "
          f"mean extract time {total_extract / len(cases) * 1e3:.2f} ms/page "
          f"({len(cases) / total_extract:.0f} pages/s on one core)")


def bench_crawl(crawls: int) -> None:
    print(f"\ncrawl of the bundled local site (both sites, {crawls} fresh archives)")
    rates = []
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        servers = {s: stack.enter_context(serving(s, r)) for s, r in site_roots().items()}
        for n in range(crawls):
            pages = 0
            elapsed = 0.0
            for site, server in servers.items():
                stats_file = Path(tmp) / f"stats-{n}-{site}.json"
                cmd = [sys.executable, "-m", "scrapy", "crawl", site, "-a",
                       f"base_url={server.origin}", "-s", f"ARCHIVE_URL=sqlite:///{tmp}/a{n}.sqlite",
                       "-s", f"STATS_FILE={stats_file}", "-s", "LOG_LEVEL=ERROR",
                       "-s", "AUTOTHROTTLE_START_DELAY=0", "-s", "AUTOTHROTTLE_MAX_DELAY=1"]
                env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "pressarchive.settings"}
                subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True)
                stats = json.loads(stats_file.read_text())
                pages += stats["response_received_count"]
                elapsed += float(stats["elapsed_time_seconds"])
            rates.append(pages / elapsed)
            print(f"run {n + 1}: {pages} responses in {elapsed:.2f} s (crawl time, excluding "
                  f"process start-up): {pages / elapsed:.1f} pages/s")
    print(f"median crawl throughput: {statistics.median(rates):.1f} pages/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--crawls", type=int, default=3)
    args = parser.parse_args()
    bench_extract(args.repeat)
    bench_crawl(args.crawls)


if __name__ == "__main__":
    main()
