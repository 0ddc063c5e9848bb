"""Storage of records: the archive and its models."""

from . import crawlstate
from .archive import (NEW_APPEARANCE, NEW_ARTICLE, NEW_VERSION, UNCHANGED, Archive, Saved,
                      archive_problem, archive_url, unwritable)

__all__ = ["crawlstate", "Archive", "Saved", "archive_problem", "archive_url", "unwritable", "NEW_ARTICLE", "NEW_VERSION", "NEW_APPEARANCE",
           "UNCHANGED"]
