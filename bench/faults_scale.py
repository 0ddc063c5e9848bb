"""Benchmark: what a crawl of a large misbehaving site archives, run after run.

The test suite checks fault tolerance on a few hundred articles (tests/test_faults.py); this
runs the same kind of crawl on a generated site of ``--articles`` (10,000 by default) with
every fault the server knows at once, on article pages or (``--all-pages``) on every page:
sitemaps, feeds and listings too. The crawl runs ``--runs`` times into one archive (the first
run, then follow-up runs over the same, unchanged site), each a ``scrapy crawl`` as a scheduler
starts it, with DOWNLOAD_TIMEOUT below the server's hold time, so that a "timeout" fault is
one.

After each run it prints the pages fetched, the share of the site's articles archived, the
failures by kind, and checks every stored record: nothing but the site's articles, each
headline and body as the site has it, and SQLite's ``PRAGMA integrity_check``. Prints figures;
asserts nothing.

Usage: python bench/faults_scale.py [--articles 10000] [--runs 3] [--all-pages] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import crawl_scale  # noqa: E402
from pressarchive.sitegen import FamilyServer, Faults, SiteFamily  # noqa: E402

SITE = "arabpress"


def faults(seed: int, all_pages: bool) -> Faults:
    """Every fault at once: the issue's transport faults (10% 5xx, 5% timeouts, 2% truncated
    bodies, 1% resets) and 2 to 3% of each kind of bad answer."""
    return Faults(seed=seed, error_5xx=0.10, timeout=0.05, timeout_seconds=3, truncated=0.02,
                  reset=0.01, soft_404=0.02, redirect_chain=0.03, redirect_loop=0.02,
                  offsite_redirect=0.02, error_429=0.02, error_503_retry_after=0.02,
                  faults_on_all=all_pages)


def check(db: Path, expected: dict) -> tuple[int, int, int, str]:
    """(articles of the site archived, records that are not the site's articles, records whose
    headline or body differ from the site's, integrity_check's answer)."""
    con = sqlite3.connect(db)
    try:
        stored = con.execute(
            "SELECT a.url, v.headline, v.body FROM appearances a "
            "JOIN versions v ON v.id = a.version_id WHERE a.site = ?", (SITE,)).fetchall()
        integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()
    urls = {url for url, _, _ in stored}
    foreign = len(urls - expected.keys())
    wrong = sum(1 for url, headline, body in stored if url in expected
                and (headline, body) != (expected[url].headline, expected[url].body_text))
    return len(urls & expected.keys()), foreign, wrong, integrity


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--all-pages", action="store_true",
                        help="faults on every page (sitemaps, feeds, listings), not only articles")
    parser.add_argument("--seed", type=int, default=7, help="seed of the site and its faults")
    args = parser.parse_args()
    family = SiteFamily(args.articles, seed=args.seed)
    expected = {family.article(i).url(SITE): family.article(i) for i in family.ids(SITE)}
    chosen = faults(args.seed, args.all_pages)
    print(f"{len(expected)} articles on {SITE}; faults on "
          f"{'every page' if args.all_pages else 'article pages'}")
    print(f"{'run':>3} {'wall s':>7} {'pages':>6} {'archived':>9} {'share':>9} {'foreign':>7} "
          f"{'wrong':>5} {'integrity':>9}  failures by kind")
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        db = tmp / "archive.sqlite"
        with FamilyServer(family, faults=chosen, cache_pages=10 * args.articles + 1000) as server:
            for run in range(args.runs):
                start = time.perf_counter()
                result = crawl_scale.crawl(server.origins[SITE], db, tmp, f"run{run}",
                                           DOWNLOAD_TIMEOUT="1", LOG_LEVEL="WARNING")
                wall = time.perf_counter() - start
                stats = json.loads((tmp / f"stats-run{run}.json").read_text())
                failed = {key.rsplit("/", 1)[1]: value for key, value in sorted(stats.items())
                          if key.startswith("pressarchive/failed/")}
                archived, foreign, wrong, integrity = check(db, expected)
                print(f"{run:>3} {wall:>7.1f} {result['pages']:>6} {archived:>9} "
                      f"{archived / len(expected):>9.3%} {foreign:>7} {wrong:>5} "
                      f"{integrity:>9}  {failed or '-'}", flush=True)
            print("faults served:", dict(sorted(server.requests["by_fault"].items())))


if __name__ == "__main__":
    main()
