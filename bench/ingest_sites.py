"""Benchmark: the ingest worker's CPU per page for the two sites of a family, in this process.

A generated family's pages (the first site's, then the second's, in batches of 50, as a crawl of
each site in turn hands them over) go through ``Ingester.ingest`` into a fresh SQLite archive.
About half of the second site's pages are copies of articles the first site already gave
(sister copies); ``Archive.save_many`` writes those a batch at a time. The same pages are then
ingested with each sister copy written one at a time through the ORM path (``save_in``), as
they were before, new articles still a batch at a time. Both ways run in turns, ``--rounds``
times, and the medians are printed with their ratio. CPU time (``process_time``), not wall time. Prints figures; asserts
nothing.

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

BATCH = 50
FIRST, SECOND = "arabpress", "saudipress"


def pages_of(family: SiteFamily, site: str) -> list[tuple[str, object]]:
    """(public URL, rendered page) of every article of ``site``."""
    out = []
    for i in range(family.count):
        if site in family.sites_of(i):
            url = family.article(i).url(site)
            out.append((url, render_page(family, site, url.split(".com", 1)[1])))
    return out


def fetched(url: str, page, site: str) -> FetchedPage:
    return FetchedPage(url=url, final_url=url, requested_url=url, status=page.status,
                       headers={"Content-Type": page.content_type, "ETag": page.etag},
                       body=page.body, fetched_at="2025-06-20T10:00:00+00:00", site=site)


def ingest(ingester: Ingester, items: list[FetchedPage]) -> tuple[float, Counter]:
    """CPU seconds to ingest ``items`` in batches, and what they added."""
    added: Counter = Counter()
    start = time.process_time()
    for k in range(0, len(items), BATCH):
        added.update(outcome.key for outcome in ingester.ingest(items[k:k + BATCH]))
    return time.process_time() - start, added


def run(sites: dict[str, list], copies_alone: bool) -> dict[str, tuple[float, Counter]]:
    """Both sites ingested into a fresh archive: CPU seconds and outcomes, per site."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = Archive(f"sqlite:///{tmp}/a.sqlite")
        if copies_alone:  # new articles still batched; sister copies through save_in
            batchable = archive._batchable
            archive._batchable = lambda session, entries: (batchable(session, entries)[0], {})
        ingester = Ingester(archive, records=False)
        out = {site: ingest(ingester, [fetched(url, page, site) for url, page in pages])
               for site, pages in sites.items()}
        archive.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    family = SiteFamily(args.articles, seed=0)
    sites = {site: pages_of(family, site) for site in (FIRST, SECOND)}
    per_page: dict[tuple[bool, str], list[float]] = {}
    added = {}
    for _ in range(args.rounds):
        for copies_alone in (False, True):
            for site, (cpu, keys) in run(sites, copies_alone).items():
                per_page.setdefault((copies_alone, site), []).append(cpu / len(sites[site]))
                added[site] = keys
    print(f"{args.articles:,}-article family, batches of {BATCH}, median of {args.rounds} "
          "rounds, CPU us per page")
    for site in sites:
        print(f"  {site}: {len(sites[site]):,} pages, {dict(added[site])}")
    print(f"{'site':<12} {'copies batched':>14} {'copies alone':>13} {'ratio':>6}")
    for site in sites:
        batched = statistics.median(per_page[(False, site)]) * 1e6
        alone = statistics.median(per_page[(True, site)]) * 1e6
        print(f"{site:<12} {batched:>14.0f} {alone:>13.0f} {batched / alone:>6.2f}")


if __name__ == "__main__":
    main()
