"""QuietGC: the crawl's garbage-collector thresholds, set while the engine runs, then restored."""

from __future__ import annotations

import gc

import pytest
from scrapy.exceptions import NotConfigured
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


def test_empty_leaves_python_alone_and_nonsense_is_refused():
    with pytest.raises(NotConfigured):
        QuietGC.from_crawler(get_crawler(settings_dict={"GC_THRESHOLD": []}))
    with pytest.raises(ValueError, match="GC_THRESHOLD"):
        QuietGC.from_crawler(get_crawler(settings_dict={"GC_THRESHOLD": [0]}))
    with pytest.raises(ValueError, match="GC_THRESHOLD must be 1 to 3 positive counts"):
        QuietGC.from_crawler(get_crawler(settings_dict={"GC_THRESHOLD": "many"}))
    with pytest.raises(ValueError, match="GC_THRESHOLD"):
        QuietGC.from_crawler(get_crawler(settings_dict={"GC_THRESHOLD": [1, 2, 3, 4]}))
