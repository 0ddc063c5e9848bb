"""Benchmark: what the runs after the first ask a site for, as a scheduler starts them.

Over a generated site of ``--articles`` (10,000 by default), one archive: a first crawl; an
unchanged rerun, whose home page and listings answer 304; two unchanged reruns against the same
site serving its pages that are not articles without validators (``hub_validators=False``), as
a news site whose front pages change by the hour does, so that they are read again each time.
Then, from a copy of the archive as the first crawl left it: ``--stamped-runs`` (7) reruns of
the same site with every sitemap lastmod the time the sitemap was asked for (an hour later
each run), as on a site that makes its sitemaps on each request, one article edited after
the first of them (a site none of whose edits a conditional request has told of is not
trusted with conditional requests for pages whose lastmods run ahead): first with
LASTMOD_AHEAD_REVISIT at 0 (every known article asked for on every run, as its lastmod
says), then, from the copy again, as it comes (20 hours: a page whose lastmods ran ahead of
it twice waits that long after its last check, and these reruns are an hour apart); and, from
that copy again, a run after the site advances a day, then a rerun of that. Each row gives the
requests made, the 304s among them, what was stored, the known pages fetched in full and found
unchanged, the known articles settled by their sitemap without a request, those left for a
later run (not due), the megabytes received, and the wall time. Every run's server listens on
the same port, as a site keeps its origin (its pages name it, and so do their ETags).

Prints figures; asserts nothing (tests/test_incremental.py and tests/test_schedule.py hold the
behaviour). Usage: python bench/rerun_requests.py [--articles 10000] [--seed 3]
[--stamped-runs 7]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import crawl_scale  # noqa: E402
from pressarchive.sitegen import FamilyServer, SiteFamily  # noqa: E402

SITE = "arabpress"
COLUMNS = ("requests", "304s", "new", "versions", "in full", "settled", "not due", "MB",
           "wall s")


def free_ports(count: int) -> int:
    """A port from which ``count`` ports in a row are free now: every run's server listens
    there, so the site's pages (which name its origin) are the same bytes, with the same
    ETags, from one run to the next, as a real site's are."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        try:
            for port in range(base, base + count):
                with socket.socket() as taken:
                    taken.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue


PORT_BASE = free_ports(2)


def run(family: SiteFamily, db: Path, tmp: Path, label: str, settings=None, **server) -> None:
    with FamilyServer(family, cache_pages=10 * family.count + 1000, port_base=PORT_BASE,
                      **server) as site:
        start = time.perf_counter()
        crawl_scale.crawl(site.origins[SITE], db, tmp, label, LOG_LEVEL="WARNING",
                          **(settings or {}))
        wall = time.perf_counter() - start
    stats = json.loads((tmp / f"stats-{label}.json").read_text())
    figures = (stats.get("downloader/request_count", 0),
               stats.get("pressarchive/not_modified", 0),
               stats.get("pressarchive/stored/new_article", 0),
               stats.get("pressarchive/stored/new_version", 0),
               stats.get("pressarchive/stored/unchanged", 0),
               stats.get("pressarchive/skipped/listed", 0),
               stats.get("pressarchive/lastmod_ahead/not_due", 0))
    received = stats.get("downloader/response_bytes", 0) / 1e6
    print(f"{label:<44}" + "".join(f"{n:>10,}" for n in figures) + f"{received:>10.2f}"
          + f"{wall:>10.1f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--stamped-runs", type=int, default=7)
    args = parser.parse_args()
    family = SiteFamily(args.articles, seed=args.seed)
    print(f"{'run':<44}" + "".join(f"{c:>10}" for c in COLUMNS))
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        db, first = tmp / "archive.sqlite", tmp / "first.sqlite"
        run(family, db, tmp, "first crawl")
        shutil.copy(db, first)
        run(family, db, tmp, "unchanged rerun, front pages 304")
        run(family, db, tmp, "unchanged rerun, front pages 200", hub_validators=False)
        run(family, db, tmp, "again, front pages 200", hub_validators=False)
        for revisit in ("0", "20"):
            shutil.copy(first, db)
            clock = [dt.datetime.now(dt.timezone.utc).replace(microsecond=0)]
            stamped = SiteFamily(args.articles, seed=args.seed)  # the same site, edited apart
            print("(sitemaps stamped with the time they are asked for, an hour later each run;"
                  " front pages 304; one article edited after the first, so that a conditional"
                  f" request tells of an edit; LASTMOD_AHEAD_REVISIT={revisit})")
            for n in range(1, args.stamped_runs + 1):
                if n == 2:
                    stamped.edit(stamped.ids(SITE)[-1])
                clock[0] += dt.timedelta(hours=1)
                run(stamped, db, tmp, f"rerun {n}, stamped, revisit {revisit} h",
                    {"LASTMOD_AHEAD_REVISIT": revisit}, lastmods_at=lambda: clock[0])
        shutil.copy(first, db)
        plan = family.advance(1)
        print(f"(the site advances a day: {sum(SITE in family.sites_of(i) for i in plan['new'])}"
              f" new articles and {sum(SITE in family.sites_of(i) for i in plan['edited'])}"
              f" edited on {SITE})")
        run(family, db, tmp, "after a day's advance, front pages 200", hub_validators=False)
        run(family, db, tmp, "its rerun, front pages 200", hub_validators=False)


if __name__ == "__main__":
    main()
