"""The article record: the contract shared by the extractor, the archive and the exports."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

_SPACE = re.compile(r"[^\S\n]+")
# Every white space character (str.isspace, which agrees with the pattern's \s) but the
# newline and the plain space; tests/test_record.py checks the list against Python's.
OTHER_SPACES = ("\t\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
                "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")

# Fields of the record, in the order `pressarchive extract` documents them.
RECORD_FIELDS = (
    "url", "site", "headline", "summary", "body", "related", "published_at", "modified_at",
    "page_date", "language", "authors", "section", "images", "sources", "fingerprint",
    "fetched_at",
)


def normalize_text(text: str) -> str:
    """NFC, runs of spaces folded, each line stripped: the form fingerprints are taken of."""
    text = unicodedata.normalize("NFC", text)
    # Folding changes only runs of two spaces or more and other white space; the extractor's
    # paragraphs have neither, and looking for them is far cheaper than the regex's pass.
    if "  " in text or any(char in text for char in OTHER_SPACES):
        text = _SPACE.sub(" ", text)  # runs stop at newlines: line by line or whole, the same
    return "\n".join(line.strip() for line in text.split("\n")).strip()


def fingerprint(headline: str, summary: str | None, body: str) -> str:
    """SHA-256 of the article's own content: headline, summary and body, nothing volatile.

    The masthead date and the related list change from visit to visit without the article
    changing, so they are left out on purpose.
    """
    return _fingerprint(headline, summary, normalize_text(body).encode("utf-8"))


def _fingerprint(headline: str, summary: str | None, body: bytes) -> str:
    """``fingerprint`` of a body already normalized and encoded (UTF-8 of the parts joined by
    U+001F is the parts' UTF-8 joined by 0x1F)."""
    digest = hashlib.sha256(
        f"{normalize_text(headline)}\x1f{normalize_text(summary or '')}\x1f".encode("utf-8"))
    digest.update(body)
    return digest.hexdigest()


def body_key(body: str) -> str:
    """SHA-256 of the body alone, normalized as for ``fingerprint``: what tells an article
    moved to a new URL with a new headline (``Archive._moved_article``)."""
    return hashlib.sha256(normalize_text(body).encode("utf-8")).hexdigest()


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
    # ``body_key`` of the body: not a field of the contract (RECORD_FIELDS), the archive's
    # (versions.body_key). Taken with the fingerprint, from the body normalized once, or when
    # first asked for; never passed in, so that a record made by ``dataclasses.replace``
    # (another body) has its own.
    _body_key: str = field(default="", init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.fingerprint:
            body = normalize_text(self.body).encode("utf-8")  # encoded once, for both
            self.fingerprint = _fingerprint(self.headline, self.summary, body)
            self._body_key = hashlib.sha256(body).hexdigest()

    @property
    def body_key(self) -> str:
        if not self._body_key:
            self._body_key = body_key(self.body)
        return self._body_key

    def to_dict(self) -> dict[str, Any]:
        """The fields in documented order (a shallow copy: lists are the record's own)."""
        return {name: getattr(self, name) for name in RECORD_FIELDS}
