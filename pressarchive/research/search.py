"""Full-text search over the archive (SQLite or PostgreSQL): one ranked row per article, with
its dates explained."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Iterable

from sqlalchemy import func, literal_column, select
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from ..storage.crawlstate import iso_time as iso
from ..storage.models import Appearance, Article, Version
from . import index
from .filters import FIRST_SEEN, PUBLISHED, Filters
from .query import Query, QueryError, parse, snippet

# bm25 column weights: a word in the headline says far more about an article than one in
# the body; the summary sits between (PostgreSQL's ts_rank weighs them in these proportions).
WEIGHTS = (10.0, 4.0, 1.0)
# Matches scored at once. bm25 costs ~0.7 µs a match on a small machine: 10,000 matches are
# ~7 ms, a third of a 20 ms search; rarer words (most queries) are ranked all at once.
# PostgreSQL's ts_rank reads each match's tsvector (kept out of line, TOAST): ~11 µs a match
# (bench/research.py), so its windows are smaller.
WINDOWS = {"sqlite": 10_000, "postgresql": 2_000}
WINDOW = WINDOWS["sqlite"]


@dataclass
class Hit:
    """One article found: the version shown, where it appeared, its date and a snippet."""

    article_id: int
    version_id: int
    latest: bool            # the article's latest version (else an earlier one matched)
    headline: str
    sites: list[str]
    url: str
    date: str | None        # the stated publication time, else when first seen (ISO 8601)
    date_source: str        # "published" or "first_seen"
    section: str | None
    score: float            # higher is better: -bm25 on SQLite, ts_rank on PostgreSQL
    snippet: str
    versions: int = 1       # how many versions the article has

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run(session: Session, statement, query: Query):
    """Execute a statement that holds a match; FTS5's and PostgreSQL's syntax errors become
    QueryError."""
    try:
        return session.execute(statement).all()
    except (OperationalError, ProgrammingError) as exc:
        detail = str(exc.orig).strip().splitlines()[0]
        # SQLite's FTS5 says so in an OperationalError; PostgreSQL names the tsquery in a
        # ProgrammingError (a syntax error in our own SQL is no query's fault: raised as is).
        if ("tsquery" in detail) if isinstance(exc, ProgrammingError) else (
                "fts5" in detail or "MATCH" in detail or "syntax" in detail):
            raise QueryError(f"malformed search query {query.text!r} ({detail}); "
                             "see `pressarchive search --help`") from None
        raise


class Results(list):
    """The hits, best first, and how many versions matched in all."""

    matched: int = 0          # versions matching the query, before filters
    ranked_all: bool = True   # False: ranked in windows of the most recent matches
    window: int = WINDOW      # how many: WINDOWS, by the archive's database


def search(archive: Any, query: str, site: str | Iterable[str] | None = None,
           since: Any = None, until: Any = None, section: str | None = None,
           limit: int = 20, *, filters: Filters | None = None,
           exhaustive: bool = False) -> Results:
    """Articles matching ``query``, best first (bm25, headline weighted highest).

    Each article appears once, ranked by its best-matching version and shown in its latest
    matching version. ``since``/``until`` apply to the stated publication date, or to when
    the article was first seen if the page stated none; each hit says which it used.

    A query matching more versions than the database's window (WINDOWS) is ranked among the
    window's count of most recent matches first, then the next older ones, and so on
    (``exhaustive`` ranks them all at once): scoring every match of a very common word is
    what makes a search slow.
    """
    parsed = parse(query)
    filters = filters or Filters.make(site, since, until, section)
    if limit < 1:
        raise QueryError("--limit must be at least 1")
    with archive.session() as session:
        found = index.Index(session)
        found.matches(parsed)  # a query the database cannot read is refused before any work
        found.prepare(session)
        results = Results()
        ranked = _rank(session, found, parsed, filters, limit, exhaustive, results)
        if ranked:
            results.extend(_hits(session, found, parsed, filters, ranked))
        return results


def _rank(session: Session, found: index.Index, query: Query, filters: Filters, limit: int,
          exhaustive: bool, results: Results) -> list[tuple[int, float]]:
    """(article id, best score) of the ``limit`` best articles, window by window."""
    rowid = found.version_id
    match = found.matches(query)
    results.matched = run(session, select(func.count()).select_from(found.table)
                          .where(match), query)[0][0]
    remaining, upper = results.matched, None
    best: dict[int, float] = {}
    size = results.window = WINDOWS[found.engine]
    while remaining:
        lower = None
        if remaining > size and not exhaustive:
            # The rowid ``size`` matches down from the top: versions are numbered as they
            # come, so a rowid range is a span of time.
            lower = run(session, select(rowid).where(
                match, *([rowid < upper] if upper else []))
                .order_by(found.newest_first).offset(size - 1).limit(1), query)[0][0]
            results.ranked_all = False
        window = [c for c in (rowid >= lower if lower else None,
                              rowid < upper if upper else None) if c is not None]
        for article_id, score in _rank_window(session, found, query, filters,
                                              limit - len(best), window, set(best)):
            best[article_id] = score
        if len(best) >= limit or lower is None:
            break
        remaining, upper = remaining - size, lower
    return list(best.items())


def _rank_window(session: Session, found: index.Index, query: Query, filters: Filters,
                 limit: int, window: list, skip: set[int]) -> list[tuple[int, float]]:
    """The ``limit`` best articles (not in ``skip``) among the matches in ``window``.

    The index is asked for its k best rows only; most articles have one or two versions, so
    a few times ``limit`` rows nearly always give ``limit`` articles, and k grows when they
    do not. Without filters the k best are taken straight from the index and joined after;
    with filters the join comes first, so that rows the filters drop cannot crowd out the
    rest (and bm25 is computed only for rows that pass).
    """
    conditions = filters.article_conditions()
    score = found.score(query, WEIGHTS).label("score")
    match = found.matches(query)
    k = max(limit * 4, 64)
    while True:
        if conditions:
            statement = (select(found.version_id, score, Version.article_id)
                         .select_from(found.table)
                         .join(Version, Version.id == found.version_id)
                         .join(Article, Article.id == Version.article_id)
                         .where(match, *window, *conditions)
                         .order_by(literal_column("score"), Version.id.desc()).limit(k))
        else:
            top = (select(found.version_id.label("version_id"), score)
                   .where(match, *window)
                   .order_by(literal_column("score")).limit(k).subquery())
            statement = (select(top.c.version_id, top.c.score, Version.article_id)
                         .select_from(top)
                         .outerjoin(Version, Version.id == top.c.version_id)
                         .order_by(top.c.score, top.c.version_id.desc()))
        rows = run(session, statement, query)
        best: dict[int, float] = {}
        for _version_id, value, article_id in rows:
            if article_id is not None and article_id not in best and article_id not in skip:
                best[article_id] = -value
                if len(best) == limit:
                    break
        if len(best) >= limit or len(rows) < k:
            return list(best.items())
        k *= 4


def _hits(session: Session, found: index.Index, query: Query, filters: Filters,
          ranked: list[tuple[int, float]]) -> list[Hit]:
    ids = [article_id for article_id, _ in ranked]
    versions = session.execute(
        select(Version.id, Version.article_id).where(Version.article_id.in_(ids))).all()
    latest: dict[int, int] = {}
    count: dict[int, int] = {}
    for version_id, article_id in versions:
        latest[article_id] = max(latest.get(article_id, 0), version_id)
        count[article_id] = count.get(article_id, 0) + 1
    # Which of these articles' versions match (a rowid lookup in the index, not a scan)
    # and pass the filters: the latest such version is the one shown.
    matching = {r[0] for r in run(session, select(found.version_id).where(
        found.matches(query), found.version_id.in_([v for v, _ in versions])), query)}
    # Plain columns, not ORM objects: twenty rows, but every millisecond of a search counts.
    rows = session.execute(
        select(Version.id, Version.article_id, Version.headline, Version.summary, Version.body,
               Version.published_at, Version.published_utc, Version.section,
               Article.first_seen)
        .join(Article, Article.id == Version.article_id)
        .where(Version.id.in_(matching), *filters.version_conditions())
        .order_by(Version.id)).all()
    shown = {row.article_id: (row, row.first_seen) for row in rows}
    places = _appearances(session, ids)
    hits = []
    for article_id, score in ranked:
        if article_id not in shown:  # cannot happen unless the index is stale
            continue
        version, first_seen = shown[article_id]
        sites, url = _place(places.get(article_id, []), version.id, filters.sites)
        published = version.published_utc is not None
        hits.append(Hit(
            article_id=article_id, version_id=version.id,
            latest=version.id == latest[article_id], headline=version.headline, sites=sites,
            url=url, date=version.published_at if published else iso(first_seen),
            date_source=PUBLISHED if published else FIRST_SEEN, section=version.section,
            score=float(f"{score:.6g}"), versions=count[article_id],
            snippet=snippet([version.summary, version.body], query.terms)))
    return hits


def _appearances(session: Session, ids: list[int]) -> dict[int, list[tuple]]:
    places: dict[int, list[tuple]] = {}
    for article_id, site, url, version_id in session.execute(
            select(Appearance.article_id, Appearance.site, Appearance.url, Appearance.version_id)
            .where(Appearance.article_id.in_(ids)).order_by(Appearance.id)):
        places.setdefault(article_id, []).append((site, url, version_id))
    return places


def _place(places: list[tuple], version_id: int, sites: tuple[str, ...]) -> tuple[list[str], str]:
    """The article's sites, and the URL to show: on a requested site if any, preferably one
    that showed this version, else where it was first seen."""
    if not places:
        return [], ""
    ordered = sorted(places, key=lambda p: (bool(sites) and p[0] not in sites,
                                            p[2] != version_id))
    return list(dict.fromkeys(p[0] for p in places)), ordered[0][1]
