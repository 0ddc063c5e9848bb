"""The archive's tables (SQLAlchemy 2 typed models); docs/schema.md explains them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
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


Index("ix_appearances_article_site", Appearance.article_id, Appearance.site)
