"""The shared crawl's scheduler and duplicate filter: scrapy-redis's, subclassed (see
pressarchive.frontier). A module of their own, imported only by a crawl with a frontier (its
settings name them): redis's import alone is about 90 ms of every crawl's start-up, a tenth
of an unchanged rerun's wall time."""

from __future__ import annotations

import logging

from redis import RedisError
from scrapy_redis.dupefilter import RFPDupeFilter as _DupeFilterBase
from scrapy_redis.scheduler import Scheduler as _SchedulerBase

from .frontier import shown

logger = logging.getLogger("pressarchive")


class Scheduler(_SchedulerBase):
    """scrapy-redis's scheduler, which takes nothing from the shared queue and puts nothing
    in it until ``Frontier`` admits this process: a lead once it has emptied the frontier for
    its run, a helper once its spider has read robots.txt. A lead turned away as it opens
    (another lead's run going, or helpers of an earlier one at work) is never admitted:
    Scrapy's engine, closing it, still took requests from the queue the others were using,
    and fetched one that robots.txt disallows, its own robots.txt never read (a CI run's find).

    Redis out of reach mid-crawl (scrapy-redis lets the error out of every call, and Scrapy's
    engine, its next request failing again and again, never closed: a crawl that hung) ends
    the process's run, reason ``frontier_unreachable``, what it holds finished and archived;
    the requests in the queue are the next run's to find again from the crawl state."""

    admitted = False
    lost = False  # Redis went out of reach: nothing more to or from the queue

    @classmethod
    def from_crawler(cls, crawler):
        scheduler = super().from_crawler(crawler)
        scheduler.crawler = crawler
        crawler.pressarchive_scheduler = scheduler  # for Frontier to admit
        return scheduler

    def enqueue_request(self, request) -> bool:
        return self._guarded(super().enqueue_request, False, request)

    def next_request(self):
        return self._guarded(super().next_request, None)

    def has_pending_requests(self) -> bool:
        return self._guarded(super().has_pending_requests, False)

    def _guarded(self, call, otherwise, *args):
        """``call(*args)`` on the shared queue, once admitted and while Redis answers;
        ``otherwise`` when not admitted, or once Redis went out of reach (``lose``)."""
        if not self.admitted or self.lost:
            return otherwise
        try:
            return call(*args)
        except RedisError as exc:
            self.lose(exc)
            return otherwise

    def lose(self, exc: Exception) -> None:
        if self.lost:
            return
        self.lost = True
        stats = self.crawler.stats
        stats.set_value("pressarchive/frontier_lost", 1)
        logger.error("the frontier at %s went out of reach mid-crawl (%s): this run stops; "
                     "the next one asks again for what its queue held",
                     shown(self.crawler.settings.get("FRONTIER_URL")), exc)
        engine = self.crawler.engine
        if engine is not None and engine.spider is not None:
            from scrapy.utils.defer import deferred_from_coro

            deferred_from_coro(engine.close_spider_async(reason="frontier_unreachable"))


class DupeFilter(_DupeFilterBase):
    """scrapy-redis's duplicate filter with the crawl's own request fingerprints
    (REQUEST_FINGERPRINTER_CLASS: the archive's canonical URLs, ``crawl.UrlFingerprinter``),
    not its own (w3lib's canonical form, which keeps tracking parameters and trailing
    slashes apart): a URL a shared crawl takes for new is one a crawl alone would too."""

    @classmethod
    def from_spider(cls, spider):  # how scrapy-redis's scheduler makes it
        dupefilter = super().from_spider(spider)
        dupefilter.fingerprinter = spider.crawler.request_fingerprinter
        return dupefilter

    def request_fingerprint(self, request) -> str:
        return self.fingerprinter.fingerprint(request).hex()
