"""Benchmark: the crawl process's work a page, counted in CPU instructions, ours against the
no-op spider's.

The crawl process is what holds a full crawl back (bench/crawl_scale.py's ceiling), but its CPU
a page moves by a tenth or more from one run to the next on this machine, with the machine, so a
change worth a few percent cannot be seen there. valgrind's callgrind counts the instructions a
program executes: the same count, within about one percent, for the same code and site,
however busy the machine is.

Both crawls of bench/crawl_scale.py (ours, with its archive pipeline, and the no-op spider on
the URLs ours fetched) run under callgrind over generated sites of two sizes; the difference
between the sizes, divided by the difference in pages, is each crawl process's count a page,
free of Python's start-up and imports. Only the crawl process is counted: ours forks an ingest
worker, which bench/instructions.py counts stage by stage. The servers run in this process,
not under callgrind. Under callgrind a crawl runs about fifty times slower, so its batches,
retries and delays are not a fast crawl's; the counts measure code, not timing.

``--top N`` also lists the N functions (Python's own C functions, libraries' and the
interpreter's; Python functions are not seen one by one) whose count a page differs most
between the two crawl processes.

Prints figures; asserts nothing. Usage:
python bench/crawl_instructions.py [--small 1000] [--large 4000] [--top 0]
(valgrind must be installed; it took six to seven minutes here at the default sizes)
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import crawl_scale  # noqa: E402
from pressarchive.sitegen import FamilyServer, SiteFamily  # noqa: E402

# A crawl under callgrind answers slowly: no request should time out meanwhile.
SLOW = {"DOWNLOAD_TIMEOUT": "600"}


class Callgrind:
    """Runs a command under callgrind (a ``runner`` for crawl_scale's ``crawl`` and ``noop``);
    keeps the profile of the command's own process, whose children (a forked ingest worker)
    write profiles of their own, left aside."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.profile: Path | None = None

    def __call__(self, cmd: list[str], env: dict) -> dict:
        out = self.folder / "callgrind.%p"
        proc = subprocess.Popen(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *cmd],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, err = proc.communicate()
        self.profile = self.folder / f"callgrind.{proc.pid}"
        if proc.returncode != 0 or not self.profile.exists():
            raise SystemExit(f"{' '.join(cmd[:5])}… under callgrind failed: "
                             f"{err.decode(errors='replace').strip()[-1500:]}")
        return {"wall": 0.0, "cpu": 0.0, "rss": 0.0, "rss_tree": 0.0, "server_cpu": 0.0}

    def total(self) -> int:
        text = self.profile.read_text(errors="replace")
        found = re.search(r"^(?:summary|totals): (\d+)", text, re.MULTILINE)
        if not found:
            raise SystemExit(f"no instruction count in {self.profile}")
        return int(found.group(1))

    def functions(self) -> Counter:
        """Instructions by function (self cost), as callgrind_annotate lists them."""
        done = subprocess.run(["callgrind_annotate", "--inclusive=no", "--threshold=100",
                               str(self.profile)], capture_output=True, text=True, check=True)
        counts: Counter = Counter()
        for line in done.stdout.splitlines():
            row = re.match(r"\s*([\d,]+) \([^)]*\)\s+(.+)$", line)
            if row and "PROGRAM TOTALS" not in row.group(2):
                name = re.sub(r"'\d+", "", row.group(2))  # recursion depth marks
                name = re.sub(r"^\S*/Python-[\d.]+/", "", name)  # the interpreter's sources
                counts[name] += int(row.group(1).replace(",", ""))
        return counts


def counted(articles: int, tmp: Path, top: bool) -> dict[str, tuple[int, int, Counter]]:
    """(pages, instructions, by function) of each crawl process, no-op and ours, over a site of
    ``articles``."""
    out = {}
    tmp = tmp / str(articles)  # a folder of its own: the warm-up crawl's archive is fresh
    tmp.mkdir()
    family = SiteFamily(articles, seed=0)
    with FamilyServer(family, cache_pages=10 * articles + 1000) as server:
        origin = server.origins["arabpress"]
        _, urls = crawl_scale.warm_up(origin, tmp)  # the URLs for the no-op spider
        for name in ("noop", "ours"):
            runner = Callgrind(tmp)
            if name == "noop":
                run = crawl_scale.noop(urls, tmp, runner=runner, **SLOW)
            else:
                run = crawl_scale.crawl(origin, tmp / f"ours{articles}.sqlite", tmp,
                                        f"ours{articles}", runner=runner, **SLOW)
            out[name] = (run["pages"], runner.total(), runner.functions() if top else Counter())
            print(f"{articles:>8} {name:<6} {run['pages']:>7} {out[name][1]:>16,}", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1000, help="articles of the smaller site")
    parser.add_argument("--large", type=int, default=4000, help="articles of the larger site")
    parser.add_argument("--top", type=int, default=0,
                        help="list the N functions whose count a page differs most")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    if args.large <= args.small:
        raise SystemExit("--large must be larger than --small")
    print(f"{'articles':>8} {'crawl':<6} {'pages':>7} {'instructions':>16}")
    with tempfile.TemporaryDirectory() as tmpdir:
        small = counted(args.small, Path(tmpdir), args.top > 0)
        large = counted(args.large, Path(tmpdir), args.top > 0)
    per_page, by_function = {}, {}
    for name in ("noop", "ours"):
        pages = large[name][0] - small[name][0]
        per_page[name] = (large[name][1] - small[name][1]) / pages
        by_function[name] = {f: (large[name][2][f] - small[name][2][f]) / pages
                             for f in large[name][2].keys() | small[name][2].keys()}
    print(f"instructions a page in the crawl process: no-op spider {per_page['noop']:,.0f}; "
          f"ours {per_page['ours']:,.0f} ({per_page['ours'] / per_page['noop']:.2f}x)")
    if args.top:
        noop, ours = by_function["noop"], by_function["ours"]
        names = sorted(noop.keys() | ours.keys(),
                       key=lambda f: -abs(ours.get(f, 0) - noop.get(f, 0)))[:args.top]
        print(f"{'ours - no-op':>13} {'no-op':>10} {'ours':>10}  function (self, a page)")
        for f in names:
            print(f"{ours.get(f, 0) - noop.get(f, 0):>13,.0f} {noop.get(f, 0):>10,.0f} "
                  f"{ours.get(f, 0):>10,.0f}  {f[:110]}")


if __name__ == "__main__":
    main()
