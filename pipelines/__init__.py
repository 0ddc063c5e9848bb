"""Item pipelines, one job each: note fetch failures and 304s -> extract a record -> validate
it -> store it (the archive deduplicates: the same content is one version, the same article one
row, however many times or places it is seen)."""

from __future__ import annotations

import logging

from scrapy.exceptions import DropItem

logger = logging.getLogger("pressarchive")


def drop(stats, key: str, reason: str, item, level: str = "WARNING") -> DropItem:
    """Count a drop under ``pressarchive/dropped/<key>`` and build the DropItem to raise; Scrapy
    logs it with the reason at ``level``. Pages that are simply not articles (listings, tags,
    videos) are counted apart, under ``pressarchive/not_article``: they are no loss."""
    if key == "not_article":
        stats.inc_value("pressarchive/not_article")
    else:
        stats.inc_value("pressarchive/dropped")
        stats.inc_value(f"pressarchive/dropped/{key}")
    return DropItem(f"{reason}: {getattr(item, 'url', item)}", log_level=level)
