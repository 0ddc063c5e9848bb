"""The crawl's Scrapy-side helpers: one archive per crawl, one run at a time, the run record,
stats to a file, and running spiders from Python (the demo, the benchmarks)."""

from __future__ import annotations

import atexit
import datetime as dt
import gc
import hashlib
import json
import logging
import os
import resource
from pathlib import Path
from types import SimpleNamespace
from typing import IO, Any, Callable, NoReturn

from scrapy import signals
from scrapy.exceptions import CloseSpider, NotConfigured
from scrapy.extensions.throttle import AutoThrottle as ScrapyAutoThrottle
from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.defer import deferred_from_coro
from twisted.internet import task

from . import frontier
from .storage import Archive, archive_url, crawlstate, unwritable
from .storage.crawlstate import by_suffix, run_counts
from .storage.archive import hide_passwords, run_lock_held, sqlite_file, take_run_lock
from .urls import canonical_url

try:
    import fcntl  # POSIX: file locks that the system lets go of when their process ends
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger("pressarchive")

# For crawling the local copy on 127.0.0.1: no need to wait between requests to ourselves.
LOCAL_SETTINGS = {"AUTOTHROTTLE_START_DELAY": 0.0, "AUTOTHROTTLE_MAX_DELAY": 1.0,
                  "DOWNLOAD_DELAY": 0, "CONCURRENT_REQUESTS_PER_DOMAIN": 8}


class CrawlStats(MemoryStatsCollector):
    """Scrapy's default stats collector without the layer Scrapy (2.13 and later) puts around
    every attribute access of it, to warn about a deprecated ``spider`` argument.

    A crawl updates a dozen stats per page, and that layer cost more than the stats
    themselves: about 0.1 ms of CPU per page, a few percent of the crawl process (py-spy).
    Everything else is Scrapy's class; a ``spider`` argument is accepted and ignored."""

    __getattribute__ = object.__getattribute__


class AutoThrottle(ScrapyAutoThrottle):
    """Scrapy's AutoThrottle (the same settings, the same rule), with a 304 Not Modified
    counted as the success it is.

    AutoThrottle aims at AUTOTHROTTLE_TARGET_CONCURRENCY requests being in the site's hands at
    a time: after each answer the delay between requests moves towards latency / target. Only
    a 200 may shorten it in Scrapy: error pages and redirects are small and quick, and letting
    them speed a crawl up would answer a site's trouble with more requests. A 304 is neither:
    it is the answer a conditional request asks for, and most of what an incremental run
    gets. Counted like a 200, its latency keeps the same number of requests in the site's
    hands, each costing the site less. Left out, a rerun keeps the delay that its first few
    full pages set, measured while the crawl was starting up: an unchanged rerun of the
    10,000-article benchmark site crawled in 0.30 s that way, in 0.16 s with 304s counted.
    Errors and redirects keep Scrapy's rule."""

    def _adjust_delay(self, slot, latency: float, response) -> None:
        super()._adjust_delay(slot, latency, _SUCCESS if response.status == 304 else response)


# What Scrapy's delay rule reads of a response (its status), for a 304: a 200's.
_SUCCESS = SimpleNamespace(status=200)


class UrlFingerprinter:
    """Request fingerprints (REQUEST_FINGERPRINTER_CLASS) for Scrapy's duplicate filter: SHA-1
    of the method, the request's canonical URL (``pressarchive.urls.canonical_url``, the one
    the archive keys pages by) and the body.

    Scrapy's own canonicalizes each URL with w3lib (about 20 us a request, a few percent of the
    crawl process); ours is cached and, for the plain URLs most links are, string work. And two
    spellings of one page that the archive takes for the same (tracking parameters, a trailing
    slash) are one request here too. It keeps no state: Scrapy builds it with no arguments."""

    def fingerprint(self, request) -> bytes:
        try:
            url = canonical_url(request.url)
        except ValueError:  # a URL canonical_url cannot read (a bad port): as it is
            url = request.url
        digest = hashlib.sha1(f"{request.method} {url}".encode())
        digest.update(request.body or b"")
        return digest.digest()


def shared_archive(crawler) -> Archive:
    """The crawl's one Archive (ARCHIVE_URL), shared by the spider, pipelines and extensions,
    closed when the spider closes."""
    archive = getattr(crawler, "_pressarchive_archive", None)
    if archive is None:
        archive = Archive(crawler.settings.get("ARCHIVE_URL"))
        crawler._pressarchive_archive = archive
        crawler.signals.connect(_close_archive(crawler), signal=signals.engine_stopped,
                                weak=False)
    return archive


def write_archive(crawler, write: Callable[[Any], Any]) -> tuple[Any, str | None]:
    """``write(session)`` in a transaction on the crawl's archive: (what it returned, None)
    once committed, or (None, why) when the archive cannot be written at all (its disk is
    full, it is read-only: ``storage.unwritable``), for the caller to say in one line. Any
    other error is raised."""
    try:
        with shared_archive(crawler).transaction() as session:
            return write(session), None
    except Exception as exc:
        failure = unwritable(exc)
        if failure is None:
            raise
        return None, failure


def _close_archive(crawler):
    def close() -> None:
        archive = getattr(crawler, "_pressarchive_archive", None)
        if archive is not None:
            archive.close()
            crawler._pressarchive_archive = None
    return close


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


_freeze_at_exit = False


class QuietGC:
    """Tunes Python's cyclic garbage collector for the crawl (``GC_THRESHOLD``; empty leaves it
    alone). A crawl allocates a stream of short-lived objects (requests, responses, Deferreds)
    and, with the default thresholds, spends about a tenth of the crawl process's CPU time
    scanning the same long-lived ones (modules, settings, the spider) again and again. At the
    start everything alive is frozen out of the collector's sight (``gc.freeze``) and young
    garbage is collected less often; cycles are still collected. The ingest worker, forked
    later, inherits both. The old thresholds are restored when the engine stops.

    At exit, Python collects garbage over every object left, several times, while it tears the
    modules down: most of a second of CPU after a crawl, a fair share of a short incremental
    run. Freezing everything first (an atexit hook) leaves those collections nothing to scan;
    the memory goes back to the system with the process either way."""

    def __init__(self, threshold: tuple[int, ...]):
        self.threshold = threshold
        self.saved: tuple[int, ...] | None = None

    @classmethod
    def from_crawler(cls, crawler):
        given = crawler.settings.getlist("GC_THRESHOLD")
        if not given:
            raise NotConfigured("GC_THRESHOLD is empty")
        try:
            threshold = tuple(int(n) for n in given)
        except (TypeError, ValueError):
            threshold = ()
        if not 1 <= len(threshold) <= 3 or any(n < 1 for n in threshold):
            raise ValueError(f"GC_THRESHOLD must be 1 to 3 positive counts, not {given!r}")
        ext = cls(threshold)
        crawler.signals.connect(ext.engine_started, signal=signals.engine_started)
        crawler.signals.connect(ext.engine_stopped, signal=signals.engine_stopped)
        return ext

    def engine_started(self) -> None:
        global _freeze_at_exit
        if not _freeze_at_exit:
            atexit.register(gc.freeze)
            _freeze_at_exit = True
        self.saved = gc.get_threshold()
        # Frozen as it is, without a full collection first: at this point one finds about ten
        # unreachable objects among some 120,000, and takes 60 ms to find them (a few percent of
        # an incremental run). The few frozen with the rest are collected after the crawl.
        gc.freeze()
        gc.set_threshold(*self.threshold)

    def engine_stopped(self) -> None:
        if self.saved is not None:
            gc.set_threshold(*self.saved)
            gc.unfreeze()
            self.saved = None


class QuietDebugLogs:
    """Scrapy's loggers drop the records below ``LOG_LEVEL`` themselves while the engine runs.

    Scrapy sets the level on its log handler only, so every DEBUG line it writes (one per
    response, "Crawled (200)", and one per item, "Scraped from" or a drop) is made into a
    record and then thrown away by the handler: about 13 us each, one to two percent of the
    crawl process's CPU time. With the ``scrapy`` logger at ``LOG_LEVEL`` they are not made.
    What is logged and counted (``log_count/*``) is the same; only a handler of one's own at a
    level below ``LOG_LEVEL`` would see less. The old level comes back when the last engine
    running in this process stops (crawls in one process, as the demo runs them, share it).
    """

    running = 0  # engines of this process running with the gate
    saved = logging.NOTSET  # the scrapy logger's level before the first of them started

    def __init__(self, level: int):
        self.level = level
        self.started = False

    @classmethod
    def from_crawler(cls, crawler):
        level = crawler.settings.get("LOG_LEVEL", "DEBUG")
        if isinstance(level, str):
            level = logging.getLevelName(level.upper())  # a number, for a known name
        if not crawler.settings.getbool("LOG_ENABLED", True) or not isinstance(level, int) \
                or level <= logging.DEBUG:
            raise NotConfigured("LOG_LEVEL lets DEBUG records through")
        ext = cls(level)
        crawler.signals.connect(ext.engine_started, signal=signals.engine_started)
        crawler.signals.connect(ext.engine_stopped, signal=signals.engine_stopped)
        return ext

    def engine_started(self) -> None:
        scrapy_logger = logging.getLogger("scrapy")
        if QuietDebugLogs.running == 0:
            QuietDebugLogs.saved = scrapy_logger.level
        QuietDebugLogs.running += 1
        self.started = True
        scrapy_logger.setLevel(max(self.level, scrapy_logger.level))

    def engine_stopped(self) -> None:
        if not self.started:
            return
        self.started = False
        QuietDebugLogs.running -= 1
        if QuietDebugLogs.running == 0:
            logging.getLogger("scrapy").setLevel(QuietDebugLogs.saved)


# The lock files this process holds (run locks, the queue folder's: flock). A forked child
# (an ingest worker) gets copies of their files, which would keep a lock held after its run
# gave it up or died, until the child ends: the child closes its copies at once (the parent's
# stay locked).
_held_locks: set[IO[str]] = set()


def hold_lock(file: IO[str]) -> None:
    """Counts ``file``, open and flock'ed, among this process's locks (not a forked child's)."""
    _held_locks.add(file)


def release_lock(file: IO[str]) -> None:
    """Closes a file ``hold_lock`` counted, which gives up its lock."""
    _held_locks.discard(file)
    file.close()


def _drop_inherited_locks() -> None:
    for file in _held_locks:
        file.close()
    _held_locks.clear()


os.register_at_fork(after_in_child=_drop_inherited_locks)


class RunLock:
    """One run at a time for each site and archive. A scheduled run that starts while the last
    one is still going (cron every hour, and a crawl that took longer) closes at once, with the
    reason ``already_running``, instead of fetching the site a second time beside it: twice the
    load on the site, and two runs' crawl state written over each other.

    The lock is an exclusive ``flock`` on a file beside the SQLite archive
    (``<archive>.<site>.lock``), taken when the spider opens and given up when the engine
    stops. The system lets go of it when its process ends, however it ends (kill -9, a power
    cut), so no lock outlives its run and there is nothing to clean up. The file names the
    process that holds it, for the log line of a run that is turned away; it stays in place
    (removing a lock file races with the next run opening it). Holding the lock, a run also
    marks ``interrupted`` the earlier runs of its site that were recorded as started and never
    ended: none of them can still be going, so they were killed.

    A PostgreSQL archive may be written from several machines, which a file on one of them
    cannot guard: there the lock is the database's own, a session advisory lock held by a
    connection of the run's (``storage.archive.take_run_lock``), which the server lets go
    of when the connection ends, however its process ends. Other archives (in memory: the
    run's own) are not locked, and their runs log so. ``RUN_LOCK = False`` turns the lock
    off (crawls that share one site's frontier on purpose)."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.file: IO[str] | None = None  # the lock file, open while this run holds it
        self.connection: Any = None  # on PostgreSQL, the connection that holds the lock
        self.watch: task.LoopingCall | None = None  # …and the check that it still does
        self.site = ""

    @classmethod
    def from_crawler(cls, crawler):
        if frontier.is_helper(crawler.settings):
            raise NotConfigured  # a helper: the lead holds the site's lock (no WARNING line)
        if not crawler.settings.getbool("RUN_LOCK", True):
            raise NotConfigured("RUN_LOCK is off")
        if fcntl is None:  # pragma: no cover - Windows
            raise NotConfigured("no file locks on this system: runs are not locked")
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.release, signal=signals.engine_stopped)
        return ext

    def spider_opened(self, spider) -> None:
        site = _site_of(spider)
        url = archive_url(self.crawler.settings.get("ARCHIVE_URL"))
        path = lock_path(url, site)
        if url.startswith("postgresql"):
            self.connection, holder = take_run_lock(shared_archive(self.crawler).engine, site)
            if self.connection is None:
                logger.warning("another run of %s is still going on this archive (%s): this "
                               "run stops without fetching anything", site, holder)
                self._turned_away(holder)
            # The server lets go of the lock whenever the connection ends, not only with this
            # process: a restart, pg_terminate_backend, an idle_session_timeout. Unwatched, the
            # run went on unlocked, and the next one crawled beside it (a helper's soak).
            self.site = site
            self.watch = task.LoopingCall(self._still_locked)
            every = max(0.1, self.crawler.settings.getfloat("RUN_LOCK_CHECK", 10.0))
            self.watch.start(every, now=False)
        elif path is None:
            logger.info("runs of %s are not locked: the archive is neither a SQLite file nor "
                        "PostgreSQL", site)
            return
        else:
            try:
                self.file, holder = take_lock(path)
            except OSError as exc:  # a folder gone, or not writable: the run goes on, unlocked
                logger.warning("runs of %s are not locked: %s", site, exc)
                return
            if self.file is None:
                logger.warning("another run of %s is still going on this archive (%s; lock "
                               "%s): this run stops without fetching anything", site,
                               holder or "holder unknown", path)
                self._turned_away(holder)
            hold_lock(self.file)
        # With the lock held, no earlier run of the site is going: one recorded as started and
        # never ended was killed. (RunRecorder records this run's start after this, 510 > 505.)
        stale, _ = write_archive(self.crawler,
                                 lambda session: crawlstate.close_interrupted_runs(session, site))
        for run_id in stale or ():
            logger.warning("run #%d of %s never ended (killed?): recorded as interrupted",
                           run_id, site)

    def _turned_away(self, holder: str) -> NoReturn:
        """Closes this run as it opens: another run of its site holds the lock. Scrapy runs
        the other spider_opened handlers all the same; the stat tells them (the frontier's
        lead must not empty the queue the running lead is using: pressarchive.frontier)."""
        self.crawler.stats.set_value("pressarchive/already_running", holder or "unknown")
        raise CloseSpider("already_running")

    def _still_locked(self) -> None:
        """On PostgreSQL, every RUN_LOCK_CHECK seconds: the lock is still held, or is taken
        again (one WARNING line), or, another run holding it by now, this run stops
        (``run_lock_lost``: one ERROR line, exit 1); what it saved stays saved."""
        try:
            if self.connection is None or run_lock_held(self.connection, self.site):
                return
            self.connection.invalidate()
            self.connection, holder = take_run_lock(shared_archive(self.crawler).engine,
                                                    self.site)
        except Exception as exc:  # noqa: BLE001 - the database out of reach: try next time
            logger.warning("the run lock of %s could not be checked (%s)", self.site, exc)
            return
        if self.connection is not None:
            logger.warning("the connection that held the run lock of %s ended; the lock is "
                           "taken again", self.site)
            return
        logger.error("the run lock of %s went with its connection, and another run holds it "
                     "now (%s): this run stops", self.site, holder)
        self.crawler.stats.set_value("pressarchive/run_lock_lost", 1)
        if self.watch is not None and self.watch.running:
            self.watch.stop()
        deferred_from_coro(self.crawler.engine.close_spider_async(reason="run_lock_lost"))

    def release(self) -> None:
        if self.watch is not None and self.watch.running:
            self.watch.stop()
        if self.file is not None:
            release_lock(self.file)
            self.file = None
        if self.connection is not None:
            self.connection.invalidate()  # closed, not back to the pool: its lock goes with it
            self.connection = None


def lock_path(archive: str | None, site: str) -> Path | None:
    """The run lock's file for ``site`` on the archive at the URL ``archive``, or None when
    the archive is not a SQLite file."""
    file = sqlite_file(archive_url(archive))
    if file is None:
        return None
    database = Path(file).resolve()  # one lock however the path is spelled
    return database.with_name(f"{database.name}.{site}.lock")


def take_lock(path: Path) -> tuple[IO[str] | None, str]:
    """(the lock file, open and locked, ""), or (None, what the file says of the process that
    holds it) when another holds it."""
    file = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held open as the lock
    try:
        fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        file.seek(0)
        holder = file.read().strip()
        file.close()
        return None, holder
    file.seek(0)
    file.truncate()
    file.write(f"pid {os.getpid()} since {_utcnow().isoformat()}Z\n")
    file.flush()
    return file, ""


def _site_of(spider) -> str:
    """The site slug a spider crawls (its name when it has no site)."""
    return getattr(getattr(spider, "site", None), "slug", spider.name)


class RunRecorder:
    """Records each crawl run in the archive (crawl_runs) and logs a short summary at the end."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.run_id: int | None = None

    @classmethod
    def from_crawler(cls, crawler):
        if not crawler.settings.getbool("RECORD_RUNS", True):
            raise NotConfigured
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider) -> None:
        settings = self.crawler.settings
        recorded = {"base_url": getattr(spider, "base_url", None),
                    "full_recheck": settings.getbool("FULL_RECHECK"),
                    "page_budget": settings.getint("CLOSESPIDER_PAGECOUNT") or None,
                    "time_budget": settings.getfloat("CLOSESPIDER_TIMEOUT") or None,
                    "since": getattr(spider, "since", None), "until": getattr(spider, "until", None),
                    # where its responses are kept as WARC (captures name files in it)
                    "warc_dir": (str(Path(settings.get("WARC_DIR")).resolve())
                                 if settings.get("WARC_DIR") else None),
                    # the Redis database of a crawl shared by several processes, if any
                    "frontier": (hide_passwords(settings.get("FRONTIER_URL"))
                                 if settings.get("FRONTIER_URL") else None)}
        site = _site_of(spider)
        mode = run_mode(spider, settings.getbool("FULL_RECHECK"))
        self.run_id, failure = write_archive(self.crawler, lambda session: crawlstate.start_run(
            session, spider.name, site, mode, recorded, _utcnow()))
        if failure:
            logger.error("the archive cannot be written (%s): the crawl does not start", failure)
            raise CloseSpider("archive_unwritable")
        self.crawler.stats.set_value("pressarchive/run_id", self.run_id)

    def spider_closed(self, spider, reason: str) -> None:
        if self.run_id is None:
            return
        stats = self.crawler.stats.get_stats()
        counts = run_counts(stats)
        if reason == "finished" and counts["failed"] and not read_anything(stats):
            # Its robots.txt answered, then every other request failed: down, or out of reach.
            logger.warning("no page of %s could be read (%d failed): is the site down or out "
                           "of reach?", _site_of(spider), counts["failed"])
            reason = "site_unreadable"
        # The reason recorded, which the crawl commands' exit status follows (Scrapy's
        # finish_reason stays "finished" for a site_unreadable run).
        self.crawler.stats.set_value("pressarchive/run_reason", reason)
        errors = by_suffix(stats, "pressarchive/failed/")
        if lost := lost_pages(stats):
            # Pages fetched that a fault of ours kept out of the archive (their tracebacks
            # are in the log): counted as failed, and remembered as failed URLs, which the
            # next run asks for again (pressarchive.ingest); the run exits 1 (``lost_pages``).
            errors[INGEST_ERROR] = lost
            counts["failed"] += lost
            logger.error("%d %s of %s could not be archived (an error in pressarchive: see "
                         "the tracebacks above); the next run fetches %s again", lost,
                         "page" if lost == 1 else "pages", _site_of(spider),
                         "it" if lost == 1 else "them")
        if unkept := unkept_warc(stats):
            errors[WARC_ERROR] = unkept
        drops = by_suffix(stats, "pressarchive/dropped/")
        _, failure = write_archive(self.crawler, lambda session: crawlstate.finish_run(
            session, self.run_id, _utcnow(), reason, counts, errors, drops))
        if failure and reason == "archive_unwritable":  # said already, in one ERROR line
            logger.warning("run #%d could not be recorded as ended either (%s): the next run "
                           "records it as interrupted", self.run_id, failure)
        elif failure:
            logger.error("run #%d could not be recorded as ended (%s)", self.run_id, failure)
        warc = ""
        if self.crawler.settings.get("WARC_DIR"):
            kept, unkept = (int(stats.get(f"pressarchive/warc/{key}", 0))
                            for key in ("records", "errors"))
            warc = f"; {kept} responses kept as WARC" + (f", {unkept} NOT kept (see the "
                                                         f"errors above)" if unkept else "")
        logger.info(
            "run #%d (%s, %s): %d pages fetched; %d new, %d seen at a new URL, %d changed, "
            "%d unchanged, %d not modified; %d dropped%s; %d failed%s%s",
            self.run_id, spider.name, reason, counts["pages_fetched"], counts["new"],
            counts["appeared"], counts["changed"], counts["unchanged"], counts["not_modified"],
            counts["dropped"], f" {drops}" if drops else "", counts["failed"],
            f" {errors}" if errors else "", warc)


def run_mode(spider: Any, full: bool) -> str:
    """What kind of run a crawl is, as recorded: ``backfill`` (a date window: its sitemap
    entries only), ``urls`` (a list of URLs), ``helper`` (a helper of a crawl shared through a
    frontier: pressarchive.frontier), ``full`` (FULL_RECHECK) or ``incremental``."""
    if getattr(spider, "since", None) or getattr(spider, "until", None):
        return "backfill"
    if getattr(spider, "only_urls", None):
        return "urls"
    if getattr(spider, "settings", None) is not None and frontier.is_helper(spider.settings):
        return "helper"
    return "full" if full else "incremental"


def read_anything(stats: dict[str, Any]) -> bool:
    """Whether a run read anything of its site, from its stats: a page (stored, found
    unchanged, not modified, not an article, dropped for what it held, or a soft 404: the
    site answered it) or a sitemap or feed (read, or answered 304). robots.txt does not
    count."""
    return any(int(value) for key, value in stats.items()
               if key.startswith("pressarchive/stored/") or key in (
                   "pressarchive/not_article", "pressarchive/not_modified",
                   "pressarchive/dropped", "pressarchive/failed/soft_404",
                   "pressarchive/skipped/sitemap", "pressarchive/sitemaps_read",
                   "pressarchive/feeds_read"))


class StatsFile:
    """Writes the crawl's stats as JSON to the STATS_FILE setting when the spider closes,
    for schedulers and tests that read a run's counts without parsing its log.

    The file also gives ``crawl_cpu_seconds``: this process's CPU time (user and system) from
    the spider's opening to its closing, the window of Scrapy's ``elapsed_time_seconds``, so
    without the start-up (imports) and the teardown that the process's own total includes.
    A forked ingest worker's CPU is its own stat (``pressarchive/ingest_cpu_seconds``).

    The file is written when the engine has stopped, after every extension has closed: it
    then holds what the run record says too (``pressarchive/run_id``, ``.../run_reason``).
    A run closed as it opened (``already_running``, ``archive_unwritable``) never starts the
    engine, so never stops it: its file is written when the spider has closed, after the run
    record (otherwise the last run's file stayed, and said ``finished``: a soak's find)."""

    def __init__(self, path: str, crawler):
        self.path = path
        self.crawler = crawler
        self.cpu_at_open: float | None = None
        self.closed: dict[str, Any] = {}
        self.engine_started = False

    @classmethod
    def from_crawler(cls, crawler):
        path = crawler.settings.get("STATS_FILE")
        if not path:
            raise NotConfigured
        ext = cls(path, crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(ext.started, signal=signals.engine_started)
        crawler.signals.connect(ext.engine_stopped, signal=signals.engine_stopped)
        return ext

    def started(self) -> None:
        self.engine_started = True

    def spider_opened(self, spider) -> None:
        self.cpu_at_open = _cpu_seconds()
        # Connected now, after every extension's own receivers: it runs after the run record.
        self.crawler.signals.connect(self.closed_unstarted, signal=signals.spider_closed)

    def closed_unstarted(self, spider, reason: str) -> None:
        if not self.engine_started:
            self.engine_stopped()

    def spider_closed(self, spider, reason: str) -> None:
        self.closed = {"finish_reason": reason}
        if self.cpu_at_open is not None:
            self.closed["crawl_cpu_seconds"] = round(_cpu_seconds() - self.cpu_at_open, 3)

    def engine_stopped(self) -> None:
        write_stats(self.path, {**self.crawler.stats.get_stats(), **self.closed})


def write_stats(path: str, data: dict[str, Any]) -> None:
    """STATS_FILE's JSON (the crawl command writes it too, for a run that never started)."""
    with open(path, "w", encoding="utf-8") as out:
        json.dump(data, out, default=str, indent=1, sort_keys=True)


def write_not_started(stats_file: str | None, problem: str) -> None:
    """STATS_FILE for a run that never started (the crawl commands refused it): otherwise the
    last run's file stayed, and a scheduler reading it took this one for that one (its
    "finished", say)."""
    if stats_file:
        write_stats(stats_file, {"finish_reason": "not_started",
                                 "pressarchive/not_started": problem})


def _cpu_seconds() -> float:
    """This process's CPU time so far, user and system, its threads included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# A run that ended as asked: done, or stopped by its page, item or time budget (the next run
# goes on). Any other finish reason makes ``pressarchive crawl`` and ``scrapy crawl`` exit 1:
# Scrapy's closespider_errorcount and closespider_timeout_no_item among them (too many errors, a
# crawl that stalled).
FINISHED = ("finished", "closespider_pagecount", "closespider_itemcount", "closespider_timeout")
# The error kind a run records for pages that an error in the ingester kept out of the archive.
INGEST_ERROR = crawlstate.INGEST_ERROR
# ... and for responses not kept as WARC (``unkept_warc``); not counted as failed pages.
WARC_ERROR = "warc_not_kept"


def lost_pages(stats: dict[str, Any]) -> int:
    """How many pages a run fetched that an error of the ingester's (a bug) kept out of the
    archive: a run that finished with any is no success (its crawl commands exit 1)."""
    return int(stats.get("pressarchive/ingest_errors", 0))


def unkept_warc(stats: dict[str, Any]) -> int:
    """How many responses a run with WARC_DIR could not keep as WARC (a full disk, say): their
    pages are archived, linked to no record, so a rebuild from the WARC files lacks them; a
    run with any is no success either."""
    return int(stats.get("pressarchive/warc/errors", 0))


def run_failed(stats: dict[str, Any]) -> bool:
    """Whether a crawl's commands exit 1, from its stats: it ended before its end, or lost
    pages, or responses it was to keep as WARC."""
    return run_reason(stats) not in FINISHED or lost_pages(stats) > 0 or unkept_warc(stats) > 0


def run_reason(stats: dict[str, Any]) -> str | None:
    """Why a crawl ended, from its stats: the reason its run record gives (which may say
    ``site_unreadable`` where Scrapy says ``finished``), else Scrapy's."""
    return stats.get("pressarchive/run_reason") or stats.get("finish_reason")


def run_spiders(jobs: list[tuple[str, dict[str, Any]]], **overrides: Any) -> list[dict]:
    """Run ``(spider name, arguments)`` jobs in one process; return each crawl's stats."""
    from scrapy.crawler import CrawlerProcess
    from scrapy.settings import SETTINGS_PRIORITIES

    process = CrawlerProcess(project_settings(overrides))
    crawlers = []
    for name, kwargs in jobs:
        crawler = process.create_crawler(name)
        # A file or folder of a run's own (PER_SITE_SETTINGS) that names {site}: this one's,
        # above the command line's priority (crawl() merges the process's settings into the
        # crawler's again, and an equal priority would put {site} back).
        crawler.settings.setdict({key: value.replace("{site}", name)
                                  for key, value in overrides.items()
                                  if key in PER_SITE_SETTINGS and isinstance(value, str)},
                                 priority=SETTINGS_PRIORITIES["cmdline"] + 1)
        crawlers.append(crawler)
        process.crawl(crawler, **kwargs)
    process.start()
    return [_stats_of(crawler) for crawler in crawlers]


def project_settings(overrides: dict[str, Any]) -> Any:
    """The project's Scrapy settings with ``overrides`` on top, at the command line's
    priority, as a crawl reads them."""
    from scrapy.utils.project import get_project_settings

    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "pressarchive.settings")
    settings = get_project_settings()
    settings.setdict(overrides, priority="cmdline")
    return settings


# Settings that name a file or folder of one run's own: with several sites in one command,
# each names {site}, which each site's run replaces with its name.
PER_SITE_SETTINGS = ("STATS_FILE", "JOBDIR")


def _stats_of(crawler: Any) -> dict:
    """A crawl's stats; for one that never started (its spider refused its settings), a
    finish reason that says so."""
    try:
        return crawler.stats.get_stats()
    except RuntimeError:  # Scrapy: "Crawler.stats is not set yet"
        return {"finish_reason": "not_started"}
