"""Bench helper: a Scrapy extension that samples a running crawl four times a second and
appends one JSON line per sample to the file MONITOR_FILE: seconds since the spider opened,
responses received so far, CPU seconds of this process and of its child processes (the ingest
worker) so far, responses waiting in the scraper and requests waiting in the scheduler.

``bench/crawl_steady.py`` turns the samples into steady-state figures. Enable with
``-s 'EXTENSIONS={"_engine_monitor.EngineMonitor": 900, ...}' -s MONITOR_FILE=...`` and
``bench`` on PYTHONPATH."""

from __future__ import annotations

import json
import os
import time

from scrapy import signals
from twisted.internet import task

INTERVAL = 0.25
_TICK = os.sysconf("SC_CLK_TCK")


def children_cpu(pid: int) -> float:
    """CPU seconds (user and system) of the live children of process ``pid``, from /proc."""
    total = 0.0
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return 0.0
    for thread in threads:
        try:
            with open(f"/proc/{pid}/task/{thread}/children") as listing:
                children = listing.read().split()
        except FileNotFoundError:
            continue
        for child in children:
            try:
                with open(f"/proc/{child}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except FileNotFoundError:
                continue
            total += (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime
    return total


class EngineMonitor:
    def __init__(self, crawler, path: str):
        self.crawler = crawler
        self.out = open(path, "w", encoding="utf-8")
        self.loop: task.LoopingCall | None = None
        self.start = 0.0
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler, crawler.settings.get("MONITOR_FILE"))

    def spider_opened(self) -> None:
        self.start = time.perf_counter()
        self.loop = task.LoopingCall(self.sample)
        self.loop.start(INTERVAL, now=True)

    def sample(self) -> None:
        engine = self.crawler.engine
        slot = getattr(engine, "_slot", None)
        self.out.write(json.dumps({
            "t": time.perf_counter() - self.start,
            "pages": self.crawler.stats.get_value("response_received_count", 0),
            "cpu": time.process_time(),
            "worker_cpu": children_cpu(os.getpid()),
            "scraper": len(engine.scraper.slot.active) if engine.scraper.slot else 0,
            "scheduled": len(slot.scheduler) if slot is not None else 0,
        }) + "\n")

    def spider_closed(self) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        self.sample()
        self.out.close()
