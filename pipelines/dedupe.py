"""Drops a record already seen in this run at the same place with the same content.

Redirects and URL spellings that Scrapy's request filter cannot know are the same page
(``rel=canonical`` says so only after the fetch) bring the same page twice; the archive would
absorb the repeat, but it need not be written at all. Across runs the archive deduplicates.
"""

from __future__ import annotations

from pipelines import drop


class DedupePipeline:
    def __init__(self, stats):
        self.stats = stats
        self.seen: set[tuple[str, str, str]] = set()

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.stats)

    def process_item(self, item):
        record = getattr(item, "record", None)
        if record is None:
            return item
        key = (record.site, record.url, record.fingerprint)
        if key in self.seen:
            raise drop(self.stats, "duplicate", "already seen in this run", item, level="DEBUG")
        self.seen.add(key)
        return item
