"""Saves records into the archive (ARCHIVE_URL), with the fetch that gave them, and counts
what each save added."""

from __future__ import annotations

from scrapy.exceptions import NotConfigured

from pressarchive.crawl import shared_archive
from pressarchive.fetched import fetch_of


class StorePipeline:
    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler):
        if not crawler.settings.get("ARCHIVE_URL"):
            raise NotConfigured("ARCHIVE_URL is empty")
        return cls(crawler)

    def open_spider(self):
        shared_archive(self.crawler)  # open (and migrate) before the first page arrives

    def process_item(self, item):
        record = getattr(item, "record", None)
        if record is None:
            return item
        saved = shared_archive(self.crawler).save(record, fetch_of(item))
        self.stats.inc_value(f"pressarchive/stored/{saved.outcome}")
        # What goes on to feed exports (-O records.jsonl) is the record, as documented.
        return record.to_dict()
