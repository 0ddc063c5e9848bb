"""The archive: saves records deduplicated into articles, versions and appearances.

All dialect-specific SQL (SQLite pragmas today, PostgreSQL later) stays in this module.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import socket
import sqlite3
import time
import weakref
import zlib
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import create_engine, event, func, inspect, select, text, update
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ..record import Record
from ..research import index as search_index  # FTS5 upkeep; imports nothing from storage
from ..sites import SITES
from ..urls import slug_key
from . import crawlstate
from .crawlstate import Fetch, iso_time, stored_time
from .models import Appearance, Article, Base, Version

logger = logging.getLogger("pressarchive")

DEFAULT_URL = "sqlite:///pressarchive.sqlite"

NEW_ARTICLE = "new_article"        # an article the archive did not hold
NEW_VERSION = "new_version"        # a known article whose content changed
NEW_APPEARANCE = "new_appearance"  # a known article seen at a new site or URL
UNCHANGED = "unchanged"            # nothing new: last-seen times move on, no row is added


def unwritable(exc: BaseException) -> str | None:
    """What keeps the archive from being written, in one line (``database or disk is full``,
    ``disk I/O error``, ``attempt to write a readonly database``, ``database is locked``), when
    ``exc`` is such a failure of the database as a whole, not of one record: then every write
    fails alike, and a crawl had better stop. None for any other exception."""
    state = getattr(getattr(exc, "orig", None), "sqlstate", None) or ""
    if not (isinstance(exc, OperationalError) or state.startswith(_POSTGRES_UNWRITABLE)):
        return None
    cause = exc.orig if exc.orig is not None else exc
    return (str(cause).strip().splitlines() or [type(cause).__name__])[0]


# PostgreSQL's SQLSTATEs (classes or codes) for an archive that cannot be written at all,
# which it reports under other exception classes than SQLite does: a read-only transaction
# (a standby, default_transaction_read_only: 25006), no rights on the archive's tables
# (42501), the connection lost (08), out of disk or memory (53), the server shutting down or
# the session ended by an administrator (57P). Each was a traceback a page, the crawl going
# on and exiting 0 with every page lost (a helper's soak).
_POSTGRES_UNWRITABLE = ("25006", "42501", "08", "53", "57P")


def archive_url(url: str | None = None) -> str:
    """The database URL: the argument, else $ARCHIVE_URL, else a SQLite file here. A value
    that is not a URL is the path of a SQLite file (``~`` expanded). Every command and the
    crawl read the archive's location through this one function."""
    value = url or os.environ.get("ARCHIVE_URL") or DEFAULT_URL
    if value.startswith("postgres://"):  # the short scheme many hosts give: SQLAlchemy's name
        return "postgresql://" + value[len("postgres://"):]
    if "://" in value:
        return value
    return f"sqlite:///{Path(value).expanduser().resolve()}"


def make_engine(url: str, *, transactional_ddl: bool = False) -> Engine:
    """The engine for the archive at ``url``. ``transactional_ddl``: on SQLite, every
    transaction is begun by an explicit ``BEGIN IMMEDIATE`` that holds DDL too (for
    migrations, see ``upgrade``); the sqlite3 module otherwise opens a transaction only
    before a data change, so each ``CREATE`` or ``ALTER TABLE`` commits on its own."""
    if url.startswith("sqlite"):
        connect_args: dict[str, Any] = {"timeout": WRITER_LOCK_WAIT}
        if transactional_ddl:
            connect_args["isolation_level"] = None  # the module's own BEGINs off
        engine = create_engine(url, connect_args=connect_args)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # noqa: ANN001
            cur = dbapi_conn.cursor()
            # WAL lets readers (researchers' queries) run while a crawl writes.
            _journal_in_wal(cur)
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()
            if not hasattr(engine, "archive_file"):  # the file it opened first
                engine.archive_file = _file_identity(sqlite_file(url))

        if transactional_ddl:
            @event.listens_for(engine, "begin")
            def _begin(connection):  # noqa: ANN001
                # IMMEDIATE: the write lock at once, so that two processes upgrading the same
                # archive take turns, the second finding the work done.
                connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if url.startswith("postgresql"):
        return _postgres_engine(url)
    return create_engine(url, pool_pre_ping=True)


def _journal_in_wal(cur, wait: float = 30.0) -> None:  # noqa: ANN001
    """``PRAGMA journal_mode=WAL``, tried again while the database is locked (for up to
    ``wait`` seconds, the connections' own timeout). Turning a new database to WAL takes an
    exclusive lock, and SQLite answers "database is locked" at once, without waiting, to a
    connection that asks while another does: two scheduled runs starting on a new archive in
    the same second, and one of them did not start (3 of 30 pairs, the full test suite
    once). Once the file is in WAL mode, which lasts, the pragma only reads it."""
    deadline = time.monotonic() + wait
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.02)


def _postgres_engine(url: str) -> Engine:
    """PostgreSQL through psycopg 3 (``postgresql://`` URLs name no driver: psycopg it is),
    with the archive's times as everywhere else: naive datetimes in UTC. The session's time
    zone is UTC, so a naive time sent (the archive's own, and those bound in plain SQL) means
    UTC whatever the server's ``TimeZone`` (Europe/Berlin would shift every stored time), and
    a ``timestamptz`` read comes back as naive UTC, as SQLite gives it: code that compares a
    time read with one made here (``Archive._save``: appearances' last_seen) would otherwise
    meet aware and naive datetimes (a TypeError, which lost those pages)."""
    try:
        from psycopg.types.datetime import TimestamptzBinaryLoader, TimestamptzLoader
    except ImportError:
        raise ImportError("a PostgreSQL archive needs psycopg 3: pip install -e "
                          "'.[postgres]' in the checkout") from None

    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")

    class _NaiveUtc(TimestamptzLoader):
        def load(self, data):  # noqa: ANN001
            return _naive(super().load(data))

    class _NaiveUtcBinary(TimestamptzBinaryLoader):
        def load(self, data):  # noqa: ANN001
            return _naive(super().load(data))

    # A server that stops answering (a network cut, a host gone) ends the connection, and
    # so the crawl (archive_unwritable), within about a minute, instead of leaving it
    # waiting on a socket for good: TCP keepalives on idle connections, and a limit on data
    # left unacknowledged (libpq's parameters; any given in the URL win).
    bounded = {name: value for name, value in POSTGRES_CONNECTION.items()
               if name not in parsed.query}
    engine = create_engine(parsed, pool_pre_ping=True, connect_args=bounded)
    _postgres_engines.add(engine)

    @event.listens_for(engine, "connect")
    def _naive_utc(dbapi_conn, _record):  # noqa: ANN001
        # SET, not a connection option: PGTZ in the environment would win over one.
        autocommit, dbapi_conn.autocommit = dbapi_conn.autocommit, True
        dbapi_conn.execute("SET TIME ZONE 'UTC'")
        dbapi_conn.autocommit = autocommit
        for loader in (_NaiveUtc, _NaiveUtcBinary):
            dbapi_conn.adapters.register_loader("timestamptz", loader)

    return engine


# libpq's connection parameters for every PostgreSQL archive (_postgres_engine).
POSTGRES_CONNECTION = {"connect_timeout": 15, "keepalives": 1, "keepalives_idle": 30,
                       "keepalives_interval": 10, "keepalives_count": 3,
                       "tcp_user_timeout": 60_000}


# A forked process (the ingest worker) inherits the sockets of its parent's pooled
# connections: it must never use or close them (closing sends the server a goodbye for a
# session that is the parent's). It forgets them at once, as SQLAlchemy advises, and opens
# its own.
_postgres_engines: weakref.WeakSet[Engine] = weakref.WeakSet()


def _forget_parent_connections() -> None:
    for engine in list(_postgres_engines):
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_forget_parent_connections)


def _naive(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.timezone.utc).replace(tzinfo=None)


# The key of the advisory lock that PostgreSQL writers take (hold_writer_lock): any constant
# of 64 bits, the same in every process; advisory locks are the database's own.
WRITER_LOCK = int.from_bytes(b"pressarc", "big") >> 1
# How long a writer waits for another's transaction to end, in seconds, on either database.
WRITER_LOCK_WAIT = 30


def hold_writer_lock(bind: Session | Connection) -> None:
    """One writer at a time, from the start of the transaction to its end: its look-ups see
    every other writer's committed rows, and nobody commits between them and its writes.
    Readers (research queries, the crawl's look-ups outside a transaction) never wait.

    On PostgreSQL, an advisory lock held until the transaction ends. On SQLite, the
    database's own write lock, taken at once by a write that changes nothing: the sqlite3
    module begins a transaction only at its first write, so a batch's look-ups ran before
    it and another crawler could commit in between. Two sister crawls at once then met it
    often: the batch was redone one record at a time (RacedError), and a record raced twice
    was an ingest error that failed the run. Without a lock on PostgreSQL two crawls saving
    the same story at once both found it new (each blind to the other's uncommitted rows),
    batches that update the same articles in another order deadlocked, and two runs opening
    a new archive made the same tables, one failing."""
    engine = bind.get_bind() if isinstance(bind, Session) else bind
    if engine.dialect.name == "postgresql":
        # Waits as long as SQLite's writers do (their connections' timeout), then fails as
        # an archive that cannot be written: a writer stuck with its transaction open left
        # a crawl waiting for good (a soak). Only this wait: the transaction's own
        # statements keep the session's lock_timeout.
        bind.execute(text(f"SET LOCAL lock_timeout = '{WRITER_LOCK_WAIT}s'"))
        bind.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITER_LOCK})
        bind.execute(text("SET LOCAL lock_timeout TO DEFAULT"))
    elif engine.dialect.name == "sqlite":
        _same_file(engine)
        # Waits, up to the connection's timeout, for another writer's commit.
        bind.execute(text("UPDATE articles SET id = id WHERE 0"))


def _file_identity(path: str | None) -> tuple[str, tuple[int, int] | None] | None:
    if path is None:
        return None
    try:
        found = os.stat(path)
    except OSError:
        return path, None
    return path, (found.st_dev, found.st_ino)


def _same_file(engine: Engine) -> None:
    """A SQLite archive's file moved, removed or replaced while a crawl had it open: the
    crawl's writes went on into a file no longer there, the crawl finished and said so, and
    the archive at the path held nothing (a soak). A writer finds out before each transaction
    (a stat, microseconds) and fails as an archive that cannot be written."""
    known = getattr(engine, "archive_file", None)
    if known is None or known[1] is None:
        return
    path = known[0]
    if _file_identity(path) != known:
        raise OperationalError("(before a write)", None, sqlite3.OperationalError(
            f"the archive file {path} was moved, removed or replaced while open: nothing "
            "more is written to it"))


# The run lock on PostgreSQL (take_run_lock): a session advisory lock keyed by these two
# numbers, the second the site's; both within PostgreSQL's int4 (pg_locks shows them).
RUN_LOCK_CLASS = int.from_bytes(b"parc", "big") & 0x7FFFFFFF


def take_run_lock(engine: Engine, site: str) -> tuple[Connection | None, str]:
    """A run's lock on ``site`` in a PostgreSQL archive, for every machine that writes to
    it: (a connection that holds it until it is closed, or its process ends however it
    ends, ""), or (None, which session holds it). The lock is a session advisory lock; the
    connection names its process (``application_name``) for the message of a run that is
    turned away."""
    keys = _run_lock_keys(site)
    connection = engine.connect()
    try:
        connection.execute(text("SELECT set_config('application_name', :name, false)"),
                           {"name": f"pressarchive {site} pid {os.getpid()} on "
                                    f"{socket.gethostname()}"[:63]})
        if connection.execute(text("SELECT pg_try_advisory_lock(:cls, :site)"),
                              keys).scalar():
            connection.commit()  # a session's lock: it outlives the transaction
            return connection, ""
        holder = connection.execute(text(
            "SELECT a.application_name, a.backend_start FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
            "AND l.granted AND l.classid = :cls AND l.objid = :site AND l.database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database())"),
            keys).first()
    except BaseException:
        connection.close()
        raise
    connection.close()
    if holder is None:  # let go of meanwhile
        return None, "holder unknown"
    return None, f"{holder[0] or 'a session'} since {holder[1]:%Y-%m-%d %H:%M:%S} UTC"


def run_lock_held(connection: Connection, site: str) -> bool:
    """Whether ``connection`` (from ``take_run_lock``) still holds the run lock on ``site``:
    False once its session has ended (the server restarted, an administrator's
    pg_terminate_backend, an idle_session_timeout), which let go of the lock."""
    try:
        held = connection.execute(text(
            "SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() AND granted "
            "AND locktype = 'advisory' AND classid = :cls AND objid = :site"),
            _run_lock_keys(site)).scalar()
        connection.commit()
    except SQLAlchemyError:
        return False
    return bool(held)


def _run_lock_keys(site: str) -> dict[str, int]:
    return {"cls": RUN_LOCK_CLASS, "site": zlib.crc32(site.encode()) & 0x7FFFFFFF}


# The newest migration in pressarchive/migrations/versions (a test holds the two together).
SCHEMA_HEAD = "0013"


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply the schema migrations not yet applied (pressarchive/migrations), in order, all
    in one transaction: a process killed midway (kill -9 in a first run's first second)
    leaves the archive as it was, and the next run applies them again. Applied one DDL
    statement at a time, such a kill left half a schema that no later run could get past
    ("table articles already exists").

    An archive already at ``SCHEMA_HEAD`` is told by one query, without loading Alembic and
    its scripts (a quarter of a second, at the start of every crawl)."""
    if revision == "head" and _revision(engine) == SCHEMA_HEAD:
        return
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "pressarchive:migrations")
    migrating = engine
    # PostgreSQL's DDL is transactional as it is; an in-memory database is the engine's own
    # connection (another engine would migrate another database), and a kill loses it anyway.
    if engine.dialect.name == "sqlite" and sqlite_file(engine.url) is not None:
        migrating = make_engine(engine.url.render_as_string(hide_password=False),
                                transactional_ddl=True)
    try:
        with migrating.begin() as connection:
            # Two processes opening a new archive at once (two sites' scheduled runs) take
            # turns, the second finding the work done: SQLite's BEGIN IMMEDIATE above (there
            # may be no table yet for hold_writer_lock's write), the writer lock on
            # PostgreSQL (where both made the same tables and one failed).
            if connection.dialect.name != "sqlite":
                hold_writer_lock(connection)
            _drop_half_made(connection)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        if migrating is not engine:
            migrating.dispose()


def _drop_half_made(connection) -> None:  # noqa: ANN001
    """Drops the tables of a schema a first run began and never finished: versions before
    migrations ran in one transaction, killed in that first second, left some tables and no
    revision, and every run after failed on them. Only when no revision is stamped and not
    one of those tables holds a row: nothing is lost, and the migrations then make the
    schema whole. SQLite only (PostgreSQL's DDL was always transactional), and only when
    every table is one of the archive's: a database shared with anything else is never
    touched. Anything else is left as it is, for the migrations to judge."""
    if connection.dialect.name != "sqlite":
        return
    inspector = inspect(connection)
    if inspector.has_table("alembic_version") and connection.execute(
            text("SELECT count(*) FROM alembic_version")).scalar():
        return
    ours = set(Base.metadata.tables) | {"alembic_version", search_index.TABLE}
    present = inspector.get_table_names()
    tables = [name for name in present if not search_index.is_index_table(name)
              or name == search_index.TABLE]
    if not tables or not set(tables) <= ours or any(
            connection.execute(text(f'SELECT 1 FROM "{name}" LIMIT 1')).first()
            for name in tables):
        return
    for name in tables:
        connection.execute(text(f'DROP TABLE "{name}"'))
    logger.warning("the archive held an unfinished schema with no revision (%s), every table "
                   "empty: a first run killed while making it; made again", ", ".join(tables))


def archive_problem(url: str) -> str | None:
    """Why the archive at ``url`` cannot be opened and brought to the current schema, in one
    line; None when it can (it is then opened, migrated and closed). A crawl asks before it
    starts, so that a wrong path, a stranger's file or a database out of reach is one line
    and exit 1, not a crawl's worth of tracebacks. Errors of any other kind (a bug) are
    raised."""
    try:
        Archive(url).close()
    except Exception as exc:  # noqa: BLE001 - sorted below: the archive's, or raised
        if not (isinstance(exc, (SQLAlchemyError, ImportError, OSError))
                or type(exc).__module__.startswith("alembic")):
            raise
        lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        return (f"the archive at {hide_passwords(url)} cannot be opened: "
                f"{lines[0] if lines else type(exc).__name__}")
    return None


def hide_passwords(text: str) -> str:
    """``text`` (a database URL, or a command line's argument that holds one) as it may be
    printed or written down: every URL's password masked, the one before the host
    (``user:***@``) and one given as a ``password`` parameter (``?password=***``, which libpq
    reads)."""
    return _PASSWORD_PARAMETER.sub(r"\1***", _PASSWORD.sub(r"\1***@", text))


_PASSWORD = re.compile(r"(\b[a-z][\w+.-]*://[^/:@\s]*:)[^@/\s]+@", re.IGNORECASE)
_PASSWORD_PARAMETER = re.compile(r"(://\S*[?&]password=)[^&\s]*", re.IGNORECASE)


def holds_archive(url: str) -> bool:
    """Whether the database at ``url`` holds an archive (its articles table), looked at
    without making anything in it. Errors reaching it are raised (SQLAlchemy's)."""
    engine = make_engine(url)
    try:
        return inspect(engine).has_table("articles")
    finally:
        engine.dispose()


def sqlite_file(url: Any) -> str | None:
    """The file behind a SQLite URL (a string or SQLAlchemy's URL); None for an in-memory
    database or another engine."""
    url = make_url(url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:") \
            or url.query.get("mode") == "memory":
        return None
    return url.database


def _revision(engine: Engine) -> str | None:
    """The archive's schema revision (Alembic's own table), or None for a new database."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _family(site: str) -> set[str]:
    profile = SITES.get(site)
    if not profile:
        return {site}
    return {s.slug for s in SITES.values() if s.family == profile.family}


# The shortest body (in characters) by which an article moved to another URL is told
# (Archive._moved_article): shorter ones (a caption, a paywall's or a live page's notice) are
# too alike from one article to another.
MOVED_BODY_MIN = 500


def _move_key(record: Record) -> str | None:
    """``body_key`` of the record's body, or None when it cannot tell a move
    (Archive._moved_article): a body too short, or no publication time of day."""
    if len(record.body) < MOVED_BODY_MIN or not record.published_at:
        return None
    try:
        published = dt.datetime.fromisoformat(record.published_at)
    except ValueError:
        return None
    # A date alone is read as its midnight: every article of that day would share the time.
    return record.body_key if published.time() != dt.time(0) else None


class RacedError(RuntimeError):
    """Another writer changed what a batch relied on; redo the batch one record at a time."""


@dataclass
class Saved:
    outcome: str
    article_id: int
    version_id: int
    as_held: bool = False  # the URL showed the very version the archive last held there
    edited: bool = False  # the URL showed another version than the one last held there


def _with_evidence(fetch: Fetch, saved: Saved) -> Fetch:
    """``fetch``, with what saving its copy found: ``ran_ahead`` when the copy is the one the
    archive held at that URL though the sitemap lastmod that led to it was newer than the
    copy's Last-Modified (``forget_lastmod``: the page's lastmods ran ahead of it,
    ``Page.lastmod_ahead``); ``edited`` when it is another version than the one held there
    (evidence of the site's validators, ``crawlstate._validator_evidence``); ``as_held`` when
    it is the very version held there (one more check that found the page unchanged)."""
    ran_ahead = saved.as_held and fetch.forget_lastmod
    if saved.edited or saved.as_held:  # ran_ahead is as_held
        return replace(fetch, ran_ahead=ran_ahead, edited=saved.edited, as_held=saved.as_held)
    return fetch


@dataclass
class _Plan:
    """What ``Archive.save_many`` writes a table at a time: indexes of the entries new in
    every way; and of those whose version the archive holds (sister copies and pages seen
    again), each with its version's row and its appearance's (None for a copy)."""

    fresh: list[int] = field(default_factory=list)
    known: dict[int, tuple[Any, Any]] = field(default_factory=dict)


class Archive:
    """A deduplicated archive behind any SQLAlchemy URL (SQLite by default)."""

    def __init__(self, url: str | None = None, *, migrate: bool = True):
        self.url = archive_url(url)
        self.engine = make_engine(self.url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        if migrate:
            try:
                upgrade(self.engine)
            except BaseException:  # no archive to hand back: its connections go now
                self.engine.dispose()
                raise

    def close(self) -> None:
        self.engine.dispose()

    def session(self) -> Session:
        return self.sessions()

    def save(self, record: Record, fetch: Fetch | None = None) -> Saved:
        """Store one record, and the fetch that gave it, in one transaction; the same record
        twice adds nothing.

        Two crawlers racing on the same article meet at the unique keys (fingerprint,
        site+url), or, for two sister copies that differ, at the check ``_save`` makes once it
        holds the write lock (RacedError): the loser rolls back and tries once more, now
        finding the winner's rows.
        """
        for attempt in (1, 2):
            with self.sessions() as session:
                try:
                    hold_writer_lock(session)
                    saved = self.save_in(session, record, fetch)
                    session.commit()
                    return saved
                except (IntegrityError, RacedError):
                    session.rollback()
                    if attempt == 2:
                        raise
        raise AssertionError("unreachable")

    def save_in(self, session: Session, record: Record, fetch: Fetch | None = None) -> Saved:
        """``save`` within the caller's transaction (a crawl saves a batch per transaction)."""
        saved = self._save(session, record)
        if fetch is not None:
            crawlstate.note_fetch(session, _with_evidence(fetch, saved), saved.article_id)
        return saved

    def save_many(self, session: Session,
                  entries: list[tuple[Record, Fetch | None]]) -> list[Saved]:
        """``save_in`` for many records, in the caller's transaction, with the same rows and
        outcomes as one after the other, in less time.

        Three kinds of record are written a table at a time (when nothing else in the batch
        shares their fingerprint, slug, URL or fetch URL):

        - news to the archive (no version has their fingerprint, no appearance their URL, no
          article their slug), most records of a first crawl: one multi-row statement per
          table;
        - sister copies: a version with their fingerprint is held, but not at this URL (a
          sister site's copy of an article, most of a second site's shared articles);
        - pages seen again unchanged: held at this URL with this fingerprint (a full
          re-check, FULL_RECHECK, is made of them).

        The last two only when the record states nothing the version lacks (which
        ``_fill_missing`` would copy into it): their appearances in one statement, their
        articles' first and last seen times in another.

        The rest go through ``save_in`` one by one, after them. Another writer racing on the
        same rows makes it raise (RacedError, IntegrityError): roll back and save the records
        one at a time.
        """
        plan = self._batchable(session, entries)
        saved: list[Saved | None] = [None] * len(entries)
        if plan.fresh:
            for i, one in zip(plan.fresh, self._insert_new(
                    session, [entries[i] for i in plan.fresh])):
                saved[i] = one
        if plan.known:
            for i, one in zip(plan.known, self._save_known(
                    session, [entries[i] for i in plan.known], list(plan.known.values()))):
                saved[i] = one
        for i, (record, fetch) in enumerate(entries):
            if saved[i] is None:
                saved[i] = self.save_in(session, record, fetch)
        return saved  # type: ignore[return-value]

    def _batchable(self, session: Session,
                   entries: list[tuple[Record, Fetch | None]]) -> _Plan:
        """Which entries ``save_many`` writes a table at a time, and how (see there)."""
        plan = _Plan()
        if not entries:
            return plan
        records = [record for record, _ in entries]
        slugs_of = [slug_key(record.url) for record in records]
        versions = {row.fingerprint: row for row in session.execute(
            select(Version.fingerprint, Version.id, Version.article_id, Version.published_at,
                   Version.modified_at, Version.section, Version.language, Version.authors,
                   Version.first_seen)
            .where(Version.fingerprint.in_({r.fingerprint for r in records})))}
        slugs = set(session.scalars(select(Article.slug).where(
            Article.slug.in_(set(slugs_of)))))
        # A body the archive holds already may be an article moved to this URL (_save's
        # _moved_article): such a record goes the ORM path, which looks.
        bodies_of = [_move_key(record) for record in records]
        unknown = {key for record, key in zip(records, bodies_of)
                   if key and record.fingerprint not in versions}
        bodies = set(session.scalars(select(Version.body_key).where(
            Version.body_key.in_(unknown)))) if unknown else set()
        appearances = {}
        for site in {r.site for r in records}:
            urls = {r.url for r in records if r.site == site}
            for row in session.execute(
                    select(Appearance.id, Appearance.url, Appearance.article_id,
                           Appearance.version_id, Appearance.first_seen,
                           Appearance.last_seen, Appearance.times_seen)
                    .where(Appearance.site == site, Appearance.url.in_(urls))):
                appearances[(site, row.url)] = row
        keys = [[("version", record.fingerprint), ("slug", slug), ("url", record.site, record.url)]
                + ([("fetch", fetch.site, fetch.url)] if fetch else [])
                + ([("body", body)] if body else [])
                for (record, fetch), slug, body in zip(entries, slugs_of, bodies_of)]
        counts = Counter(key for item_keys in keys for key in item_keys)
        for i, (record, item_keys) in enumerate(zip(records, keys)):
            if any(counts[key] > 1 for key in item_keys):
                continue
            version = versions.get(record.fingerprint)
            appearance = appearances.get((record.site, record.url))
            if version is None:
                if appearance is None and slugs_of[i] not in slugs \
                        and bodies_of[i] not in bodies:
                    plan.fresh.append(i)
            elif self._gaps(version, record):
                continue  # the ORM path fills the version in
            elif appearance is None or appearance.article_id == version.article_id:
                plan.known[i] = (version, appearance)
        return plan

    def _save_known(self, session: Session, entries: list[tuple[Record, Fetch | None]],
                    known: list[tuple[Any, Any]]) -> list[Saved]:
        """Sister copies and pages seen again, each with its version's row and its
        appearance's (None for a copy): what ``_save`` does for them, a statement per table.
        A copy gets a new appearance; a page seen again has its appearance's times moved on
        and, when this fetch is its newest, the version, page date and related list it
        shows. Their articles' first and last seen times take them in, and a version's
        first sighting moves back to one fetched before it (with its URL)."""
        seen = [stored_time(record.fetched_at) for record, _ in entries]
        self._widen_seen(session, [(version.article_id, when)
                                   for (version, _), when in zip(known, seen)])
        earlier = [{"id": version.id, "first_seen": when, "first_url": record.url}
                   for (record, _), when, (version, _) in zip(entries, seen, known)
                   if when is not None and (version.first_seen is None
                                            or when < version.first_seen)]
        if earlier:  # a batch holds a version once at most (_batchable)
            session.execute(update(Version), earlier)
        new, newest, older = [], [], []
        for (record, _), when, (version, appearance) in zip(entries, seen, known):
            if appearance is None:
                new.append({"site": record.site, "url": record.url, "first_seen": when,
                            "last_seen": when, "times_seen": 1,
                            "article_id": version.article_id, "version_id": version.id,
                            "page_date": record.page_date, "related": record.related})
                continue
            times = {"id": appearance.id, "times_seen": appearance.times_seen + 1,
                     "first_seen": min(appearance.first_seen, when),
                     "last_seen": max(appearance.last_seen, when)}
            if when >= appearance.last_seen or appearance.times_seen == 0:
                newest.append({**times, "version_id": version.id,
                               "page_date": record.page_date, "related": record.related})
            else:
                older.append(times)
        if new:
            session.execute(Appearance.__table__.insert(), new)
        for rows in (newest, older):  # one key set per statement
            if rows:
                session.execute(update(Appearance), rows)
        saved = [Saved(NEW_APPEARANCE, version.article_id, version.id) if appearance is None
                 else Saved(UNCHANGED, version.article_id, version.id,
                            as_held=appearance.version_id == version.id,
                            edited=appearance.version_id != version.id)  # a revert
                 for version, appearance in known]
        crawlstate.note_fetches(session, [
            (_with_evidence(fetch, one), one.article_id)
            for (_, fetch), one in zip(entries, saved) if fetch is not None])
        return saved

    @staticmethod
    def _widen_seen(session: Session, seen: list[tuple[int, dt.datetime]]) -> None:
        """Articles' first and last seen times widened to take in these (article id, time)
        sightings: one UPDATE for those that move."""
        times = {row.id: (row.first_seen, row.last_seen) for row in session.execute(
            select(Article.id, Article.first_seen, Article.last_seen)
            .where(Article.id.in_({article_id for article_id, _ in seen})))}
        moved = {}
        for article_id, when in seen:
            first, last = moved.get(article_id, times[article_id])
            if when < first or when > last:
                moved[article_id] = (min(first, when), max(last, when))
        if moved:
            session.execute(update(Article), [
                {"id": article_id, "first_seen": first, "last_seen": last}
                for article_id, (first, last) in moved.items()])

    def _insert_new(self, session: Session,
                    entries: list[tuple[Record, Fetch | None]]) -> list[Saved]:
        """Articles, versions and appearances (and search rows and fetch notes) for records
        that are new in every way, a statement per table."""
        seen = [stored_time(record.fetched_at) for record, _ in entries]
        # Plain multi-row INSERTs, then the new ids read back by their unique keys (slug and
        # fingerprint are unique within these entries): cheaper than INSERT ... RETURNING in
        # the order of the rows, which SQLite can only do one row at a time. Core inserts on the
        # tables: the ORM's bulk path would only add bookkeeping for objects nobody holds.
        slugs = [slug_key(record.url) for record, _ in entries]
        session.execute(Article.__table__.insert(), [
            {"slug": slug, "first_seen": when, "last_seen": when}
            for slug, when in zip(slugs, seen)])
        found = session.execute(
            select(Article.slug, Article.id).where(Article.slug.in_(slugs))).all()
        if len(found) != len(slugs):
            # Another crawler added an article with one of these slugs since _batchable looked:
            # the caller rolls back and saves these records one at a time (save_in).
            raise RacedError("articles with these slugs appeared during the batch")
        article_of = dict(found)
        article_ids = [article_of[slug] for slug in slugs]
        session.execute(Version.__table__.insert(), [
            {**self._version_values(record, when), "article_id": article_id}
            for (record, _), when, article_id in zip(entries, seen, article_ids)])
        fingerprints = [record.fingerprint for record, _ in entries]
        version_of = dict(session.execute(
            select(Version.fingerprint, Version.id)
            .where(Version.fingerprint.in_(fingerprints))).all())
        version_ids = [version_of[fp] for fp in fingerprints]
        session.execute(Appearance.__table__.insert(), [
            {"site": record.site, "url": record.url, "first_seen": when, "last_seen": when,
             "times_seen": 1, "article_id": article_id, "version_id": version_id,
             "page_date": record.page_date, "related": record.related}
            for (record, _), when, article_id, version_id
            in zip(entries, seen, article_ids, version_ids)])
        search_index.add_rows(session, [
            search_index.row(version_id, record.headline, record.summary, record.body)
            for (record, _), version_id in zip(entries, version_ids)])
        crawlstate.note_fetches(session, [(fetch, article_id) for (_, fetch), article_id
                                          in zip(entries, article_ids) if fetch is not None])
        return [Saved(NEW_ARTICLE, article_id, version_id)
                for article_id, version_id in zip(article_ids, version_ids)]

    def _save(self, session: Session, record: Record) -> Saved:
        seen = stored_time(record.fetched_at)
        # Relationships are set one way only (many-to-one): appending to an article's
        # collections would load them first, and one flush at the end orders the inserts.
        with session.no_autoflush:
            appearance = session.scalar(select(Appearance).where(
                Appearance.site == record.site, Appearance.url == record.url))
            version = session.scalar(
                select(Version).where(Version.fingerprint == record.fingerprint))
            outcome = UNCHANGED
            appearance_was_there = appearance is not None
            as_held = version is not None and appearance_was_there \
                and appearance.version_id == version.id
            moved = False
            if version is not None:
                article = version.article
            elif appearance is not None:
                article = appearance.article
            else:
                article = self._same_article_elsewhere(session, record)
                if article is None:
                    article, moved = self._moved_article(session, record)
            if article is None:
                article = Article(slug=slug_key(record.url), first_seen=seen, last_seen=seen)
                session.add(article)
                outcome = NEW_ARTICLE
            new_version = version is None
            if new_version:
                version = self._new_version(record, seen)
                version.article = article
                session.add(version)
                if outcome == UNCHANGED:
                    outcome = NEW_VERSION
            else:
                self._fill_missing(version, record)
                if seen is not None and (version.first_seen is None
                                         or seen < version.first_seen):
                    # fetched before the sighting that added it (another process's, say)
                    version.first_seen, version.first_url = seen, record.url
            if appearance is None:
                appearance = Appearance(site=record.site, url=record.url, first_seen=seen,
                                        last_seen=seen, times_seen=0, article=article)
                session.add(appearance)
                # A known article at a new site or URL, whether its copy there is one the
                # archive holds or differs (a sister site's own wording): no edit, so not
                # counted as changed (crawl_runs.changed), though a version is added.
                if outcome in (UNCHANGED, NEW_VERSION) and not moved:
                    outcome = NEW_APPEARANCE
            elif appearance.article is not article:
                # The URL now carries content that another article already has.
                appearance.article = article
            if seen >= appearance.last_seen or appearance.times_seen == 0:
                appearance.version = version
                appearance.page_date = record.page_date
                appearance.related = record.related
            appearance.last_seen = max(appearance.last_seen, seen)
            appearance.first_seen = min(appearance.first_seen, seen)
            appearance.times_seen += 1
            article.last_seen = max(article.last_seen, seen)
            article.first_seen = min(article.first_seen, seen)
        session.flush()
        if outcome == NEW_ARTICLE and self._same_article_elsewhere(
                session, record, besides=article.id) is not None:
            # Another crawler saved this story (a sister site's copy with another body: no
            # unique key meets it) between the lookups above and this transaction's first
            # write: roll back and save again (save, _write_alone), which finds that
            # article. Not on SQLite or PostgreSQL, whose writers hold the writer lock from
            # their transaction's start (hold_writer_lock); kept for a caller's session that
            # does not. (save_many's new articles have the same check, _insert_new.)
            raise RacedError("an article with this slug appeared while saving")
        if new_version:  # now with its id
            search_index.add(session, version)
        return Saved(outcome, article.id, version.id, as_held=as_held,
                     edited=appearance_was_there and not as_held)

    def _same_article_elsewhere(self, session: Session, record: Record,
                                besides: int | None = None) -> Article | None:
        """A sister site's copy: same family, same slug, same headline (body may differ);
        ``besides``: an article not to count (the one just added)."""
        slug = slug_key(record.url)
        other = (Article.slug == slug,) + (() if besides is None else (Article.id != besides,))
        if session.scalar(select(Article.id).where(*other).limit(1)) is None:
            return None  # the usual case, answered by the slug index alone
        return session.scalar(
            select(Article)
            .join(Version, Version.article_id == Article.id)
            .join(Appearance, Appearance.article_id == Article.id)
            .where(*other, Version.headline == record.headline,
                   Appearance.site.in_(_family(record.site)))
            .limit(1))

    def _moved_article(self, session: Session, record: Record) -> tuple[Article | None, bool]:
        """An article moved to this URL: the one article the family shows with a version of
        the same body (``record.body_key``, at least MOVED_BODY_MIN characters) and the same
        publication time (a time of day, not a date alone); and whether it was moved on this
        record's site (an appearance there: an edit) or is a sister site's copy under that
        site's own slug and headline (not an edit). A newsroom that rewrites a headline often
        moves the article to the slug the new headline spells, with a 301 from the old URL:
        new fingerprint, new URL, new slug, and the body as it was. None when two articles or
        more share that body and time (a notice, a batch imported at one time); a page with
        no such time is never taken for a moved one; a redirect alone is never taken for a
        move (a page may redirect to another story)."""
        key = _move_key(record)
        if key is None:
            return None, False
        found = session.scalars(
            select(Article.id).distinct()
            .join(Version, Version.article_id == Article.id)
            .join(Appearance, Appearance.article_id == Article.id)
            .where(Version.body_key == key,
                   # the same instant, however the pages write it
                   Version.published_utc == stored_time(record.published_at),
                   Appearance.site.in_(_family(record.site)))
            .limit(2)).all()
        if len(found) != 1:
            return None, False
        on_site = session.scalar(select(Appearance.id).where(
            Appearance.article_id == found[0], Appearance.site == record.site).limit(1))
        return session.get(Article, found[0]), on_site is not None

    @classmethod
    def _new_version(cls, record: Record, seen: dt.datetime | None) -> Version:
        return Version(**cls._version_values(record, seen))

    @staticmethod
    def _version_values(record: Record, seen: dt.datetime | None) -> dict:
        from ..extract import EXTRACTOR_VERSION

        return dict(
            fingerprint=record.fingerprint, headline=record.headline, summary=record.summary,
            body=record.body, body_key=record.body_key, published_at=record.published_at,
            published_utc=stored_time(record.published_at), modified_at=record.modified_at,
            language=record.language, authors=record.authors, section=record.section,
            images=record.images, sources=record.sources, extractor_version=EXTRACTOR_VERSION,
            first_seen=seen, first_url=record.url)

    @staticmethod
    def _gaps(version: Any, record: Record) -> list[str]:
        """The fields ``record`` states that ``version`` (a row or a Version) lacks: what a
        sister copy fills in (``_fill_missing``)."""
        gaps = [name for name in ("published_at", "modified_at", "section", "language")
                if getattr(version, name) is None and getattr(record, name)]
        if not version.authors and record.authors:
            gaps.append("authors")
        return gaps

    @classmethod
    def _fill_missing(cls, version: Version, record: Record) -> None:
        """A sister copy may state what the first copy did not (a date, an author)."""
        for name in cls._gaps(version, record):
            setattr(version, name, getattr(record, name))
            if name == "published_at":
                version.published_utc = stored_time(record.published_at)
                version.sources = {**version.sources,
                                   "published_at": record.sources.get("published_at")}

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """``with archive.transaction() as session:`` commits at the end, rolls back on error.
        A transaction that writes: on PostgreSQL it waits for the archive's writer lock."""
        with self.sessions.begin() as session:
            hold_writer_lock(session)
            yield session

    def counts(self) -> dict[str, int]:
        with self.sessions() as session:
            return {
                table: session.scalar(select(func.count()).select_from(model)) or 0
                for table, model in (("articles", Article), ("versions", Version),
                                     ("appearances", Appearance))
            }

    def records(self) -> Iterator[dict]:
        """Every appearance as a record of its latest version, oldest article first."""
        with self.sessions() as session:
            rows = session.execute(
                select(Appearance, Version)
                .join(Version, Version.id == Appearance.version_id)
                .order_by(Appearance.article_id, Appearance.id)
                .execution_options(yield_per=500))
            for appearance, version in rows:
                yield record_dict(appearance, version)


def record_dict(appearance: Appearance, version: Version) -> dict:
    return {
        "article_id": appearance.article_id, "url": appearance.url, "site": appearance.site,
        "headline": version.headline, "summary": version.summary, "body": version.body,
        "related": appearance.related, "published_at": version.published_at,
        "modified_at": version.modified_at, "page_date": appearance.page_date,
        "language": version.language, "authors": version.authors, "section": version.section,
        "images": version.images, "sources": version.sources,
        "fingerprint": version.fingerprint, "fetched_at": iso_time(appearance.last_seen),
    }
