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


class StatsFile:
    """Writes the crawl's stats as JSON to the STATS_FILE setting when the spider closes,
    for schedulers and tests that read a run's counts without parsing its log."""

    def __init__(self, path: str, stats):
        self.path = path
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        from scrapy import signals
        from scrapy.exceptions import NotConfigured

        path = crawler.settings.get("STATS_FILE")
        if not path:
            raise NotConfigured
        ext = cls(path, crawler.stats)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_closed(self, spider, reason: str) -> None:
        import json

        data = {**self.stats.get_stats(), "finish_reason": reason}
        with open(self.path, "w", encoding="utf-8") as out:
            json.dump(data, out, default=str, indent=1, sort_keys=True)
