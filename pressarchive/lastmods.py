"""What a sitemap ``lastmod`` and a page's ``Last-Modified`` say about each other: the rules
the crawl uses to pass a page over (``as_recent``) and to record a lastmod with a copy of a
page (``vouches``), and the crawl-state repair of migration 0005 with them. Both sides are the
site's clock: ours is never compared with either."""

from __future__ import annotations

import datetime as dt
import re
from email.utils import parsedate_to_datetime
from functools import lru_cache

# A lastmod with a time but no offset (W3C Datetime asks for one; sites leave it out) is a
# clock reading in a zone not given, from UTC-12 to UTC+14. Where a page may be passed over it
# is read as the latest UTC time it can mean, where a copy may vouch for it as the earliest,
# as a date alone is read as the end or the start of its day. Read as UTC, a site west of
# Greenwich writing its local time had a page passed over when a copy fetched up to its
# offset before the edit was as recent as the lastmod read so, and the edit was lost until the
# next one; a site east of it (Riyadh's, UTC+3) had every fresh copy refused as older than
# its lastmod, and once its ETags changed with the masthead's date, those refusals counted as
# lastmods running ahead: every page went on the revisit schedule, edits waiting days (a
# helper's soak).
LATEST_ZONE = dt.timedelta(hours=12)
EARLIEST_ZONE = dt.timedelta(hours=14)


def vouches(lastmod: str, last_modified: str | None) -> bool:
    """Whether a copy of a page sent with the ``Last-Modified`` ``last_modified`` may be
    recorded with the sitemap ``lastmod``: it is no older (a date alone: a copy modified that
    day is that day's), or there is nothing to tell by (the sitemap's word)."""
    return as_recent(lastmod, last_modified, whole_day=False) is not False


def as_recent(lastmod: str, last_modified: str | None, *,
              whole_day: bool = True) -> bool | None:
    """Whether a page sent with the ``Last-Modified`` ``last_modified`` is at least as
    recent as the sitemap ``lastmod``; None when either cannot be read. A date alone counts
    as the end of that day (the latest it can mean: whether a page may be passed over), or,
    with ``whole_day`` False, as that day itself (whether a page may vouch for it: a copy
    modified that day is that day's). A time with no offset counts, in the same way, as the
    latest UTC time it can mean (LATEST_ZONE) or the earliest (EARLIEST_ZONE)."""
    stamp, sent = utc(lastmod), http_date(last_modified)
    if stamp is None or sent is None:
        return None
    if len(lastmod.strip()) == 10:  # YYYY-MM-DD
        if not whole_day:
            return stamp.date() <= sent.date()
        if stamp.date() == dt.date.max:  # the end of time: no page is more recent
            return False
        stamp += dt.timedelta(days=1)
    elif not _zoned(lastmod):
        if whole_day:
            if stamp > dt.datetime.max - LATEST_ZONE:  # the end of time: none more recent
                return False
            stamp += LATEST_ZONE
        else:
            stamp = max(stamp, dt.datetime.min + EARLIEST_ZONE) - EARLIEST_ZONE
    return stamp <= sent


def _zoned(stamp: str) -> bool:
    """Whether an ISO 8601 time that ``utc`` reads carries its offset (or Z)."""
    return _written(stamp).tzinfo is not None


def _written(stamp: str) -> dt.datetime:
    """An ISO 8601 time as written (its offset, if any, kept); ValueError if unread."""
    return dt.datetime.fromisoformat(stamp.strip().replace("Z", "+00:00"))


def utc(stamp: str) -> dt.datetime | None:
    """An ISO 8601 time as naive UTC (no offset read as UTC: ``as_recent`` allows for the
    zone it may be in), or None."""
    try:
        value = _written(stamp)
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    except (ValueError, OverflowError):  # OverflowError: an offset past year 1 or 9999
        return None
    return value


@lru_cache(maxsize=1024)
def http_date(value: str | None) -> dt.datetime | None:
    """An HTTP date (``Last-Modified``) as naive UTC, or None.

    A crawl reads each page's ``Last-Modified`` three times and its ``Date`` (the same for
    every answer of one second) once: the values read are kept (1,024), and the form every
    HTTP/1.1 server sends (IMF-fixdate, RFC 9110 5.6.7) is read directly; any other form
    goes to the email module's parser, which took 2% of a first crawl's CPU."""
    if not value:
        return None
    fixdate = _IMF_FIXDATE.fullmatch(value.strip())
    try:
        if fixdate and (month := _MONTHS.get(fixdate[2])):
            day, year, hour, minute, second = (int(fixdate[i]) for i in (1, 3, 4, 5, 6))
            return dt.datetime(year, month, day, hour, minute, second)
        sent = parsedate_to_datetime(value)
        if sent.tzinfo is None:  # "-0000" or asctime's form: UTC, as HTTP dates always are
            return sent
        return sent.astimezone(dt.timezone.utc).replace(tzinfo=None)
    except (TypeError, ValueError, OverflowError):
        return None


_IMF_FIXDATE = re.compile(r"[A-Z][a-z]{2}, (\d{2}) ([A-Z][a-z]{2}) (\d{4}) "
                          r"(\d{2}):(\d{2}):(\d{2}) GMT")
_MONTHS = {name: number for number, name in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}


def last_modified(value: str | None, date: str | None) -> str | None:
    """A response's ``Last-Modified`` as the crawl reads and records it, given its ``Date``:
    None when it cannot be read as an HTTP date (there is nothing to tell by: read as none;
    taken to vouch for every lastmod, a page behind a stamped sitemap was neither marked nor
    ever found running ahead, and was fetched in full on every run); and the ``Date`` when it
    is later than that (RFC 9110, 8.8.2.1: a modification time in the future is the
    message's time; a copy dated 2099 vouched for every later lastmod, and no run asked for
    the page again). Both are the site's clock. Both found by a helper's soak."""
    if (sent := http_date(value)) is None:
        return None
    sent_at = http_date(date)
    return date.strip() if sent_at is not None and sent > sent_at else value.strip()


# Lastmods this close together are one stamp: a sitemap written with the time it was made may
# take the clock once per entry, and straddle a second or two.
STAMP_SPREAD = dt.timedelta(seconds=60)


def stamped(lastmods: list[str | None], least: int) -> bool:
    """Whether a sitemap's entries carry one time for all, the time it was made: at least
    ``least`` of them with a lastmod (0: never; entries without one, a home page say, are
    left out), every one a time of day, all within STAMP_SPREAD. A date alone is honest for
    a sitemap of a day's news, and so is one written as its midnight (``T00:00:00``) or with
    an offset and no time; and one lastmod that cannot be read as a time of day (``24:00``,
    a leap second) is enough for a sitemap not to be told stamped: its pages learn for
    themselves, as before. Such lastmods say nothing about which page changed; the crawl
    then revisits its pages by their age alone (crawlstate.Fetch.stamped), as it does a page
    found twice with a lastmod that ran ahead of it. Only a page whose copy is older than
    the stamp counts so (FamilySpider._stamped): a site that re-saved its whole catalogue
    at one time writes one time honestly, and its copies say so."""
    if least <= 0:
        return False
    times = []
    for lastmod in lastmods:
        if not lastmod:
            continue
        if lastmod.strip()[10:11] not in ("T", "t", " ") or (time := utc(lastmod)) is None \
                or _written(lastmod).time() == dt.time():
            return False
        times.append(time)
    return len(times) >= least and max(times) - min(times) <= STAMP_SPREAD
