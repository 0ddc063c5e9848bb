"""The scrapyd route README.md shows, run as written: scrapyd started in the project folder (it
finds the project in scrapy.cfg's [settings], so there is no egg to deploy), the README's
schedule.json request sent to it on 127.0.0.1, and the crawl it runs filling the archive; a
second scheduled run adds nothing."""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest

from conftest import ROOT, run_crawl

pytest.importorskip("scrapyd", reason="scrapyd is in the test extra: pip install -e '.[test]'")


def readme_request() -> tuple[str, list[tuple[str, str]]]:
    """The schedule.json URL and form fields of README.md's curl line."""
    text = (ROOT / "README.md").read_text("utf-8")
    line = re.search(r"`curl (http://localhost:6800/schedule\.json[^`]+)`", text)
    assert line, "README.md shows no scrapyd schedule request"
    words = shlex.split(line.group(1))
    assert words[1::2] == ["-d"] * (len(words) // 2), words
    return words[0], [tuple(field.split("=", 1)) for field in words[2::2]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def call(url: str, fields: list[tuple[str, str]] | None = None) -> dict:
    data = urllib.parse.urlencode(fields).encode() if fields is not None else None
    with urllib.request.urlopen(url, data, timeout=10) as answer:
        return json.loads(answer.read())


@pytest.fixture
def scrapyd(tmp_path):
    """scrapyd on a free 127.0.0.1 port, started in the project folder; its base URL. Its
    configuration is a ~/.scrapyd.conf (HOME is the test's folder), one of the places it reads."""
    port = free_port()
    home = tmp_path / "home"
    home.mkdir()
    (home / ".scrapyd.conf").write_text(
        f"[scrapyd]\nbind_address = 127.0.0.1\nhttp_port = {port}\n"
        f"eggs_dir = {home / 'eggs'}\nlogs_dir = {home / 'logs'}\ndbs_dir = {home / 'dbs'}\n"
        "items_dir =\npoll_interval = 0.5\nmax_proc = 1\n")
    env = {**os.environ, "HOME": str(home), "TMPDIR": str(tmp_path)}
    env.pop("SCRAPY_SETTINGS_MODULE", None)
    log = tmp_path / "scrapyd.log"  # a file, not a pipe, which a chatty daemon could fill
    with log.open("w") as output:
        proc = subprocess.Popen([sys.executable, "-m", "scrapyd"], cwd=ROOT, env=env,
                                stdout=output, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                assert call(f"{base}/daemonstatus.json")["status"] == "ok"
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"scrapyd did not start: {log.read_text()[-2000:]}")
                time.sleep(0.2)
        yield base, home
    finally:
        proc.terminate()
        proc.wait(10)


def run_scheduled(base: str, fields: list[tuple[str, str]]) -> dict:
    """Schedules a job with ``fields`` and waits for scrapyd to finish it; the job."""
    answer = call(f"{base}/schedule.json", fields)
    assert answer["status"] == "ok", answer
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        jobs = call(f"{base}/listjobs.json?project={dict(fields)['project']}")
        done = [job for job in jobs["finished"] if job["id"] == answer["jobid"]]
        if done:
            return done[0]
        time.sleep(0.3)
    raise AssertionError("the scheduled crawl did not finish in 180 s")


def rows(db, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as connection:
        return connection.execute(sql).fetchall()


def test_readme_scrapyd_request_runs_a_crawl_into_the_archive(scrapyd, local_sites, tmp_path):
    base, home = scrapyd
    url, fields = readme_request()
    assert url == "http://localhost:6800/schedule.json"
    assert ("project", "pressarchive") in fields
    assert any(key == "setting" and value.startswith("ARCHIVE_URL=") for key, value in fields)
    db = tmp_path / "archive.sqlite"
    site = dict(fields)["spider"]
    # The README's request, with the archive in this test's folder, the bundled copy of the
    # site as the spider's base_url, and no politeness delay toward our own server.
    fields = [(k, f"ARCHIVE_URL=sqlite:///{db}" if v.startswith("ARCHIVE_URL=") else v)
              for k, v in fields]
    fields += [("base_url", local_sites[site].origin),
               ("setting", "AUTOTHROTTLE_START_DELAY=0"), ("setting", "AUTOTHROTTLE_MAX_DELAY=1")]

    first = run_scheduled(base, fields)
    log = (home / "logs" / "pressarchive" / site / f"{first['id']}.log").read_text("utf-8")
    assert "Spider closed (finished)" in log
    # The same archive as `scrapy crawl` of the same site gives.
    direct = tmp_path / "direct.sqlite"
    assert run_crawl(site, direct, tmp_path, base_url=local_sites[site].origin).returncode == 0
    articles = "SELECT COUNT(*) FROM articles"
    assert rows(db, articles) == rows(direct, articles) and rows(db, articles)[0][0] > 0
    versions = "SELECT fingerprint FROM versions ORDER BY fingerprint"
    assert rows(db, versions) == rows(direct, versions)

    second = run_scheduled(base, fields)
    assert second["id"] != first["id"]
    runs = rows(db, "SELECT finish_reason, new, changed FROM crawl_runs ORDER BY id")
    assert runs[0][:2] == ("finished", rows(db, articles)[0][0])
    assert runs[1] == ("finished", 0, 0)
    assert rows(db, versions) == rows(direct, versions)
