"""The full-text search index: an FTS5 table of normalized headline, summary and body."""

from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy import Column, Integer, MetaData, Table, Text, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from .normalize import normalize
from .query import COLUMNS

TABLE = "search_index"
# Contentless (content=''): the index keeps only the tokens of the normalized text, not a
# second copy of every article; results and snippets are read from `versions`, in the
# spelling the site used. Rows are never updated: a version's text never changes.
CREATE = (f"CREATE VIRTUAL TABLE IF NOT EXISTS {TABLE} USING fts5("
          f"{', '.join(COLUMNS)}, content='', "
          "tokenize='unicode61 remove_diacritics 2')")
# FTS5 keeps its data in shadow tables named after the virtual table.
SHADOW_SUFFIXES = ("_data", "_idx", "_content", "_docsize", "_config")

# For queries built with SQLAlchemy; in a MetaData of its own so that the models' metadata
# (and Alembic's comparison of it with the database) never sees a virtual table.
search_table = Table(TABLE, MetaData(), Column("rowid", Integer, primary_key=True),
                     *(Column(name, Text) for name in COLUMNS))

_INSERT = text(f"INSERT INTO {TABLE} (rowid, headline, summary, body) "
               "VALUES (:id, :headline, :summary, :body)")
_VERSIONS = text("SELECT id, headline, summary, body FROM versions ORDER BY id")


def is_index_table(name: str) -> bool:
    """True for the FTS table and its shadow tables (which no model describes)."""
    return name == TABLE or any(name == TABLE + suffix for suffix in SHADOW_SUFFIXES)


def supported(bind: Engine | Connection | Session) -> bool:
    """FTS5 is SQLite's; on other databases the index is simply not kept."""
    if isinstance(bind, Session):
        bind = bind.get_bind()
    return bind.dialect.name == "sqlite"


def row(version_id: int, headline: str | None, summary: str | None,
        body: str | None) -> dict[str, Any]:
    return {"id": version_id, "headline": normalize(headline), "summary": normalize(summary),
            "body": normalize(body)}


def add(session: Session, version: Any) -> None:
    """Index one new version (flushed, so it has an id) in the session's transaction."""
    add_rows(session, [row(version.id, version.headline, version.summary, version.body)])


def add_rows(session: Session, rows: list[dict[str, Any]]) -> None:
    """Index many new versions at once (``row()`` each), in the session's transaction."""
    if rows and supported(session):
        session.execute(_INSERT, rows)


def fill(connection: Connection, batch: int = 2000) -> int:
    """Index every version; the table must exist and be empty. Returns the count."""
    count = 0
    pending: list[dict[str, Any]] = []
    # The versions are read on a second connection-level cursor while inserts go through
    # this one; the list is bounded by ``batch`` so memory stays flat.
    result = connection.execute(_VERSIONS.execution_options(stream_results=True,
                                                            yield_per=batch))
    for version in result:
        pending.append(row(*version))
        if len(pending) >= batch:
            count += _insert_many(connection, pending)
            pending = []
    return count + _insert_many(connection, pending)


def _insert_many(connection: Connection, rows: Iterable[dict[str, Any]]) -> int:
    rows = list(rows)
    if rows:
        connection.execute(_INSERT, rows)
    return len(rows)


def create(connection: Connection) -> None:
    connection.execute(text(CREATE))


def rebuild(engine: Engine) -> int:
    """Drop and rebuild the index from every version, in one transaction. Returns the count
    of versions indexed (0 on databases without FTS5)."""
    if not supported(engine):
        return 0
    with engine.begin() as connection:
        connection.execute(text(f"DROP TABLE IF EXISTS {TABLE}"))
        create(connection)
        count = fill(connection)
        # Merge the b-tree segments the bulk insert left behind: faster queries after.
        connection.execute(text(f"INSERT INTO {TABLE} ({TABLE}) VALUES ('optimize')"))
    return count
