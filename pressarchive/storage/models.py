"""The archive's tables (SQLAlchemy 2 typed models); docs/schema.md explains them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (JSON, BigInteger, DateTime, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Article(Base):
    """One distinct article, however many sites and URLs carry it."""

    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(512), index=True)
    first_seen: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    versions: Mapped[list[Version]] = relationship(
        back_populates="article", order_by="Version.id", cascade="all, delete-orphan")
    appearances: Mapped[list[Appearance]] = relationship(
        back_populates="article", order_by="Appearance.id", cascade="all, delete-orphan")


class Version(Base):
    """One distinct content of an article (headline, summary, body), kept when it changes."""

    __tablename__ = "versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), index=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    # SHA-256 of the body alone (record.body_key): an article moved to a new URL with a new
    # headline is found by it (docs/schema.md, how records are matched, rule 4).
    body_key: Mapped[str | None] = mapped_column(String(64), index=True)
    headline: Mapped[str] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    published_at: Mapped[str | None] = mapped_column(String(40))  # as the page stated it
    published_utc: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    modified_at: Mapped[str | None] = mapped_column(String(40))
    language: Mapped[str | None] = mapped_column(String(8))
    authors: Mapped[list[Any]] = mapped_column(default=list)
    section: Mapped[str | None] = mapped_column(String(200))
    images: Mapped[list[Any]] = mapped_column(default=list)
    sources: Mapped[dict[str, Any]] = mapped_column(default=dict)
    extractor_version: Mapped[str] = mapped_column(String(40))
    first_seen: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    first_url: Mapped[str] = mapped_column(Text)

    article: Mapped[Article] = relationship(back_populates="versions")


class Appearance(Base):
    """One place an article was seen: a site and a canonical URL."""

    __tablename__ = "appearances"
    __table_args__ = (UniqueConstraint("site", "url"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"))  # as last seen
    site: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(String(2048))
    first_seen: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    times_seen: Mapped[int] = mapped_column(Integer, default=1)
    # Volatile page furniture, as last seen: never part of an article's identity.
    page_date: Mapped[str | None] = mapped_column(String(10))
    related: Mapped[list[Any]] = mapped_column(default=list)

    article: Mapped[Article] = relationship(back_populates="appearances")
    version: Mapped[Version] = relationship()


Index("ix_appearances_article_site", Appearance.article_id, Appearance.site)


class WarcCapture(Base):
    """A response the crawl kept as WARC (WARC_DIR) and the archive read: where its record is
    (a file of the WARC folder, the record's offset and length) and the version it gave, if
    any. ``pressarchive reextract`` reads versions' pages back from these."""

    __tablename__ = "captures"

    id: Mapped[int] = mapped_column(primary_key=True)
    site: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(String(2048))  # public URL, as the page was read
    # The public URL asked for, when redirects led to ``url`` (the crawl state's key); None
    # when the same (migration 0013)
    requested_url: Mapped[str | None] = mapped_column(String(2048))
    fetched_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[int] = mapped_column(Integer)
    warc_file: Mapped[str] = mapped_column(String(255))
    warc_offset: Mapped[int] = mapped_column(BigInteger)
    warc_length: Mapped[int] = mapped_column(Integer)
    version_id: Mapped[int | None] = mapped_column(ForeignKey("versions.id"), index=True)


Index("ix_captures_site_url", WarcCapture.site, WarcCapture.url)
# One row per record: a record gave one page (migration 0012)
Index("ux_captures_record", WarcCapture.warc_file, WarcCapture.warc_offset, unique=True)


class Page(Base):
    """Fetch state of every URL a crawl asked for (articles or not): when it was fetched, its
    HTTP validators and sitemap ``lastmod``, and failures still to be retried. Incremental runs
    read it to decide what to fetch again."""

    __tablename__ = "pages"
    __table_args__ = (UniqueConstraint("site", "url"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(String(2048))  # public URL as fetched (not rel=canonical)
    first_fetched: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_fetched: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_status: Mapped[int | None] = mapped_column(Integer)
    etag: Mapped[str | None] = mapped_column(String(256))
    last_modified: Mapped[str | None] = mapped_column(String(64))
    lastmod: Mapped[str | None] = mapped_column(String(40))  # sitemap lastmod at last fetch
    sitemap: Mapped[str | None] = mapped_column(String(2048))  # the sitemap that gave it
    # Full fetches, asked for by a sitemap lastmod newer than the copy's Last-Modified, that
    # found the page as held: its lastmods run ahead of it (crawlstate.AHEAD_RUNS).
    lastmod_ahead: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Checks in a row (a 304, or a fetch that found the version held here) since the page last
    # changed (a new version, its first fetch): a page whose lastmods run ahead of it is
    # revisited the less often the longer it stays as it is (crawlstate.revisit_thresholds).
    unchanged_checks: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id"))
    failures: Mapped[int] = mapped_column(Integer, default=0)  # since the last success
    last_error: Mapped[str | None] = mapped_column(String(200))
    last_failed: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # What a failure of this URL was asked for as: "sitemap" or "feed" (None: a page). The
    # next run, asking for it again, then takes an HTML answer for a failure, not a page.
    role: Mapped[str | None] = mapped_column(String(16))


Index("ix_pages_failing", Page.site, Page.failures)


class SiteValidators(Base):
    """What the edits a crawl found at URLs the archive held say of a site's validators: how
    many a conditional request was answered with (``followed``), and how many came under the
    validator recorded before them (``kept``: such a request would have been answered 304)."""

    __tablename__ = "site_validators"

    site: Mapped[str] = mapped_column(String(64), primary_key=True)
    followed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    kept: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class CrawlRun(Base):
    """One `scrapy crawl` run: when, what it fetched, and what it added to the archive."""

    __tablename__ = "crawl_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    spider: Mapped[str] = mapped_column(String(64))
    site: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(16))  # incremental | full | backfill | urls
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finish_reason: Mapped[str | None] = mapped_column(String(64))
    pages_fetched: Mapped[int] = mapped_column(Integer, default=0)
    new: Mapped[int] = mapped_column(Integer, default=0)          # articles not held before
    appeared: Mapped[int] = mapped_column(Integer, default=0)     # held, seen at a new URL
    changed: Mapped[int] = mapped_column(Integer, default=0)      # new versions
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    not_modified: Mapped[int] = mapped_column(Integer, default=0)  # 304s and lastmod skips
    dropped: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[dict[str, Any]] = mapped_column(default=dict)  # failures by kind
    drops: Mapped[dict[str, Any]] = mapped_column(default=dict)   # drops by reason
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
