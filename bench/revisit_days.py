"""Benchmark: a run a day for weeks against sitemaps stamped with the time they were made,
with and without the revisit growing for pages that stay unchanged.

Such sitemaps give every known article a new ``lastmod`` on every run, so a page whose
lastmods have run ahead of it twice waits LASTMOD_AHEAD_REVISIT (20 hours) after its last
check; with a run a day that is every known article every day. LASTMOD_AHEAD_REVISIT_MAX
lets the wait double with each further check that found the page unchanged, up to that many
hours. Over a generated site of ``--articles`` (2,000), from a fresh archive each time, ``--days``
(21) runs a day apart: the site advances a day before each run after the first (new articles,
a few edited), and the archive's record of when each page was last checked is moved back a
day (the crawl reads the real clock; the site's sitemaps are stamped with a simulated one),
and so is LASTMOD_AHEAD_REVISIT_EPOCH, where the grids of the longest wait start.
Once with the maximum at 20 (no growth), once at 160 (the default). Each row: the requests,
the known articles asked for (in full or answered 304), those left not due, new articles, new
versions, megabytes, wall time. After each series: its totals, and for every edit the site
made, how many days it took to be stored (an edit of an article not yet due waits for it).
``--young-edits N`` edits N more articles a day, each published within the week before
(news is corrected most while it is young; the site's own edits fall anywhere in its back
catalogue), and gives their days until stored apart.

Prints figures; asserts nothing (tests/test_incremental.py and tests/test_lastmod_skip.py
hold the behaviour). Usage: python bench/revisit_days.py [--articles 2000] [--days 21]
[--max 20 160] [--young-edits 0] [--set NAME=VALUE ...]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import crawl_scale  # noqa: E402
from rerun_requests import PORT_BASE  # noqa: E402
from pressarchive.sitegen import FamilyServer, SiteFamily  # noqa: E402

SITE = "arabpress"
COLUMNS = ("requests", "asked", "304s", "not due", "new", "versions", "MB", "wall s")


def stored(db: Path, url: str) -> tuple[str, str] | None:
    """The headline and body of the version the archive holds at ``url`` now."""
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT v.headline, v.body FROM appearances a JOIN versions v "
                           "ON v.id = a.version_id WHERE a.url = ?", (url,)).fetchone()
    finally:
        con.close()


def a_day_passes(db: Path) -> None:
    """Every page's last check moved a day back, as if this run came a day after the last."""
    con = sqlite3.connect(db)
    try:
        with con:
            con.execute("UPDATE pages SET last_fetched = datetime(last_fetched, '-24 hours') "
                        "WHERE last_fetched IS NOT NULL")
    finally:
        con.close()


def series(args, max_hours: int, tmp: Path) -> None:
    family = SiteFamily(args.articles, seed=args.seed)
    db = tmp / f"revisit-{max_hours}.sqlite"
    clock = [dt.datetime.now(dt.timezone.utc).replace(microsecond=0)]
    pending: dict[int, int] = {}  # article -> the day of its oldest edit not yet stored
    delays: list[int] = []
    young: set[int] = set()  # the articles pending for a young edit (--young-edits)
    young_delays: list[int] = []
    rng = random.Random(args.seed)
    totals = [0] * len(COLUMNS)
    requests: list[int] = []  # each run's after the first
    print(f"(LASTMOD_AHEAD_REVISIT_MAX={max_hours}"
          + "".join(f", {name}={value}" for name, value in args.settings.items()) + ")")
    for day in range(args.days):
        if day:
            plan = family.advance(1)
            for i in plan["edited"]:
                if SITE in family.sites_of(i):
                    pending.setdefault(i, day)
            for i in young_articles(family, rng, args.young_edits):
                family.edit(i, "body" if rng.random() < 0.7 else "headline")
                if i not in pending:
                    pending[i] = day
                    young.add(i)
            a_day_passes(db)
            clock[0] += dt.timedelta(days=1)
        label = f"day {day + 1}, max {max_hours} h"
        with FamilyServer(family, cache_pages=10 * family.count + 1000, port_base=PORT_BASE,
                          lastmods_at=lambda: clock[0]) as site:
            start = time.perf_counter()
            # The clock stays, the archive's times move back: the grids of the longest
            # wait (crawlstate.REVISIT_PHASES), fixed in time, move back with them.
            epoch = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc) - dt.timedelta(days=day)
            crawl_scale.crawl(site.origins[SITE], db, tmp, "revisit", **{
                "LOG_LEVEL": "WARNING", "LASTMOD_AHEAD_REVISIT_MAX": str(max_hours),
                "LASTMOD_AHEAD_REVISIT_EPOCH": epoch.isoformat(), **args.settings})
            wall = time.perf_counter() - start
        stats = json.loads((tmp / "stats-revisit.json").read_text())
        asked = (stats.get("pressarchive/not_modified", 0)
                 + stats.get("pressarchive/stored/unchanged", 0)
                 + stats.get("pressarchive/stored/new_version", 0))
        figures = [stats.get("downloader/request_count", 0), asked,
                   stats.get("pressarchive/not_modified", 0),
                   stats.get("pressarchive/lastmod_ahead/not_due", 0),
                   stats.get("pressarchive/stored/new_article", 0),
                   stats.get("pressarchive/stored/new_version", 0),
                   stats.get("downloader/response_bytes", 0) / 1e6, wall]
        if day:  # the first crawl is the same in both series
            totals = [t + f for t, f in zip(totals, figures)]
            requests.append(figures[0])
        for i in list(pending):
            now = family.article(i, SITE)
            if stored(db, now.url(SITE)) == (now.headline, now.body_text):
                delays.append(day - pending.pop(i))
                if i in young:
                    young.discard(i)
                    young_delays.append(delays[-1])
        print(f"{label:<24}" + "".join(f"{n:>10,}" for n in figures[:6])
              + f"{figures[6]:>10.2f}{figures[7]:>10.1f}", flush=True)
    print(f"{'after the first, total':<24}" + "".join(f"{int(n):>10,}" for n in totals[:6])
          + f"{totals[6]:>10.2f}{totals[7]:>10.1f}")
    if requests:
        last_week = requests[-7:]
        print(f"requests a run after the first: largest {max(requests):,}, median "
              f"{statistics.median(requests):,}; the last {len(last_week)} runs: "
              f"{min(last_week):,} to {max(last_week):,}")
    if delays:
        print(f"edits stored: {len(delays)}, days until stored: median "
              f"{statistics.median(delays)}, mean {statistics.mean(delays):.2f}, "
              f"max {max(delays)}; not stored yet at the end: {len(pending)}")
    else:
        print(f"no edit stored; not stored yet at the end: {len(pending)}")
    if args.young_edits:
        print(f"of them, edits of articles under a week old: {len(young_delays)} stored"
              + (f", days until stored: median {statistics.median(young_delays)}, mean "
                 f"{statistics.mean(young_delays):.2f}, max {max(young_delays)}"
                 if young_delays else "") + f"; not stored yet at the end: {len(young)}")


def young_articles(family: SiteFamily, rng: random.Random, count: int) -> list[int]:
    """Up to ``count`` articles of SITE published within the week before the family's day,
    picked by ``rng``."""
    week_ago = dt.datetime.combine(family.today - dt.timedelta(days=7), dt.time(),
                                   dt.timezone.utc)
    recent = []
    for i in range(family.count - 1, -1, -1):  # ids run in publication order
        if family.published(i) < week_ago:
            break
        if SITE in family.sites_of(i):
            recent.append(i)
    return rng.sample(recent, min(count, len(recent)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--days", type=int, default=21)
    parser.add_argument("--max", type=int, nargs="+", default=[20, 160],
                        help="LASTMOD_AHEAD_REVISIT_MAX of each series (hours)")
    parser.add_argument("--young-edits", type=int, default=0, metavar="N",
                        help="edit N more articles a day, each under a week old")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting for every crawl (LASTMOD_STAMPED_MIN=0, say); may be "
                        "given more than once")
    args = parser.parse_args()
    args.settings = {}
    for pair in args.set:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            parser.error(f"--set takes NAME=VALUE, not {pair!r}")
        args.settings[name] = value
    print(f"{'run':<24}" + "".join(f"{c:>10}" for c in COLUMNS))
    with tempfile.TemporaryDirectory() as tmpdir:
        for max_hours in args.max:
            series(args, max_hours, Path(tmpdir))


if __name__ == "__main__":
    main()
