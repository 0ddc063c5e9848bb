"""Storage of records: the archive and its models."""

from .archive import (NEW_APPEARANCE, NEW_ARTICLE, NEW_VERSION, UNCHANGED, Archive, Saved,
                      archive_url)

__all__ = ["Archive", "Saved", "archive_url", "NEW_ARTICLE", "NEW_VERSION", "NEW_APPEARANCE",
           "UNCHANGED"]
