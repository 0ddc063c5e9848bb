"""Turns a fetched page into an article record, or drops it saying why."""

from __future__ import annotations

from pipelines import drop
from pressarchive.crawl import shared_archive
from pressarchive.extract import ExtractError, NotAnArticle, extract
from pressarchive.fetched import FetchedPage, fetch_of
from pressarchive.storage import crawlstate

HTML_TYPES = ("text/html", "application/xhtml+xml")


class ExtractPipeline:
    def __init__(self, crawler, max_bytes: int):
        self.crawler = crawler
        self.stats = crawler.stats
        self.max_bytes = max_bytes

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler, crawler.settings.getint("PAGE_MAX_BYTES"))

    def process_item(self, item):
        if not isinstance(item, FetchedPage):
            return item
        mime = item.content_type.split(";")[0].strip().lower()
        if item.status != 200:
            raise drop(self.stats, "status", f"HTTP {item.status}", item)
        if mime and mime not in HTML_TYPES:
            raise drop(self.stats, "not_html", f"not an HTML page ({mime})", item)
        if len(item.body) > self.max_bytes:
            raise drop(self.stats, "too_large",
                       f"page too large ({len(item.body):,} bytes > {self.max_bytes:,})", item)
        try:
            item.record = extract(item.body, item.url, item.fetched_at, site=item.site,
                                  content_type=item.content_type or None)
        except NotAnArticle as exc:
            if exc.key != "not_article":
                raise drop(self.stats, exc.key, str(exc), item) from None
            # Listings and the like are expected on every crawl: counted, logged quietly, and
            # remembered, so that the next run knows them (and their validators).
            with shared_archive(self.crawler).transaction() as session:
                crawlstate.note_fetch(session, fetch_of(item), None)
            raise drop(self.stats, exc.key, str(exc), item, level="DEBUG") from None
        except ExtractError as exc:
            raise drop(self.stats, exc.key, str(exc), item) from None
        self.stats.inc_value("pressarchive/extracted")
        self.stats.inc_value(f"pressarchive/extractor/{item.record.sources['extractor']}")
        return item
