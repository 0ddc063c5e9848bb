"""An archive that cannot be written (its disk full) stops the crawl with one line that says
why, instead of fetching the whole site for nothing; what it held stays intact, and the next
run, with room again, archives the rest."""

from __future__ import annotations

import resource
import sqlite3

from pressarchive.sitegen import FamilyServer, SiteFamily

from conftest import run_crawl

# No file of the crawl may grow past this (RLIMIT_FSIZE): the archive outgrows it after a few
# dozen articles. Python ignores SIGXFSZ, so a write past it fails (EFBIG) as on a full disk.
FILE_LIMIT = 600_000


def limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))


def archived(db) -> tuple[list[str], str]:
    """(the URLs of the arabpress articles the archive holds, integrity_check's answer)."""
    con = sqlite3.connect(db)
    try:
        urls = [url for (url,) in con.execute(
            "SELECT url FROM appearances WHERE site = 'arabpress'")]
        return urls, con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


def first_run(db) -> tuple[int | None, str | None]:
    """(the first run's id if it was recorded as ended, else None; its finish_reason)."""
    con = sqlite3.connect(db)
    try:
        run_id, ended, reason = con.execute(
            "SELECT id, finished_at, finish_reason FROM crawl_runs ORDER BY id").fetchone()
        return (run_id if ended else None), reason
    finally:
        con.close()


def test_a_full_disk_stops_the_crawl_in_one_line_and_loses_nothing(tmp_path):
    family = SiteFamily(2000, seed=3)
    expected = {family.article(i).url("arabpress") for i in family.ids("arabpress")}
    db = tmp_path / "archive.sqlite"
    with FamilyServer(family) as server:
        origin = server.origins["arabpress"]
        full = run_crawl("arabpress", db, tmp_path, base_url=origin, preexec_fn=limit_file_size)
        held, integrity = archived(db)
        ended = first_run(db)
        room = run_crawl("arabpress", db, tmp_path, base_url=origin)
        room_runs = first_run(db)
    assert full.stats["finish_reason"] == "archive_unwritable", full.log[-3000:]
    errors = [line for line in full.log.splitlines() if " ERROR: " in line]
    assert len(errors) == 1 and "the archive cannot be written (" in errors[0], errors[:5]
    assert "Traceback" not in full.log
    assert full.stats["pressarchive/unsaved"] > 0
    # The run's end is recorded if the archive still takes that one small write; if not, a
    # warning (not a second error) says so, and the next run records it as interrupted.
    if ended[0] is None:
        assert "WARNING: run #1 could not be recorded as ended either (" in full.log
        assert room_runs[1] == "interrupted"
    else:
        assert ended == (1, "archive_unwritable")
    # It stopped: far fewer pages than the site has articles (the crawl runs ahead of the
    # archive's writes by at most a few hundred pages when the first write fails).
    assert full.stats["response_received_count"] < 0.5 * len(expected)
    # What the archive held before the disk filled is whole, and nothing else is there.
    assert integrity == "ok"
    assert 0 < len(held) < len(expected) and set(held) <= expected
    # With room again, the next run archives the rest, once each.
    assert room.returncode == 0 and room.stats["finish_reason"] == "finished"
    urls, integrity = archived(db)
    assert integrity == "ok"
    assert sorted(urls) == sorted(expected)


def under_way(db) -> bool:
    """Whether a crawl's archive holds 100 articles (read only: never made here first)."""
    if not db.exists():
        return False
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute("SELECT count(*) FROM appearances").fetchone()[0] >= 100
    except sqlite3.OperationalError:  # its tables not made yet
        return False
    finally:
        con.close()


def test_an_archive_moved_away_mid_crawl_stops_it_and_no_new_one_is_made_in_its_place(
        tmp_path):
    """The archive's files moved elsewhere while a crawl writes (an administrator's ``mv``):
    its writes went on into the moved file, the crawl said it finished and exited 0, and its
    summary made a new, empty archive at the path (a soak). Now the next batch finds the file
    gone and the crawl stops (archive_unwritable, one ERROR line, exit 1), nothing is made
    where it was, the moved archive is whole, and, moved back, the next run completes it."""
    import os
    import subprocess
    import sys
    import time

    from conftest import ROOT

    family = SiteFamily(1500, seed=4)
    expected = {family.article(i).url("arabpress") for i in family.ids("arabpress")}
    db, away = tmp_path / "archive.sqlite", tmp_path / "elsewhere"
    away.mkdir()
    with FamilyServer(family) as server:
        cmd = [sys.executable, "-m", "pressarchive.cli", "crawl", "arabpress", "--db", str(db),
               "--base-url", server.origins["arabpress"],
               "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2"]
        env = {**os.environ, "TMPDIR": str(tmp_path)}
        crawl = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while not under_way(db):
            assert time.monotonic() < deadline and crawl.poll() is None, crawl.stderr.read()
            time.sleep(0.05)
        for name in ("archive.sqlite", "archive.sqlite-wal", "archive.sqlite-shm"):
            os.rename(tmp_path / name, away / name)
        out, log = crawl.communicate(timeout=120)
        assert crawl.returncode == 1, log[-3000:]
        assert not db.exists()  # no archive made in its place
        errors = [line for line in log.splitlines() if " ERROR: " in line]
        assert errors and "moved, removed or replaced while open" in errors[0], errors[:5]
        assert "Traceback" not in log, log[-3000:]
        assert "pressarchive: the crawl's runs cannot be read back (no archive at" in log, log[-1500:]
        held, integrity = archived(away / "archive.sqlite")
        assert integrity == "ok" and 100 <= len(held) < len(expected)
        assert set(held) <= expected
        for name in ("archive.sqlite", "archive.sqlite-wal", "archive.sqlite-shm"):
            if (away / name).exists():
                os.rename(away / name, tmp_path / name)
        again = subprocess.run(cmd[:-2], cwd=ROOT, env=env, capture_output=True, text=True,
                               timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    urls, integrity = archived(db)
    assert integrity == "ok" and sorted(urls) == sorted(expected)
    assert first_run(db)[1] in ("archive_unwritable", "interrupted")
