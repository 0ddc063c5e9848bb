"""Runs the project's spiders from Python (the demo, the tests, the benchmarks)."""

from __future__ import annotations

from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.utils.project import get_project_settings

# For crawling the local copy on 127.0.0.1: no need to wait between requests to ourselves.
LOCAL_SETTINGS = {"AUTOTHROTTLE_START_DELAY": 0.0, "AUTOTHROTTLE_MAX_DELAY": 1.0,
                  "DOWNLOAD_DELAY": 0, "CONCURRENT_REQUESTS_PER_DOMAIN": 8}


def run_spiders(jobs: list[tuple[str, dict[str, Any]]], **overrides: Any) -> list[dict]:
    """Run ``(spider name, arguments)`` jobs in one process; return each crawl's stats."""
    import os

    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "pressarchive.settings")
    settings = get_project_settings()
    settings.setdict(overrides, priority="cmdline")
    process = CrawlerProcess(settings)
    crawlers = []
    for name, kwargs in jobs:
        crawler = process.create_crawler(name)
        crawlers.append(crawler)
        process.crawl(crawler, **kwargs)
    process.start()
    return [crawler.stats.get_stats() for crawler in crawlers]
