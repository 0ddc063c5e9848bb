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
