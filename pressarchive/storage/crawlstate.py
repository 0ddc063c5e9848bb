"""Crawl state kept in the archive: what each URL gave when last fetched, failures still to
retry, and one row per crawl run. Incremental runs read it to fetch only what may have changed."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any, Iterator, NamedTuple

from sqlalchemy import (BigInteger, Connection, and_, bindparam, cast, false, func, literal, or_,
                        select, update)
from sqlalchemy.orm import Session

from ..lastmods import http_date
from .models import Appearance, CrawlRun, Page, SiteValidators

# A URL that failed this many runs in a row is no longer retried on its own (a listing or
# sitemap that links to it still brings it back).
MAX_FAILURES = 5

# A page whose sitemap lastmod ran ahead of it this many times (Page.lastmod_ahead), on a site
# whose validators follow its edits (validators_follow_edits), is asked for conditionally when
# its lastmod changes. Twice, not once: a cache serving the previous copy of an edited page
# looks the same, once.
AHEAD_RUNS = 2


def stored_time(stamp: str | None) -> dt.datetime | None:
    """An ISO 8601 time as the archive stores it: naive UTC (SQLite keeps no offsets, and
    comparisons must agree on every database). A time without an offset is taken as UTC."""
    if not stamp:
        return None
    value = dt.datetime.fromisoformat(stamp)
    if value.tzinfo is None:
        return value
    return value.astimezone(dt.timezone.utc).replace(tzinfo=None)


def iso_time(value: dt.datetime | None) -> str | None:
    """A stored (naive UTC) time as ISO 8601 with its offset: ``stored_time`` undone."""
    return value.replace(tzinfo=dt.timezone.utc).isoformat() if value else None


@dataclass
class Fetch:
    """One successful fetch of a URL: its HTTP validators and the sitemap lastmod it had."""

    site: str
    url: str
    fetched_at: dt.datetime
    status: int = 200
    etag: str | None = None
    last_modified: str | None = None
    lastmod: str | None = None
    sitemap: str | None = None  # the sitemap (public URL) that gave ``lastmod``
    forget_lastmod: bool = False  # keep no lastmod, not even the one recorded before
    conditional: bool = False  # the request carried If-Modified-Since or If-None-Match
    # Its sitemap's lastmods are one time for all, the time it was made (lastmods.stamped):
    # they run ahead of every page, so the page counts as found so AHEAD_RUNS times, and
    # the first article fetched at its row starts on the revisits by its content's age alone
    # (``_fetched``), not after two runs that fetch it in full to learn it.
    stamped: bool = False
    # What saving the fetch's copy found (Archive._with_evidence): the page as held though
    # its lastmod was one the copy did not vouch for (forget_lastmod), counted with the page
    # (``Page.lastmod_ahead``); or another version than the one held at this URL, an edit,
    # whose validator is evidence for the site (``_validator_evidence``).
    ran_ahead: bool = False
    edited: bool = False
    as_held: bool = False  # the very version held at that URL: counted in unchanged_checks
    # The unchanged checks the age of the copy's content stands for (``checks_for_age``):
    # where the first article fetched at a URL starts (``_fetched``).
    quiet_checks: int = 0


@dataclass
class PageState:
    lastmod: str | None
    etag: str | None
    last_modified: str | None
    fetched: bool  # whether a fetch of it ever succeeded (its time is not read: parsing costs)
    failures: int
    article_id: int | None  # the article its last fetch gave; None for a page that gave none
    sitemap: str | None = None  # the sitemap (public URL) whose lastmod it carries
    lastmod_ahead: int = 0  # how often its sitemap lastmod ran ahead of it (AHEAD_RUNS)
    unchanged_checks: int = 0  # checks in a row that found it unchanged (revisit_thresholds)
    # Fetched (or answered 304) since the time page_states was given for its unchanged_checks
    checked_since: bool = False


def _page(session: Session, site: str, url: str) -> Page | None:
    return session.scalar(select(Page).where(Page.site == site, Page.url == url))


def _fetched(fetch: Fetch, article_id: int | None, known: Any = None) -> dict[str, Any]:
    """The columns a successful fetch sets. ``known`` (the page's row as it was, if any) keeps
    its sitemap lastmod, and the sitemap that gave it, when this fetch brings none (unless it
    says to forget them: the page is older than its new lastmod). The
    article is this fetch's (a page that gave an article once and now gives none, a "not
    found" page served with 200, is not noted here but as a failure: note_no_articles)."""
    if fetch.lastmod or fetch.forget_lastmod:
        lastmod, sitemap = fetch.lastmod, fetch.sitemap
    else:
        lastmod, sitemap = getattr(known, "lastmod", None), getattr(known, "sitemap", None)
    ahead = (getattr(known, "lastmod_ahead", 0) or 0) + fetch.ran_ahead
    # From a stamped sitemap, the checks that would have learned that its lastmods run ahead
    # count as made: the page's count of them, and its unchanged checks (so that its first
    # wait is its content's age's: checks_for_age), as after that many checks.
    lacking = max(0, AHEAD_RUNS - ahead) if fetch.stamped else 0
    ahead += lacking
    # The first article fetched at this row starts at the checks its content's age stands
    # for, even at another URL of an article held (an upper-case spelling): a check of this
    # row is what counts. A check that finds the version held counts one more, and an edit
    # found starts again at 0: the age does not count again, since a page whose dates say
    # nothing of its edits (a publication date alone) would otherwise go back to the longest
    # wait at the first check after an edit (a helper's soak).
    if fetch.edited:
        unchanged = 0
    elif fetch.as_held and known is not None:
        unchanged = (known.unchanged_checks or 0) + 1 + lacking
    elif known is None or getattr(known, "article_id", None) is None:
        unchanged = fetch.quiet_checks + lacking
    else:
        unchanged = 0
    return {"last_fetched": fetch.fetched_at, "last_status": fetch.status, "etag": fetch.etag,
            "last_modified": fetch.last_modified, "lastmod": lastmod, "sitemap": sitemap,
            "lastmod_ahead": ahead, "unchanged_checks": unchanged, "article_id": article_id,
            "failures": 0, "last_error": None}


def note_fetch(session: Session, fetch: Fetch, article_id: int | None) -> None:
    """Record a fetch that gave an archived record (in the caller's transaction, so a crash
    between fetch and save cannot mark a page fetched whose record was never stored), and
    what an edit it found says of its site's validators."""
    page = known = _page(session, fetch.site, fetch.url)
    if page is None:
        page = Page(site=fetch.site, url=fetch.url, first_fetched=fetch.fetched_at)
        session.add(page)
    else:
        _note_evidence(session, page, fetch)
    for name, value in _fetched(fetch, article_id, known).items():
        setattr(page, name, value)
    _restart_counts(session, [(fetch, article_id)])


def _restart_counts(session: Session, fetches: list[tuple[Fetch, int | None]]) -> None:
    """An edit found at one URL of an article sets ``unchanged_checks`` to 0 at every URL of
    it on that site: found at another spelling of its URL, it left the listed page's count
    growing, and that page's wait with it."""
    edited: dict[str, set[int]] = {}
    for fetch, article_id in fetches:
        if fetch.edited and article_id is not None:
            edited.setdefault(fetch.site, set()).add(article_id)
    for site, articles in edited.items():
        session.execute(update(Page).where(Page.site == site, Page.article_id.in_(articles),
                                           Page.unchanged_checks != 0)
                        .values(unchanged_checks=0))


def note_fetches(session: Session, fetches: list[tuple[Fetch, int | None]]) -> None:
    """``note_fetch`` for many fetches of distinct URLs: one query to find the pages known,
    then one multi-row INSERT and one multi-row UPDATE."""
    if fetches:
        _write_fetches(session, fetches, _known_pages(session, [f for f, _ in fetches]))


# A page that is no article at a URL whose last fetch gave an article the archive holds: a
# "not found" page served with 200, or a redirect to one that is no article (the front page).
SOFT_404 = "soft_404"
# A page an error of pressarchive's kept out of the archive (a bug): the run's error kind, and
# the start of the failure's last error (pressarchive.ingest).
INGEST_ERROR = "ingest_error"


def note_no_articles(session: Session, fetches: list[Fetch]) -> set[tuple[str, str]]:
    """Fetches of distinct URLs that gave no article (listings...), noted as ``note_fetches``
    notes them, with the same one query; except where the URL's last fetch gave an article
    the archive holds, which is a failure, SOFT_404 (``note_failure``: tried again by the
    next runs, up to their limit, as a 404 at a sitemap's entry is; the article, and the
    row's validators, stay). Noted as an ordinary fetch, such a page was neither a failure
    nor a drop, and no run said a word of it. Returns those (site, URL) pairs."""
    if not fetches:
        return set()
    known = _known_pages(session, fetches)
    gone = {key for key, row in known.items() if row.article_id is not None}
    for fetch in fetches:
        if (fetch.site, fetch.url) in gone:
            note_failure(session, fetch.site, fetch.url, SOFT_404, fetch.fetched_at)
    _write_fetches(session, [(fetch, None) for fetch in fetches
                             if (fetch.site, fetch.url) not in gone], known)
    return gone


def _known_pages(session: Session, fetches: list[Fetch]) -> dict[tuple[str, str], Any]:
    """The rows the crawl state holds for these fetches' URLs, by (site, URL): one query a
    site."""
    known: dict[tuple[str, str], Any] = {}
    for site in {fetch.site for fetch in fetches}:
        urls = [fetch.url for fetch in fetches if fetch.site == site]
        for row in session.execute(select(Page.id, Page.url, Page.lastmod, Page.sitemap,
                                          Page.lastmod_ahead, Page.unchanged_checks,
                                          Page.etag, Page.last_modified, Page.article_id)
                                   .where(Page.site == site, Page.url.in_(urls))):
            known[(site, row.url)] = row
    return known


def _write_fetches(session: Session, fetches: list[tuple[Fetch, int | None]],
                   known: dict[tuple[str, str], Any]) -> None:
    """``note_fetches``'s writes, given the rows known (``_known_pages``)."""
    inserts, updates = [], []
    for fetch, article_id in fetches:
        page = known.get((fetch.site, fetch.url))
        values = _fetched(fetch, article_id, page)
        if page is None:
            inserts.append({**values, "site": fetch.site, "url": fetch.url,
                            "first_fetched": fetch.fetched_at})
        else:
            _note_evidence(session, page, fetch)
            updates.append({**values, "id": page.id})
    if inserts:  # a Core insert: no ORM objects are wanted for these rows
        session.execute(Page.__table__.insert(), inserts)
    if updates:
        session.execute(update(Page), updates)
    _restart_counts(session, fetches)


def _note_evidence(session: Session, page: Any, fetch: Fetch) -> None:
    """What ``fetch`` found at ``page`` (its row as recorded before it) says of the site's
    validators, if it found an edit (``note_validators``)."""
    if fetch.edited and (followed := _validator_evidence(page, fetch)) is not None:
        note_validators(session, fetch.site, followed=followed)


def _validator_evidence(page: Any, fetch: Fetch) -> bool | None:
    """What ``fetch``, which found an edit at ``page``, says of its site's validators: True
    when it was a conditional request the site answered with the edit (its validators
    moved, and the site honours the question); False when a validator a conditional request
    sends (``_conditional`` in spiders/family.py sends both) is the one recorded before the
    edit: a server that answers by that one (by the ETag, as RFC 9110 says, or by
    If-Modified-Since alone, as some do) would have answered such a request 304; None
    otherwise (an unconditional fetch under moved validators, or nothing to compare)."""
    kept = []
    if page.last_modified and fetch.last_modified:
        before, now = http_date(page.last_modified), http_date(fetch.last_modified)
        if before is not None and now is not None:
            kept.append(not now > before)  # gone back: If-Modified-Since says 304 all the same
    if page.etag and fetch.etag:
        kept.append(fetch.etag == page.etag)
    if not kept:
        return None
    if any(kept):
        return False
    return True if fetch.conditional else None


def note_validators(session: Session, site: str, *, followed: bool) -> None:
    """One more edit of ``site`` told by a conditional request (``followed``), or found under
    the validator recorded before it (kept)."""
    column = SiteValidators.followed if followed else SiteValidators.kept
    if not session.execute(update(SiteValidators).where(SiteValidators.site == site)
                           .values({column: column + 1})).rowcount:
        session.add(SiteValidators(site=site, followed=int(followed), kept=int(not followed)))
        session.flush()


def runs_of(session: Session | Connection, site: str) -> int:
    """How many runs of ``site`` the archive records."""
    return session.scalar(select(func.count()).select_from(CrawlRun)
                          .where(CrawlRun.site == site)) or 0


def validators_follow_edits(session: Session | Connection, site: str) -> bool:
    """Whether a conditional request has told of an edit of ``site``, and no edit was ever
    found under the validator recorded before it: then such a request can be trusted to."""
    row = session.execute(select(SiteValidators.followed, SiteValidators.kept)
                          .where(SiteValidators.site == site)).first()
    return row is not None and row.followed > 0 and row.kept == 0


Listed = tuple[str, str | None]  # a sitemap lastmod, and the sitemap (public URL) that gave it


def note_lastmods(session: Session, site: str, lastmods: dict[str, Listed]) -> None:
    """Sets the sitemap lastmod of known pages, with the sitemap that gave it (URL -> (lastmod,
    sitemap)), one statement for all."""
    if lastmods:
        table = Page.__table__
        session.execute(update(table).where(table.c.site == site,
                                            table.c.url == bindparam("page_url"))
                        .values(lastmod=bindparam("page_lastmod"),
                                sitemap=bindparam("page_sitemap")),
                        [{"page_url": url, "page_lastmod": lastmod, "page_sitemap": sitemap}
                         for url, (lastmod, sitemap) in lastmods.items()])


def alias_lastmods(session: Session, site: str) -> dict[str, Listed]:
    """Pages of ``site`` that gave an article but carry no sitemap lastmod from a sitemap
    (URL -> the lastmod of the article's page that has one, and its sitemap): other URLs of a
    listed article, such as another spelling of its URL (upper case) or the first hop of a
    redirect to it. A page whose article has no such page, or several with different lastmods
    or sitemaps, is left out. Two passes over the site's pages, whatever their number
    (``article_id`` has no index of its own)."""
    unlisted = (Page.site == site, Page.sitemap.is_(None), Page.article_id.is_not(None),
                Page.last_fetched.is_not(None), Page.failures == 0)
    aliases = dict(session.execute(select(Page.url, Page.article_id).where(*unlisted)).all())
    if not aliases:
        return {}
    listed: dict[int, set[Listed]] = {}
    for article_id, lastmod, sitemap in session.execute(
            select(Page.article_id, Page.lastmod, Page.sitemap).where(
                Page.site == site, Page.lastmod.is_not(None), Page.sitemap.is_not(None),
                Page.article_id.in_(select(Page.article_id).where(*unlisted)))):
        listed.setdefault(article_id, set()).add((lastmod, sitemap))
    return {url: next(iter(listed[article_id])) for url, article_id in aliases.items()
            if len(listed.get(article_id, ())) == 1}


class NotModified(NamedTuple):
    """A 304 for ``url``: the page is as archived (and as of ``lastmod``, the sitemap's,
    when the ``sitemap`` led here). ``etag`` and ``last_modified``: the validators the 304
    gave, if any: those of the copy the archive holds, as the site now describes it."""

    site: str
    url: str
    when: dt.datetime
    lastmod: str | None = None
    sitemap: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    stamped: bool = False  # the sitemap's lastmods are the time it was made (Fetch.stamped)


def note_not_modified(session: Session | Connection, answers: list[NotModified]) -> None:
    """304s: their pages' last-seen times move on (and their articles' appearances on the
    site), with the lastmod that led to each; unknown URLs are left out. A statement per
    table, or two, however many answers: an unchanged rerun of a site whose sitemaps say
    nothing is thousands of them. The validators a 304 gives replace those recorded: the
    site says the copy held is its current one, and these describe it (a copy recorded with
    a Last-Modified older than its sitemap lastmod, answered 304 by its ETag, would otherwise
    never vouch for that lastmod, and be asked for on every run)."""
    table = Page.__table__
    # Answers for one page (the same URL twice in a batch) as one after the other: the last
    # one's time, the last lastmod given.
    latest: dict[tuple[str, str], NotModified] = {}
    for answer in answers:
        before = latest.get(key := (answer.site, answer.url))
        if before is not None and not answer.lastmod:
            answer = answer._replace(lastmod=before.lastmod, sitemap=before.sitemap)
        if before is not None:
            answer = answer._replace(etag=answer.etag or before.etag,
                                     last_modified=answer.last_modified or before.last_modified,
                                     stamped=answer.stamped or before.stamped)
        latest[key] = answer
    answers = list(latest.values())
    # Core statements, which do not flush the session: the callers note 304s before any
    # other change in the transaction (Ingester._write_batch) or alone (_write_alone).
    known: dict[tuple[str, str], Any] = {}
    for site in {answer.site for answer in answers}:
        urls = list({answer.url for answer in answers if answer.site == site})
        for start in range(0, len(urls), 500):
            for row in session.execute(select(table.c.id, table.c.url, table.c.article_id)
                                       .where(table.c.site == site,
                                              table.c.url.in_(urls[start:start + 500]))):
                known[(site, row.url)] = row
    plain, listed, seen, stamped = [], [], [], []
    for answer in answers:
        row = known.get((answer.site, answer.url))
        if row is None:
            continue
        if answer.stamped:
            stamped.append({"page_id": row.id})
        values = {"page_id": row.id, "when": answer.when, "page_etag": answer.etag,
                  "page_modified": answer.last_modified}
        if answer.lastmod:
            listed.append({**values, "page_lastmod": answer.lastmod,
                           "page_sitemap": answer.sitemap})
        else:
            plain.append(values)
        if row.article_id is not None:
            seen.append({"article": row.article_id, "on_site": answer.site,
                         "when": answer.when})
    # A validator the 304 did not give keeps the one recorded (coalesce).
    fetched = update(table).where(table.c.id == bindparam("page_id")).values(
        last_fetched=bindparam("when"), failures=0, last_error=None,
        unchanged_checks=table.c.unchanged_checks + 1,
        etag=func.coalesce(bindparam("page_etag"), table.c.etag),
        last_modified=func.coalesce(bindparam("page_modified"), table.c.last_modified))
    if plain:
        session.execute(fetched, plain)
    if listed:
        session.execute(fetched.values(lastmod=bindparam("page_lastmod"),
                                       sitemap=bindparam("page_sitemap")), listed)
    if stamped:  # as a fetch from a stamped sitemap counts (_fetched): the checks lacking
        session.execute(update(table).where(table.c.id == bindparam("page_id"),
                                            table.c.lastmod_ahead < AHEAD_RUNS)
                        .values(lastmod_ahead=AHEAD_RUNS, unchanged_checks=(
                            table.c.unchanged_checks + AHEAD_RUNS - table.c.lastmod_ahead)),
                        stamped)
    if seen:
        appearances = Appearance.__table__
        session.execute(update(appearances).where(
            appearances.c.article_id == bindparam("article"),
            appearances.c.site == bindparam("on_site"),
            appearances.c.last_seen < bindparam("when")).values(last_seen=bindparam("when")),
            seen)


def note_failure(session: Session, site: str, url: str, error: str, when: dt.datetime,
                 retry: bool = True, role: str | None = None) -> None:
    """Remember a URL that failed after Scrapy's retries; ``retry=False`` for failures that
    another try will not mend (a 404), which are then not retried on their own. ``role``:
    what it was asked for as, "sitemap" or "feed" (kept: a later failure may not know it)."""
    page = _page(session, site, url)
    if page is None:
        page = Page(site=site, url=url, failures=0)
        session.add(page)
    page.failures = (page.failures or 0) + 1 if retry else MAX_FAILURES
    page.last_error = error[:200]
    page.last_failed = when
    if role:
        page.role = role


def clear_failures(session: Session, site: str, urls: list[str]) -> None:
    """The failures of these sitemaps and feeds of ``site``, read since, forgotten
    (``last_failed`` stays: when it last failed), with the validators their rows hold: not
    theirs, when an answer that was no sitemap (a maintenance page) was stored under the
    URL, and a conditional request with them could be answered 304 for good, the sitemap
    never read again. A sitemap a finished run remembers gets its own (remember_sitemaps,
    after this); any other is read in full next time."""
    session.execute(update(Page).where(Page.site == site, Page.url.in_(urls), Page.failures > 0)
                    .values(failures=0, last_error=None, etag=None, last_modified=None))


# A page at the longest wait (LASTMOD_AHEAD_REVISIT_MAX) is due once a time of its own has
# passed since its last check, one of a grid: for the page whose grid (``revisit_grid``, by
# its row id) is j, the times j/28 of the longest wait past a multiple of it since
# REVISIT_EPOCH. Pages checked together (a back catalogue crawled in one run, or all of it
# after a week without runs) would otherwise come due together at every longest wait after,
# in weekly waves; on the grid they come due a 28th at a time, each at its own time, a
# longest wait apart. 28: steps of under 6 hours at 160, so that runs every 12 hours spread
# too.
REVISIT_PHASES = 28
REVISIT_EPOCH = dt.datetime(2000, 1, 1)
# A page's grid is its id hashed (Knuth's multiplicative hash, in integer arithmetic that
# SQLite and PostgreSQL share), not its id modulo 28: ids that step by 7 or 28 (rows of
# other kinds between a site's pages) would share a few grids, and the waves came back (a
# review's find).
_GRID_MULTIPLIER = 2654435761
_GRID_SPAN = 2 ** 32


def revisit_grid(page_id: Any) -> Any:
    """The grid (0 .. REVISIT_PHASES - 1) of the page whose row id is ``page_id``: given
    ``Page.id``, the same as an SQL expression (integer operations only, in 64 bits: on
    PostgreSQL the id and constants as ``integer`` overflowed, and every look-up of known
    pages failed)."""
    if isinstance(page_id, int):
        return page_id * _GRID_MULTIPLIER % _GRID_SPAN * REVISIT_PHASES // _GRID_SPAN
    span = literal(_GRID_SPAN, BigInteger)
    return (cast(page_id, BigInteger) * literal(_GRID_MULTIPLIER, BigInteger) % span
            * REVISIT_PHASES // span)


# No revisit waits longer than this many hours (ten years), whatever the settings say: a
# time that far before now is still one datetime can hold.
LONGEST_WAIT = 24.0 * 3653


def checks_for_age(age_hours: float | None, hours: float) -> int:
    """The unchanged checks (``Page.unchanged_checks``) that a copy whose content last
    changed ``age_hours`` ago stands for, with revisits starting at ``hours``: one for each
    doubling of the wait that keeps it within a tenth of that age (RFC 9111's heuristic
    freshness for a response with a Last-Modified); 0 when none does. They come on top of
    the AHEAD_RUNS checks that show a page's lastmods run ahead, which every page is counted
    through before any wait applies, so the first wait is ``hours`` doubled this many times.

    Without it, a back catalogue crawled in one run had every page at the shortest wait: a
    run a day against a stamped sitemap fetched all of it again on days 2, 3, 4, 6 and 10
    (20, 40 and 80 hours) before the longest wait spread it out. An article last changed a
    year ago is not more likely to change this week for being new to the archive; with the
    defaults, content 67 days old or more starts at the longest wait, 17 days old at 40
    hours. The longest wait (LASTMOD_AHEAD_REVISIT_MAX) is what an edit may wait, as
    before; an edit found starts the page again at the shortest, and its age is not
    counted again."""
    if not hours > 0 or age_hours is None or not age_hours >= 20.0 * hours:
        return 0
    doublings = math.log2(age_hours / (10.0 * hours))
    return min(int(doublings), 32) if math.isfinite(doublings) else 32


def revisit_wait(checks: int, hours: float, max_hours: float = 0.0) -> float:
    """The wait, in hours, before a page whose lastmods run ahead is due again, by its
    ``unchanged_checks``: ``hours`` up to AHEAD_RUNS of them, then doubled for each one
    more, up to ``max_hours`` (no growth when that is ``hours`` or less). A page unchanged
    for long is revisited the less often (20, 40, 80, then 160 hours apart, with the
    defaults); one found changed starts again at ``hours``."""
    if not 0 < hours < max_hours:
        return min(hours, LONGEST_WAIT)
    return min(hours * 2.0 ** min(max(0, checks - AHEAD_RUNS), 32), max_hours, LONGEST_WAIT)


class Revisit(NamedTuple):
    """How recent a page's last check must be for it not to be due yet (``page_states``):
    ``tiers``, one threshold for AHEAD_RUNS unchanged checks or fewer, one for each count
    after, the last for the longest wait and any count from its own on; ``phases``, when
    the wait grows, the longest wait's thresholds instead: the last time of each page's
    grid (REVISIT_PHASES), the page's id picking its own (``revisit_grid``)."""

    tiers: list[dt.datetime]
    phases: list[dt.datetime]


def revisit_thresholds(when: dt.datetime, hours: float, max_hours: float = 0.0,
                       epoch: dt.datetime = REVISIT_EPOCH) -> Revisit:
    """The thresholds (``Revisit``) of a run at ``when`` (naive UTC): ``when`` less each
    ``revisit_wait``; and, when the wait grows, the last time at or before ``when`` of each
    grid of the longest wait (REVISIT_PHASES, counted from ``epoch``), a time at most that
    wait ago."""
    waits = [revisit_wait(AHEAD_RUNS, hours, max_hours)]
    while hours > 0 and waits[-1] < min(max_hours, LONGEST_WAIT):
        longer = revisit_wait(AHEAD_RUNS + len(waits), hours, max_hours)
        if longer <= waits[-1]:  # a wait so short its doubling stops before the longest
            break
        waits.append(longer)
    tiers = [when - dt.timedelta(hours=wait) for wait in waits]
    if len(waits) == 1:
        return Revisit(tiers, [])
    longest = waits[-1]
    since = (when - epoch) / dt.timedelta(hours=1)
    return Revisit(tiers, [
        when - dt.timedelta(hours=(since - longest * phase / REVISIT_PHASES) % longest)
        for phase in range(REVISIT_PHASES)])


def _checked_since(thresholds: dt.datetime | Revisit | None) -> Any:
    """The SQL truth of ``PageState.checked_since``: a page's last check at least as recent
    as the threshold its ``unchanged_checks`` picks (``revisit_thresholds``; one time: for
    any count); at the longest wait of a ``Revisit`` with phases, as the last time of its
    grid (``revisit_grid``), or LASTMOD_AHEAD_REVISIT ago (the first tier: a page that has
    just reached the longest wait is not due again within the shortest)."""
    if thresholds is None:
        return false()
    if isinstance(thresholds, dt.datetime):
        thresholds = Revisit([thresholds], [])
    tiers, phases = thresholds
    if len(tiers) == 1:
        return Page.last_fetched >= tiers[0]
    terms = []
    for i, since in enumerate(tiers[:-1]):
        checks = AHEAD_RUNS + i
        count = Page.unchanged_checks <= checks if i == 0 else Page.unchanged_checks == checks
        terms.append(and_(count, Page.last_fetched >= since))
    longest = Page.unchanged_checks >= AHEAD_RUNS + len(tiers) - 1
    if phases:
        grid = revisit_grid(Page.id)
        terms.append(and_(longest, Page.last_fetched >= tiers[0]))
        terms.extend(and_(longest, grid == phase, Page.last_fetched >= at)
                     for phase, at in enumerate(phases))
    else:
        terms.append(and_(longest, Page.last_fetched >= tiers[-1]))
    return or_(*terms)


def page_states(session: Session | Connection, site: str, urls: list[str],
                checked_since: dt.datetime | Revisit | None = None
                ) -> dict[str, PageState]:
    """The state of many URLs in one query per 500 (a sitemap or a listing at a time); a
    plain connection will do, and costs less than a session. ``checked_since`` (naive UTC,
    one time or ``revisit_thresholds``): whether each was last fetched, or answered 304, at
    that time or later (``PageState.checked_since``; compared by the database, no time is
    parsed here)."""
    recent = _checked_since(checked_since)
    out: dict[str, PageState] = {}
    for start in range(0, len(urls), 500):
        rows = session.execute(
            select(Page.url, Page.lastmod, Page.etag, Page.last_modified,
                   Page.last_fetched.is_not(None), Page.failures, Page.article_id,
                   Page.sitemap, Page.lastmod_ahead, Page.unchanged_checks, recent)
            .where(Page.site == site, Page.url.in_(urls[start:start + 500])))
        out.update({row[0]: PageState(row[1], row[2], row[3], bool(row[4]), *row[5:10],
                                      bool(row[10]))
                    for row in rows})
    return out


def known_urls(connection: Connection, site: str) -> Iterator[str]:
    """Every URL of ``site`` the crawl state holds, streamed."""
    yield from connection.execute(
        select(Page.url).where(Page.site == site).execution_options(yield_per=5000)).scalars()


def failing_urls(session: Session, site: str) -> Iterator[tuple[str, str | None]]:
    """URLs whose last attempts failed, with what they were asked for as ("sitemap", "feed",
    None: a page, or not known): the next run tries them again."""
    yield from session.execute(
        select(Page.url, Page.role).where(Page.site == site, Page.failures > 0,
                                          Page.failures < MAX_FAILURES).order_by(Page.id))


def given_up_urls(session: Session, site: str) -> Iterator[str]:
    """Sitemaps and feeds (a failure recorded their ``role``) whose failures reached
    MAX_FAILURES: no longer retried on their own, their failure is cleared once read again."""
    yield from session.scalars(
        select(Page.url).where(Page.site == site, Page.failures >= MAX_FAILURES,
                               Page.role.is_not(None)))


def start_run(session: Session, spider: str, site: str, mode: str, settings: dict[str, Any],
              when: dt.datetime) -> int:
    run = CrawlRun(spider=spider, site=site, mode=mode, started_at=when, settings=settings,
                   errors={}, drops={}, **{name: 0 for name in RUN_COUNTS})
    session.add(run)
    session.flush()
    return run.id


def close_interrupted_runs(session: Session, site: str) -> list[int]:
    """Marks ``interrupted`` the runs of ``site`` recorded as started that never ended (killed,
    a power cut), for a caller sure that none of them is still going (it holds the site's run
    lock); their counts stay as recorded at the start (zero). Returns their ids."""
    stale = list(session.scalars(select(CrawlRun.id).where(
        CrawlRun.site == site, CrawlRun.finished_at.is_(None),
        CrawlRun.finish_reason.is_(None))))
    if stale:
        session.execute(update(CrawlRun).where(CrawlRun.id.in_(stale))
                        .values(finish_reason="interrupted"))
    return stale


RUN_COUNTS = ("pages_fetched", "new", "appeared", "changed", "unchanged", "not_modified",
              "dropped", "failed")


def run_counts(stats: dict[str, Any]) -> dict[str, int]:
    """A run's counts from the crawl stats that the pipelines and spider keep."""
    get = lambda key: int(stats.get(key, 0))  # noqa: E731
    return {
        "pages_fetched": get("response_received_count"),
        "new": get("pressarchive/stored/new_article"),
        "appeared": get("pressarchive/stored/new_appearance"),
        "changed": get("pressarchive/stored/new_version"),
        "unchanged": get("pressarchive/stored/unchanged"),
        # Known pages not read again: 304s, sitemap lastmod skips, and pages not due for their
        # revisit (LASTMOD_AHEAD_REVISIT).
        "not_modified": get("pressarchive/not_modified") + get("pressarchive/skipped/lastmod")
        + get("pressarchive/lastmod_ahead/not_due"),
        "dropped": get("pressarchive/dropped"),
        "failed": get("pressarchive/failed"),
    }


def by_suffix(stats: dict[str, Any], prefix: str) -> dict[str, int]:
    """The stats under ``prefix`` (``pressarchive/failed/``: failures by kind), by the rest
    of their name."""
    return {k[len(prefix):]: int(v) for k, v in stats.items() if k.startswith(prefix)}


def finish_run(session: Session, run_id: int, when: dt.datetime, reason: str,
               counts: dict[str, int], errors: dict[str, int], drops: dict[str, int]) -> None:
    run = session.get(CrawlRun, run_id)
    run.finished_at = when
    run.finish_reason = reason
    for name in RUN_COUNTS:
        setattr(run, name, int(counts.get(name, 0)))
    run.errors = errors
    run.drops = drops
