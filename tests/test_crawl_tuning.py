"""The crawl process's tuning: QuietGC's garbage-collector thresholds (set while the engine
runs, then restored), QuietDebugLogs (Scrapy's loggers at LOG_LEVEL meanwhile), CrawlStats
(Scrapy's stats without their deprecation layer) and UrlFingerprinter (the duplicate filter's
fingerprints from the archive's canonical URLs)."""

from __future__ import annotations

import gc

import pytest
from scrapy.exceptions import NotConfigured
from scrapy.spidermiddlewares.start import StartSpiderMiddleware
from scrapy.utils.test import get_crawler

from pressarchive.crawl import QuietGC


@pytest.fixture
def restore_gc():
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)
    gc.unfreeze()


def test_thresholds_hold_while_the_engine_runs_and_are_restored(restore_gc):
    gc.set_threshold(700, 10, 10)
    ext = QuietGC.from_crawler(get_crawler(settings_dict={"GC_THRESHOLD": [40_000, 15, 90]}))
    ext.engine_started()
    assert gc.get_threshold() == (40_000, 15, 90)
    assert gc.get_freeze_count() > 0  # what was alive at the start is out of the scans
    ext.engine_stopped()
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() == 0


def test_freezing_costs_no_full_collection(restore_gc):
    """The freeze takes the heap as it is: no full collection (60 ms at a crawl's start)."""
    generations = []

    def seen(phase, info):
        if phase == "start":
            generations.append(info["generation"])

    ext = QuietGC.from_crawler(get_crawler(settings_dict={"GC_THRESHOLD": [40_000, 15, 90]}))
    gc.callbacks.append(seen)
    try:
        ext.engine_started()
    finally:
        gc.callbacks.remove(seen)
        ext.engine_stopped()
    assert 2 not in generations


def test_empty_leaves_python_alone_and_nonsense_is_refused():
    with pytest.raises(NotConfigured):
        QuietGC.from_crawler(get_crawler(settings_dict={"GC_THRESHOLD": []}))
    with pytest.raises(ValueError, match="GC_THRESHOLD"):
        QuietGC.from_crawler(get_crawler(settings_dict={"GC_THRESHOLD": [0]}))
    with pytest.raises(ValueError, match="GC_THRESHOLD must be 1 to 3 positive counts"):
        QuietGC.from_crawler(get_crawler(settings_dict={"GC_THRESHOLD": "many"}))
    with pytest.raises(ValueError, match="GC_THRESHOLD"):
        QuietGC.from_crawler(get_crawler(settings_dict={"GC_THRESHOLD": [1, 2, 3, 4]}))


def test_scrapy_loggers_make_no_records_below_log_level_while_the_engine_runs():
    import logging

    from pressarchive.crawl import QuietDebugLogs

    scrapy_logger = logging.getLogger("scrapy")
    engine_logger = logging.getLogger("scrapy.core.engine")
    before, root_before = scrapy_logger.level, logging.root.level
    ext = QuietDebugLogs.from_crawler(get_crawler(settings_dict={"LOG_LEVEL": "INFO"}))
    logging.root.setLevel(logging.NOTSET)  # as Scrapy leaves it: the handler filters
    try:
        assert engine_logger.isEnabledFor(logging.DEBUG)
        ext.engine_started()
        assert not engine_logger.isEnabledFor(logging.DEBUG)  # "Crawled (200)" is not made
        assert engine_logger.isEnabledFor(logging.INFO)
    finally:
        ext.engine_stopped()
        logging.root.setLevel(root_before)
    assert scrapy_logger.level == before
    # Two crawls in one process (the demo runs several): the level holds until the last ends.
    first, second = (QuietDebugLogs.from_crawler(get_crawler(settings_dict={"LOG_LEVEL": "INFO"}))
                     for _ in range(2))
    first.engine_started()
    second.engine_started()
    first.engine_stopped()
    assert scrapy_logger.level == logging.INFO
    second.engine_stopped()
    second.engine_stopped()  # a second stop changes nothing
    assert scrapy_logger.level == before
    assert QuietDebugLogs.from_crawler(get_crawler(settings_dict={"LOG_LEVEL": 30})).level == 30
    for settings in ({"LOG_LEVEL": "DEBUG"}, {"LOG_LEVEL": "INFO", "LOG_ENABLED": False},
                     {"LOG_LEVEL": "NOISY"}):
        with pytest.raises(NotConfigured):
            QuietDebugLogs.from_crawler(get_crawler(settings_dict=settings))


def test_crawl_stats_count_like_scrapys_and_take_the_spider_argument_quietly():
    import warnings

    from scrapy.statscollectors import MemoryStatsCollector

    from pressarchive import settings as project_settings
    from pressarchive.crawl import CrawlStats

    assert project_settings.STATS_CLASS == "pressarchive.crawl.CrawlStats"
    crawler = get_crawler(settings_dict={"STATS_CLASS": "pressarchive.crawl.CrawlStats"})
    stats = crawler.stats
    assert isinstance(stats, CrawlStats) and isinstance(stats, MemoryStatsCollector)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Scrapy's own class warns about spider=
        stats.inc_value("pages")
        stats.inc_value("pages", 2, spider=None)
        stats.max_value("biggest", 5)
        stats.max_value("biggest", 3)
        stats.set_value("reason", "done")
    assert stats.get_stats() == {"pages": 3, "biggest": 5, "reason": "done"}
    assert stats.get_value("missing", 0) == 0


def test_fingerprints_follow_the_archives_canonical_urls():
    from scrapy import Request

    from pressarchive import settings as project_settings
    from pressarchive.crawl import UrlFingerprinter

    assert project_settings.REQUEST_FINGERPRINTER_CLASS == "pressarchive.crawl.UrlFingerprinter"
    fp = UrlFingerprinter().fingerprint
    page = fp(Request("http://127.0.0.1:8000/some-story"))
    assert isinstance(page, bytes) and len(page) == 20
    # Spellings the archive takes for one page are one request...
    assert fp(Request("http://127.0.0.1:8000/some-story/?utm_source=x#top")) == page
    assert fp(Request("HTTP://127.0.0.1:8000/some-story")) == page
    # ...and different pages, methods or bodies are not.
    assert fp(Request("http://127.0.0.1:8000/other-story")) != page
    assert fp(Request("http://127.0.0.1:8000/some-story", method="POST")) != page
    assert fp(Request("http://127.0.0.1:8000/some-story", method="POST", body=b"a")) != \
        fp(Request("http://127.0.0.1:8000/some-story", method="POST", body=b"b"))
    assert fp(Request("http://127.0.0.1:8000/Some-Story")) != page  # paths keep their case


def test_no_spider_method_is_a_generator_that_returns_a_value():
    """settings.py turns off Scrapy's per-response check for generator callbacks that
    `return` a value (whose value Scrapy would drop); Scrapy's own check runs here instead, on
    every method of every spider of the project, callbacks and errbacks included."""
    import inspect

    from scrapy.spiderloader import SpiderLoader
    from scrapy.utils.misc import is_generator_with_return_value
    from scrapy.utils.project import get_project_settings

    settings = get_project_settings()
    assert settings.getbool("WARN_ON_GENERATOR_RETURN_VALUE") is False
    loader = SpiderLoader.from_settings(settings)
    checked = 0
    for name in loader.list():
        for attr, func in inspect.getmembers(loader.load(name), inspect.isfunction):
            if func.__module__.startswith("spiders"):
                assert not is_generator_with_return_value(func), f"{name}.{attr}"
                checked += inspect.isgeneratorfunction(func)
    assert checked >= 4  # parse_sitemap, parse_feed, parse_page, on_error at least


def test_the_generator_check_catches_a_return_value():
    """The check the test above relies on does see the mistake."""
    from scrapy.utils.misc import is_generator_with_return_value

    def callback(response):
        yield response
        return "lost"

    assert is_generator_with_return_value(callback)


def test_callback_output_passes_through_no_spider_middleware():
    """Scrapy's StartSpiderMiddleware wraps every callback's output to pass it through
    untouched; ours stands in for it, so no middleware is left that sees callback output."""
    from scrapy.core.spidermw import SpiderMiddlewareManager

    from pressarchive import settings as project
    from spiders.middlewares import StartRequestsMiddleware

    crawler = get_crawler(settings_dict={"SPIDER_MIDDLEWARES": project.SPIDER_MIDDLEWARES})
    manager = SpiderMiddlewareManager.from_crawler(crawler)
    assert [method for method in manager.methods["process_spider_output"]
            if method is not None] == []
    assert [type(mw) for mw in manager.middlewares
            if isinstance(mw, StartSpiderMiddleware)] == [StartRequestsMiddleware]


def test_start_requests_are_still_marked_as_start_requests():
    import asyncio

    from scrapy import Request

    from spiders.middlewares import StartRequestsMiddleware

    async def start():
        yield Request("http://127.0.0.1/")
        yield {"an": "item"}

    async def run():
        mw = StartRequestsMiddleware.from_crawler(get_crawler())
        return [out async for out in mw.process_start(start())]

    request, item = asyncio.run(run())
    assert request.meta["is_start_request"] is True
    assert item == {"an": "item"}
