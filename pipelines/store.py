"""Saves records into the archive (ARCHIVE_URL) and counts what each save added."""

from __future__ import annotations

from scrapy.exceptions import NotConfigured

from pressarchive.storage import Archive


class StorePipeline:
    def __init__(self, stats, url: str):
        self.stats = stats
        self.url = url
        self.archive: Archive | None = None

    @classmethod
    def from_crawler(cls, crawler):
        url = crawler.settings.get("ARCHIVE_URL")
        if not url:
            raise NotConfigured("ARCHIVE_URL is empty")
        return cls(crawler.stats, url)

    def open_spider(self):
        self.archive = Archive(self.url)

    def close_spider(self):
        if self.archive is not None:
            self.archive.close()

    def process_item(self, item):
        record = getattr(item, "record", None)
        if record is None:
            return item
        saved = self.archive.save(record)
        self.stats.inc_value(f"pressarchive/stored/{saved.outcome}")
        # What goes on to feed exports (-O records.jsonl) is the record, as documented.
        return record.to_dict()
