"""Bench helper: a Scrapy extension that times how long the reactor waits in ``select()``, and
sorts each wait by what the crawl had in hand when it began; at the spider's close it writes a
JSON summary to the file IDLE_FILE.

A crawl process is either running (on a core or waiting for one) or blocked in the event
loop's ``select()``. The kinds of wait:

- ``delay``: requests held back by a downloader slot's delay (AutoThrottle): the slot has
  room for more transfers than it has;
- ``transfers``: requests in transfer (the server is answering), and any others waiting only
  for a full slot;
- ``worker``: nothing to fetch or held, items waiting for the archive pipeline's worker;
- ``nothing``: none of these (the start, the close);
- ``poll``: a ``select()`` with a zero timeout (the loop had work ready: not a wait).

It reads Scrapy's and asyncio's internals (the loop's selector, the downloader's slots, the
pipeline's counters): a measuring tool for bench/crawl_idle.py, not part of the crawler.
Enable with ``-s 'EXTENSIONS={"_idle_monitor.IdleMonitor": 900, ...}' -s IDLE_FILE=...`` and
``bench`` on PYTHONPATH."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter

from scrapy import signals


class IdleMonitor:
    def __init__(self, crawler, path: str):
        self.crawler = crawler
        self.path = path
        self.blocked: Counter = Counter()  # seconds, by kind of wait
        self.waits: Counter = Counter()  # select() calls, by kind
        self.start = self.cpu = 0.0
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler, crawler.settings.get("IDLE_FILE"))

    def _kind(self) -> str:
        engine = self.crawler.engine
        slots = engine.downloader.slots.values()
        if any(slot.queue and len(slot.transferring) < slot.concurrency for slot in slots):
            return "delay"  # a slot with room holds requests back: its delay
        if any(slot.transferring for slot in slots):
            return "transfers"
        pipelines = engine.scraper.itemproc.middlewares
        if any(getattr(p, "in_flight", 0) or getattr(p, "pending", None) for p in pipelines):
            return "worker"
        return "nothing"

    def spider_opened(self) -> None:
        self.start, self.cpu = time.perf_counter(), time.process_time()
        selector = asyncio.get_event_loop()._selector
        select = selector.select

        def timed_select(timeout=None):
            kind = "poll" if timeout is not None and timeout <= 0 else self._kind()
            began = time.perf_counter()
            try:
                return select(timeout)
            finally:
                self.blocked[kind] += time.perf_counter() - began
                self.waits[kind] += 1

        selector.select = timed_select

    def spider_closed(self) -> None:
        summary = {"wall": time.perf_counter() - self.start,
                   "cpu": time.process_time() - self.cpu,
                   "blocked": dict(self.blocked), "waits": dict(self.waits)}
        with open(self.path, "w", encoding="utf-8") as out:
            json.dump(summary, out)
