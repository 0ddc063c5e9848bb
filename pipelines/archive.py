"""Hands what the spider fetched to the archive: pages become records (checked, extracted,
validated, saved with their fetch), failures and 304s become crawl state.

The work itself is ``pressarchive.ingest``. By default it runs in one worker process, fed in
batches, a transaction per batch: extraction and the database then use the second core while
this process fetches, and each page costs one share of a commit, not a commit. An item's
``process_item`` returns when its batch is committed, so what Scrapy reports as scraped is in
the archive; a crash loses at most the batches in flight, whose pages the next run fetches
again (their fetch is not recorded either).

Settings: ``INGEST_PROCESS`` (default True; False works in the crawl process, which is easier
to debug), ``INGEST_SCHEDULING`` (the worker's Linux scheduling policy: "batch" by default,
"idle" or "normal"; see ``ingest._schedule_as``), ``INGEST_BATCH`` (items per transaction,
default 50), ``INGEST_GAP`` and
``INGEST_LINGER`` (a partial batch goes when no item has joined it for ``INGEST_GAP`` seconds,
default 0.02, and at the latest ``INGEST_LINGER`` seconds after its first item, default 0.25;
at once when no other item can join it meanwhile: nothing is being fetched or waits to be)
and ``INGEST_RECORDS`` (whether the item a stored page gives is its whole record; by default
only when a feed export wants it, else a receipt: url, site, stored, article_id, version_id).

Why a gap and a limit: a batch has a fixed cost (a dozen statements and a commit), so a busy
crawl should send full batches; but a page's links come back only with its batch, so a quiet
one (a rerun, where each page leads to the next) should not wait for company that is not
coming, nor wait for a gap when nothing else is under way.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import multiprocessing
import os
import resource
import time
from typing import Any, Union

from scrapy import signals
from scrapy.exceptions import DropItem, NotConfigured
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from twisted.internet import defer

from pressarchive import ingest
from pressarchive.crawl import shared_archive
from pressarchive.fetched import FetchedPage, FetchFailure
from pressarchive.watchdog import stall_timeout

logger = logging.getLogger("pressarchive")
# What an item waits on until its batch is committed: an asyncio future, or a Deferred.
Waiter = Union[asyncio.Future, defer.Deferred]


class IngestError(Exception):
    """An item the ingester could not handle (a bug): its traceback, logged by Scrapy."""


class ArchivePipeline:
    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats
        settings = crawler.settings
        self.max_bytes = settings.getint("PAGE_MAX_BYTES")
        self.use_worker = settings.getbool("INGEST_PROCESS", True)
        self.scheduling = ingest.scheduling_policy(settings.get("INGEST_SCHEDULING", "batch"))
        self.batch_size = max(1, settings.getint("INGEST_BATCH", 50))
        self.gap = settings.getfloat("INGEST_GAP", 0.02)
        self.linger = settings.getfloat("INGEST_LINGER", 0.25)
        self.deadline = 0.0  # when the partial batch must go (reactor time)
        # A stored copy's content age stands for unchanged checks (crawlstate.checks_for_age)
        self.revisit_hours = max(0.0, settings.getfloat("LASTMOD_AHEAD_REVISIT", 20.0))
        # Stored records travel back from the worker only for those who read them: feed
        # exports (-o/-O, FEEDS) or INGEST_RECORDS=True; otherwise a short receipt does.
        records = settings.get("INGEST_RECORDS")
        self.records = bool(settings.getdict("FEEDS")) if records is None else \
            settings.getbool("INGEST_RECORDS")
        self.executor: concurrent.futures.Executor | None = None
        self.reactor: Any = None  # Scrapy's, from open_spider (a test may give a fake clock)
        self.engine: Any = None  # Scrapy's, from open_spider: what is being fetched (_alone)
        self.pending: list[tuple[Any, Waiter]] = []  # items of the next batch, their waiters
        self.in_flight = 0  # items sent to the ingester whose outcomes have not come back
        self.timer = None
        self.broken = ""  # why the ingest worker is gone, once it is
        self.unwritable: str | None = None  # why the archive could not be written, once so
        # batches sent to the worker and not back, and when each went (_check_stall)
        self.submitted: dict[concurrent.futures.Future, float] = {}
        self.stall_timeout = stall_timeout(settings)
        self.watch: Any = None

    @classmethod
    def from_crawler(cls, crawler):
        if not crawler.settings.get("ARCHIVE_URL"):
            raise NotConfigured("ARCHIVE_URL is empty")
        pipeline = cls(crawler)
        crawler.signals.connect(pipeline.item_dropped, signal=signals.item_dropped)
        return pipeline

    @staticmethod
    def item_dropped(exception: BaseException) -> None:
        """A dropped item's exception lets go of its traceback once Scrapy has logged it.

        Scrapy keeps the DropItem it caught in the log arguments it made of it, a local of the
        coroutine that caught it, and the exception's traceback holds that coroutine's frame:
        a reference cycle, which keeps the page's response and item alive until the garbage
        collector finds it. A crawl drops every listing, 304 and failure: in a 10,000-article
        crawl these cycles were 12,400 of the 12,700 objects of cyclic garbage, each holding
        a page of 30 KB until the next collection. Without the traceback the cycle is gone,
        and the page is freed at once. Nothing after the log line reads the traceback: a drop
        is a decision, not an error (tests/test_dropped_items.py)."""
        exception.__traceback__ = None

    def open_spider(self) -> None:
        from twisted.internet import reactor  # the one Scrapy installed

        self.reactor = reactor
        self.engine = self.crawler.engine
        archive = shared_archive(self.crawler)  # opened and migrated here, before the worker
        # Pages are parsed by the ingester: it reads and resolves their links for the spider
        # as well, with the spider's SiteLinks (each link reported once per crawl).
        spider = self.crawler.spider
        site_links = getattr(spider, "links", None)
        spider.links_from_pipeline = site_links is not None
        if self.use_worker:
            if self.stall_timeout > 0:
                from twisted.internet import task

                self.watch = task.LoopingCall(self._check_stall)
                self.watch.start(min(5.0, self.stall_timeout / 4), now=False)
            self.executor = concurrent.futures.ProcessPoolExecutor(
                max_workers=1, mp_context=_worker_context(),
                initializer=ingest.start_worker,
                initargs=(archive.url, self.max_bytes, self.records, site_links,
                          self.scheduling, os.getpid(), self.revisit_hours))
        else:
            self.executor = _Inline(ingest.Ingester(archive, self.max_bytes, self.records,
                                                    site_links, self.revisit_hours))

    def close_spider(self) -> None:
        if self.watch is not None and self.watch.running:
            self.watch.stop()
        self._flush()  # nothing should be waiting by now; if something is, it is not lost
        if self.use_worker and self.executor is not None and not self.broken:
            # The policy the worker ran under (a sandbox may have refused the one asked for).
            try:
                policy = self.executor.submit(ingest.scheduling_in_effect).result(timeout=30)
            except Exception:  # noqa: BLE001 - the worker is gone: nothing to report
                policy = None
            self.stats.set_value("pressarchive/ingest_scheduling", policy)
        if self.executor is not None:
            self.executor.shutdown(wait=True)
        if self.use_worker:
            # The worker has been waited for: its CPU time is now this process's children's.
            worker = resource.getrusage(resource.RUSAGE_CHILDREN)
            self.stats.set_value("pressarchive/ingest_cpu_seconds",
                                 round(worker.ru_utime + worker.ru_stime, 2))

    async def process_item(self, item):
        if not isinstance(item, (FetchedPage, FetchFailure)):
            return item
        outcome = None
        try:
            outcome = await self._ingested(item)
        finally:
            # The spider schedules what the page links to (or learns that nothing will come).
            if getattr(item, "follow_links", None) is not None:
                try:
                    item.follow_links(outcome.links if outcome else None,
                                      hub=outcome is not None
                                      and outcome.kind == ingest.NOT_ARTICLE)
                except Exception:  # noqa: BLE001 - the page itself is archived: log, go on
                    logger.exception("following the links of %s failed", item.url)
                    self.stats.inc_value("pressarchive/follow_errors")
        return self._report(item, outcome)

    async def _ingested(self, item) -> ingest.Outcome:
        """The item's outcome, once the batch it joins is committed."""
        if self.broken:  # the crawl is stopping: what still arrives is not tried
            return ingest.Outcome(ingest.UNSAVED, message=self.broken)
        if self.unwritable:  # the crawl is stopping: what still arrives is not tried
            return ingest.Outcome(ingest.UNSAVED, message=self.unwritable)
        # Under Scrapy's asyncio reactor (its default) the item waits on an asyncio future:
        # a Deferred turned into one cost about 30 us more an item. Another reactor drives
        # this coroutine without an asyncio loop: a Deferred then.
        try:
            done: Waiter = asyncio.get_running_loop().create_future()
        except RuntimeError:
            done = defer.Deferred()
        self._join(item, done)
        if isinstance(done, defer.Deferred):
            return await maybe_deferred_to_future(done)
        return await done

    def _join(self, item, done: Waiter) -> None:
        """Adds an item to the next batch. The batch goes at once when it is full, or when
        the crawl waits on this item's links to go on (``FetchedPage.waited_on``: the front
        page, a listing's next page, each found only once the page before it is read);
        otherwise it waits for company (below). Measured on an 800-article site
        (tests/test_crawl_order.py), the last listing page came at positions 190 to 250 of
        about 610 requests instead of 280 to 350."""
        self.pending.append((item, done))
        if len(self.pending) >= self.batch_size or getattr(item, "waited_on", False):
            self._flush()
        else:
            self._wait_for_company()

    def _wait_for_company(self) -> None:
        """(Re)arm the timer of a partial batch: it goes after a gap with no new item, and by
        its deadline in any case; at once when no other item can come meanwhile."""
        if self._alone():
            self._flush()
            return
        now = self.reactor.seconds()
        if self.timer is None:
            self.deadline = now + self.linger
            self.timer = self.reactor.callLater(min(self.gap, self.linger), self._flush)
        else:
            self.timer.reset(max(0.0, min(self.gap, self.deadline - now)))

    def _alone(self) -> bool:
        """Whether nothing but the partial batch's own links can bring another item: nothing
        is being downloaded or waits to be, and every response Scrapy is scraping is one whose
        item waits here, in this batch or in one the ingester has not answered yet. Waiting
        for a gap then only delays those links: in a rerun, where one page leads to the next,
        at each such step, and at the end of any crawl. (False when the engine cannot say.)"""
        engine = self.engine
        if engine is None or getattr(engine.downloader, "active", True):
            return False
        scheduler = engine.scheduler
        slot = getattr(engine.scraper, "slot", None)
        if scheduler is None or slot is None or scheduler.has_pending_requests():
            return False
        return not slot.queue and len(slot.active) <= len(self.pending) + self.in_flight

    # -- batches -----------------------------------------------------------------------------

    def _flush(self) -> None:
        if self.timer is not None and self.timer.active():
            self.timer.cancel()
        self.timer = None
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        waiting = [d for _, d in batch]
        self.stats.inc_value("pressarchive/ingest_batches")
        self.stats.inc_value("pressarchive/ingest_items", len(batch))
        try:
            future = self.executor.submit(ingest.ingest_in_worker, [item for item, _ in batch])
        except Exception as exc:  # noqa: BLE001 - a broken pool: its worker died
            self._worker_died(exc, waiting)
            return
        self.in_flight += len(batch)  # until _deliver, which the callback below schedules
        self.submitted[future] = time.monotonic()
        # The future completes in another thread; its Deferreds must fire in the reactor's.
        future.add_done_callback(
            lambda f: self.reactor.callFromThread(self._deliver, f, waiting))

    def _deliver(self, future: concurrent.futures.Future, waiting: list[Waiter]) -> None:
        self.in_flight -= len(waiting)
        self.submitted.pop(future, None)
        try:
            outcomes = future.result()
        except Exception as exc:  # noqa: BLE001 - the worker died (killed, out of memory)
            self._worker_died(exc, waiting)
            return
        for waiter, outcome in zip(waiting, outcomes):
            _settle(waiter, outcome)

    def _worker_died(self, exc: Exception, waiting: list[Waiter]) -> None:
        """The worker is gone, with its uncommitted batch (rolled back: those pages are not
        marked fetched, so the next run asks for them again). The crawl stops here: fetching
        on without an archive to write to would only waste the site's time."""
        if not self.broken:
            # One ERROR line; the pages in flight are counted (pressarchive/unsaved), not
            # each logged with a traceback.
            self.broken = f"the ingest worker stopped ({exc!r})"
            logger.error("the ingest worker stopped (%r); closing the crawl", exc)
            self.stats.set_value("pressarchive/ingest_worker_died", 1)
            deferred_from_coro(
                self.crawler.engine.close_spider_async(reason="ingest_worker_died"))
        for waiter in waiting:
            _settle(waiter, ingest.Outcome(ingest.UNSAVED, message=self.broken))

    def _check_stall(self) -> None:
        """The worker has finished no batch for STALL_TIMEOUT seconds (pressarchive.watchdog:
        a database that stopped answering held it for good): it is stopped, and the crawl
        closes (ingest_stalled); the batches it held are not saved, and so fetched again by
        the next run."""
        if not self.submitted or self.broken:
            return
        waited = time.monotonic() - min(self.submitted.values())
        if waited < self.stall_timeout:
            return
        self.broken = f"the ingest worker finished no batch in {waited:.0f} s"
        logger.error("the ingest worker has finished no batch in %.0f s (STALL_TIMEOUT; the "
                     "archive's database not answering?): it is stopped, and the crawl with it; "
                     "what it held is fetched again by the next run", waited)
        self.stats.set_value("pressarchive/ingest_stalled", 1)
        # Its batches' futures then fail (a broken pool): their items are settled unsaved.
        for process in list(getattr(self.executor, "_processes", {}).values()):
            process.kill()
        deferred_from_coro(self.crawler.engine.close_spider_async(reason="ingest_stalled"))

    def _archive_unwritable(self, reason: str) -> None:
        """The archive cannot be written (its disk is full, say): every page from now on
        would be fetched for nothing, so the crawl stops, with one line that says why. What
        was not saved has no crawl state either, so the next run fetches it again."""
        if self.unwritable:
            return
        self.unwritable = reason
        logger.error("the archive cannot be written (%s): the crawl stops; the pages it did "
                     "not save are fetched again by the next run", reason)
        deferred_from_coro(
            self.crawler.engine.close_spider_async(reason="archive_unwritable"))

    # -- what each outcome means for stats and Scrapy -------------------------------------------

    def _report(self, item, outcome: ingest.Outcome):
        stats = self.stats
        if outcome.extractor:
            stats.inc_value("pressarchive/extracted")
            stats.inc_value(f"pressarchive/extractor/{outcome.extractor}")
        kind = outcome.kind
        if kind == ingest.STORED:
            stats.inc_value(f"pressarchive/stored/{outcome.key}")
            return outcome.record  # the record (for feed exports), or a receipt
        if kind == ingest.FAILED:
            if isinstance(item, FetchedPage):  # a soft 404
                item.failed_as = outcome.key
            stats.inc_value("pressarchive/failed")
            stats.inc_value(f"pressarchive/failed/{outcome.key}")
            raise DropItem(outcome.message, log_level="DEBUG")
        if kind == ingest.NOT_MODIFIED:
            stats.inc_value("pressarchive/not_modified")
            raise DropItem(outcome.message, log_level="DEBUG")
        if kind == ingest.NOT_ARTICLE:
            # Listings and the like are expected on every crawl: no loss, logged quietly.
            stats.inc_value("pressarchive/not_article")
            raise DropItem(outcome.message, log_level="DEBUG")
        if kind == ingest.UNSAVED:
            stats.inc_value("pressarchive/unsaved")
            if not self.broken:  # else the worker is gone, as one line said already
                self._archive_unwritable(outcome.message)
            raise DropItem(f"not saved ({outcome.message}): {item.url}", log_level="DEBUG")
        if kind == ingest.DROPPED:
            stats.inc_value("pressarchive/dropped")
            stats.inc_value(f"pressarchive/dropped/{outcome.key}")
            raise DropItem(outcome.message, log_level="WARNING")
        stats.inc_value("pressarchive/ingest_errors")
        raise IngestError(f"{item.url}\n{outcome.message}")


def _settle(waiter: Waiter, outcome: Any = None, error: Exception | None = None) -> None:
    """Gives a waiting item its outcome (or error)."""
    if isinstance(waiter, defer.Deferred):
        if error is None:
            waiter.callback(outcome)
        else:
            waiter.errback(error)
    elif waiter.done():  # its task was cancelled meanwhile (the crawl closing): nobody waits
        return
    elif error is None:
        waiter.set_result(outcome)
    else:
        waiter.set_exception(error)


def _worker_context():
    """Fork where there is fork: the worker starts in milliseconds with everything imported
    (it opens its own database connection and never touches the reactor). Spawn elsewhere.
    Not forkserver: the worker's parent would be the fork server, and the worker, watching
    for the crawl's pid as its parent (ingest.start_worker), would end at once."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


class _Inline(concurrent.futures.Executor):
    """An executor that runs each batch at once, in this process (INGEST_PROCESS=False)."""

    def __init__(self, ingester: ingest.Ingester):
        self.ingester = ingester

    def submit(self, fn, items):  # fn is the worker's entry point; here the ingester is ours
        future: concurrent.futures.Future = concurrent.futures.Future()
        try:
            future.set_result(self.ingester.ingest(items))
        except Exception as exc:  # noqa: BLE001 - delivered like a worker's failure
            future.set_exception(exc)
        return future
