"""Every response a crawl downloads, kept as WARC (ISO 28500) files, so that the pages behind
the archive's records can be replayed (pywb, any WARC reader) and read again offline when the
extractor improves (``pressarchive reextract``).

``WarcFiles`` writes a folder of gzipped WARC files (warcio, each record its own gzip member,
so a reader can start at any record's offset). A crawl writes through
``spiders.middlewares.WarcMiddleware`` when ``WARC_DIR`` is set; the archive links each page
it read to the record that holds it (the ``captures`` table: file, offset, length).

What a record holds: the response as Scrapy's HTTP client received it, before decompression,
redirects or retries acted on it, and the request as Scrapy sent it. The client takes the
chunked transfer coding off the body; a record whose response came chunked says so in
``X-Archive-Orig-Transfer-Encoding`` (pywb's convention for a header it must not act on) and
gives the body's ``Content-Length``. Header names are as Scrapy keeps them (title case).

A file is written as ``NAME.open`` under a lock and renamed ``NAME`` when finished; one that a
killed writer left is cut back to its last whole record and finished by the next (``recover``).
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import gzip
import io
import itertools
import logging
import os
import zlib
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import BinaryIO, Iterable
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from . import __version__

logger = logging.getLogger("pressarchive")

# A file being written ends so; a killed writer's is finished by the next (``recover``).
OPEN = ".open"
# A file is closed and the next begun once it holds this many bytes (Heritrix's default).
MAX_BYTES = 1_000_000_000
# zlib's level for each record's gzip member: 1 costs about 60% of 9 (warcio's) on these
# pages for files about a tenth larger (0.335 against 0.302 of the pages' size).
GZIP_LEVEL = 1


@dataclass(frozen=True)
class Capture:
    """Where a response's record is: a file of the WARC folder (its name), the record's
    offset in it and its length in bytes (compressed), as CDX indexes give them."""

    file: str
    offset: int
    length: int


class WarcFiles:
    """Writes request and response records to ``folder``, one file after another, each named
    ``{prefix}-{time it was begun}-{serial}-{process id}.warc.gz`` (unique across processes
    and runs) and opened with a ``warcinfo`` record.

    Each record is flushed to the operating system as it is written, so a crawl killed later
    leaves every record it linked readable; one that could not be written whole is cut off
    again (``write`` raises OSError), so the file stays a sequence of whole records."""

    def __init__(self, folder: str | os.PathLike, prefix: str = "pressarchive",
                 max_bytes: int = MAX_BYTES, info: dict[str, str] | None = None,
                 level: int = GZIP_LEVEL):
        self.folder = Path(folder)
        self.prefix = prefix
        self.max_bytes = max_bytes
        self.info = info or {}
        self.level = level
        self.serial = 0  # files this writer began
        self._file: BinaryIO | None = None
        # Records are made by warcio uncompressed, into this buffer, then compressed here.
        self._buffer = io.BytesIO()
        self._writer = WARCWriter(self._buffer, gzip=False)
        self.name = ""
        self.records = 0  # responses written to the file being written
        self.lost = 0  # responses in files removed while being written (_drop_if_removed)

    def write(self, url: str, *, status: int, headers: Iterable[tuple[str, str]], body: bytes,
              method: str = "GET", request_headers: Iterable[tuple[str, str]] = (),
              protocol: str = "HTTP/1.1", ip_address: str | None = None,
              when: dt.datetime | None = None) -> Capture:
        """The response to ``method url`` (and that request) written; where its record is."""
        request_headers = list(request_headers)
        if self._file is not None:
            self._drop_if_removed()
        if self._file is None or self._file.tell() >= self.max_bytes:
            self._next_file()
        writer, file = self._writer, self._file
        date = _warc_date(when)
        response = writer.create_warc_record(
            url, "response", payload=io.BytesIO(body),
            http_headers=StatusAndHeaders(_status_line(status), _as_sent(headers, body),
                                          protocol=protocol),
            warc_headers_dict={"WARC-Date": date,
                               **({"WARC-IP-Address": ip_address} if ip_address else {})})
        split = urlsplit(url)
        target = split.path or "/"
        if split.query:
            target += "?" + split.query
        host = [("Host", split.netloc)] if not any(
            k.lower() == "host" for k, _ in request_headers) else []
        request = writer.create_warc_record(
            url, "request", payload=io.BytesIO(b""),
            http_headers=StatusAndHeaders(f"{method} {target}", host + request_headers,
                                          protocol=protocol, is_http_request=True),
            warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To":
                               response.rec_headers.get_header("WARC-Record-ID")})
        response_bytes, request_bytes = self._gzipped(response), self._gzipped(request)
        offset = file.tell()
        try:
            _write_all(file, response_bytes + request_bytes)
        except OSError:
            self._cut(offset)
            raise
        self.records += 1
        return Capture(self.name, offset, len(response_bytes))

    def _drop_if_removed(self) -> None:
        """The file being written let go if it was removed (its folder deleted, say): its
        records went nowhere, and its pages' links name a file that is not there (a soak: a
        whole crawl's, the crawl saying it kept them all). They are counted as ``lost`` and
        said in one ERROR line; the next record begins another file."""
        try:
            removed = os.fstat(self._file.fileno()).st_nlink == 0
        except OSError:
            removed = True
        if removed:
            logger.error("WARC file %s was removed while being written: its %d records are "
                         "lost, and the pages linked to them cannot be read again from WARC",
                         self.name, self.records)
            self.lost += self.records
            self.records = 0
            try:
                self._file.close()
            except OSError:
                pass
            self._file = None

    def _gzipped(self, record) -> bytes:
        """The record as a gzip member of its own, at ``level`` (warcio's own gzip writer
        compresses at 9)."""
        self._buffer.seek(0)
        self._buffer.truncate()
        self._writer.write_record(record)
        compressor = zlib.compressobj(self.level, zlib.DEFLATED, 31)  # 31: a gzip header
        return compressor.compress(self._buffer.getvalue()) + compressor.flush()

    def close(self) -> None:
        """The file finished: named without ``.open``, and closed (its lock let go)."""
        if self._file is not None:
            self._drop_if_removed()
        if self._file is not None:
            try:
                _finish(self.folder / (self.name + OPEN))
            except OSError as exc:  # its folder moved away, say: the file is whole, unnamed
                logger.warning("WARC file %s could not be finished (%s): a crawl that writes "
                               "to the folder it is in finishes it", self.name, exc)
            finally:
                self._file.close()
                self._file = None

    def _next_file(self) -> None:
        self.close()
        self.folder.mkdir(parents=True, exist_ok=True)
        if not self.serial:
            recover(self.folder)
        self.serial += 1
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d%H%M%S%f")[:17]
        # The serial is the process's, not this writer's: two writers of one process (a crawl
        # of two sites) began files in the same millisecond, under one name.
        self.name = f"{self.prefix}-{stamp}-{next(_SERIALS):05d}-{os.getpid()}.warc.gz"
        self.records = 0
        # "xb": never another's file, even one of the same name. Written as NAME.open, under
        # a lock held until it is finished: one a killed writer left is told by its lock's
        # being free and its process gone (``recover``). Unbuffered: a record goes to the
        # system whole or fails whole, in ``write`` (a buffered one that fit the buffer failed
        # at its flush, and then the cut's own flush failed too, on a full disk).
        path = self.folder / (self.name + OPEN)
        self._file = open(path, "xb", buffering=0)  # noqa: SIM115 - close()
        fcntl.flock(self._file.fileno(), fcntl.LOCK_EX)
        info = {"software": f"pressarchive/{__version__} (warcio)",
                "format": "WARC File Format 1.0", **self.info}
        try:
            _write_all(self._file, self._gzipped(
                self._writer.create_warcinfo_record(self.name, info)))
        except OSError:  # a full disk, say: no file left behind for this one
            self._file.close()
            self._file = None
            path.unlink(missing_ok=True)
            raise

    def _cut(self, offset: int) -> None:
        """Cut the file back to ``offset`` after a failed write; a file that cannot be cut is
        given up (finished as ``recover`` finishes a killed writer's: cut to its last whole
        record), and the next record begins another."""
        try:
            self._file.truncate(offset)
            self._file.seek(offset)
        except OSError:
            path = self.folder / (self.name + OPEN)
            try:
                _cut_to_whole(self._file, path)
            except OSError as exc:
                logger.warning("WARC file %s could not be finished (%s): the next crawl "
                               "that writes to %s finishes it", path.name, exc, self.folder)
            try:
                self._file.close()
            except OSError:
                pass
            self._file = None


# File serials, one sequence for the process (see WarcFiles._next_file).
_SERIALS = itertools.count(1)


def _write_all(file: BinaryIO, data: bytes) -> None:
    """``data`` written to an unbuffered file whole (a raw write may take a part)."""
    view = memoryview(data)
    while view:
        written = file.write(view)
        if not written:
            raise OSError(errno.ENOSPC, "nothing written")
        view = view[written:]


def _finish(path: Path) -> Path:
    """``NAME.open`` named ``NAME``; never over another file of that name (``os.replace``
    would put it in its place without a word): then it keeps its ``.open`` name, which
    ``read_capture`` reads as well, and an ERROR line says so."""
    final = path.with_name(path.name[:-len(OPEN)])
    try:
        os.link(path, final)
    except FileExistsError:
        logger.error("WARC file %s is not renamed %s: a file of that name is there already",
                     path.name, final.name)
        return path
    except OSError:  # no hard links on this file system: rename, if the name is free
        if final.exists():
            logger.error("WARC file %s is not renamed %s: a file of that name is there "
                         "already", path.name, final.name)
            return path
        os.rename(path, final)
        return final
    path.unlink()
    return final


def recover(folder: str | os.PathLike) -> list[str]:
    """Finish the files a writer killed midway left in ``folder`` (``NAME.open``, their lock
    free): each cut back to its last whole record (a record is a gzip member, whole once its
    trailer is written) and named ``NAME``; one with no whole record is removed. Files still
    being written (locked) are left alone. Returns the names finished.

    A page is linked to its record only once the record is written, so a cut never takes a
    linked record; it takes what a kill left half-written, which no WARC reader could read."""
    finished = []
    for path in sorted(Path(folder).glob("*.warc.gz" + OPEN)):
        if _writer_alive(path):  # being written: its lock may not be taken yet
            continue
        try:
            file = open(path, "r+b")  # noqa: SIM115 - closed below
        except FileNotFoundError:  # finished by its writer, or recovered by another, meanwhile
            continue
        with file:
            try:
                fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its writer is alive (on another machine, say)
            if not path.exists():  # finished as the lock was taken
                continue
            size = os.fstat(file.fileno()).st_size
            end = _cut_to_whole(file, path)
        logger.warning("WARC file %s was left unfinished (a writer killed): %s",
                       path.name, f"cut to its last whole record, {size - end:,} bytes off, and "
                       f"finished" if end else "no whole record in it; removed")
        finished.append(path.name[:-len(OPEN)])
    return finished


def _cut_to_whole(file: BinaryIO, path: Path) -> int:
    """A writer's unfinished file (open, locked) cut back to its last whole record and
    finished (``_finish``), or removed when it holds none; where it now ends."""
    end = _whole_records_end(file)
    if end:
        file.truncate(end)
        _finish(path)
    else:
        path.unlink(missing_ok=True)
    return end


def _writer_alive(path: Path) -> bool:
    """Whether the process named in an unfinished file's name (``...-PID.warc.gz.open``) is
    running on this machine: between creating its file and locking it, a writer's file looks
    abandoned, and was once removed under it. (A name without a process id, or a process of
    another machine sharing the folder, is told by the lock alone.)"""
    try:
        pid = int(path.name[:-len(".warc.gz" + OPEN)].rsplit("-", 1)[1])
    except (IndexError, ValueError):
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # alive, another user's
        return True
    return True


def _whole_records_end(file: BinaryIO) -> int:
    """The offset where the file's last whole gzip member ends (0: none is whole)."""
    file.seek(0)
    end = position = 0
    member = zlib.decompressobj(31)
    while chunk := file.read(1 << 20):
        while chunk:
            try:
                member.decompress(chunk, 1 << 16)  # the text is not wanted: a bounded taste
                while member.unconsumed_tail and not member.eof:
                    member.decompress(member.unconsumed_tail, 1 << 16)
            except zlib.error:
                return end
            if not member.eof:
                position += len(chunk)
                break
            used = len(chunk) - len(member.unused_data)
            position += used
            end = position
            chunk = member.unused_data
            member = zlib.decompressobj(31)
    return end


def read_capture(folder: str | os.PathLike, capture: Capture) -> tuple[int, dict[str, str],
                                                                         bytes, str]:
    """The response a capture holds: status, headers (a name's values joined by ", "), body
    (decoded as the HTTP client would have: no content coding) and the target URI. A file
    still being written (``NAME.open``) is read as well.

    Raises ValueError when the file has no response record at that offset or its body cannot
    be decoded, OSError when the file cannot be read."""
    path = Path(folder) / capture.file
    try:  # being written, or not finished over another of its name (_finish)
        file = open(path.with_name(path.name + OPEN), "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:  # finished (or just being: renamed after the look)
        file = open(path, "rb")  # noqa: SIM115 - closed below
    with file:
        file.seek(capture.offset)
        for record in ArchiveIterator(file):
            if record.rec_type != "response" or record.http_headers is None:
                break
            status = int(record.http_headers.get_statuscode() or 0)
            headers: dict[str, str] = {}
            for name, value in record.http_headers.headers:
                headers[name] = f"{headers[name]}, {value}" if name in headers else value
            coding = next((v for k, v in headers.items() if k.lower() == "content-encoding"),
                          "")
            try:
                body = _decoded(record.raw_stream.read(), coding)
            except Exception as exc:  # noqa: BLE001 - each decoder has its own error
                raise ValueError(f"its body cannot be decoded ({coding}): {exc}") from None
            return status, headers, body, record.rec_headers.get_header("WARC-Target-URI")
    raise ValueError(f"no response record at {capture.file}:{capture.offset}")


def _decoded(body: bytes, coding: str) -> bytes:
    """A body with its content codings taken off, the last applied first, as Scrapy's
    HTTP compression middleware takes them off (gzip, deflate, br, zstd: what it asks for;
    warcio's own reader knows no zstd). A coding it does not know leaves the body as it is."""
    for name in reversed([c.strip().lower() for c in coding.split(",") if c.strip()]):
        if name in ("gzip", "x-gzip"):
            body = gzip.decompress(body)
        elif name == "deflate":
            try:
                body = zlib.decompress(body)
            except zlib.error:  # raw deflate, as some servers send it
                body = zlib.decompress(body, -15)
        elif name == "br":
            import brotli

            body = brotli.decompress(body)
        elif name == "zstd":
            try:
                from compression import zstd  # Python 3.14
            except ImportError:
                from backports import zstd  # what Scrapy itself uses before 3.14
            body = zstd.decompress(body)
        elif name != "identity":
            break
    return body


def _warc_date(when: dt.datetime | None) -> str:
    when = when or dt.datetime.now(dt.timezone.utc)
    if when.tzinfo is not None:
        when = when.astimezone(dt.timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


def _as_sent(headers: Iterable[tuple[str, str]], body: bytes) -> list[tuple[str, str]]:
    """The response's headers, a chunked transfer coding (which the client took off the body)
    renamed and replaced by the body's length."""
    out, chunked = [], False
    for name, value in headers:
        if name.lower() == "transfer-encoding":
            chunked = True
            out.append(("X-Archive-Orig-Transfer-Encoding", value))
        else:
            out.append((name, value))
    if chunked and not any(name.lower() == "content-length" for name, _ in out):
        out.append(("Content-Length", str(len(body))))
    return out
