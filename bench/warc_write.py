"""Benchmark: what keeping a page as WARC (pressarchive.warc.WarcFiles) costs, in one process.

A crawl with WARC_DIR writes each response, with its request, from the crawl process. End to end
(``bench/crawl_scale.py --warc``) that cost drowns in this machine's swings, so here it is timed
alone, over generated article pages of one site (SiteFamily, seed 0), at zlib levels 1, 6 and 9,
next to a yardstick timed in the same rounds: extracting the same pages (parse, extract,
validate), what the ingest worker spends most of its time on. Rounds alternate, so a slow spell
of the machine falls on both. Prints figures; asserts nothing.

Usage: python bench/warc_write.py [--pages 1000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ingest_sites import pages_of  # noqa: E402
from pressarchive.extract import extract, read_page, validate  # noqa: E402
from pressarchive.sitegen import SiteFamily  # noqa: E402
from pressarchive.warc import WarcFiles  # noqa: E402

# What a crawl's responses and requests carry (the generated site's headers, Scrapy's).
HEADERS = [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", "9000"),
           ("Etag", '"5f0c-1a2b"'), ("Last-Modified", "Mon, 01 Jun 2026 08:30:00 GMT"),
           ("Date", "Tue, 02 Jun 2026 10:00:00 GMT"), ("Server", "sitegen")]
REQUEST = [("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
           ("Accept-Language", "en"), ("Accept-Encoding", "gzip, deflate, br"),
           ("User-Agent", "pressarchive/0.1 (+https://github.com/pressarchive/pressarchive)")]
FETCHED_AT = "2026-06-02T10:00:00+00:00"


def write(pages, folder: Path, level: int) -> tuple[float, int]:
    """Seconds to write every page, and the files' size."""
    files = WarcFiles(folder, level=level)
    start = time.perf_counter()
    for url, page in pages:
        files.write(url, status=200, headers=HEADERS, body=page.body,
                    request_headers=REQUEST, ip_address="127.0.0.1")
    files.close()
    return time.perf_counter() - start, sum(p.stat().st_size for p in folder.iterdir())


def extract_all(pages) -> float:
    start = time.perf_counter()
    for url, page in pages:
        validate(extract(read_page(page.body, url, page.content_type), url, FETCHED_AT))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    pages = pages_of(SiteFamily(max(2000, args.pages), seed=0), "arabpress")[:args.pages]
    size = sum(len(page.body) for _, page in pages)
    levels = (1, 6, 9)
    times: dict[object, list[float]] = {level: [] for level in (*levels, "extract")}
    sizes: dict[int, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(args.rounds + 1):  # the first round warms up, untimed
            took = extract_all(pages)
            if n:
                times["extract"].append(took)
            for level in levels:
                folder = Path(tmp) / f"{n}-{level}"
                took, sizes[level] = write(pages, folder, level)
                if n:
                    times[level].append(took)
    per_page = {key: statistics.median(values) / len(pages) * 1e6
                for key, values in times.items()}
    print(f"{len(pages)} article pages, {size / len(pages) / 1024:.1f} KiB each on average; "
          f"medians of {args.rounds} rounds")
    print(f"extracting a page (parse, extract, validate): {per_page['extract']:.0f} us")
    for level in levels:
        print(f"WARC, zlib level {level}: {per_page[level]:.0f} us a page "
              f"({per_page[level] / per_page['extract']:.2f}x extracting it), "
              f"{sizes[level] / len(pages) / 1024:.2f} KiB a page on disk "
              f"({sizes[level] / size:.3f} of the pages' size)")


if __name__ == "__main__":
    main()
