"""Streaming exports (JSON, JSON Lines, CSV) with a manifest that lets a snapshot be cited."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Callable, Iterator

from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from ..record import RECORD_FIELDS
from ..storage.archive import hide_passwords
from ..storage.crawlstate import iso_time as iso
from ..storage.models import Appearance, Article, Version, WarcCapture
from . import index
from .filters import Filters
from .query import Query, QueryError, parse

FORMATS = ("json", "jsonl", "csv")
_SUFFIXES = {".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}
# One exported record: the record contract (docs/record.md) plus where it sits in the
# archive. New fields go at the end; none is renamed or removed.
FIELDS = ("article_id", *RECORD_FIELDS, "version_id", "first_seen", "last_seen", "times_seen",
          # Where the page behind it is kept as WARC, when a crawl kept it (the newest
          # capture of this version on this site: file, offset, length; else empty).
          "warc_file", "warc_offset", "warc_length")
# Rows fetched from the database per round trip: memory stays flat whatever the archive.
BATCH = 500
PROGRESS_STEP = 1000  # records between progress reports: a bar redrawn per record is slow
# A spreadsheet runs a cell that starts with one of these as a formula.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_BOM = "\ufeff"


class ExportError(Exception):
    """An export that cannot be written; the message is one line for the user."""


def statement(filters: Filters, query: Query | None = None, found: index.Index | None = None):
    """One row per appearance with the version that URL showed when last fetched, in a
    stable order (article, then appearance), every value a bound parameter."""
    stmt = (select(Appearance.article_id, Appearance.url, Appearance.site, Version.headline,
                   Version.summary, Version.body, Appearance.related, Version.published_at,
                   Version.modified_at, Appearance.page_date, Version.language,
                   Version.authors, Version.section, Version.images, Version.sources,
                   Version.fingerprint, Appearance.last_seen, Version.id.label("version_id"),
                   Appearance.first_seen, Appearance.times_seen, Version.published_utc,
                   Article.first_seen.label("article_first_seen"), WarcCapture.warc_file,
                   WarcCapture.warc_offset, WarcCapture.warc_length)
            .join(Version, Version.id == Appearance.version_id)
            .join(Article, Article.id == Appearance.article_id)
            .outerjoin(WarcCapture, WarcCapture.id == _newest_capture())
            .where(*filters.appearance_conditions())
            .order_by(Appearance.article_id, Appearance.id))
    if query is not None:  # versions that match, in the archive's index (``found``)
        stmt = stmt.where(Version.id.in_(select(found.version_id).where(found.matches(query))))
    return stmt


def _newest_capture():
    """The id of the newest capture (pressarchive.warc) of the appearance's version on its
    site: the page it came from as last kept, by the captures' index on version_id."""
    return (select(WarcCapture.id)
            .where(WarcCapture.version_id == Appearance.version_id,
                   WarcCapture.site == Appearance.site)
            .order_by(WarcCapture.fetched_at.desc(), WarcCapture.id.desc())
            .limit(1).correlate(Appearance).scalar_subquery())


def count(archive: Any, filters: Filters, query: str | None = None) -> int:
    parsed = parse(query) if query else None
    with archive.session() as session:
        found = index.Index(session) if parsed else None
        return session.scalar(select(func.count()).select_from(
            statement(filters, parsed, found).order_by(None).subquery())) or 0


def iter_records(archive: Any, filters: Filters | None = None,
                 query: str | None = None) -> Iterator[dict[str, Any]]:
    """The exported records, lazily: rows come from a server-side cursor ``BATCH`` at a time
    and each is turned into a record as it is consumed."""
    filters = filters or Filters()
    parsed = parse(query) if query else None
    found = index.Index(archive.engine) if parsed else None
    if parsed:
        found.matches(parsed)  # a query this database cannot read: refused here, in one line
    with archive.engine.connect() as connection:
        try:
            result = connection.execution_options(stream_results=True, yield_per=BATCH).execute(
                statement(filters, parsed, found))
        except OperationalError as exc:
            if parsed and "fts5" in str(exc.orig):
                raise QueryError(f"malformed search query {query!r} ({exc.orig})") from None
            raise
        for row in result:
            yield _record(row)


def _record(row: Any) -> dict[str, Any]:
    """A row as a record, fields in export order, built once (this runs for every row)."""
    m = row._mapping
    last_seen = iso(m["last_seen"])
    times = {"fetched_at": last_seen, "first_seen": iso(m["first_seen"]), "last_seen": last_seen}
    record = {name: times[name] if name in times else m[name] for name in FIELDS}
    # The date filters and the manifest's date range use (not exported as a field).
    record["_date"] = iso(m["published_utc"] or m["article_first_seen"])
    return record


def csv_cell(value: Any) -> Any:
    """A CSV cell: lists and objects as JSON, null as empty, formulas neutralized."""
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and value.startswith(_FORMULA):
        # The leading apostrophe makes a spreadsheet show the text instead of running it.
        return "'" + value
    return value


class _Sink:
    """A text sink over a binary file that hashes and counts every byte it writes."""

    def __init__(self, raw: IO[bytes]):
        self.raw, self.sha256, self.size = raw, hashlib.sha256(), 0

    def write(self, text: str) -> int:
        data = text.encode("utf-8")
        self.sha256.update(data)
        self.size += len(data)
        self.raw.write(data)
        return len(text)


def write(records: Iterator[dict[str, Any]], sink: _Sink, fmt: str, *, bom: bool = False,
          progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Write records in ``fmt``; returns the count, the articles and the date range."""
    stats = {"records": 0, "articles": 0, "first": None, "last": None}
    last_article = None
    if bom:
        sink.write(_BOM)
    if fmt == "json":
        sink.write("[")
    elif fmt == "csv":
        writer = csv.writer(sink, lineterminator="\r\n")
        writer.writerow(FIELDS)
    for record in records:
        date = record.pop("_date")
        if date and (stats["first"] is None or date < stats["first"]):
            stats["first"] = date
        if date and (stats["last"] is None or date > stats["last"]):
            stats["last"] = date
        if record["article_id"] != last_article:  # records come ordered by article
            stats["articles"] += 1
            last_article = record["article_id"]
        if fmt == "csv":
            writer.writerow([csv_cell(record[name]) for name in FIELDS])
        else:
            line = json.dumps(record, ensure_ascii=False)
            if fmt == "json":
                line = ("\n" if stats["records"] == 0 else ",\n") + line
            else:
                line += "\n"
            sink.write(line)
        stats["records"] += 1
        if progress and stats["records"] % PROGRESS_STEP == 0:
            progress(PROGRESS_STEP)
    if fmt == "json":
        sink.write("\n]\n" if stats["records"] else "]\n")
    if progress and stats["records"] % PROGRESS_STEP:
        progress(stats["records"] % PROGRESS_STEP)
    return stats


def guess_format(output: str, fmt: str | None) -> str:
    if fmt:
        if fmt not in FORMATS:
            raise ExportError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
        return fmt
    suffix = Path(output).suffix.lower()
    if suffix not in _SUFFIXES:
        raise ExportError(f"cannot tell the format from {output!r}: use --format "
                          f"({', '.join(FORMATS)}) or a .json, .jsonl or .csv name")
    return _SUFFIXES[suffix]


def schema_revision(archive: Any) -> str | None:
    with archive.engine.connect() as connection:
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def export(archive: Any, output: str | os.PathLike, fmt: str | None = None, *,
           filters: Filters | None = None, query: str | None = None, bom: bool = False,
           command: list[str] | None = None,
           progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Write a snapshot to ``output`` and its manifest to ``<output>.manifest.json``.

    Both are written to temporary files beside their targets and renamed into place, so a
    failed export leaves no partial file behind. Returns the manifest.
    """
    output = Path(output)
    fmt = guess_format(str(output), fmt)
    filters = filters or Filters()
    if bom and fmt != "csv":
        raise ExportError("--bom is for CSV only (JSON must not start with a BOM)")
    if output.is_dir():
        raise ExportError(f"cannot write {output}: it is a directory")
    if query:
        parse(query)  # a malformed query fails here, before any file is made
    records = iter_records(archive, filters, query)
    started = dt.datetime.now(dt.timezone.utc)
    with atomic_file(output) as raw:
        sink = _Sink(raw)
        stats = write(records, sink, fmt, bom=bom, progress=progress)
    manifest = {
        "file": output.name, "format": fmt, "bytes": sink.size,
        "sha256": sink.sha256.hexdigest(), "records": stats["records"],
        "articles": stats["articles"], "record_fields": list(FIELDS),
        "date_range": {"first": stats["first"], "last": stats["last"],
                       "by": "published_at, else first seen"},
        "filters": {**filters.describe(), **({"query": query} if query else {})},
        # The manifest travels with the data set: no database password in it (--db URL:secret@…).
        "command": [hide_passwords(arg) for arg in (command if command is not None
                                                     else sys.argv)],
        "archive": hide_passwords(archive.url), "schema_revision": schema_revision(archive),
        "extractor_version": _extractor_version(),
        "pressarchive_version": _version(), "created_at": started.isoformat(timespec="seconds"),
        "csv": {"bom": bom, "formulas_neutralized_with": "'"} if fmt == "csv" else None,
    }
    manifest_path = output.with_name(output.name + ".manifest.json")
    try:
        with atomic_file(manifest_path) as raw:
            raw.write((json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
                      .encode("utf-8"))
    except BaseException:
        output.unlink(missing_ok=True)  # a snapshot nobody can check is no snapshot
        raise
    return manifest


@contextmanager
def atomic_file(path: Path) -> Iterator[IO[bytes]]:
    """A binary file written under a temporary name in the same folder, renamed into place
    on success and removed on any failure: no one ever sees half a snapshot."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb", buffering=1 << 20) as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        # mkstemp makes the file private; a snapshot gets the usual permissions.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _extractor_version() -> str:
    from ..extract import EXTRACTOR_VERSION

    return EXTRACTOR_VERSION


def _version() -> str:
    from .. import __version__

    return __version__
