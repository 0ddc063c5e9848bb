"""Benchmark: rebuilding an archive from the WARC records its crawls kept (``pressarchive
reextract --into``, ``pressarchive.reextract.rebuild``), against the crawl that made them.

Both sister sites of a generated family (``SiteFamily``, seed 3) are crawled once with
WARC_DIR, on 127.0.0.1, by ``pressarchive crawl``; then the archive is rebuilt in this process
into a new SQLite archive, ``--rounds`` times, each round also timing a pass that only reads
every capture's record back (``read_capture``), so the share of a rebuild spent reading WARC
shows. Figures are CPU seconds of this process and wall time; the crawl's line is its wall time
(three processes, the server included). Prints figures; asserts nothing.

Usage: python bench/rebuild.py [--articles 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from pressarchive.reextract import rebuild  # noqa: E402
from pressarchive.sitegen import FamilyServer, SiteFamily  # noqa: E402
from pressarchive.storage import Archive  # noqa: E402
from pressarchive.storage.models import WarcCapture  # noqa: E402
from pressarchive.warc import Capture, read_capture  # noqa: E402


def crawl(family: SiteFamily, db: Path, warc: Path) -> float:
    """Wall seconds of one crawl of both sites, WARC kept."""
    with FamilyServer(family) as server:
        bases = ",".join(f"{site}={origin}" for site, origin in server.origins.items())
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pressarchive.cli", "crawl", *server.origins,
                        "--db", str(db), "--base-url", bases, "--warc", str(warc),
                        "-s", "AUTOTHROTTLE_ENABLED=0"],
                       cwd=ROOT, check=True, capture_output=True)
        return time.perf_counter() - start


def read_all(source: Archive, warc: Path) -> tuple[int, float]:
    """Every capture's record read back: how many, CPU seconds."""
    with source.session() as session:
        rows = session.execute(select(WarcCapture.warc_file, WarcCapture.warc_offset,
                                      WarcCapture.warc_length)).all()
    start = time.process_time()
    for row in rows:
        read_capture(warc, Capture(*row))
    return len(rows), time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        db, warc = tmp / "crawled.sqlite", tmp / "warc"
        crawl_wall = crawl(SiteFamily(args.articles, seed=3), db, warc)
        source = Archive(f"sqlite:///{db}")
        with source.session() as session:
            captures = session.scalar(select(func.count()).select_from(WarcCapture))
        print(f"{args.articles:,} articles, 2 sites: {captures:,} pages read from WARC records "
              f"({sum(p.stat().st_size for p in warc.iterdir()) / 2**20:.1f} MiB of WARC)")
        print(f"{'round':<6} {'rebuild wall s':>14} {'CPU s':>7} {'pages/s':>8} "
              f"{'CPU us/page':>12} {'reading CPU s':>14} {'reading share':>14}")
        walls, cpus, reads = [], [], []
        for n in range(args.rounds):
            target = Archive(f"sqlite:///{tmp / f'rebuilt-{n}.sqlite'}")
            wall, cpu = time.perf_counter(), time.process_time()
            rebuilt = rebuild(source, warc, target)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            target.close()
            assert rebuilt.complete
            _, read = read_all(source, warc)
            walls.append(wall)
            cpus.append(cpu)
            reads.append(read)
            print(f"{n + 1:<6} {wall:>14.2f} {cpu:>7.2f} {captures / wall:>8.0f} "
                  f"{cpu / captures * 1e6:>12.0f} {read:>14.2f} {read / cpu:>14.0%}")
        source.close()
        wall = statistics.median(walls)
        print(f"median: {captures / wall:.0f} pages/s, "
              f"{statistics.median(cpus) / captures * 1e6:.0f} us of CPU a page, reading the "
              f"records {statistics.median(r / c for r, c in zip(reads, cpus)):.0%} of it; "
              f"the crawl that made them: {crawl_wall:.1f} s wall "
              f"({captures / crawl_wall:.0f} pages read a second), the rebuild "
              f"{wall / crawl_wall:.2f}x its time")


if __name__ == "__main__":
    main()
