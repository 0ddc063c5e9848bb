"""Benchmark: the ingest worker's work a page, counted in CPU instructions, not seconds.

Timings on this machine swing by a tenth or more between runs of the same code (a CPU-bound
process slows by 0.7x to 1.7x beside a busy one: bench/cpu_sharing.py), which hides changes
worth a few percent. valgrind's callgrind counts the instructions a program executes, the same
count for the same code and input whatever else the machine is doing, so a change to the
worker's code can be measured on its own, before the whole crawl is timed.

The pages are generated article pages of one site (``SiteFamily``, seed 0), read as the ingest
worker reads them, stage by stage:

- ``parse``: bytes decoded and parsed (``read_page``);
- ``extract``: that, then the record extracted and validated;
- ``read``: that, then the page's links read;
- ``ingest``: what the worker does with such a page (``Ingester.ingest``, batches of 50 into a
  fresh SQLite archive): parsing, extracting and writing it (its links aside: the worker reads
  them only for pages the crawl follows), so its count over ``extract`` is the writing.

Each stage runs twice under callgrind, over ``--pages`` pages and over ``--pages`` + 150 (after
the same 20 pages warm the caches in both); the difference divided by 150 is the stage's count
a page, free of Python's start-up and imports. Prints figures; asserts nothing.

Usage: python bench/instructions.py [--pages 50] [--stages parse,extract,read,ingest]
(valgrind must be installed; each run takes a few seconds to a minute)
"""

from __future__ import annotations

import argparse
import pickle
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STAGES = ("parse", "extract", "read", "ingest")
BASE = {"extract": "parse", "read": "extract", "ingest": "extract"}  # what each adds to
WARM, MORE = 20, 150
FETCHED_AT = "2025-06-20T10:00:00+00:00"


def write_pages(path: Path, count: int) -> None:
    """The first ``count`` generated article pages of arabpress (URL, rendered page), pickled."""
    from ingest_sites import pages_of
    from pressarchive.sitegen import SiteFamily

    path.write_bytes(pickle.dumps(pages_of(SiteFamily(2000, seed=0), "arabpress")[:count]))


def child(stage: str, count: int, pages_file: Path) -> None:
    """The work measured: ``stage`` over WARM pages, then over ``count`` more."""
    from pressarchive.extract import extract, read_page, validate
    from pressarchive.extract.links import read_links

    pages = pickle.loads(pages_file.read_bytes())
    if stage == "ingest":
        from ingest_sites import fetched
        from pressarchive.ingest import Ingester
        from pressarchive.storage import Archive

        items = [fetched(url, page, "arabpress", FETCHED_AT)
                 for url, page in pages[:WARM + count]]
        with tempfile.TemporaryDirectory() as tmp:
            ingester = Ingester(Archive(f"sqlite:///{tmp}/a.sqlite"), records=False)
            ingester.ingest(items[:WARM])
            for k in range(WARM, WARM + count, 50):
                ingester.ingest(items[k:min(k + 50, WARM + count)])
            ingester.archive.close()
        return

    def run(batch) -> None:
        for url, rendered in batch:
            page = read_page(rendered.body, url, rendered.content_type)
            if stage == "parse":
                continue
            validate(extract(page, url, FETCHED_AT, site="arabpress"))
            if stage == "read":
                read_links(page.root)

    run(pages[:WARM])
    run(pages[WARM:WARM + count])


def instructions(stage: str, count: int, pages_file: Path) -> int:
    """Instructions callgrind counted for a child process doing ``stage`` over ``count``."""
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
         __file__, "--child", stage, str(count), str(pages_file)],
        capture_output=True, text=True, check=False)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or not found:
        raise SystemExit(f"callgrind run of {stage!r} failed: {done.stderr.strip()[-300:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--stages", default=",".join(STAGES))
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        stage, count, pages_file = args.child
        child(stage, int(count), Path(pages_file))
        return
    stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    unknown = set(stages) - set(STAGES)
    if unknown:
        raise SystemExit(f"unknown stage(s) {', '.join(sorted(unknown))}; "
                         f"choose from {', '.join(STAGES)}")
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as tmp:
        pages_file = Path(tmp) / "pages.pickle"
        write_pages(pages_file, WARM + args.pages + MORE)
        print(f"instructions a page, generated arabpress article pages "
              f"({args.pages + MORE} against {args.pages}, after {WARM} to warm up)")
        print(f"{'stage':<8} {'instructions':>13} {'added to':>9} {'adds':>11}")
        counts: dict[str, float] = {}
        for stage in stages:
            counts[stage] = (instructions(stage, args.pages + MORE, pages_file)
                             - instructions(stage, args.pages, pages_file)) / MORE
            base = BASE.get(stage)
            adds = f"{base:>9} {counts[stage] - counts[base]:>11,.0f}" if base in counts else ""
            print(f"{stage:<8} {counts[stage]:>13,.0f} {adds}", flush=True)


if __name__ == "__main__":
    main()
