"""Drops records that lack what every article has (a headline, a body)."""

from __future__ import annotations

from pipelines import drop
from pressarchive.extract import InvalidArticle, validate


class ValidatePipeline:
    def __init__(self, stats):
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.stats)

    def process_item(self, item):
        if getattr(item, "record", None) is None:
            return item
        try:
            validate(item.record)
        except InvalidArticle as exc:
            raise drop(self.stats, exc.key, str(exc), item) from None
        return item
