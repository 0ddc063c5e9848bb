"""The archive's links to the WARC records its pages came from (the ``captures`` table)."""

from __future__ import annotations

from typing import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Version, WarcCapture


def note(session: Session, rows: list[dict]) -> None:
    """Link pages to their records (rows of the captures table, as dicts of its columns), in
    the caller's transaction (the batch's: a page's record and its link are saved together or
    not at all)."""
    if rows:
        session.execute(WarcCapture.__table__.insert(), rows)


def of_versions(session: Session, site: str | None = None,
                batch: int = 500) -> Iterator[tuple[WarcCapture, Version]]:
    """Each version's latest capture (the newest response that gave it), with the version,
    in version order; a site's only, if given. Read ``batch`` at a time."""
    newest = (select(WarcCapture.version_id, WarcCapture.id)
              .where(WarcCapture.version_id.is_not(None))
              .order_by(WarcCapture.version_id, WarcCapture.fetched_at.desc(),
                        WarcCapture.id.desc()))
    if site:
        newest = newest.where(WarcCapture.site == site)
    chosen: dict[int, int] = {}
    # The newest capture of each version: the first of its rows in this order (no window
    # functions: the same query on SQLite and PostgreSQL).
    for version_id, capture_id in session.execute(newest):
        chosen.setdefault(version_id, capture_id)
    ids = sorted(chosen.items())
    for start in range(0, len(ids), batch):
        part = ids[start:start + batch]
        captures = {c.id: c for c in session.scalars(
            select(WarcCapture).where(WarcCapture.id.in_([cid for _, cid in part])))}
        versions = {v.id: v for v in session.scalars(
            select(Version).where(Version.id.in_([vid for vid, _ in part])))}
        for version_id, capture_id in part:
            yield captures[capture_id], versions[version_id]
        session.expunge_all()
