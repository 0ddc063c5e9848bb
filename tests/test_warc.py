"""Every response kept as WARC (WARC_DIR), each archived page linked to its record, and the
archive's versions read again from those records offline (``pressarchive reextract``)."""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
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


def test_on_a_disk_that_fills_up_every_file_stays_whole_and_none_is_left_unfinished(
        tmp_path):
    """A full disk for real, in a child process: RLIMIT_FSIZE fails a write past 20,000 bytes
    (EFBIG), part written, as a full disk fails it. Records of 3 KB, smaller than Python's
    write buffer: buffered, such a record failed at its flush and could not be cut (a soak's
    find, on a tmpfs that filled up): the file was given up unfinished, and each later write
    left another empty file. And a limit no file can begin under: no file is left."""
    script = (
        "import json, os, resource, signal, sys\n"
        "from pressarchive.warc import WarcFiles\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "limit = int(sys.argv[2])\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))\n"
        "files, kept, failed = WarcFiles(sys.argv[1]), [], 0\n"
        "for i in range(12):\n"
        "    try:\n"
        "        c = files.write(f'http://h/{i}', status=200, headers=[],\n"
        "                        body=os.urandom(1500).hex().encode())\n"
        "        kept.append([i, c.file, c.offset, c.length])\n"
        "    except OSError:\n"
        "        failed += 1\n"
        "left = sorted(os.listdir(sys.argv[1]))\n"
        "files.close()\n"
        "print(json.dumps({'kept': kept, 'failed': failed, 'left': left}))\n")
    for limit, folder in ((20_000, tmp_path / "full"), (100, tmp_path / "none")):
        proc = subprocess.run([sys.executable, "-c", script, str(folder), str(limit)],
                              cwd=ROOT, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        got = json.loads(proc.stdout)
        assert got["failed"] and len(got["left"]) <= 1  # no trail of empty files
        assert not list(folder.glob("*.open"))
        for i, file, offset, length in got["kept"]:
            status, _, body, uri = read_capture(folder, Capture(file, offset, length))
            assert (status, uri, len(body)) == (200, f"http://h/{i}", 3000)
        if limit == 100:
            assert not got["kept"] and not list(folder.iterdir())
        else:
            assert got["kept"]
            kept = [r for r in records(folder) if r["type"] == "response"]
            assert [r["uri"] for r in kept] == [f"http://h/{i}" for i, *_ in got["kept"]]
            assert not any(r["digest_failed"] for r in kept)


def test_two_writers_of_one_process_never_share_a_file_nor_finish_over_another(tmp_path,
                                                                             caplog):
    """A crawl of two sites runs two writers in one process: their files, begun in the same
    millisecond, had one name (the second's open refused, its records lost), and a finished
    file could be renamed over another (os.replace). Now names are the process's, and a
    file is never finished over another of its name."""
    from pressarchive.warc import OPEN

    one, two = WarcFiles(tmp_path), WarcFiles(tmp_path)
    a = one.write("http://h/a", status=200, headers=[], body=b"from a")
    b = two.write("http://h/b", status=200, headers=[], body=b"from b")
    assert a.file != b.file
    one.close()
    two.close()
    assert read_capture(tmp_path, a)[2:] == (b"from a", "http://h/a")
    assert read_capture(tmp_path, b)[2:] == (b"from b", "http://h/b")
    # a file of the finished name already there: kept, and the new one keeps its .open name
    three = WarcFiles(tmp_path / "x")
    c = three.write("http://h/c", status=200, headers=[], body=b"from c")
    (tmp_path / "x" / c.file).write_bytes(b"someone else's")
    three.close()
    assert (tmp_path / "x" / c.file).read_bytes() == b"someone else's"
    assert (tmp_path / "x" / (c.file + OPEN)).exists()
    assert read_capture(tmp_path / "x", c)[2] == b"from c"
    assert "is not renamed" in caplog.text


def test_recover_leaves_the_file_of_a_living_writer_alone_even_before_it_is_locked(tmp_path):
    """Between creating its file and locking it, a writer's file looked abandoned, and another
    process's ``recover`` removed it under it (a soak's race). A file whose writer's process
    is alive is left alone; one whose process is gone is finished."""
    from pressarchive.warc import OPEN, recover

    files = WarcFiles(tmp_path / "w")
    capture = files.write("http://h/a", status=200, headers=[], body=b"a")
    files.close()
    whole = (tmp_path / "w" / capture.file).read_bytes()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    for pid, left_alone in ((os.getpid(), True), (int(gone), False)):
        name = f"pressarchive-20260101000000000-00001-{pid}.warc.gz"
        (tmp_path / (name + OPEN)).write_bytes(whole)  # unlocked, as before its lock
        assert recover(tmp_path) == ([] if left_alone else [name])
        assert (tmp_path / (name + OPEN)).exists() == left_alone


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "zstd", "gzip, zstd"])
def test_a_body_is_read_back_decoded_whatever_the_content_coding_scrapy_asked_for(tmp_path,
                                                                                coding):
    """Scrapy asks for gzip, deflate, br and zstd, and keeps the body as it came in the
    record; warcio's reader decodes no zstd, so a zstd page read back was its compressed
    bytes (every version "no record" in reextract: a soak's find)."""
    import zlib

    import brotli

    try:
        from compression import zstd
    except ImportError:
        from backports import zstd
    page = b"<html><body><p>" + "صفحة عربية ".encode() * 200 + b"</p></body></html>"
    encode = {"gzip": gzip.compress, "deflate": zlib.compress, "br": brotli.compress,
              "zstd": zstd.compress}
    body = page
    for name in coding.split(", "):
        body = encode[name](body)
    files = WarcFiles(tmp_path)
    capture = files.write("http://h/p", status=200, body=body,
                          headers=[("Content-Type", "text/html; charset=utf-8"),
                                   ("Content-Encoding", coding)])
    files.close()
    assert read_capture(tmp_path, capture)[2] == page


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
        lost = 0

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


def test_responses_not_kept_as_warc_are_the_runs_errors_and_it_exits_1(tmp_path,
                                                                       postgres_url):
    """The WARC folder's disk full mid-crawl (a limit on the size of the files the crawl's
    processes write, RLIMIT_FSIZE; the archive on PostgreSQL, out of its reach): every page
    is archived, the records not written are counted in the run's errors (warc_not_kept, not
    as failed pages), and the crawl exits 1, its WARC lacking responses a rebuild needs.
    Before, only the log's last line said so, and it exited 0."""
    import resource

    def limited():
        resource.setrlimit(resource.RLIMIT_FSIZE, (60_000, 60_000))  # Python ignores SIGXFSZ

    warc = tmp_path / "warc"
    stats_file = tmp_path / "stats.json"
    with FamilyServer(SiteFamily(80, seed=5)) as server:
        proc = subprocess.run(
            [sys.executable, "-m", "pressarchive.cli", "crawl", "arabpress", "--db", postgres_url,
             "--base-url", server.origins["arabpress"], "--warc", str(warc),
             "-s", f"STATS_FILE={stats_file}"],
            cwd=ROOT, capture_output=True, text=True, timeout=300, preexec_fn=limited,
            env={**os.environ, "TMPDIR": str(tmp_path)})
    assert proc.returncode == 1, proc.stderr[-3000:]
    stats = json.loads(stats_file.read_text())
    unkept = stats["pressarchive/warc/errors"]
    assert unkept > 10 and stats["pressarchive/warc/records"] > 5, stats
    assert f"warc_not_kept {unkept}" in proc.stdout and "finished" in proc.stdout, proc.stdout
    assert "Traceback" not in proc.stderr
    archive = Archive(postgres_url)
    with archive.session() as session:
        from sqlalchemy import func, select

        from pressarchive.storage.models import Article, CrawlRun, WarcCapture

        run = session.scalars(select(CrawlRun)).one()
        assert (run.finish_reason, run.errors, run.failed) == (
            "finished", {"warc_not_kept": unkept}, 0)
        assert session.scalar(select(func.count(Article.id))) == stats[
            "pressarchive/stored/new_article"] > 40
        # pages linked to the records written, none to one not written
        assert 0 < session.scalar(select(func.count(WarcCapture.id))) <= stats[
            "pressarchive/warc/records"]
    archive.close()


def test_a_warc_folder_removed_mid_crawl_counts_the_records_lost_with_it(tmp_path):
    """The WARC folder deleted while a crawl writes to it: the records went on into a file no
    longer there, and at the end a traceback, the run 'finished' with no error and exit 0,
    every link of the run naming a missing file (a soak). Now the next record finds its file
    removed: the records in it are counted as not kept (one ERROR line), the writer begins
    a new file (the folder made again), and the crawl exits 1, the run's errors saying how
    many."""
    import shutil
    import time

    warc, db = tmp_path / "warc", tmp_path / "archive.sqlite"
    stats_file = tmp_path / "stats.json"
    with FamilyServer(SiteFamily(1500, seed=6)) as server:
        crawl = subprocess.Popen(
            [sys.executable, "-m", "pressarchive.cli", "crawl", "arabpress", "--db", str(db),
             "--base-url", server.origins["arabpress"], "--warc", str(warc),
             "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2", "-s", f"STATS_FILE={stats_file}"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "TMPDIR": str(tmp_path)})
        deadline = time.monotonic() + 120
        while not (warc.exists() and sum(f.stat().st_size for f in warc.iterdir()) > 300_000):
            assert time.monotonic() < deadline and crawl.poll() is None
            time.sleep(0.05)
        removed = {f.name for f in warc.iterdir()}
        shutil.rmtree(warc)
        out, log = crawl.communicate(timeout=300)
    assert crawl.returncode == 1, log[-3000:]
    assert "Traceback" not in log, log[-3000:]
    stats = json.loads(stats_file.read_text())
    lost = stats["pressarchive/warc/errors"]
    assert f"was removed while being written: its {lost} records are lost" in log
    assert lost > 50 and f"warc_not_kept {lost}" in out, out
    # what it wrote after is whole, and all of it is linked where it says
    kept = [r for r in records(warc) if r["type"] == "response"]
    assert len(kept) == stats["pressarchive/warc/records"] > 100
    assert not {r["file"] for r in kept} & {name.removesuffix(".open") for name in removed}
    con = sqlite3.connect(db)
    linked = con.execute("SELECT warc_file, warc_offset FROM captures").fetchall()
    errors = json.loads(con.execute("SELECT errors FROM crawl_runs").fetchone()[0])
    con.close()
    assert errors == {"warc_not_kept": lost}
    by_offset = {(r["file"], r["offset"]) for r in kept}
    dangling = [link for link in linked if link not in by_offset]
    assert 0 < len(dangling) <= lost  # links to the lost file: reextract lists them
    assert {file for file, _ in dangling} <= {n.removesuffix(".open") for n in removed}


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


def test_a_replay_tools_own_index_finds_every_capture_where_the_archive_says(crawled,
                                                                           tmp_path):
    """The WARC files as other tools read them: cdxj-indexer (Webrecorder's, the index pywb
    replays from) indexes every response of both runs, and finds each capture the archive
    links at the file, offset and length the archive gives, with its status and path (the
    archive names a page by its site's URL, the record by the URL fetched: the local copy)."""
    out = tmp_path / "index.cdxj"
    done = subprocess.run([sys.executable, "-m", "cdxj_indexer.main", "-o", str(out),
                           *sorted(str(f) for f in crawled["warc"].glob("*.warc.gz"))],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    index = {}
    for line in out.read_text().splitlines():
        entry = json.loads(line.split(" ", 2)[2])
        index[(entry["filename"], int(entry["offset"]))] = entry
    downloaded = sum(run.stats["downloader/response_count"] for run in crawled["runs"])
    assert len(index) == downloaded
    con = sqlite3.connect(crawled["db"])
    captures = con.execute("SELECT url, status, warc_file, warc_offset, warc_length "
                           "FROM captures").fetchall()
    con.close()
    assert len(captures) > 50
    for url, status, file, offset, length in captures:
        entry = index[(file, offset)]
        assert (int(entry["length"]), entry["status"]) == (length, str(status)), (url, entry)
        assert entry["url"].split("/", 3)[3] == url.split("/", 3)[3]


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


def test_a_page_dropped_in_a_batch_is_linked_to_its_record_once(tmp_path, caplog):
    """A page the batch path drops (a truncated one) was linked to its record twice: once by
    its own write, once with the batch's (a soak's find: every dropped page). With the
    archive's unique index (0012), that failed the batch, which was then saved one page at a
    time: the batch is saved as one."""
    import logging

    caplog.set_level(logging.INFO, logger="pressarchive")
    from pressarchive.fetched import FetchedPage
    from pressarchive.ingest import DROPPED, STORED, Ingester
    from pressarchive.sitegen import render_page

    family = SiteFamily(20, seed=1)

    def page(i: int, when: str) -> FetchedPage:
        url = family.article(i).url("arabpress")
        got = render_page(family, "arabpress", url.split(".com", 1)[1])
        return FetchedPage(url=url, final_url=url, requested_url=url, status=200,
                           headers={"Content-Type": got.content_type}, body=got.body,
                           fetched_at=when, site="arabpress")

    whole, cut = page(0, "2026-06-01T10:00:00+00:00"), page(1, "2026-06-01T10:00:01+00:00")
    cut.body = cut.body[:len(cut.body) // 2]
    whole.warc, cut.warc = Capture("f.warc.gz", 100, 50), Capture("f.warc.gz", 200, 60)
    archive = Archive(f"sqlite:///{tmp_path / 'a.sqlite'}")
    try:
        outcomes = Ingester(archive, records=False).ingest([whole, cut])
    finally:
        archive.close()
    assert [o.kind for o in outcomes] == [STORED, DROPPED]
    assert "not saved as one" not in caplog.text
    con = sqlite3.connect(tmp_path / "a.sqlite")
    rows = con.execute("SELECT warc_offset, version_id IS NULL FROM captures "
                       "ORDER BY warc_offset").fetchall()
    con.close()
    assert rows == [(100, 0), (200, 1)]


def test_an_archive_with_twice_linked_records_keeps_one_link_each_when_opened(tmp_path):
    """Migration 0012: the second link of each record goes, the first stays, and a unique
    index keeps it so."""
    db = tmp_path / "a.sqlite"
    Archive(f"sqlite:///{db}").close()
    con = sqlite3.connect(db)
    with con:  # the archive as 0011 left it, with a record linked twice
        con.execute("ALTER TABLE captures DROP COLUMN requested_url")  # 0013
        con.execute("DROP INDEX ux_captures_record")
        con.execute("UPDATE alembic_version SET version_num = '0011'")
        rows = [("arabpress", "https://arabpress.com/a", "2026-06-01 10:00:00.000000", 200,
                 "f.warc.gz", offset, 9, None) for offset in (100, 100, 200)]
        con.executemany("INSERT INTO captures (site, url, fetched_at, status, warc_file, "
                        "warc_offset, warc_length, version_id) VALUES (?,?,?,?,?,?,?,?)", rows)
    con.close()
    Archive(f"sqlite:///{db}").close()
    con = sqlite3.connect(db)
    assert con.execute("SELECT id, warc_offset FROM captures ORDER BY id").fetchall() == [
        (1, 100), (3, 200)]
    with pytest.raises(sqlite3.IntegrityError):
        con.execute("INSERT INTO captures (site, url, fetched_at, status, warc_file, "
                    "warc_offset, warc_length) VALUES ('s', 'u', '2026-06-01', 200, "
                    "'f.warc.gz', 200, 9)")
    con.close()


def test_an_export_says_where_each_records_page_is_kept_as_warc(crawled, tmp_path):
    """``pressarchive export``: each record names the WARC record of the page it came from
    (the newest capture of its version on its site), which reads back as that page; an
    archive whose crawls kept no WARC exports the fields empty."""
    out = tmp_path / "records.jsonl"
    proc = subprocess.run([sys.executable, "-m", "pressarchive.cli", "export", str(out),
                           "--db", str(crawled["db"])], cwd=ROOT, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert records
    con = sqlite3.connect(crawled["db"])
    for record in records:
        at = Capture(record["warc_file"], record["warc_offset"], record["warc_length"])
        status, _, body, _ = read_capture(crawled["warc"], at)
        assert status == 200
        got = reextract.extract(body, record["url"], site=record["site"])
        assert got.headline == record["headline"] and got.body == record["body"]
        newest = con.execute(
            "SELECT warc_file, warc_offset FROM captures WHERE version_id = ? AND site = ? "
            "ORDER BY fetched_at DESC, id DESC LIMIT 1",
            (record["version_id"], record["site"])).fetchone()
        assert newest == (at.file, at.offset)
    con.close()
    plain = tmp_path / "plain.sqlite"
    with FamilyServer(SiteFamily(10, seed=2)) as server:
        assert run_crawl("arabpress", plain, tmp_path,
                         base_url=server.origins["arabpress"]).returncode == 0
    out = tmp_path / "plain.csv"
    proc = subprocess.run([sys.executable, "-m", "pressarchive.cli", "export", str(out),
                           "--db", str(plain)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    import csv

    with open(out, newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert rows and all(row["warc_file"] == row["warc_offset"] == row["warc_length"] == ""
                        for row in rows)
