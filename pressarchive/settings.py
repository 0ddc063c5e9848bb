"""Scrapy settings of the pressarchive project (scrapy.cfg points here)."""

import os

from scrapy.settings import default_settings as _scrapy_defaults

from pressarchive import __version__

BOT_NAME = "pressarchive"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"
# Our `scrapy crawl`: Scrapy's, but it exits 1 when a run did not finish.
COMMANDS_MODULE = "pressarchive.commands"

# Polite by default: we are a guest of the sites we archive.
USER_AGENT = f"pressarchive/{__version__} (+https://github.com/pressarchive/pressarchive)"
ROBOTSTXT_OBEY = True
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_TIMEOUT = 30
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
# A response larger than this is cut off by Scrapy; PAGE_MAX_BYTES below drops pages earlier.
DOWNLOAD_MAXSIZE = 32 * 1024 * 1024
DOWNLOAD_WARNSIZE = 8 * 1024 * 1024

DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "spiders.middlewares.RetryAfterMiddleware": 550,
    "spiders.middlewares.CrawlDelayMiddleware": 560,
    # Scrapy's redirect middlewares, sending no Referer (see below), refusing a redirect loop as
    # a failure, and keeping 3xx hops out of the duplicate filter, which would drop a hop to a
    # URL already asked for without a trace (see spiders/middlewares.py)
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "spiders.middlewares.NoRefererMetaRefreshMiddleware": 580,
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
    "spiders.middlewares.NoRefererRedirectMiddleware": 600,
    "spiders.middlewares.OffsiteRedirectMiddleware": 650,  # sees redirects before 600 does
    # Scrapy's offsite middleware, its verdicts kept per host (see spiders/middlewares.py)
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    "spiders.middlewares.OffsiteMiddleware": 50,
    # Scrapy's robots.txt middleware, obeying the robots.txt the spider read first rather than
    # fetching it a second time (see spiders/middlewares.py)
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "spiders.middlewares.SharedRobotsTxtMiddleware": 100,
    # Every response as it came, kept as WARC when WARC_DIR is set (see below): next to the
    # downloader, before Scrapy's downloader stats (850), decompression, retries, redirects.
    "spiders.middlewares.WarcMiddleware": 950,
}
# A folder: every response the crawl downloads is kept there as WARC, with its request
# (pressarchive.warc; files of WARC_MAX_BYTES, named WARC_PREFIX-time-serial-pid.warc.gz), and
# each page the archive reads is linked to its record (the captures table), for replay and for
# `pressarchive reextract`. None: nothing kept.
WARC_DIR = None
WARC_MAX_BYTES = 1_000_000_000
WARC_PREFIX = "pressarchive"
# zlib's level for each record (1 to 9): 1 costs about 60% of 9's CPU for files a tenth larger.
WARC_GZIP_LEVEL = 1
# A server asking to wait longer than this (Retry-After) has the URL tried again next run.
RETRY_AFTER_MAX = 120.0

# Spider middlewares a crawl of ours has no use for, each a layer every page's output passes
# through: depth (no depth limit is set), the meta-copy check (a development aid), URL length
# (the spider applies URLLENGTH_LIMIT itself, to links and sitemap entries alike) and Referer:
# an archive fetches each page as a fresh visitor would reach it, from nowhere, so no request
# carries a Referer header (the redirect middlewares above send none either).
SPIDER_MIDDLEWARES = {
    "scrapy.spidermiddlewares.depth.DepthMiddleware": None,
    "scrapy.spidermiddlewares.metacopy.MetaCopyDetectionMiddleware": None,
    "scrapy.spidermiddlewares.urllength.UrlLengthMiddleware": None,
    "scrapy.spidermiddlewares.referer.RefererMiddleware": None,
    # Scrapy's start-request marker without its pass over every callback's output
    # (spiders.middlewares.StartRequestsMiddleware), in its place.
    "scrapy.spidermiddlewares.start.StartSpiderMiddleware": None,
    "spiders.middlewares.StartRequestsMiddleware": 25,
}
# No cookies either: what is archived is the page any visitor gets, not one shaped by a session.
COOKIES_ENABLED = False

# One pipeline: pages, failures and 304s go to the archive (pressarchive.ingest), by default in
# a worker process, a batch per transaction (see pipelines/archive.py).
ITEM_PIPELINES = {"pipelines.archive.ArchivePipeline": 300}
INGEST_PROCESS = True
INGEST_BATCH = 50
INGEST_GAP = 0.02  # a partial batch goes after this long with no new item…
INGEST_LINGER = 0.25  # …or this long after its first, whichever comes first (and at once
# when nothing else is being fetched or waits to be: no other item can join it meanwhile)
INGEST_RECORDS = None  # None: the whole record only for feed exports (see pipelines/archive.py)
# The worker's Linux scheduling policy: "batch" (its wake-ups do not preempt the crawl
# process), "idle" (only CPU nothing else wants) or "normal" (see pressarchive.ingest).
INGEST_SCHEDULING = "batch"
# Scrapy starts this many tasks (and one more) for every response's output, even an empty one:
# at its default of 100 that is about 0.6 ms a response. Our callbacks give one item each (a
# page, a failure), or requests that need no waiting (sitemaps, feeds): one task does, and
# costs about 40 us a response less than 8.
CONCURRENT_ITEMS = 1
# Scrapy checks, for every response, whether its callback is a generator with a `return
# value` (a mistake: the value is lost), by reading the callback's source and parsing it. The
# answer is cached only while a request holding that very bound method is alive, so a crawl
# parses it again now and then: 75 times in a 7,000-page crawl, 1.9 ms of CPU each, the reactor
# blocked meanwhile. Our spiders' methods are checked once, by a test (test_crawl_tuning).
WARN_ON_GENERATOR_RETURN_VALUE = False

# Non-article pages are dropped as a matter of course: say so quietly, count them in stats.
DEFAULT_DROPITEM_LOG_LEVEL = "INFO"

# The archive: any SQLAlchemy URL; SQLite in the working directory by default.
ARCHIVE_URL = os.environ.get("ARCHIVE_URL", "sqlite:///pressarchive.sqlite")
# Pages larger than this are dropped unread (a counted drop, not a crash).
PAGE_MAX_BYTES = 5 * 1024 * 1024

FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = os.environ.get("PRESSARCHIVE_LOG_LEVEL", "INFO")

# Scrapy's in-memory stats, without a deprecation layer that costs more than the stats do.
STATS_CLASS = "pressarchive.crawl.CrawlStats"
# The duplicate filter's fingerprints from the archive's canonical URLs (cheaper than w3lib's).
REQUEST_FINGERPRINTER_CLASS = "pressarchive.crawl.UrlFingerprinter"

EXTENSIONS = {"pressarchive.crawl.StatsFile": 500, "pressarchive.crawl.RunLock": 505,
              "pressarchive.crawl.RunRecorder": 510, "pressarchive.frontier.Frontier": 515,
              "pressarchive.crawl.QuietGC": 520, "pressarchive.crawl.QuietDebugLogs": 530,
              "pressarchive.watchdog.Watchdog": 540}
# A crawl that has not moved for this many seconds ends (pressarchive.watchdog): its ingest
# worker finishing no batch (reason "ingest_stalled"), or its reactor blocked (the process
# exits 1); a database that stops answering without closing its connections hung it for
# good. 0: never.
STALL_TIMEOUT = 300.0
# One run at a time for each site and archive (a flock beside a SQLite archive, an advisory
# lock on PostgreSQL): a run that starts while the last is still going closes at once,
# reason "already_running".
RUN_LOCK = True
# On PostgreSQL, how often (seconds) a run checks that its lock's connection still holds it
# (taken again if not; the run stops, "run_lock_lost", when another run has it by then).
RUN_LOCK_CHECK = 10.0

# Components a scheduled crawl of ours never uses are left out of Scrapy's base lists, not
# set to None: Scrapy imports every component a list names, disabled or not, to read its
# settings. A crawl opens no ports (no telnet console, no remote-control HTTP server, whose
# aiohttp import took a tenth of a rerun's wall time) and keeps no cookies (see above; the
# cookies middleware imports tldextract). Put them back in EXTENSIONS or
# DOWNLOADER_MIDDLEWARES to use them.
EXTENSIONS_BASE = {path: order for path, order in _scrapy_defaults.EXTENSIONS_BASE.items()
                   if path not in ("scrapy.extensions.telnet.TelnetConsole",
                                   "scrapy.extensions.remote_control.RemoteControl",
                                   "scrapy.extensions.throttle.AutoThrottle")}
# Scrapy's AutoThrottle in its place, with the same AUTOTHROTTLE_* settings, letting a 304 Not
# Modified shorten the delay as a 200 does (see pressarchive.crawl.AutoThrottle).
EXTENSIONS_BASE["pressarchive.crawl.AutoThrottle"] = \
    _scrapy_defaults.EXTENSIONS_BASE["scrapy.extensions.throttle.AutoThrottle"]
DOWNLOADER_MIDDLEWARES_BASE = {
    path: order for path, order in _scrapy_defaults.DOWNLOADER_MIDDLEWARES_BASE.items()
    if path != "scrapy.downloadermiddlewares.cookies.CookiesMiddleware"}
# Python's garbage collector thresholds during a crawl (see pressarchive.crawl.QuietGC); empty
# keeps Python's defaults (700, 10, 10), which cost about a tenth of the crawl's CPU time. The
# older generations stay at 10: at 100 the oldest was almost never collected, and the cyclic
# garbage that reached it made memory grow with the site (1.21x at 50,000 articles vs 5,000).
# The first is 10,000, not 20,000, since CONCURRENT_ITEMS is 1: a page now allocates fewer
# objects the collector tracks, so at 20,000 it came round too seldom, and the 50,000-article
# crawl's peak rose by 7 MiB (1.19x the 5,000-article one's, against 1.17x at 10,000).
GC_THRESHOLD = [10_000, 10, 10]
STATS_FILE = None  # a path: the crawl's stats are written there as JSON when it ends

# Incremental by default: pages the archive holds are fetched again only when their sitemap
# lastmod changed or a conditional request says so. True fetches everything again.
FULL_RECHECK = False
# A page asked for conditionally though its sitemap lastmod changed (its lastmods run ahead of
# it, on a site whose validators have told of an edit: crawlstate.AHEAD_RUNS) is still asked
# for in full one time in this many (by a hash of its URL and the run's number: a different
# share of such pages each run, and no schedule of runs and revisits that always or never
# meets a page's turn), so that validators that stop following its edits (a page served by
# another machine, say) cost some visits' delay, this many on average, not the edit, and end
# the site's trust. 0: never.
LASTMOD_AHEAD_RECHECK = 7
# A page whose sitemap lastmods have run ahead of it (as above; on any site) is asked for again,
# when its lastmod changes, only if its last check (a fetch or a 304) is at least this many
# hours old: against a sitemap stamped with the time it was made, every run would otherwise
# ask for every known article. An edit such a page hides waits at most that long; FULL_RECHECK
# asks for every page. 20, not 24: a run a day checks every page every run, though the last
# one checked a page later in its run than this one starts. 0: asked for on every run, as the
# lastmod says.
LASTMOD_AHEAD_REVISIT = 20
# …and that wait doubles with each check in a row, past the two that showed its lastmods run
# ahead, that found the page unchanged (a 304, or the version the archive held), up to this
# many hours: 20, 40, 80, then 160. At this longest wait a page is due at a time of its own,
# on one of 28 grids 160/28 hours apart picked by a hash of its row id
# (crawlstate.REVISIT_PHASES), at least 20 and at most 160 hours after its last check: pages
# checked together (a back catalogue crawled in one run) are then checked a 28th at a time,
# not in weekly waves. A run a day checks an old article every six or seven days (160 hours
# on average), never more than a week apart (168 would make it eight days now and then), so
# a page edited long after it was published has that edit stored within a week; one found
# changed goes back to 20. A page new to the archive starts as far along as its content's age
# allows: a tenth of the time since its last change (crawlstate.checks_for_age; 67 days old or
# more: 160). At or below LASTMOD_AHEAD_REVISIT: the wait does not grow
# (bench/revisit_days.py: with it, a third of the requests over a site's first three weeks,
# edits of old articles stored up to 6 days late).
LASTMOD_AHEAD_REVISIT_MAX = 160
# A sitemap whose entries with a lastmod, this many or more, all carry one time of day, within
# a minute of each other (lastmods.stamped), was stamped with the time it was made, and its
# lastmods say nothing of which page changed. A page it leads to whose copy is older than that
# time, or gives no Last-Modified, starts on the revisits above at once, by its content's age,
# instead of being fetched in full on the next two runs to learn that its lastmods run ahead
# (crawlstate.AHEAD_RUNS): a run a day fetched the whole back catalogue again on days 2 and
# 3. 0 (or less): never judged stamped (every page learns for itself).
LASTMOD_STAMPED_MIN = 20
# Where those grids start (ISO 8601, UTC): any fixed time will do. A simulation that moves its
# archive's times back instead of moving the clock on (bench/revisit_days.py) moves this back
# with them.
LASTMOD_AHEAD_REVISIT_EPOCH = "2000-01-01T00:00:00+00:00"
# A page budget per run: Scrapy's own CLOSESPIDER_PAGECOUNT (0 = none); the next run goes on.
CLOSESPIDER_PAGECOUNT = 0
# A time budget per run, in seconds: Scrapy's own CLOSESPIDER_TIMEOUT (0 = none), likewise.
CLOSESPIDER_TIMEOUT = 0
# One site's crawl shared by several processes (machines): a Redis URL, whose database holds
# the crawl's frontier (scrapy-redis's queue and duplicate filter; see pressarchive.frontier).
# The run started as usual leads (discovery, the run lock); one with FRONTIER_HELPER = True
# helps: it fetches what the frontier holds, into the same archive, while the lead is alive
# (or for FRONTIER_HELPER_WAIT seconds until one is). None: the crawl keeps its own queue.
FRONTIER_URL = None
FRONTIER_HELPER = False
FRONTIER_KEY = "pressarchive:%(spider)s"
FRONTIER_LEAD_TTL = 30  # seconds the lead's "alive" key lasts unless renewed (a third of it)
FRONTIER_HELPER_WAIT = 60.0
# Requests waiting to be fetched are kept in Scrapy's disk queues (in a folder that lasts one
# run, unless JOBDIR names one to keep), so memory stays flat at any site size.
DISK_QUEUE = True
SCHEDULER_DISK_QUEUE = "spiders.queues.LifoDiskQueue"
# The newest requests kept in memory on top of it, per request priority (Scrapy keeps a queue
# for each; ours are sitemaps, listings, new articles and known ones asked for again): about
# 3 MiB for each of the two articles' queues, the ones that grow with the site.
DISK_QUEUE_MEMORY = 4096
