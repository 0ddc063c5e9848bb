"""Benchmark: full and incremental crawls of a generated site on 127.0.0.1, against a no-op
Scrapy spider fetching the same URLs, and peak memory at two site sizes. Prints figures; asserts
nothing. Ratios come from one run on one (2-core, noisy) machine.

Usage: python bench/crawl_scale.py [--articles 10000] [--small 5000] [--large 50000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pressarchive import settings as project_settings  # noqa: E402
from pressarchive.sitegen import FamilyServer, SiteFamily  # noqa: E402

# The same politeness-free settings for every crawl here: the server is ours, on loopback.
COMMON = {"AUTOTHROTTLE_START_DELAY": "0", "AUTOTHROTTLE_MAX_DELAY": "1", "LOG_LEVEL": "ERROR",
          "CONCURRENT_REQUESTS_PER_DOMAIN": "16"}


def measured(cmd: list[str], env: dict) -> dict:
    """Run a command; its wall time, CPU seconds and peak RSS (MiB), from wait4."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.read().decode()[-2000:]}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss": usage.ru_maxrss / 1024}


def crawl(origin: str, db: Path, tmp: Path, label: str, **extra: str) -> dict:
    stats_file = tmp / f"stats-{label}.json"
    settings = {**COMMON, "ARCHIVE_URL": f"sqlite:///{db}", "STATS_FILE": str(stats_file),
                **extra}
    cmd = [sys.executable, "-m", "scrapy", "crawl", "arabpress", "-a", f"base_url={origin}"]
    for key, value in settings.items():
        cmd += ["-s", f"{key}={value}"]
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "pressarchive.settings",
           "PYTHONPATH": str(ROOT / "bench")}
    out = measured(cmd, env)
    stats = json.loads(stats_file.read_text())
    out.update(pages=stats["response_received_count"], elapsed=stats["elapsed_time_seconds"],
               articles=stats.get("pressarchive/extracted", 0))
    return out


def noop(url_list: Path) -> dict:
    cmd = [sys.executable, "-m", "scrapy", "runspider", str(ROOT / "bench" / "noop_spider.py"),
           "-s", f"URL_LIST={url_list}", "-s", "ROBOTSTXT_OBEY=False",
           "-s", "TELNETCONSOLE_ENABLED=False", "-s", "AUTOTHROTTLE_ENABLED=True",
           "-s", "DOWNLOAD_DELAY=0", "-s", "CONCURRENT_REQUESTS=16"]
    for key, value in COMMON.items():
        cmd += ["-s", f"{key}={value}"]
    env = {k: v for k, v in os.environ.items() if k != "SCRAPY_SETTINGS_MODULE"}
    start = time.perf_counter()
    result = measured(cmd, env)
    result["pages"] = sum(1 for _ in url_list.open())
    result["elapsed"] = time.perf_counter() - start
    return result


def row(label: str, r: dict) -> None:
    rate = r["pages"] / r["elapsed"]
    print(f"{label:<34} {r['pages']:>7} {r['elapsed']:>8.1f} {rate:>8.1f} {r['wall']:>8.1f} "
          f"{r['cpu']:>8.1f} {r['rss']:>8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--small", type=int, default=5_000)
    parser.add_argument("--large", type=int, default=50_000)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--only-memory", action="store_true")
    args = parser.parse_args()
    print(f"{'crawl':<34} {'pages':>7} {'crawl s':>8} {'pages/s':>8} {'wall s':>8} "
          f"{'CPU s':>8} {'RSS MiB':>8}")
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
            peaks[size] = r["rss"]
        print(f"peak RSS {args.large} vs {args.small} articles: "
              f"{peaks[args.large] / peaks[args.small]:.2f}x")


def throughput(args, tmp: Path) -> None:
    """The 10k crawl, the no-op spider on the same URLs, and an unchanged rerun."""
    family = SiteFamily(args.articles, seed=0)
    with FamilyServer(family) as server:
        origin = server.origins["arabpress"]
        urls = tmp / "urls.txt"
        full = crawl(origin, tmp / "a.sqlite", tmp, "full",
                     DOWNLOADER_MIDDLEWARES=json.dumps(
                     {**project_settings.DOWNLOADER_MIDDLEWARES, "_urllog.UrlLogMiddleware": 999}),
                     URL_LOG=str(urls))
        row(f"full crawl, {args.articles} articles", full)
        base = noop(urls)
        row("no-op spider, same URLs", base)
        rerun = crawl(origin, tmp / "a.sqlite", tmp, "rerun")
        row("unchanged rerun", rerun)
    print(f"throughput as a share of the no-op spider's: "
          f"{(full['pages'] / full['elapsed']) / (base['pages'] / base['elapsed']):.0%}")
    print(f"unchanged rerun wall time as a share of the full crawl: "
          f"{rerun['wall'] / full['wall']:.1%} (crawl time alone: "
          f"{rerun['elapsed'] / full['elapsed']:.1%})")


if __name__ == "__main__":
    main()
