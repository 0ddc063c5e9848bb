"""Every response kept as WARC (WARC_DIR), each archived page linked to its record, and the
archive's versions read again from those records offline (``pressarchive reextract``)."""

from __future__ import annotations

import dataclasses
import gzip
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from conftest import ROOT, kill_9_midway, run_crawl
from pressarchive import reextract
from pressarchive.sitegen import FamilyServer, SiteFamily
from pressarchive.storage import Archive
from pressarchive.warc import Capture, WarcFiles, read_capture


def records(folder: Path) -> list[dict]:
    """Every record of every WARC file in ``folder``, digests checked as they are read."""
    out = []
    for path in sorted(folder.glob("*.warc.gz")):
        with open(path, "rb") as file:
            it = ArchiveIterator(file, check_digests=True)
            for record in it:
                body = record.content_stream().read()
                out.append({
                    "file": path.name, "offset": it.get_record_offset(),
                    "type": record.rec_type,
                    "id": record.rec_headers.get_header("WARC-Record-ID"),
                    "concurrent": record.rec_headers.get_header("WARC-Concurrent-To"),
                    "uri": record.rec_headers.get_header("WARC-Target-URI"),
                    "status": int(record.http_headers.get_statuscode())
                    if record.rec_type == "response" else None,
                    "request_headers": dict(record.http_headers.headers)
                    if record.rec_type == "request" else None,
                    "body": body, "digest_failed": bool(record.digest_checker.problems)})
    return out


# -- the writer -------------------------------------------------------------------------------

def test_records_are_valid_warc_each_response_with_its_request_and_files_rotate(tmp_path):
    files = WarcFiles(tmp_path, max_bytes=3000, info={"isPartOf": "test"})
    pages = {f"http://127.0.0.1:8000/a/{i}?q={i}": f"<p>page {i} é</p>".encode() * 40
             for i in range(6)}
    captures = {url: files.write(url, status=200, body=body,
                                 headers=[("Content-Type", "text/html; charset=utf-8"),
                                          ("Transfer-Encoding", "chunked")],
                                 request_headers=[("User-Agent", "pa"), ("If-None-Match", '"x"')],
                                 ip_address="127.0.0.1")
                for url, body in pages.items()}
    gz = files.write("http://127.0.0.1:8000/gz", status=200, body=gzip.compress(b"<p>zip</p>"),
                     headers=[("Content-Encoding", "gzip")])
    files.close()

    names = sorted(p.name for p in tmp_path.glob("*.warc.gz"))
    assert len(names) > 1 and all(n.startswith("pressarchive-") for n in names)
    got = records(tmp_path)
    assert not any(r["digest_failed"] for r in got)
    assert [r["type"] for r in got if r["offset"] == 0] == ["warcinfo"] * len(names)
    responses = {r["id"]: r for r in got if r["type"] == "response"}
    requests = [r for r in got if r["type"] == "request"]
    assert len(responses) == len(requests) == 7
    assert all(r["concurrent"] in responses and responses[r["concurrent"]]["uri"] == r["uri"]
               for r in requests)
    asked = next(r for r in requests if r["uri"].endswith("/a/3?q=3"))
    assert asked["request_headers"]["Host"] == "127.0.0.1:8000"
    assert asked["request_headers"]["If-None-Match"] == '"x"'
    for url, capture in captures.items():
        status, headers, body, uri = read_capture(tmp_path, capture)
        assert (status, body, uri) == (200, pages[url], url)
        # the client took the chunked coding off: said so, and the body's length given
        assert headers["X-Archive-Orig-Transfer-Encoding"] == "chunked"
        assert headers["Content-Length"] == str(len(pages[url]))
        assert "Transfer-Encoding" not in headers
    assert read_capture(tmp_path, gz)[2] == b"<p>zip</p>"  # kept compressed, read decoded


def test_a_record_that_cannot_be_written_whole_is_cut_off_and_the_file_stays_whole(tmp_path):
    files = WarcFiles(tmp_path)
    first = files.write("http://h/1", status=200, headers=[], body=b"one")

    class DiskFull:  # writes part of what it is given, then fails, as a full disk does
        def __init__(self, real):
            self.real, self.calls = real, 0

        def write(self, data):
            self.calls += 1
            self.real.write(data[:len(data) // 2])
            raise OSError(28, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.real, name)

    real = files._file
    files._file = full = DiskFull(real)
    with pytest.raises(OSError):
        files.write("http://h/2", status=200, headers=[], body=b"two")
    files._file = real
    third = files.write("http://h/3", status=200, headers=[], body=b"three")
    files.close()
    assert full.calls == 1
    got = [r for r in records(tmp_path) if r["type"] == "response"]
    assert [r["uri"] for r in got] == ["http://h/1", "http://h/3"]
    assert read_capture(tmp_path, first)[2] == b"one"
    assert read_capture(tmp_path, third)[2] == b"three"
    with pytest.raises(ValueError):  # an offset that holds no response record
        read_capture(tmp_path, Capture(first.file, 0, 1))


def test_the_gzip_level_is_a_setting_and_any_level_reads_back(tmp_path):
    body = b"<p>" + b"the same words again " * 400 + b"</p>"
    sizes = {}
    for level in (1, 9):
        files = WarcFiles(tmp_path / str(level), level=level)
        capture = files.write("http://h/a", status=200, headers=[], body=body)
        files.close()
        assert read_capture(tmp_path / str(level), capture)[2] == body
        sizes[level] = capture.length
    assert sizes[9] < sizes[1]


def test_the_middleware_counts_and_logs_a_record_it_cannot_write_and_the_crawl_goes_on():
    from scrapy import Spider
    from scrapy.http import HtmlResponse, Request
    from scrapy.utils.test import get_crawler

    from spiders.middlewares import WarcMiddleware

    class OneSite(Spider):
        name = "arabpress"

    class Full:
        def write(self, *args, **kwargs):
            raise OSError(28, "No space left on device")

        def close(self):
            pass

    crawler = get_crawler(OneSite, {"WARC_DIR": "unused"})
    crawler.spider = OneSite.from_crawler(crawler)
    middleware = WarcMiddleware(crawler, Full())
    request = Request("https://arabpress.com/a", meta={"warc": "a former hop's"})
    response = HtmlResponse(request.url, body=b"<html></html>", request=request)
    assert middleware.process_response(request, response) is response
    assert middleware.process_response(request, response) is response
    assert crawler.stats.get_value("pressarchive/warc/errors") == 2
    assert "warc" not in request.meta  # never another hop's record for this page


# -- a crawl ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("warc")
    db, warc = tmp / "archive.sqlite", tmp / "warc"
    family = SiteFamily(80, seed=5)
    runs = []
    with FamilyServer(family) as server:
        for _ in range(2):  # the first crawl, then a rerun: 304s
            runs.append(run_crawl("arabpress", db, tmp, base_url=server.origins["arabpress"],
                                  settings={"WARC_DIR": str(warc)}))
    for run in runs:
        assert run.returncode == 0, run.log[-3000:]
    return {"db": db, "warc": warc, "runs": runs, "tmp": tmp}


def test_a_crawl_keeps_every_response_it_downloaded_as_valid_warc(crawled):
    got = records(crawled["warc"])
    assert not any(r["digest_failed"] for r in got)
    responses = [r for r in got if r["type"] == "response"]
    downloaded = sum(run.stats["downloader/response_count"] for run in crawled["runs"])
    assert len(responses) == downloaded
    assert sum(run.stats["pressarchive/warc/records"] for run in crawled["runs"]) == downloaded
    assert len([r for r in got if r["type"] == "request"]) == downloaded
    paths = {r["uri"].split("/", 3)[3] for r in responses}
    assert "robots.txt" in paths and any(p.startswith("sitemap") for p in paths)
    assert any(r["status"] == 304 for r in responses)  # the rerun's conditional requests
    # each run writes files of its own
    assert len({r["file"] for r in got}) >= 2
    # the summary says how many were kept; the run record, where
    for run in crawled["runs"]:
        kept = run.stats["pressarchive/warc/records"]
        assert f"; {kept} responses kept as WARC\n" in run.log
    con = sqlite3.connect(crawled["db"])
    folders = [json.loads(row[0])["warc_dir"] for row in con.execute(
        "SELECT settings FROM crawl_runs ORDER BY id")]
    con.close()
    assert folders == [str(crawled["warc"].resolve())] * 2


def test_every_version_is_linked_to_the_record_of_the_response_it_came_from(crawled):
    con = sqlite3.connect(crawled["db"])
    versions = {row[0]: row[1] for row in con.execute("SELECT id, first_url FROM versions")}
    linked = con.execute("SELECT version_id, url, site, status, warc_file, warc_offset, "
                         "warc_length FROM captures WHERE version_id IS NOT NULL").fetchall()
    not_modified = con.execute("SELECT count(*) FROM captures WHERE status = 304").fetchone()[0]
    con.close()
    assert versions and {row[0] for row in linked} == set(versions)
    assert not_modified > 0
    by_offset = {(r["file"], r["offset"]): r for r in records(crawled["warc"])}
    for version_id, url, site, status, file, offset, length in linked:
        record = by_offset[(file, offset)]
        assert record["type"] == "response" and record["status"] == status == 200
        # the public URL is the page's path on the local copy that was crawled
        assert record["uri"].split("/", 3)[3] == url.split("/", 3)[3]
        assert b"<html" in record["body"].lower()
        with open(crawled["warc"] / file, "rb") as warc:  # the length is the record's own
            warc.seek(offset)
            assert gzip.decompress(warc.read(length)).startswith(b"WARC/1.0")


def test_reextract_reads_every_version_again_the_same_and_says_so(crawled):
    archive = Archive(f"sqlite:///{crawled['db']}")
    try:
        report = reextract.check(archive, crawled["warc"])
    finally:
        archive.close()
    con = sqlite3.connect(crawled["db"])
    versions = con.execute("SELECT count(*) FROM versions").fetchone()[0]
    con.close()
    assert report.counts == {reextract.SAME: versions}
    proc = subprocess.run([sys.executable, "-m", "pressarchive.cli", "reextract", "--db",
                           str(crawled["db"]), "--warc-dir", str(crawled["warc"])],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert f"{versions} versions read again from WARC: {versions} the same, 0 different" \
        in proc.stderr


def test_reextract_names_the_fields_a_changed_extractor_reads_differently(crawled,
                                                                           monkeypatch):
    from pressarchive.extract import extract as real_extract

    def louder(*args, **kwargs):  # an extractor that now reads a kicker into the headline
        record = real_extract(*args, **kwargs)
        return dataclasses.replace(record, headline="Update: " + record.headline,
                                   fingerprint="")

    monkeypatch.setattr(reextract, "extract", louder)
    archive = Archive(f"sqlite:///{crawled['db']}")
    try:
        report = reextract.check(archive, crawled["warc"])
    finally:
        archive.close()
    assert set(report.counts) == {reextract.CHANGED}
    assert {one.fields for one in report.checked} == {("headline",)}


def test_a_lost_or_cut_warc_file_is_unreadable_in_a_line_and_exit_1(crawled, tmp_path):
    import shutil

    copy = tmp_path / "warc"
    shutil.copytree(crawled["warc"], copy)
    con = sqlite3.connect(crawled["db"])
    file, = con.execute("SELECT warc_file FROM captures WHERE version_id IS NOT NULL "
                        "ORDER BY id LIMIT 1").fetchone()
    con.close()
    (copy / file).write_bytes((copy / file).read_bytes()[:2000])
    proc = subprocess.run([sys.executable, "-m", "pressarchive.cli", "reextract", "--db",
                           str(crawled["db"]), "--warc-dir", str(copy), "--show", "3"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stdout.strip().splitlines()
    assert lines and all(line.startswith("unreadable") and file in line for line in lines)
    assert "unreadable" in proc.stderr.splitlines()[-1]


def test_a_warc_folder_that_cannot_be_written_stops_the_crawl_before_it_starts(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    run = run_crawl("arabpress", tmp_path / "a.sqlite", tmp_path,
                    base_url="http://127.0.0.1:9", settings={"WARC_DIR": str(blocker / "warc")})
    assert run.returncode == 1
    assert "pressarchive: WARC_DIR" in run.log and "cannot write there" in run.log
    assert "Traceback" not in run.log
    assert not (tmp_path / "a.sqlite").exists()  # told before the archive is made


# -- a writer killed midway -------------------------------------------------------------------

def test_a_file_a_killed_writer_left_is_cut_to_its_last_whole_record_and_finished(tmp_path):
    from pressarchive.warc import OPEN, recover

    # A writer in another process writes three records, then dies midway through a fourth
    # (part of its bytes written) without finishing its file.
    script = (
        "import os, sys\n"
        "from pressarchive.warc import WarcFiles\n"
        "files = WarcFiles(sys.argv[1])\n"
        "for i in range(3):\n"
        "    c = files.write(f'http://h/{i}', status=200, headers=[], body=b'page %d' % i * 99)\n"
        "    print(c.file, c.offset, c.length, flush=True)\n"
        "files._file.write(b'\\x1f\\x8b\\x08\\x00 the start of a record, no more')\n"
        "files._file.flush()\n"
        "os._exit(9)\n")
    proc = subprocess.run([sys.executable, "-c", script, str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 9, proc.stderr
    written = [Capture(f, int(o), int(n)) for f, o, n in
               (line.split() for line in proc.stdout.splitlines())]
    left = list(tmp_path.glob("*" + OPEN))
    assert len(left) == 1 and left[0].name == written[0].file + OPEN
    # while unfinished, its records are read from the .open file
    assert read_capture(tmp_path, written[1])[2] == b"page 1" * 99
    # a file still being written (locked by its writer) is left alone
    alive = WarcFiles(tmp_path / "alive")
    alive.write("http://h/x", status=200, headers=[], body=b"x")
    assert recover(tmp_path / "alive") == []

    assert recover(tmp_path) == [written[0].file]
    assert not list(tmp_path.glob("*" + OPEN))
    got = records(tmp_path)
    assert not any(r["digest_failed"] for r in got)
    assert [r["uri"] for r in got if r["type"] == "response"] == [f"http://h/{i}"
                                                                for i in range(3)]
    for i, capture in enumerate(written):
        assert read_capture(tmp_path, capture)[2] == b"page %d" % i * 99
    alive.close()
    assert [p.name for p in (tmp_path / "alive").iterdir()] == [alive.name]


def test_kill_9_mid_crawl_then_a_rerun_leaves_every_warc_file_whole_and_every_link_readable(
        tmp_path):
    db, warc = tmp_path / "archive.sqlite", tmp_path / "warc"
    family = SiteFamily(600, seed=8)

    def linked() -> int:
        try:
            con = sqlite3.connect(db, timeout=5)
            try:
                return con.execute("SELECT count(*) FROM captures "
                                   "WHERE version_id IS NOT NULL").fetchone()[0]
            finally:
                con.close()
        except sqlite3.OperationalError:  # not made yet
            return 0

    with FamilyServer(family) as server:
        origin = server.origins["arabpress"]
        kill_9_midway(origin, tmp_path, {"ARCHIVE_URL": f"sqlite:///{db}",
                                         "WARC_DIR": str(warc)}, ready=lambda: linked() >= 100)
        assert list(warc.glob("*.open")), "the crawl was not killed midway"
        rerun = run_crawl("arabpress", db, tmp_path, base_url=origin,
                          settings={"WARC_DIR": str(warc)})
    assert rerun.returncode == 0, rerun.log[-2000:]
    assert "was left unfinished" in rerun.log
    assert not list(warc.glob("*.open"))
    got = records(warc)  # every file read to its end, every digest checked
    assert got and not any(r["digest_failed"] for r in got)
    archive = Archive(f"sqlite:///{db}")
    try:
        report = reextract.check(archive, warc)
    finally:
        archive.close()
    con = sqlite3.connect(db)
    versions = con.execute("SELECT count(*) FROM versions").fetchone()[0]
    con.close()
    assert versions == len(family.ids("arabpress"))
    assert report.counts == {reextract.SAME: versions}


def test_show_says_where_each_version_is_kept_as_warc(crawled):
    from pressarchive.research.show import render, show

    con = sqlite3.connect(crawled["db"])
    article_id, version_id = con.execute(
        "SELECT v.article_id, v.id FROM versions v JOIN captures c ON c.version_id = v.id "
        "GROUP BY v.id HAVING count(*) > 1 ORDER BY v.id LIMIT 1").fetchone()
    newest = con.execute("SELECT warc_file, warc_offset FROM captures WHERE version_id = ? "
                         "ORDER BY fetched_at DESC, id DESC LIMIT 1", (version_id,)).fetchone()
    count = con.execute("SELECT count(*) FROM captures WHERE version_id = ?",
                        (version_id,)).fetchone()[0]
    con.close()
    archive = Archive(f"sqlite:///{crawled['db']}")
    try:
        view = show(archive, article_id)
    finally:
        archive.close()
    kept = next(v for v in view["versions"] if v["id"] == version_id)["captures"]
    assert len(kept) == count > 1
    assert (kept[-1]["warc_file"], kept[-1]["warc_offset"]) == newest
    assert read_capture(crawled["warc"], Capture(kept[-1]["warc_file"], kept[-1]["warc_offset"],
                                                 kept[-1]["warc_length"]))[0] == 200
    assert (f"kept as WARC: {newest[0]} at {newest[1]} " in render(view)
            and f"; {count} captures in all)" in render(view))
