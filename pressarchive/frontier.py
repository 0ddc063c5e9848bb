"""One site's crawl shared by several processes, on one machine or many, through a frontier
in Redis: scrapy-redis's scheduler, its priority queue and its duplicate filter (fed the
crawl's own request fingerprints: ``frontier_queue.DupeFilter``), not ours.

``FRONTIER_URL`` (a Redis URL) turns it on. The run of a site that starts as usual is the
*lead*: it takes the site's run lock, empties the site's frontier of what an earlier run left
(its queue and the fingerprints of what it asked for), says it is alive (a key that expires
unless renewed, ``FRONTIER_LEAD_TTL``), and discovers as every run does: robots.txt, sitemaps,
feeds, the home page. Every request it makes, and every request a page's links give, goes to
the shared queue, which every process of the crawl takes from; a URL asked for by any of them
is not asked for again. A *helper* (``FRONTIER_HELPER``) reads robots.txt and the archive's
crawl state as a run does, makes no start requests and takes no run lock: it fetches what the
queue holds and archives it, in the same archive (PostgreSQL, for several machines), and
stays while the lead is alive, however empty the queue, or, until one is, for
``FRONTIER_HELPER_WAIT`` seconds. Each process records its own run (mode ``helper`` for a
helper), with what it fetched and added.

What the lead would remember at a finished run's end about the sitemaps it read (their
validators, so that the next run may take a 304 for all their entries) is not remembered:
the lead cannot know that a helper dealt with every entry it fetched. The next run reads them
in full; nothing is skipped that a helper lost. A process killed mid-crawl loses the requests
it had taken from the queue for this run; what they would have fetched is not in the crawl
state, so the next run asks for it again.

Keys (``FRONTIER_KEY``, ``%(spider)s`` the site's spider): ``<key>:requests`` (the queue, a
sorted set by request priority), ``<key>:dupefilter``, ``<key>:lead`` and a helper's
``<key>:helper:<host>-<pid>``. Two archives must not share a Redis database and a key.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from typing import Any

from scrapy import signals
from scrapy.exceptions import CloseSpider, DontCloseSpider, NotConfigured

logger = logging.getLogger("pressarchive")

# How often a helper with nothing to do looks at the queue again (Scrapy's engine would look
# every 5 s only).
POLL_SECONDS = 0.5


def keys(settings: Any, spider: str) -> dict[str, str]:
    base = settings.get("FRONTIER_KEY") % {"spider": spider}
    return {"requests": f"{base}:requests", "dupefilter": f"{base}:dupefilter",
            "lead": f"{base}:lead", "helper": f"{base}:helper:"}


def is_helper(settings: Any) -> bool:
    return bool(settings.get("FRONTIER_URL")) and settings.getbool("FRONTIER_HELPER")


def apply(settings: Any) -> None:
    """Scrapy settings of a crawl with a frontier (from the spider's ``update_settings``):
    scrapy-redis's scheduler with its priority queue and duplicate filter, on FRONTIER_URL.
    The queue is kept when a process closes (others are using it); the lead empties it when
    it has its run lock (``Frontier``), not as it opens, which a second lead turned away by
    the lock would do too. (A helper takes no run lock: ``crawl.RunLock``.)"""
    pattern = keys(settings, "%(spider)s")  # scrapy-redis puts the spider's name in
    for name, value in (("SCHEDULER", "pressarchive.frontier_queue.Scheduler"),
                        ("DUPEFILTER_CLASS", "pressarchive.frontier_queue.DupeFilter"),
                        ("SCHEDULER_QUEUE_CLASS", "scrapy_redis.queue.PriorityQueue"),
                        ("SCHEDULER_QUEUE_KEY", pattern["requests"]),
                        ("SCHEDULER_DUPEFILTER_KEY", pattern["dupefilter"]),
                        ("REDIS_URL", settings.get("FRONTIER_URL")),
                        ("SCHEDULER_PERSIST", True), ("SCHEDULER_FLUSH_ON_START", False)):
        settings.set(name, value, priority="spider")


def problem(spider_args: dict[str, str], settings: Any) -> str | None:
    """Why a crawl with FRONTIER_URL cannot start, in a line; None when it can (or has no
    frontier)."""
    url = settings.get("FRONTIER_URL")
    if not url:
        if settings.getbool("FRONTIER_HELPER"):
            return "FRONTIER_HELPER needs FRONTIER_URL: the frontier to help with"
        return None
    if spider_args.get("since") or spider_args.get("until") or spider_args.get("urls"):
        return ("a back-fill window or a list of URLs is crawled by one process: no "
                "FRONTIER_URL with since, until or urls")
    try:
        settings.get("FRONTIER_KEY") % {"spider": "x"}
    except (KeyError, TypeError, ValueError):
        return f"FRONTIER_KEY {settings.get('FRONTIER_KEY')!r}: only %(spider)s may be in it"
    try:
        import importlib

        import redis
        importlib.import_module("scrapy_redis.scheduler")
    except ImportError:
        return ("FRONTIER_URL needs scrapy-redis: pip install -e '.[frontier]'")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=5).ping()
    except (redis.RedisError, ValueError) as exc:
        return f"the frontier at {shown(url)} cannot be reached: {exc}"
    return None


class Frontier:
    """The lead's and the helpers' parts in a shared crawl (see the module's text): the lead
    empties the site's frontier unless the run lock turned it away (Scrapy runs every
    spider_opened handler even then: this one after RunLock's), then keeps its key alive
    until it closes; a helper stays open while the lead is alive."""

    def __init__(self, crawler):
        import redis

        self.crawler = crawler
        settings = crawler.settings
        self.helper = is_helper(settings)
        self.server = redis.Redis.from_url(settings.get("FRONTIER_URL"))
        self.ttl = max(1, settings.getint("FRONTIER_LEAD_TTL", 30))
        self.wait = settings.getfloat("FRONTIER_HELPER_WAIT", 60.0)
        self.keys: dict[str, str] = {}
        self.started = time.monotonic()
        self.leading = False
        self.joined = False  # a helper that has a lead
        self.stopping = False  # a lead that has emptied the queue as it closes
        self.name = ""  # a helper's "at work" key
        self.beat: Any = None

    @classmethod
    def from_crawler(cls, crawler):
        if not crawler.settings.get("FRONTIER_URL"):
            raise NotConfigured
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        if not ext.helper:
            crawler.signals.connect(ext.response_received, signal=signals.response_received)
        return ext

    def spider_opened(self, spider) -> None:
        self.keys = keys(self.crawler.settings, spider.name)
        stats = self.crawler.stats
        stats.set_value("pressarchive/frontier_role", "helper" if self.helper else "lead")
        from twisted.internet import task

        if self.helper:
            # Admitted once its spider has read robots.txt (as a lead's start does first):
            # a request from the queue before that went by Scrapy's own robots.txt check.
            from spiders.middlewares import robots_fetched

            self.crawler.signals.connect(self._robots_read, signal=robots_fetched)
            self.name = f"{self.keys['helper']}{socket.gethostname()}-{os.getpid()}"
            self.beat = task.LoopingCall(self._helping)  # at work as soon as it has a lead
            self.beat.start(max(0.2, min(1.0, self.ttl / 3)), now=True)
            return
        if stats.get_value("pressarchive/already_running"):
            return  # a lead turned away (another run of the site leads)
        try:
            busy = sorted(key.decode() for key in self.server.scan_iter(
                match=self.keys["helper"] + "*", count=1000))
            if not busy:
                self.server.delete(self.keys["requests"], self.keys["dupefilter"])
        except Exception as exc:  # noqa: BLE001 - Redis gone since the crawl was checked
            # Not emptied, the last run's fingerprints would have every URL asked for
            # already: a run that fetched nothing. It stops instead, and says so.
            logger.error("the frontier at %s cannot be emptied for this run (%s): it stops",
                         shown(self.crawler.settings.get("FRONTIER_URL")), exc)
            raise CloseSpider("frontier_unreachable") from None
        if busy:
            # Helpers of an earlier lead (killed, say) still at work: they remember what that
            # run asked for, and emptied under them, its queue would lose pages of this one
            # (a soak: 18 of 1,929). They stop once its queue is done.
            logger.warning("helpers of an earlier run of %s are still at work (%s): this run "
                           "stops; the next one starts once they are done", spider.name,
                           ", ".join(key.rsplit(":", 1)[1] for key in busy))
            raise CloseSpider("frontier_busy")
        self.leading = True
        self._admit()
        self._alive()
        self.beat = task.LoopingCall(self._alive)
        self.beat.start(max(0.2, self.ttl / 3), now=False)

    def _robots_read(self, **_: Any) -> None:
        self._admit()
        slot = getattr(self.crawler.engine, "_slot", None)
        if slot is not None:
            slot.nextcall.schedule()  # take from the queue now

    def _admit(self) -> None:
        scheduler = getattr(self.crawler, "pressarchive_scheduler", None)
        if scheduler is not None:
            scheduler.admitted = True

    def response_received(self, **_: Any) -> None:
        """A lead that has begun to close with requests still out (a page budget reached,
        Ctrl-C, a time budget: a run that finishes closes with none out) empties the shared
        queue at once, not once its own requests are in: meanwhile its helpers took hundreds
        of pages more from it (a test's crawl, a budget of 60: 357 pages)."""
        if not self.leading or self.stopping:
            return
        slot = getattr(self.crawler.engine, "_slot", None)
        if slot is not None and slot.closing is not None:
            self.stopping = True
            self._stop_helpers("it is closing")

    def _lost(self) -> bool:
        scheduler = getattr(self.crawler, "pressarchive_scheduler", None)
        return scheduler is not None and scheduler.lost

    def _stop_helpers(self, why: str) -> None:
        if self._lost():
            return
        try:
            self.server.delete(self.keys["requests"])
        except Exception as exc:  # noqa: BLE001 - the helpers stop once the lead key expires
            logger.warning("the shared queue could not be emptied as the lead stops (%s)", exc)
            return
        logger.info("the lead of %s stopped before its end (%s): the shared queue is emptied, "
                    "and its helpers stop", self.crawler.spider.name, why)

    def _alive(self) -> None:
        try:
            self.server.set(self.keys["lead"], f"{socket.gethostname()} pid {os.getpid()}",
                            ex=self.ttl)
        except Exception as exc:  # noqa: BLE001 - Redis out of reach a moment: next beat
            logger.warning("the frontier could not be told the lead is alive (%s)", exc)

    def _helping(self) -> None:
        """A helper that has a lead (its key is there, or work came from its queue) says it
        is at work, on a key that expires unless renewed: a new lead does not start while
        one is there (``frontier_busy``)."""
        try:
            if not self.joined:
                self.joined = bool(self.crawler.stats.get_value("scheduler/dequeued/redis")
                                   or self.server.exists(self.keys["lead"]))
            if self.joined:
                self.server.set(self.name, f"since {time.strftime('%H:%M:%S')}", ex=self.ttl)
        except Exception as exc:  # noqa: BLE001 - Redis out of reach a moment: next beat
            logger.warning("the frontier could not be told this helper is at work (%s)", exc)

    def spider_idle(self, spider) -> None:
        """A helper whose queue is empty stays while the lead is alive (its pages may yet
        give requests), or, while it has seen none (neither its key nor work from the
        queue), until FRONTIER_HELPER_WAIT has passed."""
        if not self.helper or self._lost():
            return
        try:
            lead = self.server.exists(self.keys["lead"])
        except Exception as exc:  # noqa: BLE001 - Redis gone: the run ends, and says why
            self.crawler.pressarchive_scheduler.lose(exc)
            raise DontCloseSpider from None  # closing already, as frontier_unreachable
        if not lead:
            if self.crawler.stats.get_value("scheduler/dequeued/redis"):
                return  # it had work from a lead, which has ended: so does this helper
            if time.monotonic() - self.started >= self.wait:
                logger.warning("no lead crawl of %s came to the frontier in %.0f s: this "
                               "helper stops", spider.name, self.wait)
                return
        slot = getattr(self.crawler.engine, "_slot", None)
        if slot is not None:  # look at the queue again soon, not at Scrapy's next heartbeat
            from twisted.internet import reactor

            reactor.callLater(POLL_SECONDS, slot.nextcall.schedule)
        raise DontCloseSpider

    def spider_closed(self, spider, reason: str) -> None:
        if self.beat is not None and self.beat.running:
            self.beat.stop()
        if self._lost():
            return  # its keys expire by themselves
        try:
            if self.name:
                self.server.delete(self.name)
            if self.leading and reason != "finished" and not self.stopping:
                # Stopped before its end (a budget, Ctrl-C): the helpers stop with it, once
                # what they hold is done; the next run goes on from the crawl state.
                self._stop_helpers(reason)
            if self.leading:
                self.server.delete(self.keys["lead"])
        except Exception as exc:  # noqa: BLE001 - the keys expire by themselves
            logger.warning("the frontier's keys could not be cleared (%s)", exc)


def shown(url: str) -> str:
    from .storage.archive import hide_passwords

    return hide_passwords(url)
