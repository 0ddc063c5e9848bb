"""A dropped item is freed when Scrapy is done with it, not when the garbage collector comes by.

Scrapy's scraper keeps the DropItem it caught in its log arguments, and the exception's
traceback holds the scraper's frame: a reference cycle that holds the item and its response.
The archive pipeline, on ``item_dropped``, lets go of the traceback. Checked through Scrapy's
own ``Scraper.start_itemproc_async``, with the collector off."""

from __future__ import annotations

import asyncio
import gc
import weakref

import pytest
from scrapy import Spider, signals
from scrapy.core.scraper import Scraper, Slot
from scrapy.exceptions import DropItem
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from pipelines.archive import ArchivePipeline


class Dropper:
    """A pipeline that drops every item, as ours drops listings, 304s and failures."""

    def process_item(self, item):
        raise DropItem("not an article")


class Item:  # a plain object: weakly referable, unlike a dict
    pass


def outlives_its_drop(connect_archive_pipeline: bool) -> bool:
    """Whether an item Scrapy dropped is still alive, with the garbage collector off, once
    nothing but a reference cycle could hold it."""
    # Logged at DEBUG, so that no log record (pytest keeps them) holds the item.
    crawler = get_crawler(Spider, settings_dict={
        "ITEM_PIPELINES": {f"{__name__}.Dropper": 100}, "DEFAULT_DROPITEM_LOG_LEVEL": "DEBUG"})
    crawler.spider = crawler._create_spider("dropper")
    if connect_archive_pipeline:
        pipeline = ArchivePipeline.from_crawler(
            get_crawler(settings_dict={"ARCHIVE_URL": "sqlite://"}))
        crawler.signals.connect(pipeline.item_dropped, signal=signals.item_dropped)
    scraper = Scraper(crawler)
    scraper.slot = Slot()
    item = Item()
    alive = weakref.ref(item)
    response = HtmlResponse("http://127.0.0.1/page", body=b"<html><body>x</body></html>")
    gc.collect()
    gc.disable()
    try:
        asyncio.run(scraper.start_itemproc_async(item, response=response))
        del item, response
        return alive() is not None
    finally:
        gc.enable()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_scrapy_alone_keeps_a_dropped_item_in_a_reference_cycle():
    # The reason for the handler: should a Scrapy release stop making the cycle, this fails
    # and the handler can go.
    assert outlives_its_drop(connect_archive_pipeline=False)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_the_archive_pipeline_breaks_the_cycle_so_the_item_is_freed_at_once():
    assert not outlives_its_drop(connect_archive_pipeline=True)


def test_the_pipeline_listens_for_drops_when_scrapy_builds_it():
    crawler = get_crawler(settings_dict={"ARCHIVE_URL": "sqlite://"})
    ArchivePipeline.from_crawler(crawler)
    try:
        raise DropItem("a listing")
    except DropItem as exc:
        error = exc
    assert error.__traceback__ is not None
    crawler.signals.send_catch_log(signals.item_dropped, item={}, response=None,
                                   spider=None, exception=error)
    assert error.__traceback__ is None
