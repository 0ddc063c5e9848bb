"""From fetched pages to the archive, a batch at a time, with no Scrapy in sight.

A crawl hands what it fetched (pages, failures, 304s) to an ``Ingester``: each page is checked
(status, type, size), extracted, validated, and saved with the fetch that gave it, and the whole
batch is one transaction. A batch that fails as a whole (two crawlers racing on the same
article, a bug on one page) is done again one item a time, so one bad item costs only itself.

The Scrapy side (``pipelines.archive``) runs this in a worker process, so that extraction and
the database work use the second core while the crawl process fetches; ``IngestWorker`` is that
process's end. Nothing here knows about Scrapy.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
import threading
import time
import traceback
from dataclasses import dataclass, replace
from typing import Any, Iterable

from sqlalchemy.exc import IntegrityError

from .extract import ExtractError, NotAnArticle, extract, read_page, validate
from .extract.links import PageLinks, SiteLinks, read_links
from .extract.page import Page
from .fetched import FetchedPage, FetchFailure, fetch_of
from .lastmods import http_date
from .storage import Archive, captures, crawlstate, unwritable
from .storage.archive import RacedError

logger = logging.getLogger("pressarchive")

HTML_TYPES = ("text/html", "application/xhtml+xml")

# What became of an item (Outcome.kind).
STORED = "stored"            # a record was saved; key says what it added (new_article, ...)
NOT_ARTICLE = "not_article"  # a listing, tag, video page...: no loss, its fetch is remembered
DROPPED = "dropped"          # a page that gives no trustworthy record; key says why
FAILED = "failed"            # a fetch that failed after retries; key is its kind
SOFT_404 = crawlstate.SOFT_404  # a failure: no article where the archive holds one
NOT_MODIFIED = "not_modified"  # a 304: the archived page still holds
ERROR = "error"              # a bug: message holds the traceback; only a failure is
                             # written (its last error starts with crawlstate.INGEST_ERROR)
UNSAVED = "unsaved"          # the archive could not be written at all (disk full, read-only,
                             # locked): message says why; nothing of the batch was saved


@dataclass
class Outcome:
    kind: str
    key: str = ""
    message: str = ""
    extractor: str | None = None  # which extractor read the page (template-v1, generic...)
    record: dict | None = None  # the stored record, for feed exports
    links: PageLinks | None = None  # the page's new links, resolved, when the crawl asked


class Ingester:
    """Turns fetched items into archive rows, a batch per transaction."""

    def __init__(self, archive: Archive, max_bytes: int = 5 * 1024 * 1024,
                 records: bool = True, links: SiteLinks | None = None,
                 revisit_hours: float = 0.0):
        self.archive = archive
        # LASTMOD_AHEAD_REVISIT: a stored copy counts the unchanged checks its content's age
        # stands for (crawlstate.checks_for_age); 0: none.
        self.revisit_hours = revisit_hours
        self.max_bytes = max_bytes
        self.records = records  # whether outcomes carry the stored record (for feed exports)
        # Resolves the links of pages that ask for them (FetchedPage.follow), each link given
        # once per crawl; None: links are not read.
        self.links = links

    def ingest(self, items: list[FetchedPage | FetchFailure]) -> list[Outcome]:
        # Reading pages needs no database: do it for the whole batch first.
        read = [self._read(item) for item in items]
        try:
            with self.archive.transaction() as session:
                return self._write_batch(session, read)
        except Exception as exc:  # noqa: BLE001 - redone item by item below, each one told
            reason = unwritable(exc)
            if reason is not None:  # every write would fail alike: none is tried again
                return [_unsaved(outcome, reason) for _, outcome in read]
            logger.info("a batch of %d was not saved as one (%s); saving one at a time",
                        len(items), type(exc).__name__)
        return [self._write_alone(item, outcome) for item, outcome in read]

    # -- reading (no database) -------------------------------------------------------------

    def _read(self, item) -> tuple[Any, Outcome]:
        try:
            return item, self._outcome_of(item)
        except Exception:  # noqa: BLE001 - a bug in extraction is this item's error alone
            return item, _error()

    def _outcome_of(self, item) -> Outcome:
        if isinstance(item, FetchFailure):
            return Outcome(FAILED, item.kind, f"failed ({item.kind}): {item.url}")
        if item.status == 304:
            return Outcome(NOT_MODIFIED, message=f"not modified: {item.url}")
        mime = item.content_type.split(";")[0].strip().lower()
        if item.status != 200:
            return _dropped("status", f"HTTP {item.status}", item)
        if mime and mime not in HTML_TYPES:
            return _dropped("not_html", f"not an HTML page ({mime})", item)
        if len(item.body) > self.max_bytes:
            return _dropped("too_large", f"page too large ({len(item.body):,} bytes > "
                                         f"{self.max_bytes:,})", item)
        try:
            page = read_page(item.body, item.url, item.content_type or None)
        except ExtractError as exc:
            return _dropped(exc.key, str(exc), item)
        outcome = self._article(item, page)
        if item.follow and self.links is not None:  # parsed here: its links are read here too
            outcome.links = self.links.fresh(item.final_url, read_links(page.root))
        return outcome

    def _article(self, item: FetchedPage, page: Page) -> Outcome:
        try:
            record = extract(page, item.url, item.fetched_at, site=item.site)
        except NotAnArticle as exc:
            if exc.key == "not_article":
                return Outcome(NOT_ARTICLE, message=f"{exc}: {item.url}")
            return _dropped(exc.key, str(exc), item)
        except ExtractError as exc:
            return _dropped(exc.key, str(exc), item)
        extractor = record.sources["extractor"]
        try:
            validate(record)
        except ExtractError as exc:
            return _dropped(exc.key, str(exc), item, extractor)
        item.record = record
        return Outcome(STORED, extractor=extractor)  # to be stored: _write* says what it added

    # -- writing ---------------------------------------------------------------------------

    def _write_batch(self, session, read: list[tuple[Any, Outcome]]) -> list[Outcome]:
        """Every item's outcome written in the caller's transaction; the records through
        ``Archive.save_many``, which writes the many new ones a table at a time."""
        out: list[Outcome] = [outcome for _, outcome in read]
        stored = [i for i, (_, outcome) in enumerate(read) if outcome.kind == STORED]
        # Listings and the like: their fetches noted together (one query, two statements),
        # but for the soft 404s among them; 304s too.
        not_articles = [i for i, (_, outcome) in enumerate(read) if outcome.kind == NOT_ARTICLE]
        fetches = [fetch_of(read[i][0]) for i in not_articles]
        gone = crawlstate.note_no_articles(session, fetches)
        for i, fetch in zip(not_articles, fetches):
            out[i] = _soft_404(read[i][0], read[i][1], (fetch.site, fetch.url) in gone)
        crawlstate.note_not_modified(session, [_not_modified(item) for item, outcome in read
                                               if outcome.kind == NOT_MODIFIED])
        for i, (item, outcome) in enumerate(read):
            if outcome.kind not in (STORED, NOT_ARTICLE, NOT_MODIFIED):
                out[i] = self._write(session, item, outcome)
        saved = self.archive.save_many(
            session, [(read[i][0].record, self._fetch_of(read[i][0])) for i in stored])
        versions: dict[int, int] = {}
        for i, one in zip(stored, saved):
            item, outcome = read[i]
            out[i] = replace(outcome, key=one.outcome, record=self._record(item.record, one))
            versions[i] = one.version_id
        # Their links to their WARC records; those written by ``_write`` above have theirs.
        captures.note(session, [captured for i, (item, outcome) in enumerate(read)
                                if outcome.kind in (STORED, NOT_ARTICLE, NOT_MODIFIED)
                                and (captured := _captured(item, versions.get(i)))])
        return out

    def _write(self, session, item, outcome: Outcome) -> Outcome:
        """What ``outcome`` means for the archive, written in the caller's transaction."""
        outcome, version_id = self._write_outcome(session, item, outcome)
        if captured := _captured(item, version_id):
            captures.note(session, [captured])
        return outcome

    def _write_outcome(self, session, item, outcome: Outcome) -> tuple[Outcome, int | None]:
        """The outcome written, and the id of the version the item gave, if any."""
        if outcome.kind == FAILED:
            crawlstate.note_failure(session, item.site, item.url, item.kind,
                                    crawlstate.stored_time(item.failed_at), retry=item.retry,
                                    role=item.role)
        elif outcome.kind == NOT_MODIFIED:
            crawlstate.note_not_modified(session, [_not_modified(item)])
        elif outcome.kind == NOT_ARTICLE:
            # Listings are expected on every crawl: remembered with their validators, so that
            # the next run can ask for them conditionally; a soft 404 is a failure.
            return _soft_404(item, outcome, bool(
                crawlstate.note_no_articles(session, [fetch_of(item)]))), None
        elif outcome.kind == STORED:
            saved = self.archive.save_in(session, item.record, self._fetch_of(item))
            return replace(outcome, key=saved.outcome,
                           record=self._record(item.record, saved)), saved.version_id
        elif outcome.kind == ERROR:
            _note_lost(session, item, outcome)
        return outcome, None

    def _fetch_of(self, item: FetchedPage) -> crawlstate.Fetch:
        """The crawl-state entry of a page that gave a record, with the unchanged checks its
        content's age stands for."""
        fetch = fetch_of(item)
        if self.revisit_hours:
            fetch.quiet_checks = crawlstate.checks_for_age(
                content_age(item.record, fetch.last_modified), self.revisit_hours)
        return fetch

    def _record(self, record, saved) -> dict:
        """What a stored page gives back: the record, or (when nobody wants it: no feed
        export) a receipt that says where it went, which costs nothing to send."""
        if self.records:
            return record.to_dict()
        return {"url": record.url, "site": record.site, "stored": saved.outcome,
                "article_id": saved.article_id, "version_id": saved.version_id}

    def _write_alone(self, item, outcome: Outcome) -> Outcome:
        """One item in its own transaction; a race with another crawler (on a unique key, or
        a sister copy saved meanwhile: RacedError) is tried once more (the second time finds
        the other crawler's rows)."""
        if outcome.kind == DROPPED and _captured(item, None) is None:
            return outcome  # nothing to write (with a WARC record: its link)
        if outcome.kind == ERROR:
            return self._lost(item, outcome)
        for attempt in (1, 2):
            try:
                with self.archive.transaction() as session:
                    return self._write(session, item, outcome)
            except (IntegrityError, RacedError):
                if attempt == 2:
                    return self._lost(item, _error())
            except Exception as exc:  # noqa: BLE001 - reported as this item's error
                reason = unwritable(exc)
                if reason is not None:
                    return _unsaved(outcome, reason)
                return self._lost(item, _error())
        raise AssertionError("unreachable")

    def _lost(self, item, outcome: Outcome) -> Outcome:
        """An item an error of ours kept out of the archive, noted as a failure in a
        transaction of its own (``_note_lost``). Noting it is worth trying, not worth a second
        error: if that fails too, the page is only logged (with the outcome's traceback, by the
        pipeline) and fetched again when the next run meets it."""
        if isinstance(item, FetchedPage):
            try:
                with self.archive.transaction() as session:
                    _note_lost(session, item, outcome)
            except Exception:  # noqa: BLE001 - the item's own error is what gets reported
                logger.warning("the failure of %s could not be noted either", item.url,
                               exc_info=True)
        return outcome


def content_age(record, last_modified: str | None = None) -> float | None:
    """Hours from the article's last change (the later of ``modified_at`` and
    ``published_at``: a modification dated before the publication is a template's slip) to
    the day its page shows (the masthead's date, the day it was viewed, at its start, so the
    age is never more than it is; or its fetch, if earlier: a masthead dated ahead); None
    when no date can be read, and never less than 0. A page that states no date that can be
    read so (none, or one without its offset) is as old as its copy's ``Last-Modified`` says
    (``last_modified``, as FetchedPage.last_modified reads it), which is what RFC 9111's
    heuristic freshness reckons from: without it, every undated page of a back catalogue
    started at the shortest wait, and came back on the second, fourth and eighth days after
    its crawl (bench/revisit_days.py: about 590 requests those days, against 200 to 300)."""
    changed = [stamp for value in (record.modified_at, record.published_at)
               if (stamp := _aware(value)) is not None]
    if not changed and (sent := http_date(last_modified)) is not None:
        changed = [sent.replace(tzinfo=dt.timezone.utc)]
    fetched = _aware(record.fetched_at)
    shown = _aware(record.page_date + "T00:00:00+00:00") if record.page_date else None
    until = min((stamp for stamp in (shown, fetched) if stamp is not None), default=None)
    if not changed or until is None:
        return None
    return max(0.0, (until - max(changed)).total_seconds() / 3600.0)


def _aware(value: str | None) -> dt.datetime | None:
    """An ISO 8601 time with an offset, or None (no offset, unreadable, none)."""
    try:
        stamp = dt.datetime.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None
    return stamp if stamp is not None and stamp.tzinfo is not None else None


def _soft_404(item: FetchedPage, outcome: Outcome, gone: bool) -> Outcome:
    """A page that is no article: a failure, SOFT_404, when ``gone`` (its URL held an
    article: ``crawlstate.note_no_articles`` recorded it so); else as it was. It keeps its
    links: the crawl asked for them (a failure retried is followed), and SiteLinks has given
    them once for this crawl; dropped, no page gave them again (a review's find: a not-found
    page's menus are the site's sections)."""
    if not gone:
        return outcome
    return replace(outcome, kind=FAILED, key=SOFT_404,
                   message=f"failed ({SOFT_404}): {item.url} gave an article, now a page "
                           f"with none")


def _captured(item, version_id: int | None) -> dict | None:
    """The captures row linking a page read from a response kept as WARC
    (``FetchedPage.warc``) to its record, with the version it gave; None for anything else."""
    warc = getattr(item, "warc", None)
    if warc is None or not isinstance(item, FetchedPage):
        return None
    return {"site": item.site, "url": item.url,
            "requested_url": item.requested_url if item.requested_url not in ("", item.url)
            else None,
            "fetched_at": crawlstate.stored_time(item.fetched_at), "status": item.status,
            "warc_file": warc.file, "warc_offset": warc.offset, "warc_length": warc.length,
            "version_id": version_id}


def _error() -> Outcome:
    """The outcome of the exception being handled, an error of ours: the traceback for the
    log, and the exception in a line (its type, its message's first line) for the failure
    ``_note_lost`` records."""
    exc = sys.exc_info()[1]
    text = str(exc).strip()
    said = f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__
    return Outcome(ERROR, key=said, message=traceback.format_exc())


def _note_lost(session, item, outcome: Outcome) -> None:
    """A page an error of ours kept out of the archive (an ``ERROR`` outcome) remembered as a
    failed URL, as a fetch that failed after its retries is: ``pressarchive failures`` lists it
    (last error ``ingest_error: `` and the exception in a line) and the next run asks for it
    again, whether or not a sitemap or link leads there. Its validators and content stay those
    of its last stored fetch, if any: the page that could not be stored is asked for in full.
    A failure item's error is left alone: noting it is what failed."""
    if not isinstance(item, FetchedPage):
        return
    crawlstate.note_failure(session, item.site, item.url,
                            f"{crawlstate.INGEST_ERROR}: {outcome.key}",
                            crawlstate.stored_time(item.fetched_at))


def _not_modified(item: FetchedPage) -> crawlstate.NotModified:
    return crawlstate.NotModified(item.site, item.requested_url,
                                  crawlstate.stored_time(item.fetched_at), item.lastmod,
                                  item.sitemap, item.header("ETag"),
                                  item.last_modified, item.stamped)


def _unsaved(outcome: Outcome, reason: str) -> Outcome:
    """What a write that did not happen means for an item: nothing, for one that writes
    nothing (a page dropped, a bug already told); UNSAVED for the rest."""
    if outcome.kind in (DROPPED, ERROR):
        return outcome
    return Outcome(UNSAVED, message=reason)


def _dropped(key: str, reason: str, item, extractor: str | None = None) -> Outcome:
    return Outcome(DROPPED, key, f"{reason}: {item.url}", extractor=extractor)


# -- the worker process ----------------------------------------------------------------------

_worker: Ingester | None = None


# Linux scheduling policies the worker may run under (INGEST_SCHEDULING); "normal" leaves it
# as forked. On a system without them the worker runs as it is.
SCHEDULING = {"normal": None, "batch": "SCHED_BATCH", "idle": "SCHED_IDLE"}


def scheduling_policy(name: str) -> str:
    """The INGEST_SCHEDULING value ``name``, checked (a one-line error for any other)."""
    name = (name or "normal").strip().lower()
    if name not in SCHEDULING:
        raise ValueError(f"INGEST_SCHEDULING must be one of {', '.join(SCHEDULING)}, "
                         f"not {name!r}")
    return name


def start_worker(archive_url: str, max_bytes: int, records: bool,
                 links: SiteLinks | None = None, scheduling: str = "normal",
                 parent: int | None = None, revisit_hours: float = 0.0) -> None:
    """Initializer of the ingest process: opens its own connection to the archive (the
    crawl process has already applied the migrations), under the ``scheduling`` policy.

    ``parent``: the crawl process's pid, as it forked this one. The watch for its end starts
    first, with that pid: read here with ``os.getppid()`` after the archive was opened, it
    was already init's when the crawl had been killed meanwhile, and the worker, waiting
    for work, outlived it for good (a helper's soak: kill -9 just after the fork)."""
    global _worker
    threading.Thread(target=_exit_with_parent,
                     args=(os.getppid() if parent is None else parent,), daemon=True,
                     name="exit-with-parent").start()
    _schedule_as(scheduling)
    _worker = Ingester(Archive(archive_url, migrate=False), max_bytes, records, links,
                       revisit_hours)


def _schedule_as(name: str) -> None:
    """Puts this process under the Linux scheduling policy ``name`` (see SCHEDULING).

    "batch" (the default) is for a process that works through queued work: it keeps its
    fair share of the CPU, but its waking up (a batch has come) does not preempt what is
    running. On two cores the crawl process, the worker and a local site's server share two
    CPUs, and the crawl process sets the pace. In paired rounds of 10,000-article crawls the
    crawl went at a median 69-71% of the no-op spider's pace as a batch process, against
    65-67% under the normal policy, ahead in 6 of 9 pairs: a small gain, about the size of
    the machine's noise (docs/performance.md). "idle" runs the worker only on CPU nothing
    else wants: kindest to a shared machine, but a busy one starves it, and the crawl then
    waits for its batches (56% here)."""
    attribute = SCHEDULING[name]
    policy = getattr(os, attribute, None) if attribute else None
    if policy is None:
        return
    try:
        os.sched_setscheduler(0, policy, os.sched_param(0))
    except OSError as exc:  # a sandbox that forbids it: the worker runs as it is
        logger.warning("the ingest worker keeps the normal scheduling policy (%s)", exc)


def scheduling_in_effect() -> str:
    """The name (a key of SCHEDULING) of the policy this process runs under."""
    getter = getattr(os, "sched_getscheduler", None)
    current = getter(0) if getter else None
    return next((name for name, attribute in SCHEDULING.items()
                 if attribute and getattr(os, attribute, None) == current), "normal")


def _exit_with_parent(parent: int) -> None:
    """Ends this worker when the crawl process is gone (kill -9 gives it no chance to say
    so; a forked worker would otherwise wait for work forever). A batch not yet committed is
    rolled back by the database, so nothing half-written is left."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def ingest_in_worker(items: Iterable[FetchedPage | FetchFailure]) -> list[Outcome]:
    """The worker's batch. Once the archive could not be written, the crawl is closing: the
    batches still queued fail at once, not each after its own wait (a writer's lock held by
    a stuck transaction: 30 s a batch, and a crawl that took minutes to end, a soak)."""
    global _unwritable
    assert _worker is not None, "start_worker() was not called in this process"
    items = list(items)
    if _unwritable:
        return [Outcome(UNSAVED, message=_unwritable) for _ in items]
    outcomes = _worker.ingest(items)
    _unwritable = next((o.message for o in outcomes if o.kind == UNSAVED), "")
    return outcomes


_unwritable = ""  # why the worker's archive could not be written, once so
