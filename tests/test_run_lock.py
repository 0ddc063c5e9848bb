"""One run at a time for each site and archive: a scheduled run that starts while the last one
is still going is turned away without fetching, and a killed run leaves no lock behind."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest
from scrapy.settings import Settings

from pressarchive.crawl import RunLock, lock_path, take_lock
from pressarchive.sitegen import FamilyServer, Faults, SiteFamily

from conftest import ROOT, run_crawl

# Every article page answers after 0.4 s: a crawl of the site lasts some seconds.
SLOW = Faults(seed=1, slow=1.0, slow_seconds=0.4)


def start_crawl(origin: str, db, tmp_path) -> subprocess.Popen:
    """``scrapy crawl arabpress`` of ``origin`` into ``db``, in the background."""
    cmd = [sys.executable, "-m", "scrapy", "crawl", "arabpress", "-a", f"base_url={origin}",
           "-s", f"ARCHIVE_URL=sqlite:///{db}", "-s", "AUTOTHROTTLE_START_DELAY=0",
           "-s", "AUTOTHROTTLE_MAX_DELAY=0.05", "-s", "LOG_LEVEL=WARNING"]
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "pressarchive.settings",
           "TMPDIR": str(tmp_path)}
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def wait_for_lock(proc: subprocess.Popen, db) -> None:
    """Until the crawl ``proc`` holds arabpress's run lock on ``db`` (its pid is written
    there)."""
    path = lock_path(f"sqlite:///{db}", "arabpress")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the first crawl ended before it was caught running"
        if path.exists() and f"pid {proc.pid} " in path.read_text():
            return
        time.sleep(0.02)
    pytest.fail("the first crawl never took its run lock")


def runs(db) -> list[tuple[str, str, int]]:
    con = sqlite3.connect(db, timeout=30)
    try:
        return con.execute("SELECT site, finish_reason, pages_fetched FROM crawl_runs "
                           "ORDER BY id").fetchall()
    finally:
        con.close()


def test_a_run_that_starts_while_the_last_is_going_fetches_nothing(tmp_path):
    family = SiteFamily(100, seed=5)
    db = tmp_path / "archive.sqlite"
    with FamilyServer(family, faults=SLOW) as server:
        origin = server.origins["arabpress"]
        first = start_crawl(origin, db, tmp_path)
        try:
            wait_for_lock(first, db)
            # The scheduler's command, as README.md gives it, started again meanwhile.
            second = subprocess.run(
                [sys.executable, "-m", "pressarchive.cli", "crawl", "arabpress", "--db", str(db),
                 "--base-url", origin], cwd=ROOT, capture_output=True, text=True, timeout=120)
            assert first.poll() is None, "the first crawl ended before the second was refused"
            # As `scrapy crawl` with a STATS_FILE: the file says what became of this run (a
            # run refused as it opened never started the engine, whose stop wrote the file:
            # a scheduler read the last run's "finished" there, a soak's find).
            refused = run_crawl("arabpress", db, tmp_path, base_url=origin)
            assert first.poll() is None, "the first crawl ended before the third was refused"
            # Another site on the same archive is a run of its own: not turned away.
            sister = run_crawl("saudipress", db, tmp_path,
                               base_url=server.origins["saudipress"])
        finally:
            first.wait(timeout=120)
    assert second.returncode == 1, second.stderr[-2000:]
    assert "another run of arabpress is still going on this archive" in second.stderr
    assert f"pid {first.pid} since" in second.stderr  # who holds it, from the lock file
    summary = [line for line in second.stdout.splitlines() if line.startswith("run #")]
    assert len(summary) == 1 and "already_running; 0 pages fetched" in summary[0], summary
    assert sister.returncode == 0 and sister.stats["finish_reason"] == "finished"
    assert refused.returncode == 1
    assert refused.stats["finish_reason"] == refused.stats["pressarchive/run_reason"] \
        == "already_running"
    assert first.returncode == 0
    # The first run finished its crawl; the second is recorded, having fetched nothing.
    arabpress = sorted((reason, pages) for site, reason, pages in runs(db) if site == "arabpress")
    assert [reason for reason, _ in arabpress] == ["already_running", "already_running",
                                                   "finished"]
    assert arabpress[0][1] == arabpress[1][1] == 0 and arabpress[2][1] > 60
    # Once the first has ended, the next run goes ahead (and finds nothing new).
    with FamilyServer(family) as server:
        after = run_crawl("arabpress", db, tmp_path, base_url=server.origins["arabpress"])
    assert after.returncode == 0 and after.stats["finish_reason"] == "finished"
    assert after.stats.get("pressarchive/stored/new_article", 0) == 0


def test_a_killed_run_leaves_no_lock_behind(tmp_path):
    family = SiteFamily(60, seed=6)
    db = tmp_path / "archive.sqlite"
    with FamilyServer(family, faults=SLOW) as server:
        origin = server.origins["arabpress"]
        first = start_crawl(origin, db, tmp_path)
        wait_for_lock(first, db)
        deadline = time.monotonic() + 60
        while not runs(db) and time.monotonic() < deadline:  # its start is recorded
            time.sleep(0.02)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    with FamilyServer(family) as server:
        again = run_crawl("arabpress", db, tmp_path, base_url=server.origins["arabpress"])
    assert again.returncode == 0, again.log[-2000:]
    assert again.stats["finish_reason"] == "finished"
    assert again.stats.get("pressarchive/stored/new_article", 0) > 0
    # The killed run's record, started and never ended, no longer reads as running.
    assert [reason for _, reason, _ in runs(db)] == ["interrupted", "finished"]
    assert "run #1 of arabpress never ended (killed?): recorded as interrupted" in again.log


def test_the_lock_file_and_what_is_not_locked(tmp_path):
    folder = tmp_path.resolve()
    path = lock_path(f"sqlite:///{tmp_path}/a.sqlite", "arabpress")
    assert path == folder / "a.sqlite.arabpress.lock"
    assert lock_path(str(tmp_path / "b.sqlite"), "saudipress") == \
        folder / "b.sqlite.saudipress.lock"
    # Not SQLite files: an in-memory archive is the run's own; a server database is shared.
    # However the archive's path is spelled (a link to it, a relative path), one lock.
    (tmp_path / "link").symlink_to(tmp_path)
    assert lock_path(f"sqlite:///{tmp_path}/link/./a.sqlite", "arabpress") == path
    assert lock_path("sqlite://", "arabpress") is None
    assert lock_path("postgresql://localhost/test", "arabpress") is None
    held, holder = take_lock(path)
    assert held is not None and holder == ""
    refused, holder = take_lock(path)
    assert refused is None and holder.startswith(f"pid {os.getpid()} since ")
    held.close()
    again, _ = take_lock(path)
    assert again is not None
    again.close()


def test_a_forked_child_does_not_keep_a_lock_its_parent_gave_up(tmp_path):
    # The ingest worker of another crawl in the same process (pressarchive crawl arabpress
    # saudipress) is forked with a copy of every open file, the run locks included.
    crawler = SimpleNamespace(settings=Settings({"ARCHIVE_URL": f"sqlite:///{tmp_path}/a.sqlite"}),
                              signals=SimpleNamespace(connect=lambda *args, **kwargs: None))
    lock = RunLock(crawler)
    lock.spider_opened(SimpleNamespace(name="arabpress"))
    crawler._pressarchive_archive.close()  # opened to look for runs left unended
    path = tmp_path / "a.sqlite.arabpress.lock"
    assert take_lock(path)[0] is None  # held
    fork = multiprocessing.get_context("fork")
    running, done = fork.Event(), fork.Event()
    child = fork.Process(target=lambda: running.set() or done.wait(30))
    child.start()
    try:
        assert running.wait(30)  # the child is past the fork (and its at-fork hooks)
        lock.release()  # the run is over; the child lives on
        free, holder = take_lock(path)
        assert free is not None, f"the lock outlived its run in a forked child ({holder})"
        free.close()
    finally:
        done.set()
        child.join(timeout=30)


def test_a_lock_that_cannot_be_made_leaves_the_run_unlocked_not_broken(tmp_path, caplog):
    missing = tmp_path / "gone" / "a.sqlite"  # its folder does not exist
    lock = RunLock(SimpleNamespace(settings=Settings({"ARCHIVE_URL": f"sqlite:///{missing}"})))
    lock.spider_opened(SimpleNamespace(name="arabpress"))  # no exception: a warning
    assert lock.file is None
    assert "runs of arabpress are not locked" in caplog.text
