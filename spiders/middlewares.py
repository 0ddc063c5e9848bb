"""Downloader middlewares for politeness that Scrapy does not provide itself."""

from __future__ import annotations

import asyncio
import time
from email.utils import parsedate_to_datetime

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Request, Response


def retry_after_seconds(value: bytes | None) -> float | None:
    """``Retry-After`` as seconds: a number of seconds or an HTTP date."""
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        return max(0.0, parsedate_to_datetime(text).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class RetryAfterMiddleware(RetryMiddleware):
    """Scrapy's retries, but a 429 or 503 with ``Retry-After`` is retried only after the wait
    the server asked for; a wait longer than RETRY_AFTER_MAX gives the URL up to the next run."""

    def __init__(self, settings):
        super().__init__(settings)
        self.max_wait = settings.getfloat("RETRY_AFTER_MAX", 120.0)

    async def process_response(self, request: Request, response: Response):
        wait = retry_after_seconds(response.headers.get(b"Retry-After"))
        if response.status in (429, 503) and wait is not None:
            if wait > self.max_wait:
                return response  # the spider's errback remembers it for the next run
            self.crawler.stats.inc_value("pressarchive/retry_after_waits")
            await asyncio.sleep(wait)
        return super().process_response(request, response)


class CrawlDelayMiddleware:
    """Spaces requests to a site by its robots.txt ``Crawl-delay`` (which Scrapy reads for
    nothing); the spider parses it into ``spider.crawl_delay``."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.next_slot = 0.0

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    async def process_request(self, request: Request):
        delay = getattr(self.crawler.spider, "crawl_delay", None)
        if not delay:
            return None
        now = time.monotonic()
        start = max(now, self.next_slot)
        self.next_slot = start + delay
        if start > now:
            await asyncio.sleep(start - now)
        return None
