"""kill -9 in the middle of a crawl, then run again: nothing lost, nothing duplicated, the
archive intact, and no truncated page stored as an article."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

from pressarchive.sitegen import FamilyServer, Faults, SiteFamily

from conftest import ROOT, run_crawl


def count_articles(db) -> int:
    if not db.exists():
        return 0
    con = sqlite3.connect(db, timeout=30)
    try:
        return con.execute("SELECT count(*) FROM appearances").fetchone()[0]
    except sqlite3.OperationalError:  # tables not made yet
        return 0
    finally:
        con.close()


def children(pid: int) -> list[int]:
    """Child process ids of ``pid`` (Linux /proc)."""
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as listing:
            found += [int(child) for child in listing.read().split()]
    return found


def test_kill_9_mid_crawl_then_rerun_loses_and_duplicates_nothing(tmp_path):
    family = SiteFamily(1500, seed=21)
    db = tmp_path / "archive.sqlite"
    expected = {family.article(i).url("arabpress"): family.article(i)
                for i in range(family.count) if "arabpress" in family.sites_of(i)}
    # Truncated bodies and resets in flight when the crawl dies must not reach the archive.
    faults = Faults(seed=3, truncated=0.05, reset=0.02)
    with FamilyServer(family, faults=faults) as server:
        origin = server.origins["arabpress"]
        cmd = [sys.executable, "-m", "scrapy", "crawl", "arabpress", "-a", f"base_url={origin}",
               "-s", f"ARCHIVE_URL=sqlite:///{db}", "-s", "AUTOTHROTTLE_START_DELAY=0",
               "-s", "LOG_LEVEL=WARNING"]
        env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "pressarchive.settings",
               "TMPDIR": str(tmp_path)}  # what kill -9 leaves behind stays in tmp_path
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while count_articles(db) < 150 and time.monotonic() < deadline:
            time.sleep(0.05)
        workers = children(proc.pid)
        assert workers, "the crawl had no ingest worker"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        # The orphaned ingest worker notices and ends (rolling back what it had not committed).
        deadline = time.monotonic() + 10
        while any(os.path.exists(f"/proc/{pid}") for pid in workers) and \
                time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(os.path.exists(f"/proc/{pid}") for pid in workers), "worker left behind"
        killed_at = count_articles(db)
        assert 0 < killed_at < len(expected), "the crawl was not killed midway"
        rerun = run_crawl("arabpress", db, tmp_path, base_url=origin)
        followup = run_crawl("arabpress", db, tmp_path, base_url=origin)
    assert rerun.returncode == 0 and followup.returncode == 0
    # The killed run's queue folder (TMPDIR) was removed by the next; those runs removed theirs.
    assert list(tmp_path.glob("pressarchive-queue-*")) == []
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = con.execute("SELECT a.url, v.headline, v.body FROM appearances a "
                       "JOIN versions v ON v.id = a.version_id").fetchall()
    articles, versions = con.execute(
        "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM versions)").fetchone()
    con.close()
    urls = [url for url, _, _ in rows]
    assert len(urls) == len(set(urls))
    assert set(urls) == set(expected)
    assert articles == versions == len(expected)
    for url, headline, body in rows:
        assert (headline, body) == (expected[url].headline, expected[url].body_text), url
    # The rerun did not fetch again what the killed run had already stored.
    # (Skipped on their sitemap lastmod, or answered 304 when a link reached them first.)
    known = (rerun.stats.get("pressarchive/skipped/lastmod", 0)
             + rerun.stats.get("pressarchive/not_modified", 0))
    assert known >= killed_at - 50


def test_a_run_stopped_by_sigterm_ends_cleanly_and_the_next_goes_on(tmp_path):
    # How systemd (systemctl stop), scrapyd (cancel) and a plain `kill` stop a run.
    family = SiteFamily(1500, seed=22)
    db = tmp_path / "archive.sqlite"
    expected = {family.article(i).url("arabpress") for i in family.ids("arabpress")}
    with FamilyServer(family) as server:
        origin = server.origins["arabpress"]
        proc = subprocess.Popen(
            [sys.executable, "-m", "pressarchive.cli", "crawl", "arabpress", "--db", str(db),
             "--base-url", origin], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        deadline = time.monotonic() + 120
        while count_articles(db) < 150 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
        stopped_at = count_articles(db)
        rerun = run_crawl("arabpress", db, tmp_path, base_url=origin)
    assert proc.returncode == 1, err[-2000:]  # the run did not finish: the scheduler is told
    summary = [line for line in out.splitlines() if line.startswith("run #")]
    assert len(summary) == 1 and ": shutdown; " in summary[0], summary
    assert "Traceback" not in err
    assert 0 < stopped_at < len(expected), "the crawl was not stopped midway"
    assert rerun.returncode == 0 and rerun.stats["finish_reason"] == "finished"
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        urls = [url for (url,) in con.execute(
            "SELECT url FROM appearances WHERE site = 'arabpress'")]
        reasons = [reason for (reason,) in con.execute(
            "SELECT finish_reason FROM crawl_runs ORDER BY id")]
    finally:
        con.close()
    assert sorted(urls) == sorted(expected)
    assert reasons == ["shutdown", "finished"]


def test_a_jobdir_resumes_a_stopped_run_and_is_forgotten_once_a_run_finishes(tmp_path):
    # Scrapy's JOBDIR keeps a stopped run's queue and the requests it saw, to resume it. Kept
    # after a run that finished, those requests made Scrapy's duplicate filter drop every
    # start request of the next run under it: it fetched robots.txt alone and reported
    # "finished", the day's news left out (a helper's soak: a Ctrl-C after the run had
    # ended, then a resume; a JOBDIR left in a cron line).
    family = SiteFamily(300, seed=9)
    db, jobdir = tmp_path / "archive.sqlite", tmp_path / "crawls-arabpress"
    job = {"JOBDIR": str(jobdir)}
    seen = jobdir / "requests.seen"
    with FamilyServer(family) as server:
        origin = server.origins["arabpress"]
        stopped = run_crawl("arabpress", db, tmp_path, base_url=origin,
                            settings={**job, "CLOSESPIDER_PAGECOUNT": 60}).stats
        kept = seen.exists() and seen.stat().st_size > 0
        resumed = run_crawl("arabpress", db, tmp_path, base_url=origin, settings=job).stats
        forgotten = not seen.exists()
        plan = family.advance()
        next_day = run_crawl("arabpress", db, tmp_path, base_url=origin, settings=job).stats
    assert stopped["finish_reason"] == "closespider_pagecount" and kept
    assert resumed["finish_reason"] == "finished" and forgotten
    assert next_day["finish_reason"] == "finished"
    new = {family.article(i).url("arabpress") for i in plan["new"]
           if "arabpress" in family.sites_of(i)}
    assert new and next_day["pressarchive/stored/new_article"] == len(new)
    con = sqlite3.connect(db)
    stored = {url for (url,) in con.execute(
        "SELECT url FROM appearances WHERE site = 'arabpress'")}
    con.close()
    assert stored == {family.article(i).url("arabpress") for i in family.ids("arabpress")}
