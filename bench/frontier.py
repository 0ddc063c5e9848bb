"""Benchmark: one site's crawl shared through a frontier in Redis (pressarchive.frontier),
against the same crawl in one process, into PostgreSQL, on this machine.

A generated site (``SiteFamily``, seed 4) is served on 127.0.0.1 and crawled from scratch,
each round, three ways in turn: one process with its own queue (no frontier); a lead alone,
its queue in Redis (what the frontier itself costs: a Redis round trip or two a request);
a lead and ``--helpers`` helpers. Each crawl gets a new database. Printed: the wall time from
the first process's start to the last one's end, pages a second over it, the responses of
every process, and the CPU seconds of the crawl processes (their own, from their stats:
``crawl_cpu_seconds``, and their ingest workers'). On one 2-core machine the helpers share
the cores with the lead, its worker, the server and PostgreSQL: what the frontier buys is
more machines, which this cannot show; what it costs, it can. Prints figures; asserts
nothing.

Usage: python bench/frontier.py [--articles 4000] [--rounds 2] [--helpers 1]
       [--redis redis://127.0.0.1:6379/0] [--postgres postgresql://127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
import redis  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from pressarchive.sitegen import FamilyServer, SiteFamily  # noqa: E402


def crawl(base: str, db: str, tmp: Path, *options: str) -> subprocess.Popen:
    stats = tmp / f"stats-{uuid.uuid4().hex[:8]}.json"
    proc = subprocess.Popen([sys.executable, "-m", "pressarchive.cli", "crawl", "arabpress",
                             "--db", db, "--base-url", base, *options,
                             "-s", f"STATS_FILE={stats}"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc.stats_file = stats  # type: ignore[attr-defined]
    return proc


def run(way: str, base: str, admin: str, frontier: str, helpers: int, tmp: Path) -> dict:
    name = f"bench_frontier_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    db = make_url(admin).set(database=name).render_as_string(hide_password=False)
    key = f"bench-{uuid.uuid4().hex[:8]}:%(spider)s"
    shared = ("--frontier", frontier, "-s", f"FRONTIER_KEY={key}")
    try:
        start = time.perf_counter()
        if way == "alone":
            procs = [crawl(base, db, tmp)]
        elif way == "lead":
            procs = [crawl(base, db, tmp, *shared)]
        else:
            procs = [crawl(base, db, tmp, *shared, "--helper") for _ in range(helpers)]
            procs.append(crawl(base, db, tmp, *shared))
        for proc in procs:
            proc.wait()
        wall = time.perf_counter() - start
        stats = [json.loads(p.stats_file.read_text()) for p in procs]
    finally:
        with psycopg.connect(admin, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server = redis.Redis.from_url(frontier)
        for k in server.scan_iter(key.split(":")[0] + ":*"):
            server.delete(k)
    if any(p.returncode for p in procs):
        raise SystemExit(f"a crawl ({way}) exited {[p.returncode for p in procs]}")
    return {"wall": wall, "responses": [s["response_received_count"] for s in stats],
            "cpu": sum(s.get("crawl_cpu_seconds", 0) for s in stats),
            "worker_cpu": sum(s.get("pressarchive/ingest_cpu_seconds", 0) for s in stats)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--helpers", type=int, default=1)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--postgres", default="postgresql://127.0.0.1:5432/test")
    args = parser.parse_args()
    ways = ("alone", "lead", "helped")
    got: dict[str, list[dict]] = {way: [] for way in ways}
    with FamilyServer(SiteFamily(args.articles, seed=4)) as server, \
            tempfile.TemporaryDirectory() as tmp:
        base = server.origins["arabpress"]
        print(f"{args.articles:,} articles; helped = a lead and {args.helpers} "
              f"helper{'s' if args.helpers != 1 else ''}; into PostgreSQL, one database a crawl")
        print(f"{'round':<6} {'way':<7} {'wall s':>7} {'pages/s':>8} {'responses':>18} "
              f"{'crawl CPU s':>12} {'worker CPU s':>13}")
        for n in range(args.rounds):
            for way in ways:
                r = run(way, base, args.postgres, args.redis, args.helpers, Path(tmp))
                got[way].append(r)
                total = sum(r["responses"])
                print(f"{n + 1:<6} {way:<7} {r['wall']:>7.1f} {total / r['wall']:>8.0f} "
                      f"{'+'.join(map(str, r['responses'])):>18} {r['cpu']:>12.1f} "
                      f"{r['worker_cpu']:>13.1f}", flush=True)
    rate = {way: statistics.median(sum(r["responses"]) / r["wall"] for r in got[way])
            for way in ways}
    print(f"median pages/s: alone {rate['alone']:.0f}, lead alone {rate['lead']:.0f} "
          f"({rate['lead'] / rate['alone']:.2f}x), helped {rate['helped']:.0f} "
          f"({rate['helped'] / rate['alone']:.2f}x)")


if __name__ == "__main__":
    main()
