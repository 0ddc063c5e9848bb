"""The crawl's ingest worker as a user meets it: the same archive with or without the worker
process, records in feed exports, and a worker that dies mid-crawl."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

from pressarchive.sitegen import FamilyServer, SiteFamily

from conftest import ROOT, run_crawl
from test_ingest import content
from test_resume import children, count_articles


def test_worker_or_not_the_archive_is_the_same_and_feeds_get_records(tmp_path, local_sites):
    origin = local_sites["arabpress"].origin
    feed = tmp_path / "records.jsonl"
    worker = run_crawl("arabpress", tmp_path / "worker.sqlite", tmp_path, base_url=origin,
                       settings={"FEEDS": json.dumps({str(feed): {"format": "jsonlines"}})})
    inline = run_crawl("arabpress", tmp_path / "inline.sqlite", tmp_path, base_url=origin,
                       settings={"INGEST_PROCESS": "False"})
    assert worker.returncode == inline.returncode == 0
    assert worker.stats["pressarchive/ingest_cpu_seconds"] > 0
    assert "pressarchive/ingest_cpu_seconds" not in inline.stats
    a, b = content(tmp_path / "worker.sqlite"), content(tmp_path / "inline.sqlite")
    # Fetch times differ between the two runs; everything else must not.
    strip = lambda rows: [row[:2] + row[4:] for row in rows]  # noqa: E731
    assert strip(a["appearances"]) == strip(b["appearances"]) and a["appearances"]
    unseen = lambda rows: [row[:7] + row[8:] for row in rows]  # noqa: E731 - no first_seen
    assert unseen(a["versions"]) == unseen(b["versions"])
    records = [json.loads(line) for line in feed.read_text("utf-8").splitlines()]
    assert len(records) == worker.stats["item_scraped_count"] > 0
    stored = {row[1] for row in a["appearances"]}
    assert {r["url"] for r in records} == stored
    assert all(r["headline"] and r["body"] and r["fingerprint"] for r in records)


def under_way(origin: str, db, stats_file, tmp_path, *settings: str):
    """``scrapy crawl arabpress`` of ``origin`` into ``db`` in a process of its own (with
    more ``settings``, KEY=VALUE), once it has archived 150 articles; and its ingest
    worker's pid."""
    cmd = [sys.executable, "-m", "scrapy", "crawl", "arabpress", "-a", f"base_url={origin}",
           "-s", f"ARCHIVE_URL=sqlite:///{db}", "-s", f"STATS_FILE={stats_file}",
           "-s", "AUTOTHROTTLE_START_DELAY=0", "-s", "LOG_LEVEL=INFO"]
    for setting in settings:
        cmd += ["-s", setting]
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "pressarchive.settings",
           "TMPDIR": str(tmp_path)}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while count_articles(db) < 150 and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = children(proc.pid)
    assert len(workers) == 1
    return proc, workers[0]


def test_a_worker_killed_mid_crawl_ends_the_crawl_and_loses_nothing_stored(tmp_path):
    family = SiteFamily(1500, seed=9)
    db = tmp_path / "archive.sqlite"
    stats_file = tmp_path / "stats.json"
    with FamilyServer(family) as server:
        origin = server.origins["arabpress"]
        proc, worker = under_way(origin, db, stats_file, tmp_path)
        os.kill(worker, signal.SIGKILL)
        _, log = proc.communicate(timeout=120)
        stats = json.loads(stats_file.read_text())
        assert stats["finish_reason"] == "ingest_worker_died"
        assert proc.returncode == 1  # so that a scheduler running scrapy crawl hears of it
        assert "the ingest worker stopped" in log
        # One ERROR line: the pages in flight are counted, not each logged with a traceback.
        assert "Traceback" not in log and "IngestError" not in log, log[-3000:]
        stored = count_articles(db)
        expected = sum(1 for i in range(family.count) if "arabpress" in family.sites_of(i))
        assert 0 < stored < expected
        rerun = run_crawl("arabpress", db, tmp_path, base_url=origin)
    assert rerun.returncode == 0 and rerun.stats["finish_reason"] == "finished"
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # Every page the crawl state says was fetched has its record: nothing half-written.
    orphans = con.execute("SELECT count(*) FROM pages p WHERE p.last_status = 200 AND "
                          "p.article_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM appearances "
                          "a WHERE a.article_id = p.article_id)").fetchone()[0]
    total = con.execute("SELECT count(*) FROM appearances").fetchone()[0]
    con.close()
    assert orphans == 0
    assert total == expected


def test_a_worker_that_stops_answering_ends_the_crawl_in_bounded_time(tmp_path):
    """The worker stuck (here stopped with SIGSTOP; in a soak, waiting on a PostgreSQL server
    that had stopped answering): the crawl waited for its batches for good. After
    STALL_TIMEOUT (here 3 s) with no batch back, the worker is stopped and the crawl closes,
    reason ingest_stalled, exit 1, one ERROR line; the next run completes the archive."""
    family = SiteFamily(1500, seed=8)
    db = tmp_path / "archive.sqlite"
    stats_file = tmp_path / "stats.json"
    with FamilyServer(family) as server:
        origin = server.origins["arabpress"]
        proc, worker = under_way(origin, db, stats_file, tmp_path, "STALL_TIMEOUT=3",
                                 "CONCURRENT_REQUESTS_PER_DOMAIN=2")
        os.kill(worker, signal.SIGSTOP)
        stopped = time.monotonic()
        try:
            _, log = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
            try:
                os.kill(worker, signal.SIGKILL)
            except ProcessLookupError:
                pass
        assert time.monotonic() - stopped < 60
        stats = json.loads(stats_file.read_text())
        assert stats["finish_reason"] == "ingest_stalled", log[-3000:]
        assert proc.returncode == 1
        errors = [line for line in log.splitlines() if " ERROR: " in line]
        assert len(errors) == 1 and "has finished no batch in" in errors[0], errors
        assert "Traceback" not in log, log[-3000:]
        rerun = run_crawl("arabpress", db, tmp_path, base_url=origin)
    assert rerun.returncode == 0 and rerun.stats["finish_reason"] == "finished"
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    total = con.execute("SELECT count(*) FROM appearances").fetchone()[0]
    reasons = [r for (r,) in con.execute("SELECT finish_reason FROM crawl_runs ORDER BY id")]
    con.close()
    assert total == sum(1 for i in range(family.count) if "arabpress" in family.sites_of(i))
    assert reasons == ["ingest_stalled", "finished"]


def test_without_the_archive_pipeline_the_spider_reads_links_itself(tmp_path, local_sites):
    """A dry run (ITEM_PIPELINES={}) discovers the same pages: the spider parses them."""
    origin = local_sites["arabpress"].origin
    archived = run_crawl("arabpress", tmp_path / "a.sqlite", tmp_path, base_url=origin)
    dry = run_crawl("arabpress", tmp_path / "b.sqlite", tmp_path, base_url=origin,
                    settings={"ITEM_PIPELINES": "{}"})
    assert archived.returncode == dry.returncode == 0
    assert dry.stats["finish_reason"] == "finished"
    assert "pressarchive/extracted" not in dry.stats
    assert dry.stats["response_received_count"] == archived.stats["response_received_count"]


def test_a_worker_whose_crawl_died_before_it_started_ends_at_once(tmp_path):
    # kill -9 of the crawl just after it forked its worker: by the time the worker had opened
    # the archive and looked for its parent, init had adopted it, and it watched init, waiting
    # for work for good (a helper's soak). It now watches the pid the crawl gave it.
    from pressarchive import ingest
    from pressarchive.storage.archive import Archive

    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    Archive(url).close()
    gone = os.getpid() + 10**6  # a crawl already dead: not the forked worker's parent
    child = os.fork()
    if child == 0:  # the worker
        try:
            ingest.start_worker(url, 1 << 20, True, parent=gone)
            time.sleep(10)
        finally:
            os._exit(0)  # only if the watch failed to end it
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        pid, status = os.waitpid(child, os.WNOHANG)
        if pid:
            break
        time.sleep(0.05)
    else:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
        raise AssertionError("the worker outlived its crawl")
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 1
