"""Reading the archive's pages again from the WARC records they came from, offline.

A crawl with ``WARC_DIR`` links each page it read to the record holding its response (the
``captures`` table). ``check`` runs today's extractor over each version's newest capture and
compares the record it gives with the version the archive holds: the same content (its
fingerprint), different fields (the extractor changed: what a re-extraction would change), no
record any more (the extractor now refuses the page), or a record that cannot be read (a WARC
file moved or cut short). Nothing is written.
"""

from __future__ import annotations

import os
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterator

from warcio.exceptions import ArchiveLoadFailed

from .extract import ExtractError, extract, validate
from .storage import Archive
from .storage import captures as captured
from .warc import Capture, read_capture

SAME, CHANGED, NO_RECORD, UNREADABLE = "same", "changed", "no_record", "unreadable"
# The version's fields a record is compared on (those of the fingerprint first).
FIELDS = ("headline", "summary", "body", "published_at", "modified_at", "authors", "section",
          "language")


@dataclass
class Checked:
    version_id: int
    site: str
    url: str
    verdict: str  # SAME, CHANGED, NO_RECORD or UNREADABLE
    fields: tuple[str, ...] = ()  # CHANGED: the fields that differ
    reason: str = ""  # NO_RECORD, UNREADABLE: why, in a line


@dataclass
class Report:
    counts: Counter = field(default_factory=Counter)
    checked: list[Checked] = field(default_factory=list)  # all but SAME


def check(archive: Archive, warc_dir: str | os.PathLike, site: str | None = None) -> Report:
    report = Report()
    for one in each(archive, warc_dir, site):
        report.counts[one.verdict] += 1
        if one.verdict != SAME:
            report.checked.append(one)
    return report


def each(archive: Archive, warc_dir: str | os.PathLike,
         site: str | None = None) -> Iterator[Checked]:
    """Each version that has a capture, checked against its newest capture."""
    with archive.session() as session:
        for capture, version in captured.of_versions(session, site):
            yield _check(capture, version, warc_dir)


def _check(capture, version, warc_dir) -> Checked:
    def verdict(kind: str, **more) -> Checked:
        return Checked(version.id, capture.site, capture.url, kind, **more)

    at = Capture(capture.warc_file, capture.warc_offset, capture.warc_length)
    try:
        _, headers, body, _ = read_capture(warc_dir, at)
    except (OSError, ValueError, EOFError, zlib.error, ArchiveLoadFailed) as exc:
        return verdict(UNREADABLE, reason=f"{at.file}:{at.offset}: {_line(exc)}")
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
    try:
        record = extract(body, capture.url, capture.fetched_at, site=capture.site,
                         content_type=content_type)
        validate(record)
    except ExtractError as exc:
        return verdict(NO_RECORD, reason=f"{exc.key}: {_line(exc)}")
    # A field the page does not state may have been filled in from a sister site's copy
    # (Archive._fill_missing): not a difference.
    differ = tuple(name for name in FIELDS if (getattr(record, name) or None)
                   != (getattr(version, name) or None)
                   and (name in FIELDS[:3] or getattr(record, name)))
    if record.fingerprint == version.fingerprint and not set(differ) - set(FIELDS[:3]):
        return verdict(SAME)
    return verdict(CHANGED, fields=differ or ("normalization",))


def _line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
