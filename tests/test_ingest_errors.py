"""A page that an error of ours keeps out of the archive (a bug in the ingester) is no quiet
loss: the run records it as failed (``ingest_error``), says so, exits 1 for the scheduler,
remembers the URL as failed (``pressarchive failures`` lists it), and the next run asks for the
page again."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

from pressarchive.sitegen import FamilyServer, SiteFamily

from conftest import ROOT, run_crawl

# Loaded by every Python process started with this folder on PYTHONPATH (the crawl, and the
# ingest worker it forks): the archive refuses the record of one URL, as a bug would.
HOOK = """
import os
from pressarchive.storage.archive import Archive

BAD = os.environ["PRESSARCHIVE_TEST_BAD_URL"]
_save_in, _save_many = Archive.save_in, Archive.save_many


def _check(record):
    if record.url == BAD:
        raise RuntimeError("a fault planted by the test")


def save_in(self, session, record, fetch):
    _check(record)
    return _save_in(self, session, record, fetch)


def save_many(self, session, saves):
    for record, _ in saves:
        _check(record)
    return _save_many(self, session, saves)


Archive.save_in, Archive.save_many = save_in, save_many
"""


def last_run(db) -> tuple[str, int, dict]:
    con = sqlite3.connect(db)
    try:
        reason, failed, errors = con.execute(
            "SELECT finish_reason, failed, errors FROM crawl_runs ORDER BY id DESC").fetchone()
    finally:
        con.close()
    return reason, failed, json.loads(errors) if isinstance(errors, str) else errors


def archived(db, url: str) -> bool:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT COUNT(*) FROM appearances WHERE url = ?",
                           (url,)).fetchone()[0] == 1
    finally:
        con.close()


def failing(db) -> list[str]:
    """The lines of ``pressarchive failures`` for the archive, white space folded."""
    listed = subprocess.run([sys.executable, "-m", "pressarchive.cli", "failures", "--db", str(db)],
                            cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    return [" ".join(line.split()) for line in listed.stdout.splitlines()]


def test_a_page_lost_to_an_error_of_ours_fails_the_run_and_is_fetched_again(tmp_path):
    family = SiteFamily(60, seed=2)
    bad = family.article(3).url("arabpress")
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(HOOK)
    faulty = {"PYTHONPATH": str(hooks), "PRESSARCHIVE_TEST_BAD_URL": bad}
    db = tmp_path / "archive.sqlite"
    with FamilyServer(family) as server:
        origin = server.origins["arabpress"]
        first = run_crawl("arabpress", db, tmp_path, base_url=origin, env=faulty)
        assert first.returncode == 1, first.log[-2000:]
        assert first.stats["finish_reason"] == "finished"
        assert first.stats["pressarchive/ingest_errors"] == 1
        assert "1 page of arabpress could not be archived (an error in pressarchive: see the " \
            "tracebacks above); the next run fetches it again" in first.log
        assert last_run(db) == ("finished", 1, {"ingest_error": 1})
        assert not archived(db, bad)
        on_site = sum("arabpress" in family.sites_of(i) for i in range(family.count))
        assert first.stats["pressarchive/stored/new_article"] == on_site - 1
        # Remembered as a failed URL: `pressarchive failures` shows it, with the error.
        listed = failing(db)
        assert len(listed) == 1 and listed[0].endswith(bad), listed
        assert "arabpress 1 run ingest_error: RuntimeError: a fault planted by the test " \
            in listed[0]
        assert listed[0].endswith(f" page retried {bad}")

        # pressarchive crawl, as a scheduler runs it: the summary says so, and it exits 1.
        second = subprocess.run(
            [sys.executable, "-m", "pressarchive.cli", "crawl", "arabpress", "--db", str(db),
             "--base-url", origin], cwd=ROOT, capture_output=True, text=True, timeout=300,
            env={**os.environ, **faulty, "TMPDIR": str(tmp_path)})
        assert second.returncode == 1, second.stderr[-2000:]
        summary = [line for line in second.stdout.splitlines() if line.startswith("run #2")]
        assert len(summary) == 1 and "1 failed (errors: ingest_error 1)" in summary[0], summary
        assert not archived(db, bad)

        # Mended, the next run fetches it again and stores it; a clean run exits 0.
        assert "arabpress 2 runs ingest_error: RuntimeError" in failing(db)[0]

        # Mended, the next run asks for it first, as it does every failed URL, and stores it;
        # the failure is forgotten, and a clean run exits 0.
        third = run_crawl("arabpress", db, tmp_path, base_url=origin)
        assert third.returncode == 0, third.log[-2000:]
        assert third.stats["pressarchive/retrying_failed"] == 1
        assert third.stats["pressarchive/stored/new_article"] == 1
        assert archived(db, bad)
        assert last_run(db) == ("finished", 0, {})
        assert failing(db) == []
