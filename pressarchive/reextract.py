"""Reading the archive's pages again from the WARC records they came from, offline.

A crawl with ``WARC_DIR`` links each page it read to the record holding its response (the
``captures`` table). ``check`` runs today's extractor over each version's newest capture and
compares the record it gives with the version the archive holds: the same content (its
fingerprint), different fields (the extractor changed: what a re-extraction would change), no
record any more (the extractor now refuses the page), or a record that cannot be read (a WARC
file moved or cut short). Nothing is written.

``rebuild`` makes the re-extraction real, in another archive: every page the source archive
read from a response kept as WARC (each capture, listings, 304s and drops included) is read
again from its record, in the order the crawls fetched them, and handed to the ingester of an
empty archive as the crawl once handed it. The new archive holds the articles, versions and
appearances today's extractor makes of those responses, linked to the same records, with the
crawl state those responses tell (validators, fetch times, 304s); not what the WARC records
do not hold (pages fetched before WARC was kept, failed fetches, sitemap lastmods). The
source is only read.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from sqlalchemy import select
from warcio.exceptions import ArchiveLoadFailed

from . import ingest
from .extract import ExtractError, extract, validate
from .fetched import FetchedPage
from .storage import Archive, crawlstate
from .storage import captures as captured
from .storage.models import Article, CrawlRun, Page, WarcCapture
from .warc import Capture, read_capture

logger = logging.getLogger("pressarchive")

SAME, CHANGED, NO_RECORD, UNREADABLE = "same", "changed", "no_record", "unreadable"
# What reading a record may raise when its file is gone, cut short or not what the link says.
UNREADABLE_ERRORS = (OSError, ValueError, EOFError, zlib.error, ArchiveLoadFailed)
# The version's fields a record is compared on (those of the fingerprint first).
FIELDS = ("headline", "summary", "body", "published_at", "modified_at", "authors", "section",
          "language")


@dataclass
class Checked:
    version_id: int
    site: str
    url: str
    verdict: str  # SAME, CHANGED, NO_RECORD or UNREADABLE
    fields: tuple[str, ...] = ()  # CHANGED: the fields that differ
    reason: str = ""  # NO_RECORD, UNREADABLE: why, in a line


@dataclass
class Report:
    counts: Counter = field(default_factory=Counter)
    checked: list[Checked] = field(default_factory=list)  # all but SAME


def check(archive: Archive, warc_dir: str | os.PathLike, site: str | None = None) -> Report:
    report = Report()
    for one in each(archive, warc_dir, site):
        report.counts[one.verdict] += 1
        if one.verdict != SAME:
            report.checked.append(one)
    return report


def each(archive: Archive, warc_dir: str | os.PathLike,
         site: str | None = None) -> Iterator[Checked]:
    """Each version that has a capture, checked against its newest capture."""
    with archive.session() as session:
        for capture, version in captured.of_versions(session, site):
            yield _check(capture, version, warc_dir)


def _check(capture, version, warc_dir) -> Checked:
    def verdict(kind: str, **more) -> Checked:
        return Checked(version.id, capture.site, capture.url, kind, **more)

    at = Capture(capture.warc_file, capture.warc_offset, capture.warc_length)
    try:
        _, headers, body, _ = read_capture(warc_dir, at)
    except UNREADABLE_ERRORS as exc:
        return verdict(UNREADABLE, reason=f"{at.file}:{at.offset}: {_line(exc)}")
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
    try:
        record = extract(body, capture.url, capture.fetched_at, site=capture.site,
                         content_type=content_type)
        validate(record)
    except ExtractError as exc:
        return verdict(NO_RECORD, reason=f"{exc.key}: {_line(exc)}")
    # A field the page does not state may have been filled in from a sister site's copy
    # (Archive._fill_missing): not a difference.
    differ = tuple(name for name in FIELDS if (getattr(record, name) or None)
                   != (getattr(version, name) or None)
                   and (name in FIELDS[:3] or getattr(record, name)))
    if record.fingerprint == version.fingerprint and not set(differ) - set(FIELDS[:3]):
        return verdict(SAME)
    return verdict(CHANGED, fields=differ or ("normalization",))


def _line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# -- rebuilding an archive from the WARC records ---------------------------------------------

REBUILD_MODE = "reextract"  # the mode of the runs a rebuild records (crawl_runs.mode)


class RebuildRefused(Exception):
    """A rebuild that cannot start (the target holds an archive already, or is the source),
    or one whose target could not be written: a line for the user."""


@dataclass
class Unreadable:
    site: str
    url: str
    reason: str


@dataclass
class Rebuilt:
    run_ids: dict[str, int] = field(default_factory=dict)  # site -> its run in the target
    counts: Counter = field(default_factory=Counter)  # a run's counts (RUN_COUNTS), all sites
    unreadable: list[Unreadable] = field(default_factory=list)
    errors: int = 0  # pages an error of ours kept out (their tracebacks logged)

    @property
    def complete(self) -> bool:
        return not self.unreadable and not self.errors


def _holds_records(session) -> bool:  # noqa: ANN001
    """Whether an archive holds anything at all: an article, a page's crawl state, a run or a
    capture."""
    return any(session.execute(select(model.id).limit(1)).first() is not None
               for model in (Article, Page, CrawlRun, WarcCapture))


def rebuild(source: Archive, warc_dir: str | os.PathLike, target: Archive,
            site: str | None = None, *, batch: int = 50,
            now: Callable[[], dt.datetime] | None = None) -> Rebuilt:
    """The pages ``source`` read from responses kept as WARC in ``warc_dir`` (a site's only,
    if given), read again from their records by today's extractor into the empty archive
    ``target``, in the order they were fetched, ``batch`` to a transaction; a run recorded in
    ``target`` for each site, mode ``reextract``, with what it added.

    A record that cannot be read is counted (the run's ``unreadable`` failures) and the
    rebuild goes on; the target then lacks that page, as ``Rebuilt.complete`` says. Raises
    RebuildRefused before writing anything when ``target`` holds records already (checked
    with the runs begun, in one transaction: two rebuilds into one archive, one is refused),
    and when the target cannot be written. A rebuild that stops before its end (that, Ctrl-C,
    a bug) records its runs as ended (``archive_unwritable``, ``shutdown``, ``error``) with
    what they did, and raises: the target holds part of it, to be removed."""
    if source.url == target.url:
        raise RebuildRefused("the archive to rebuild into must be another one than the source")
    now = now or _utcnow
    from .settings import LASTMOD_AHEAD_REVISIT, PAGE_MAX_BYTES

    ingester = ingest.Ingester(target, max_bytes=PAGE_MAX_BYTES, records=False,
                               revisit_hours=float(LASTMOD_AHEAD_REVISIT))
    result = Rebuilt()
    stats: dict[str, Counter] = {}
    with source.session() as session:
        sites = sorted(session.scalars(select(WarcCapture.site).distinct()
                                       .where(*_site_filter(site))))
    settings = {"reextracted_from": _shown(source.url),
                "warc_dir": str(os.path.abspath(warc_dir))}
    # Empty, and its runs begun, in one transaction, which holds the archive's writer lock
    # from its start: of two rebuilds into one new archive, the second finds the first's
    # runs and is refused (both ran, and the second's 4,044 pages failed over the first's
    # crawl state: a soak's find).
    with target.transaction() as session:
        if _holds_records(session):
            raise RebuildRefused(f"{_shown(target.url)} is not empty: a rebuild goes into a "
                                 "new archive (a file or database that holds none)")
        for one in sites:
            result.run_ids[one] = crawlstate.start_run(session, one, one, REBUILD_MODE,
                                                       settings, now())
            stats[one] = Counter()
    try:
        _replay(source, warc_dir, site, ingester, result, stats, batch)
    except BaseException as exc:
        # Ctrl-C, a target that cannot be written, a bug: the runs say so, with what was
        # done; the target holds part of the rebuild, to be removed and done again.
        reason = "shutdown" if isinstance(exc, KeyboardInterrupt) else "archive_unwritable" \
            if isinstance(exc, RebuildRefused) else "error"
        try:
            _finish(target, result, stats, reason, now())
        except Exception:  # noqa: BLE001 - the target out of reach: the runs stay begun
            logger.warning("the rebuild's runs could not be recorded as ended (%s)", reason)
        raise
    _finish(target, result, stats, "finished", now())
    return result


def _replay(source: Archive, warc_dir, site: str | None, ingester: ingest.Ingester,
            result: Rebuilt, stats: dict[str, Counter], batch: int) -> None:
    """Every capture read back and handed to the ingester, in the order fetched."""
    pending: list[FetchedPage] = []

    def flush() -> None:
        if not pending:
            return
        for item, outcome in zip(pending, ingester.ingest(pending)):
            _count(stats[item.site], result, item, outcome)
        pending.clear()

    in_batch: set[tuple[str, str]] = set()
    for row in _captures(source, site):
        stats[row.site]["response_received_count"] += 1
        try:
            item = _page_of(row, warc_dir)
        except UNREADABLE_ERRORS as exc:
            stats[row.site]["pressarchive/failed"] += 1
            stats[row.site]["pressarchive/failed/unreadable"] += 1
            result.unreadable.append(Unreadable(row.site, row.url, f"{row.warc_file}:"
                                                f"{row.warc_offset}: {_line(exc)}"))
            continue
        # Two fetches of one page (runs apart) never share a batch: a batch writes its 304s
        # before its records, which would put them out of order.
        keys = {(item.site, item.url), (item.site, item.requested_url)}
        if keys & in_batch or len(pending) >= batch:
            flush()
            in_batch.clear()
        pending.append(item)
        in_batch |= keys
    flush()


def _finish(target: Archive, result: Rebuilt, stats: dict[str, Counter], reason: str,
            when: dt.datetime) -> None:
    """The rebuild's runs recorded as ended, for ``reason``, with their counts: each site's
    stats, named as a crawl's (``crawlstate.run_counts``)."""
    result.counts.clear()
    with target.transaction() as session:
        for one, run_id in result.run_ids.items():
            counts = crawlstate.run_counts(stats[one])
            result.counts.update(counts)
            crawlstate.finish_run(
                session, run_id, when, reason, counts,
                crawlstate.by_suffix(stats[one], "pressarchive/failed/"),
                crawlstate.by_suffix(stats[one], "pressarchive/dropped/"))


def _count(stats: Counter, result: Rebuilt, item: FetchedPage, outcome: ingest.Outcome) -> None:
    """An outcome in a site's stats, named as the crawl's archive pipeline names them."""
    kind = outcome.kind
    if kind == ingest.STORED:
        stats[f"pressarchive/stored/{outcome.key}"] += 1
    elif kind == ingest.NOT_MODIFIED:
        stats["pressarchive/not_modified"] += 1
    elif kind in (ingest.DROPPED, ingest.FAILED):  # FAILED: a soft 404
        stats[f"pressarchive/{kind}"] += 1
        stats[f"pressarchive/{kind}/{outcome.key}"] += 1
    elif kind == ingest.UNSAVED:
        raise RebuildRefused(f"the archive being rebuilt cannot be written ({outcome.message}); "
                             "remove it and rebuild into an empty one")
    elif kind == ingest.ERROR:  # an error of ours: written as a failure of the page
        logger.error("%s could not be archived:\n%s", item.url, outcome.message)
        stats["pressarchive/failed"] += 1
        stats[f"pressarchive/failed/{crawlstate.INGEST_ERROR}"] += 1
        result.errors += 1
    # NOT_ARTICLE: a listing, noted with its validators; nothing to count


def _captures(source: Archive, site: str | None) -> Iterator[Any]:
    """The source's captures in the order they were fetched, read a thousand at a time."""
    query = (select(WarcCapture.site, WarcCapture.url, WarcCapture.requested_url,
                    WarcCapture.fetched_at,
                    WarcCapture.status, WarcCapture.warc_file, WarcCapture.warc_offset,
                    WarcCapture.warc_length)
             .where(*_site_filter(site))
             .order_by(WarcCapture.fetched_at, WarcCapture.id))
    with source.engine.connect() as connection:
        yield from connection.execution_options(yield_per=1000).execute(query)


def _page_of(row: Any, warc_dir: str | os.PathLike) -> FetchedPage:
    """The page as the crawl handed it to the archive, from its WARC record."""
    status, headers, body, target = read_capture(
        warc_dir, Capture(row.warc_file, row.warc_offset, row.warc_length))
    if status != row.status:
        raise ValueError(f"the record's status is {status}, the archive's {row.status}")
    fetched_at = row.fetched_at
    fetched_at = (fetched_at.replace(tzinfo=dt.timezone.utc) if fetched_at.tzinfo is None
                  else fetched_at.astimezone(dt.timezone.utc))
    return FetchedPage(url=row.url, final_url=target or row.url, status=status,
                       headers=headers, body=body, fetched_at=fetched_at.isoformat(),
                       site=row.site, requested_url=row.requested_url or row.url,
                       warc=Capture(row.warc_file, row.warc_offset, row.warc_length))


def _site_filter(site: str | None) -> list[Any]:
    return [WarcCapture.site == site] if site else []


def _shown(url: str) -> str:
    from .storage.archive import hide_passwords

    return hide_passwords(url)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
