"""The full-text search index of the versions' normalized headline, summary and body: an FTS5
table on SQLite, a table of ``tsvector``s with a GIN index on PostgreSQL.

Both index the same tokens, cut by ``query.words`` from the same normalized text
(``normalize``), so a search finds the same versions on either; they rank them each their own
way (bm25 on SQLite, ``ts_rank`` on PostgreSQL), the headline weighted highest.
"""

from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy import Column, Integer, MetaData, Table, Text, func, literal_column, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from .normalize import normalize
from .query import COLUMNS, Query, QueryError, words

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

# PostgreSQL: one row a version, its columns' tokens in one tsvector, each column under a
# weight label (headline A, summary B, body C), which ts_rank weighs and a query could
# restrict a word to. The 'simple' configuration only lower-cases: no stemming, no stop words
# (FTS5's unicode61 has neither); the text given is already normalized and cut into words
# (``pg_row``), so PostgreSQL's own parser, whatever the server's locale, meets nothing but
# words separated by spaces. Positions stop at 16,383 (PostgreSQL's limit): a word past it
# in a long body is found, at that position.
PG_CREATE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} ("
    "version_id integer PRIMARY KEY REFERENCES versions (id) ON DELETE CASCADE, "
    "document tsvector NOT NULL)",
    f"CREATE INDEX IF NOT EXISTS {TABLE}_document ON {TABLE} USING gin (document)",
)
pg_table = Table(TABLE, MetaData(), Column("version_id", Integer, primary_key=True),
                 Column("document"))  # a tsvector (typed here without the dialect's import)
_PG_INSERT = text(
    f"INSERT INTO {TABLE} (version_id, document) VALUES (:id, "
    "setweight(to_tsvector('simple', :headline), 'A') || "
    "setweight(to_tsvector('simple', :summary), 'B') || "
    "setweight(to_tsvector('simple', :body), 'C'))")
# ts_rank's weights, in its order {D, C, B, A}: body, summary, headline as 1 : 4 : 10, as
# bm25's on SQLite (search.WEIGHTS). Normalization 1: divided by 1 + the log of the length.
_PG_WEIGHTS = "{0.1, 0.1, 0.4, 1.0}"
_PG_NORMALIZATION = 1
_SIMPLE = literal_column("'simple'::regconfig")
ENGINES = ("sqlite", "postgresql")


def dialect(bind: Engine | Connection | Session) -> str:
    if isinstance(bind, Session):
        bind = bind.get_bind()
    return bind.dialect.name


def supported(bind: Engine | Connection | Session) -> bool:
    """Whether the archive's database keeps a search index (SQLite and PostgreSQL)."""
    return dialect(bind) in ENGINES


class Index:
    """The index as a search reads it, on one database: its rows' version ids, which rows
    match a query, and a score (lower is better, as bm25's)."""

    def __init__(self, bind: Engine | Connection | Session):
        self.engine = dialect(bind)
        if self.engine not in ENGINES:
            raise QueryError("full-text search needs a SQLite or PostgreSQL archive")
        self.table = search_table if self.engine == "sqlite" else pg_table
        self.version_id = self.table.c.rowid if self.engine == "sqlite" \
            else self.table.c.version_id
        # Matches, newest first. On PostgreSQL by an expression, which its primary key cannot
        # give in order, so that the matches come from the GIN index and are sorted, rather
        # than read down the primary key with every row's tsvector tested (ten times slower
        # for a word in half the archive).
        self.newest_first = (self.version_id if self.engine == "sqlite"
                             else self.version_id + 0).desc()

    def prepare(self, session: Session) -> None:
        """Sets up the session's transaction for a search. On PostgreSQL: no sequential scans.
        Its planner counts a tsvector test as cheap, not the reading of the tsvector kept out
        of line (TOAST) that it needs, so for a word in a good part of the archive it reads
        every row's tsvector (250 ms on 100,000 articles) where the GIN index answers (10 ms).
        For this transaction only; the search's other tables are reached by their keys."""
        if self.engine == "postgresql":
            session.execute(text("SET LOCAL enable_seqscan = off"))

    def matches(self, query: Query):
        """The condition that a row matches ``query``, which is always a bound parameter."""
        if self.engine == "sqlite":
            return literal_column(TABLE).op("MATCH", is_comparison=True)(query.fts)
        return self.table.c.document.op("@@", is_comparison=True)(
            func.to_tsquery(_SIMPLE, query.postgres()))

    def score(self, query: Query, weights: tuple[float, ...]):
        """The rank of a matching row, lower is better: bm25 with ``weights`` (headline,
        summary, body) on SQLite; minus ts_rank (weights in the same proportions) on
        PostgreSQL."""
        if self.engine == "sqlite":
            return func.bm25(literal_column(TABLE), *weights)
        return -func.ts_rank(text(f"'{_PG_WEIGHTS}'::float4[]"), self.table.c.document,
                             func.to_tsquery(_SIMPLE, query.postgres()),
                             _PG_NORMALIZATION)


def is_index_table(name: str) -> bool:
    """True for the FTS table and its shadow tables (which no model describes)."""
    return name == TABLE or any(name == TABLE + suffix for suffix in SHADOW_SUFFIXES)


def row(version_id: int, headline: str | None, summary: str | None,
        body: str | None) -> dict[str, Any]:
    return {"id": version_id, "headline": normalize(headline), "summary": normalize(summary),
            "body": normalize(body)}


def pg_row(row: dict[str, Any]) -> dict[str, Any]:
    """A ``row()`` as PostgreSQL's index takes it: each column's words, space-separated."""
    return {"id": row["id"], **{name: " ".join(words(row[name])) for name in COLUMNS}}


def add(session: Session, version: Any) -> None:
    """Index one new version (flushed, so it has an id) in the session's transaction."""
    add_rows(session, [row(version.id, version.headline, version.summary, version.body)])


def add_rows(session: Session, rows: list[dict[str, Any]]) -> None:
    """Index many new versions at once (``row()`` each), in the session's transaction."""
    if rows and supported(session):
        _insert(session, rows)


def _insert(bind: Session | Connection, rows: list[dict[str, Any]]) -> None:
    if dialect(bind) == "postgresql":
        bind.execute(_PG_INSERT, [pg_row(r) for r in rows])
    else:
        bind.execute(_INSERT, rows)


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
        _insert(connection, rows)
    return len(rows)


def create(connection: Connection) -> None:
    """Make the (empty) index: the FTS5 table on SQLite, the table and its GIN index on
    PostgreSQL."""
    for statement in (CREATE,) if dialect(connection) == "sqlite" else PG_CREATE:
        connection.execute(text(statement))


def rebuild(engine: Engine) -> int:
    """Drop and rebuild the index from every version, in one transaction. Returns the count
    of versions indexed (0 on databases that keep no index)."""
    if not supported(engine):
        return 0
    with engine.begin() as connection:
        if dialect(connection) == "postgresql":
            # The writers' lock: no crawl saves a version meanwhile, which the new index
            # would miss.
            from ..storage.archive import hold_writer_lock

            hold_writer_lock(connection)
        connection.execute(text(f"DROP TABLE IF EXISTS {TABLE}"))
        create(connection)
        count = fill(connection)
        if dialect(connection) == "sqlite":
            # Merge the b-tree segments the bulk insert left behind: faster queries after.
            connection.execute(text(f"INSERT INTO {TABLE} ({TABLE}) VALUES ('optimize')"))
        else:
            connection.execute(text(f"ANALYZE {TABLE}"))
    return count
