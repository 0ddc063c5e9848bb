"""The article record: the contract shared by the extractor, the archive and the exports."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

_SPACE = re.compile(r"[^\S\n]+")

# Fields of the record, in the order `pressarchive extract` documents them.
RECORD_FIELDS = (
    "url", "site", "headline", "summary", "body", "related", "published_at", "modified_at",
    "page_date", "language", "authors", "section", "images", "sources", "fingerprint",
    "fetched_at",
)


def normalize_text(text: str) -> str:
    """NFC, runs of spaces folded, each line stripped: the form fingerprints are taken of."""
    text = unicodedata.normalize("NFC", text)
    return "\n".join(_SPACE.sub(" ", line).strip() for line in text.split("\n")).strip()


def fingerprint(headline: str, summary: str | None, body: str) -> str:
    """SHA-256 of the article's own content: headline, summary and body, nothing volatile.

    The masthead date and the related list change from visit to visit without the article
    changing, so they are left out on purpose.
    """
    parts = [normalize_text(headline), normalize_text(summary or ""), normalize_text(body)]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


@dataclass
class Record:
    url: str
    site: str
    headline: str
    body: str
    fetched_at: str
    summary: str | None = None
    related: list[dict[str, str]] = field(default_factory=list)
    published_at: str | None = None
    modified_at: str | None = None
    page_date: str | None = None
    language: str | None = None
    authors: list[str] = field(default_factory=list)
    section: str | None = None
    images: list[dict[str, str | None]] = field(default_factory=list)
    sources: dict[str, str | None] = field(default_factory=dict)
    fingerprint: str = ""

    def __post_init__(self) -> None:
        if not self.fingerprint:
            self.fingerprint = fingerprint(self.headline, self.summary, self.body)

    def to_dict(self) -> dict[str, Any]:
        """The fields in documented order (a shallow copy: lists are the record's own)."""
        return {name: getattr(self, name) for name in RECORD_FIELDS}
