"""Filters shared by search, export and stats: sites, a date range and a section."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Iterable

from sqlalchemy import ColumnElement, exists, func

from ..storage.models import Appearance, Article, Version

PUBLISHED = "published"    # the date the page stated (versions.published_utc)
FIRST_SEEN = "first_seen"  # no stated date: when the archive first saw the article

_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


class FilterError(ValueError):
    """A filter value the user got wrong (a date that does not parse, say)."""


def parse_date(value: str | dt.date | None, *, end: bool = False) -> dt.datetime | None:
    """``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD`` or an ISO 8601 time, as naive UTC.

    With ``end`` a partial date means its whole period: ``--until 2021-08`` takes in all of
    August, so the bound returned is the first instant after it (compared with ``<``).
    """
    if value is None or value == "":
        return None
    try:
        return _parse_date(value, end)
    except (OverflowError, ValueError) as exc:  # past the calendar's ends (year 9999 and on)
        if isinstance(exc, FilterError):
            raise
        raise FilterError(f"date out of range: {value!r}") from None


def _parse_date(value: str | dt.date, end: bool) -> dt.datetime:
    if isinstance(value, dt.datetime):
        stamp = value
    elif isinstance(value, dt.date):
        stamp = dt.datetime(value.year, value.month, value.day)
        return stamp + dt.timedelta(days=1) if end else stamp
    else:
        match = _DATE.match(value.strip())
        if match:
            return _period(match, value, end)
        try:
            stamp = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise FilterError(f"not a date: {value!r} (use YYYY-MM-DD, YYYY-MM, YYYY or an "
                              "ISO 8601 time)") from None
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(dt.timezone.utc).replace(tzinfo=None)
    # An exact time is an inclusive bound; one microsecond on makes it exclusive like the rest.
    return stamp + dt.timedelta(microseconds=1) if end else stamp


def _period(match: re.Match, value: str, end: bool) -> dt.datetime:
    year, month, day = (int(g) if g else None for g in match.groups())
    try:
        start = dt.datetime(year, month or 1, day or 1)
    except ValueError:
        raise FilterError(f"not a date: {value!r}") from None
    if not end:
        return start
    if day:
        return start + dt.timedelta(days=1)
    if month:
        return dt.datetime(year + (month == 12), month % 12 + 1, 1)
    return dt.datetime(year + 1, 1, 1)


def effective_date() -> ColumnElement:
    """The date filters use: the stated publication time, else when first seen."""
    return func.coalesce(Version.published_utc, Article.first_seen)


def _sites(site: str | Iterable[str] | None) -> tuple[str, ...]:
    if not site:
        return ()
    items = [site] if isinstance(site, str) else site  # --site is repeatable, and takes a,b
    parts = (part.strip() for item in items if item for part in item.split(","))
    return tuple(dict.fromkeys(part for part in parts if part))


@dataclass(frozen=True)
class Filters:
    sites: tuple[str, ...] = ()
    since: dt.datetime | None = None   # inclusive
    until: dt.datetime | None = None   # exclusive (see parse_date)
    section: str | None = None
    given: tuple[tuple[str, str], ...] = ()  # as the user wrote them, for manifests

    @classmethod
    def make(cls, site: str | Iterable[str] | None = None, since: Any = None,
             until: Any = None, section: str | None = None) -> Filters:
        sites = _sites(site)
        start, stop = parse_date(since), parse_date(until, end=True)
        if start and stop and stop <= start:
            raise FilterError("--until is before --since: nothing can match")
        given = tuple((k, str(v)) for k, v in (
            ("site", ",".join(sites) or None), ("since", since), ("until", until),
            ("section", section)) if v)
        return cls(sites, start, stop, section.strip() if section else None, given)

    def __bool__(self) -> bool:
        return bool(self.sites or self.since or self.until or self.section)

    def version_conditions(self) -> list[ColumnElement]:
        """Conditions on a query over Version joined to its Article (dates and section)."""
        conditions = []
        if self.since is not None:
            conditions.append(effective_date() >= self.since)
        if self.until is not None:
            conditions.append(effective_date() < self.until)
        if self.section:
            # Case-insensitive: sites write "Politics" and "politics" for the same section.
            conditions.append(func.lower(Version.section) == self.section.lower())
        return conditions

    def article_conditions(self) -> list[ColumnElement]:
        """Version conditions plus: the article was seen on one of the sites."""
        conditions = self.version_conditions()
        if self.sites:
            conditions.append(exists().where(Appearance.article_id == Version.article_id,
                                             Appearance.site.in_(self.sites)))
        return conditions

    def appearance_conditions(self) -> list[ColumnElement]:
        """Version conditions plus: this appearance is on one of the sites."""
        conditions = self.version_conditions()
        if self.sites:
            conditions.append(Appearance.site.in_(self.sites))
        return conditions

    def describe(self) -> dict[str, str]:
        return dict(self.given)
