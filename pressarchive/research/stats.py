"""Counts over the archive: by site, day and section, and how complete each field is."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import (Column, ColumnElement, Date, Integer, MetaData, Table, case, cast,
                        distinct, exists, func, select)
from sqlalchemy.orm import Session

from ..storage.models import Appearance, Article, Version
from .filters import Filters

# Field coverage is measured on each article's latest version (related: on any appearance).
COVERAGE = ("published_at", "modified_at", "summary", "authors", "section", "images",
            "language", "related")


class StatsError(Exception):
    """Stats that cannot be produced (a plot without matplotlib, say); one line."""


def _day(column: ColumnElement, dialect: str) -> ColumnElement:
    # SQLite keeps times as text: date() cuts the day off; elsewhere a cast does.
    return func.date(column) if dialect == "sqlite" else cast(column, Date)


def _nonempty_list(column: ColumnElement) -> ColumnElement:
    return func.coalesce(func.json_array_length(column), 0) > 0


def stats(archive: Any, filters: Filters | None = None) -> dict[str, Any]:
    """Counts for the articles that pass ``filters`` (all of them by default)."""
    filters = filters or Filters()
    with archive.session() as session:
        dialect = session.get_bind().dialect.name
        latest = (select(func.max(Version.id).label("id"))
                  .group_by(Version.article_id).subquery("latest"))
        # The articles counted: their latest version passes the filters. Worked out once,
        # into a temporary table, which every count below joins (as a CTE, each of them
        # computed it again: a GROUP BY over all versions).
        chosen = (select(Version.article_id.label("article_id"), Version.id.label("version_id"))
                  .join(latest, latest.c.id == Version.id)
                  .join(Article, Article.id == Version.article_id)
                  .where(*filters.article_conditions()))
        arts = _counted_articles(session, chosen)
        ids = select(arts.c.article_id)
        total = session.scalar(select(func.count()).select_from(arts)) or 0
        out: dict[str, Any] = {
            "filters": filters.describe(),
            "articles": total,
            "versions": _scalar(session, select(func.count()).where(Version.article_id.in_(ids))),
            "appearances": _scalar(session, select(func.count()).select_from(Appearance)
                                   .where(Appearance.article_id.in_(ids))),
            "changed_articles": _scalar(session, select(func.count()).select_from(
                select(Version.article_id).where(Version.article_id.in_(ids))
                .group_by(Version.article_id).having(func.count() > 1).subquery())),
            "multi_site_articles": _scalar(session, select(func.count()).select_from(
                select(Appearance.article_id).where(Appearance.article_id.in_(ids))
                .group_by(Appearance.article_id)
                .having(func.count(distinct(Appearance.site)) > 1).subquery())),
        }
        site_rows = session.execute(
            select(Appearance.site, func.count(distinct(Appearance.article_id)), func.count())
            .where(Appearance.article_id.in_(ids),
                   *([Appearance.site.in_(filters.sites)] if filters.sites else []))
            .group_by(Appearance.site).order_by(Appearance.site)).all()
        out["by_site"] = {site: {"articles": n, "appearances": m} for site, n, m in site_rows}
        latest_version = select(Version).join(arts, arts.c.version_id == Version.id).subquery()
        v = latest_version.c
        out["by_day_published"] = _grouped(session, _day(v.published_utc, dialect),
                                           latest_version, v.published_utc.is_not(None))
        first_seen = select(Article.first_seen).join(arts, arts.c.article_id == Article.id) \
            .subquery()
        out["by_day_first_seen"] = _grouped(session, _day(first_seen.c.first_seen, dialect),
                                            first_seen)
        sections = session.execute(
            select(v.section, func.count()).group_by(v.section)
            .order_by(func.count().desc(), v.section)).all()
        out["by_section"] = {s if s is not None else "(none)": n for s, n in sections}
        languages = session.execute(select(v.language, func.count()).group_by(v.language)
                                    .order_by(func.count().desc())).all()
        out["by_language"] = {lang if lang is not None else "(none)": n for lang, n in languages}
        out["coverage"] = _coverage(session, v, latest_version, arts, total)
        out["date_source"] = {"published": out["coverage"]["published_at"]["articles"],
                              "first_seen": total - out["coverage"]["published_at"]["articles"]}
        return out


def _counted_articles(session: Session, chosen) -> Table:
    """``chosen`` (article_id, version_id rows) in a temporary table of this session's
    connection, made anew for each call."""
    table = Table("stats_articles", MetaData(), Column("article_id", Integer, primary_key=True),
                  Column("version_id", Integer), prefixes=["TEMPORARY"])
    connection = session.connection()
    table.drop(connection, checkfirst=True)
    table.create(connection)
    session.execute(table.insert().from_select(["article_id", "version_id"], chosen))
    return table


def _scalar(session: Session, statement) -> int:
    return session.scalar(statement) or 0


def _grouped(session: Session, day: ColumnElement, source, *where) -> dict[str, int]:
    rows = session.execute(select(day.label("day"), func.count()).select_from(source)
                           .where(*where).group_by("day").order_by("day")).all()
    return {str(d): n for d, n in rows if d is not None}


def _coverage(session: Session, v, latest_version, arts, total: int) -> dict[str, Any]:
    checks = {
        "published_at": v.published_at.is_not(None),
        "modified_at": v.modified_at.is_not(None),
        "summary": func.coalesce(v.summary, "") != "",
        "authors": _nonempty_list(v.authors),
        "section": v.section.is_not(None),
        "images": _nonempty_list(v.images),
        "language": v.language.is_not(None),
        "related": exists().where(Appearance.article_id == v.article_id,
                                  _nonempty_list(Appearance.related)),
    }
    row = session.execute(select(*(func.coalesce(func.sum(case((check, 1), else_=0)), 0)
                                   .label(name) for name, check in checks.items()))
                          .select_from(latest_version)).one()
    return {name: {"articles": int(getattr(row, name)),
                   "share": round(getattr(row, name) / total, 4) if total else 0.0}
            for name in COVERAGE}


def _daily(counts: dict[str, int]) -> dict[dt.date, int]:
    """Counts for every day in the range, zeros included: a line must drop to zero on days
    without articles rather than run straight across them."""
    if not counts:
        return {}
    days = {dt.date.fromisoformat(d): n for d, n in counts.items()}
    first, last = min(days), max(days)
    return {first + dt.timedelta(i): days.get(first + dt.timedelta(i), 0)
            for i in range((last - first).days + 1)}


def plot(result: dict[str, Any], path: str | Path) -> None:
    """A PNG of articles per day: by stated publication date, and by first seen."""
    try:
        import matplotlib
    except ImportError:
        raise StatsError("--plot needs matplotlib: pip install -e '.[plot]' in the "
                         "checkout") from None
    matplotlib.use("Agg")  # no display: draw straight to a file
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    from .export import ExportError, atomic_file

    from matplotlib.ticker import MaxNLocator

    figure, axes = plt.subplots(figsize=(11, 4.5), dpi=100)
    published, seen = _daily(result["by_day_published"]), _daily(result["by_day_first_seen"])
    if published:
        axes.bar(list(published), list(published.values()), width=1.0, alpha=0.6,
                 label="published (stated by the page)")
    if seen:
        axes.plot(list(seen), list(seen.values()), color="black", linewidth=0.8, marker="o",
                  markersize=2, label="first seen by the archive")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylabel("articles per day")
    axes.set_title(f"pressarchive: {result['articles']} articles")
    axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(mdates.AutoDateLocator()))
    axes.legend(loc="upper left")
    figure.tight_layout()
    try:
        with atomic_file(Path(path)) as file:
            figure.savefig(file, format="png")
    except ExportError as exc:
        raise StatsError(str(exc)) from None
    finally:
        plt.close(figure)
