"""Notes in the archive's crawl state what did not give a page to read: failures after
retries (tried again next run) and 304 Not Modified answers (the archived page still holds)."""

from __future__ import annotations

from scrapy.exceptions import DropItem

from pressarchive.crawl import shared_archive
from pressarchive.fetched import FetchedPage, FetchFailure
from pressarchive.storage import crawlstate


class FetchLogPipeline:
    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_item(self, item):
        if isinstance(item, FetchFailure):
            with shared_archive(self.crawler).transaction() as session:
                crawlstate.note_failure(session, item.site, item.url, item.kind,
                                        crawlstate.stored_time(item.failed_at), retry=item.retry)
            self.stats.inc_value("pressarchive/failed")
            self.stats.inc_value(f"pressarchive/failed/{item.kind}")
            raise DropItem(f"failed ({item.kind}): {item.url}", log_level="DEBUG")
        if isinstance(item, FetchedPage) and item.status == 304:
            with shared_archive(self.crawler).transaction() as session:
                crawlstate.note_not_modified(session, item.site, item.requested_url,
                                             crawlstate.stored_time(item.fetched_at))
            self.stats.inc_value("pressarchive/not_modified")
            raise DropItem(f"not modified: {item.url}", log_level="DEBUG")
        return item
