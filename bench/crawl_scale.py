"""Benchmark: full and incremental crawls of a generated site on 127.0.0.1, against a no-op
Scrapy spider fetching the same URLs, and peak memory at two site sizes. Prints figures; asserts
nothing. Ratios come from one run on one (2-core, noisy) machine.

The server runs in this process and shares the two cores with the crawl. So that the figures
measure the crawlers, not the site generator, a first (untimed) crawl renders every page into
the server's cache; the timed crawls are then answered from memory, as a real site's cache
would answer them. The no-op spider and our crawl are timed in turns (``--rounds`` of each), so
that a slow spell of the machine falls on both.

The no-op spider runs in the project's folder, so Scrapy reads the project's settings for it
too (scrapy.cfg): the same downloader middlewares, concurrency, CONCURRENT_ITEMS and so on; only
robots.txt, our extensions and the disk queue are left out. That is deliberate: Scrapy tuning in
settings.py speeds up both, and the share measures what our spider, pipeline and ingest worker
cost on top of fetching, not how well Scrapy is tuned.

``--warc`` adds a third crawl to each round, ours keeping every response as WARC (WARC_DIR):
what keeping them costs.

Usage: python bench/crawl_scale.py [--articles 10000] [--rounds 3] [--reruns 3] [--small 5000]
       [--large 50000] [--warc] [--skip-memory | --only-memory]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pressarchive import settings as project_settings  # noqa: E402
from pressarchive.sitegen import FamilyServer, SiteFamily  # noqa: E402

# The same politeness-free settings for every crawl here: the server is ours, on loopback.
COMMON = {"AUTOTHROTTLE_START_DELAY": "0", "AUTOTHROTTLE_MAX_DELAY": "1", "LOG_LEVEL": "ERROR",
          "CONCURRENT_REQUESTS_PER_DOMAIN": "16", "AUTOTHROTTLE_TARGET_CONCURRENCY": "2.0"}


def tree_rss(pid: int) -> tuple[float, float]:
    """(peak resident memory of the process itself since it started its program, resident
    memory of it and its children summed), in MiB. The peak is the kernel's own high-water
    mark (VmHWM), which exec resets: wait4's ru_maxrss would also count this benchmark's pages
    that the child held between fork and exec (the server's page cache lives here)."""
    total, peak, todo = 0, 0, [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/status") as status:
                fields = dict(line.split(":", 1) for line in status if ":" in line)
            total += int(fields["VmRSS"].split()[0])
            if current == pid:
                peak = int(fields["VmHWM"].split()[0])
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as listing:
                    todo += [int(child) for child in listing.read().split()]
        except (FileNotFoundError, ProcessLookupError, KeyError, ValueError):
            continue
    return peak / 1024, total / 1024


def measured(cmd: list[str], env: dict) -> dict:
    """Run a command; its wall time, CPU seconds (its own and its children's, from wait4) and
    peak resident memory in MiB: of the process alone (its high-water mark, read every 50 ms)
    and of it with its children, summed (sampled every 50 ms; pages a forked worker shares
    are counted twice)."""
    start = time.perf_counter()
    own = resource.getrusage(resource.RUSAGE_SELF)
    # stderr to a file, not a pipe: a crawl that logs more than a pipe holds would block.
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
        peak = [0.0, 0.0]  # the process's own high-water mark; the tree's summed peak

        def sample() -> None:
            while proc.returncode is None:
                own, tree = tree_rss(proc.pid)
                peak[0], peak[1] = max(peak[0], own), max(peak[1], tree)
                time.sleep(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        sampler.join()
        if proc.returncode != 0:
            log.seek(0)
            raise SystemExit(f"{' '.join(cmd)} failed: {log.read().decode()[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_SELF)
    # This process's CPU meanwhile: the server's (its thread), and the 50 ms memory sampler's.
    server = after.ru_utime + after.ru_stime - own.ru_utime - own.ru_stime
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss": peak[0],
            "rss_tree": peak[1], "server_cpu": server}


def crawl(origin: str, db: Path, tmp: Path, label: str, runner=None, **extra: str) -> dict:
    """Our crawl of the site at ``origin`` into ``db``: ``runner(cmd, env)`` (default
    ``measured``) runs it and gives its figures; the stats file adds the crawl's own."""
    stats_file = tmp / f"stats-{label}.json"
    settings = {**COMMON, "ARCHIVE_URL": f"sqlite:///{db}", "STATS_FILE": str(stats_file),
                **extra}
    cmd = [sys.executable, "-m", "scrapy", "crawl", "arabpress", "-a", f"base_url={origin}"]
    for key, value in settings.items():
        cmd += ["-s", f"{key}={value}"]
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "pressarchive.settings",
           "PYTHONPATH": str(ROOT / "bench")}
    out = (runner or measured)(cmd, env)
    stats = json.loads(stats_file.read_text())
    out.update(pages=stats["response_received_count"], elapsed=stats["elapsed_time_seconds"],
               articles=stats.get("pressarchive/extracted", 0),
               worker_cpu=stats.get("pressarchive/ingest_cpu_seconds", 0.0),
               crawl_cpu=stats["crawl_cpu_seconds"])
    return out


def warm_up(origin: str, tmp: Path) -> tuple[dict, Path]:
    """An untimed full crawl that leaves every page rendered in the server's cache; it also
    writes the URLs it fetched to a file, for the no-op spider. Its figures and that file."""
    urls = tmp / "urls.txt"
    run = crawl(origin, tmp / "warm.sqlite", tmp, "warm", URL_LOG=str(urls),
                DOWNLOADER_MIDDLEWARES=json.dumps(
                    {**project_settings.DOWNLOADER_MIDDLEWARES, "_urllog.UrlLogMiddleware": 999}))
    return run, urls


def noop(url_list: Path, tmp: Path, runner=None, **extra: str) -> dict:
    """The same URLs fetched by a spider that does nothing with them; its crawl time comes
    from the same stats (start to finish of the crawl, not of the process) as ours. ``extra``:
    more settings (EXTENSIONS, say, which replaces the stats file's alone); ``runner``: as
    for ``crawl``."""
    stats_file = tmp / "stats-noop.json"
    settings = {"URL_LIST": str(url_list), "ROBOTSTXT_OBEY": "False",
                "TELNETCONSOLE_ENABLED": "False", "AUTOTHROTTLE_ENABLED": "True",
                "DOWNLOAD_DELAY": "0", "CONCURRENT_REQUESTS": "16",
                "EXTENSIONS": '{"pressarchive.crawl.StatsFile": 500}',
                "STATS_FILE": str(stats_file), **COMMON, **extra}
    cmd = [sys.executable, "-m", "scrapy", "runspider", str(ROOT / "bench" / "noop_spider.py")]
    for key, value in settings.items():
        cmd += ["-s", f"{key}={value}"]
    env = {k: v for k, v in os.environ.items() if k != "SCRAPY_SETTINGS_MODULE"}
    env["PYTHONPATH"] = str(ROOT / "bench")
    result = (runner or measured)(cmd, env)
    stats = json.loads(stats_file.read_text())
    result.update(pages=stats["response_received_count"], elapsed=stats["elapsed_time_seconds"],
                  worker_cpu=0.0, crawl_cpu=stats["crawl_cpu_seconds"])
    return result


def monitored(articles: int, rounds: int, monitor: dict, setting: str, tmp: Path):
    """The no-op spider and our crawl of a site of ``articles``, in turns for ``rounds``, each
    with the ``monitor`` extensions added, which write to the file the setting ``setting``
    names. Yields (spider: "noop" or "ours", round from 1, the run's figures, that file)."""
    ours_extensions = json.dumps({**project_settings.EXTENSIONS, **monitor})
    noop_extensions = json.dumps({"pressarchive.crawl.StatsFile": 500, **monitor})
    with FamilyServer(SiteFamily(articles, seed=0), cache_pages=10 * articles + 1000) as server:
        origin = server.origins["arabpress"]
        _, urls = warm_up(origin, tmp)
        for n in range(1, rounds + 1):
            out = tmp / f"monitor-noop{n}"
            yield "noop", n, noop(urls, tmp, EXTENSIONS=noop_extensions, **{setting: str(out)}), out
            out = tmp / f"monitor-ours{n}"
            yield "ours", n, crawl(origin, tmp / f"ours{n}.sqlite", tmp, f"ours{n}",
                                   EXTENSIONS=ours_extensions, **{setting: str(out)}), out


def row(label: str, r: dict) -> None:
    rate = r["pages"] / r["elapsed"]
    print(f"{label:<30} {r['pages']:>7} {r['elapsed']:>8.1f} {rate:>8.1f} {r['wall']:>7.1f} "
          f"{r['cpu']:>7.1f} {r['worker_cpu']:>7.1f} {r['server_cpu']:>7.1f} {r['rss']:>8.1f} "
          f"{r['rss_tree']:>9.1f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--small", type=int, default=5_000)
    parser.add_argument("--large", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3,
                        help="timed no-op and full crawls, in turns (default 3 of each)")
    parser.add_argument("--reruns", type=int, default=3,
                        help="unchanged reruns of the last full crawl's archive (default 3)")
    parser.add_argument("--warc", action="store_true",
                        help="each round, also our crawl keeping every response as WARC "
                        "(WARC_DIR): its share and the WARC files' size")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--only-memory", action="store_true")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a Scrapy setting for every crawl, ours and the no-op spider's "
                        "alike (TWISTED_REACTOR=..., say); may be given more than once")
    args = parser.parse_args()
    for pair in args.set:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            parser.error(f"--set takes NAME=VALUE, not {pair!r}")
        COMMON[name] = value
    print(f"{'crawl':<30} {'pages':>7} {'crawl s':>8} {'pages/s':>8} {'wall s':>7} "
          f"{'CPU s':>7} {'worker':>7} {'server':>7} {'RSS MiB':>8} {'tree MiB':>9}")
    print("(CPU s: the crawl process and its ingest worker together; worker: the worker alone;"
          "\n server: the site's server. RSS: the crawl process's peak; tree: its peak with the"
          " worker, summed.)")
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        if not args.only_memory:
            throughput(args, tmp)
        if args.skip_memory:
            return
        peaks = {}
        for size in (args.small, args.large):
            with FamilyServer(SiteFamily(size, seed=1)) as server:
                r = crawl(server.origins["arabpress"], tmp / f"m{size}.sqlite", tmp, f"m{size}")
            row(f"full crawl, {size} articles", r)
            peaks[size] = r
        large, small = peaks[args.large], peaks[args.small]
        print(f"peak RSS {args.large} vs {args.small} articles: crawl process "
              f"{large['rss'] / small['rss']:.2f}x, with its worker "
              f"{large['rss_tree'] / small['rss_tree']:.2f}x")


def throughput(args, tmp: Path) -> None:
    """The 10k crawl and the no-op spider on the same URLs, in turns, then unchanged reruns
    and a full re-check of the last crawl's archive."""
    family = SiteFamily(args.articles, seed=0)
    # Room for every page: the warm-up crawl leaves the whole site rendered in memory.
    with FamilyServer(family, cache_pages=10 * args.articles + 1000) as server:
        origin = server.origins["arabpress"]
        warm, urls = warm_up(origin, tmp)
        row("warm-up crawl (cold server)", warm)
        shares, fulls, bases = [], [], []
        warc_shares, warc_sizes, warc_cpu = [], [], []
        for n in range(1, args.rounds + 1):
            base = noop(urls, tmp)
            row(f"no-op spider, same URLs #{n}", base)
            db = tmp / f"full{n}.sqlite"
            full = crawl(origin, db, tmp, f"full{n}")
            row(f"full crawl, {args.articles} articles #{n}", full)
            fulls.append((full, db))
            bases.append(base)
            shares.append((full["pages"] / full["elapsed"]) / (base["pages"] / base["elapsed"]))
            if args.warc:
                folder = tmp / f"warc{n}"
                kept = crawl(origin, tmp / f"warc{n}.sqlite", tmp, f"warc{n}",
                             WARC_DIR=str(folder))
                row(f"full crawl with WARC #{n}", kept)
                warc_shares.append((kept["pages"] / kept["elapsed"])
                                   / (base["pages"] / base["elapsed"]))
                warc_sizes.append(sum(f.stat().st_size for f in folder.glob("*.warc.gz")))
                warc_cpu.append((kept, full))
        full, db = fulls[-1]
        # Unchanged reruns of the last crawl's archive, all alike (each finds the site as the
        # one before it left it): a rerun is a second or two, mostly start-up, and one run's
        # figure moves with the machine's spells more than a long crawl's does.
        reruns = []
        for n in range(1, max(1, args.reruns) + 1):
            reruns.append(crawl(origin, db, tmp, f"rerun{n}"))
            row(f"unchanged rerun #{n}", reruns[-1])
        # Every page fetched again, unconditionally: all of them pages seen again unchanged.
        recheck = crawl(origin, db, tmp, "recheck", FULL_RECHECK="True")
        row("full re-check (FULL_RECHECK)", recheck)
    print("throughput as a share of the no-op spider's, round by round: "
          + ", ".join(f"{share:.0%}" for share in shares)
          + f"; median {statistics.median(shares):.0%}")
    if warc_shares:
        print("with WARC (WARC_DIR), share of the no-op spider's, round by round: "
              + ", ".join(f"{share:.0%}" for share in warc_shares)
              + f"; median {statistics.median(warc_shares):.0%}; WARC files "
              + ", ".join(f"{size / 2**20:.1f} MiB" for size in warc_sizes)
              + "; CPU a page with WARC against without, crawl process and worker: "
              + ", ".join(f"{(k['cpu'] / k['pages']) / (f['cpu'] / f['pages']):.2f}x"
                          for k, f in warc_cpu))
    ours = [full for full, _ in fulls]
    print(f"CPU per page, medians, start-up included: no-op spider "
          f"{_ms_per_page(bases, lambda r: r['cpu']):.2f} ms; our crawl process "
          f"{_ms_per_page(ours, lambda r: r['cpu'] - r['worker_cpu']):.2f} ms, its ingest worker "
          f"{_ms_per_page(ours, lambda r: r['worker_cpu']):.2f} ms; the server "
          f"{_ms_per_page(ours, lambda r: r['server_cpu']):.2f} ms")
    ceiling(bases, ours, shares)
    print(f"full re-check pages/s as a share of the full crawl's: "
          f"{(recheck['pages'] / recheck['elapsed']) / (full['pages'] / full['elapsed']):.0%}")
    rerun_shares = [rerun["wall"] / full["wall"] for rerun in reruns]
    rerun_wall = statistics.median(rerun["wall"] for rerun in reruns)
    full_wall = statistics.median(r["wall"] for r in ours)
    print("unchanged rerun wall time as a share of the last full crawl's: "
          + ", ".join(f"{share:.1%}" for share in rerun_shares)
          + f"; median {statistics.median(rerun_shares):.1%} (of the full crawls' median wall "
          f"time: {rerun_wall / full_wall:.1%}; crawl time alone: "
          f"{statistics.median(r['elapsed'] for r in reruns) / full['elapsed']:.1%})")


def ceiling(bases: list[dict], ours: list[dict], shares: list[float]) -> None:
    """The most pages a second that our crawl's CPU a page allows on this machine, as a share
    of the no-op spider's rate: what the measured share is up against.

    CPU a page here is taken between the spider's opening and closing (the window of the
    rates), not over the whole process. The crawl process runs on one core at a time, so it
    alone allows 1 / (its CPU a page); it, its ingest worker and the server together share
    the machine's cores, which allow cores / (their CPU a page). The lower of the two is the
    ceiling: a crawl that meets it keeps its binding resource busy all the time."""
    cores = len(os.sched_getaffinity(0))
    crawl = _ms_per_page(ours, lambda r: r["crawl_cpu"])
    worker = _ms_per_page(ours, lambda r: r["worker_cpu"])
    server = _ms_per_page(ours, lambda r: r["server_cpu"])
    by_process, by_machine = 1000 / crawl, cores * 1000 / (crawl + worker + server)
    top = min(by_process, by_machine)
    noop_rate = statistics.median(r["pages"] / r["elapsed"] for r in bases)
    print(f"CPU a page while crawling, medians: no-op spider "
          f"{_ms_per_page(bases, lambda r: r['crawl_cpu']):.2f} ms; our crawl process "
          f"{crawl:.2f} ms, its ingest worker {worker:.2f} ms, the server {server:.2f} ms")
    print(f"ceiling from that CPU: {top:.0f} pages/s (the crawl process alone allows "
          f"{by_process:.0f}, {cores} cores for all three {by_machine:.0f}), "
          f"{top / noop_rate:.0%} of the no-op spider's median rate; the median share "
          f"measured, {statistics.median(shares):.0%}, is "
          f"{statistics.median(shares) * noop_rate / top:.0%} of that ceiling")


def _ms_per_page(runs: list[dict], seconds) -> float:
    """The median over ``runs`` of ``seconds(run)`` (CPU seconds) per page, in ms."""
    return statistics.median(seconds(r) / r["pages"] * 1000 for r in runs)


if __name__ == "__main__":
    main()
