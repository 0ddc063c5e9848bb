"""Scrapy settings of the pressarchive project (scrapy.cfg points here)."""

import os

from pressarchive import __version__

BOT_NAME = "pressarchive"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"

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

ITEM_PIPELINES = {
    "pipelines.extract.ExtractPipeline": 100,
    "pipelines.validate.ValidatePipeline": 200,
    "pipelines.dedupe.DedupePipeline": 300,
    "pipelines.store.StorePipeline": 400,
}
# Non-article pages are dropped as a matter of course: say so quietly, count them in stats.
DEFAULT_DROPITEM_LOG_LEVEL = "INFO"

# The archive: any SQLAlchemy URL; SQLite in the working directory by default.
ARCHIVE_URL = os.environ.get("ARCHIVE_URL", "sqlite:///pressarchive.sqlite")
# Pages larger than this are dropped unread (a counted drop, not a crash).
PAGE_MAX_BYTES = 5 * 1024 * 1024

FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = os.environ.get("PRESSARCHIVE_LOG_LEVEL", "INFO")

EXTENSIONS = {"pressarchive.crawl.StatsFile": 500}
STATS_FILE = None  # a path: the crawl's stats are written there as JSON when it ends
