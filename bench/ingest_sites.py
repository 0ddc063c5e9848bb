"""Benchmark: the ingest worker's CPU per page, in this process, for three passes over a
generated family: the first site, then its sister site, then the first site again (a full
re-check, FULL_RECHECK: every page fetched again, a day later, unchanged).

The pages go through ``Ingester.ingest`` into a fresh SQLite archive in batches of 50, as a crawl
hands them over. About half of the sister site's pages are copies of articles the first site
gave (sister copies); every page of the re-check is a page seen again. ``Archive.save_many``
writes both kinds a batch at a time. For comparison the same passes run with those two kinds
written one record at a time through the ORM path (``save_in``), as before, new articles still a
batch at a time. Both ways run in turns, ``--rounds`` times; the medians are printed with their
ratio. CPU time (``process_time``), not wall time. Prints figures; asserts nothing.

Usage: python bench/ingest_sites.py [--articles 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pressarchive.fetched import FetchedPage  # noqa: E402
from pressarchive.ingest import Ingester  # noqa: E402
from pressarchive.sitegen import SiteFamily, render_page  # noqa: E402
from pressarchive.storage import Archive  # noqa: E402
from pressarchive.storage.archive import _Plan  # noqa: E402

BATCH = 50
FIRST, SECOND = "arabpress", "saudipress"
DAY_ONE, DAY_TWO = "2025-06-20T10:00:00+00:00", "2025-06-21T10:00:00+00:00"


def pages_of(family: SiteFamily, site: str) -> list[tuple[str, object]]:
    """(public URL, rendered page) of every article of ``site``."""
    out = []
    for i in range(family.count):
        if site in family.sites_of(i):
            url = family.article(i).url(site)
            out.append((url, render_page(family, site, url.split(".com", 1)[1])))
    return out


def fetched(url: str, page, site: str, when: str) -> FetchedPage:
    return FetchedPage(url=url, final_url=url, requested_url=url, status=page.status,
                       headers={"Content-Type": page.content_type, "ETag": page.etag},
                       body=page.body, fetched_at=when, site=site)


def ingest(ingester: Ingester, items: list[FetchedPage]) -> tuple[float, Counter]:
    """CPU seconds to ingest ``items`` in batches, and what they added."""
    added: Counter = Counter()
    start = time.process_time()
    for k in range(0, len(items), BATCH):
        added.update(outcome.key for outcome in ingester.ingest(items[k:k + BATCH]))
    return time.process_time() - start, added


def run(passes: dict[str, tuple[str, list, str]], known_alone: bool
        ) -> dict[str, tuple[float, Counter]]:
    """The passes, in order, into a fresh archive: CPU seconds and outcomes of each."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = Archive(f"sqlite:///{tmp}/a.sqlite")
        if known_alone:  # new articles still batched; copies and pages seen again alone
            batchable = archive._batchable
            archive._batchable = lambda session, entries: _Plan(
                fresh=batchable(session, entries).fresh)
        ingester = Ingester(archive, records=False)
        out = {name: ingest(ingester, [fetched(url, page, site, when) for url, page in pages])
               for name, (site, pages, when) in passes.items()}
        archive.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    family = SiteFamily(args.articles, seed=0)
    first, second = pages_of(family, FIRST), pages_of(family, SECOND)
    passes = {FIRST: (FIRST, first, DAY_ONE), SECOND: (SECOND, second, DAY_ONE),
              f"{FIRST} again": (FIRST, first, DAY_TWO)}
    per_page: dict[tuple[bool, str], list[float]] = {}
    added = {}
    for _ in range(args.rounds):
        for known_alone in (False, True):
            for name, (cpu, keys) in run(passes, known_alone).items():
                per_page.setdefault((known_alone, name), []).append(cpu / len(passes[name][1]))
                added[name] = keys
    print(f"{args.articles:,}-article family, batches of {BATCH}, median of {args.rounds} "
          "rounds, CPU us per page")
    for name, (_, pages, _) in passes.items():
        print(f"  {name}: {len(pages):,} pages, {dict(added[name])}")
    print(f"{'pass':<16} {'batched':>8} {'one at a time':>14} {'ratio':>6}")
    for name in passes:
        batched = statistics.median(per_page[(False, name)]) * 1e6
        alone = statistics.median(per_page[(True, name)]) * 1e6
        print(f"{name:<16} {batched:>8.0f} {alone:>14.0f} {batched / alone:>6.2f}")


if __name__ == "__main__":
    main()
