"""The archive's deduplication: articles, versions and appearances."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3

import pytest
from sqlalchemy import select, update

from pressarchive.record import Record
from pressarchive.storage import (NEW_APPEARANCE, NEW_ARTICLE, NEW_VERSION, UNCHANGED, Archive)
from pressarchive.storage.models import Appearance, Version

SLUG = "us-secretary-of-state-calls-china-russia-on-afghan-collapse"


def record(**changes) -> Record:
    base = dict(
        url=f"https://arabpress.com/{SLUG}", site="arabpress",
        headline="US Secretary Of State Calls China, Russia On Afghan Collapse",
        summary="The State Department said ...", body="First paragraph.\n\nSecond paragraph.",
        fetched_at="2025-06-20T09:00:00+00:00", page_date="2025-06-20",
        related=[{"title": "A", "url": "https://arabpress.com/a"}],
    )
    base.update(changes)
    return Record(**base)


@pytest.fixture
def archive(tmp_path):
    arc = Archive(f"sqlite:///{tmp_path / 'a.sqlite'}")
    yield arc
    arc.close()


def test_saving_the_same_record_twice_adds_nothing(archive):
    assert archive.save(record()).outcome == NEW_ARTICLE
    before = archive.counts()
    assert archive.save(record()).outcome == UNCHANGED
    assert archive.counts() == before == {"articles": 1, "versions": 1, "appearances": 1}


def test_masthead_and_related_churn_is_not_a_new_version(archive):
    archive.save(record())
    later = record(fetched_at="2025-06-21T09:00:00+00:00", page_date="2025-06-21",
                   related=[{"title": "B", "url": "https://arabpress.com/b"}])
    assert archive.save(later).outcome == UNCHANGED
    assert archive.counts()["versions"] == 1
    with archive.session() as s:
        app = s.scalar(select(Appearance))
        assert app.page_date == "2025-06-21" and app.related[0]["title"] == "B"
        assert app.times_seen == 2


def test_sister_copy_is_one_article_with_two_appearances(archive):
    first = archive.save(record())
    sister = archive.save(record(url=f"https://saudipress.com/{SLUG}", site="saudipress",
                                 page_date="2025-11-08", fetched_at="2025-11-08T10:00:00+00:00"))
    assert sister.outcome == NEW_APPEARANCE
    assert sister.article_id == first.article_id
    assert archive.counts() == {"articles": 1, "versions": 1, "appearances": 2}


def test_sister_copy_with_a_prefixed_slug_and_same_content_is_the_same_article(archive):
    first = archive.save(record())
    sister = archive.save(record(url=f"https://saudipress.com/zmznmz-{SLUG}", site="saudipress"))
    assert sister.article_id == first.article_id and sister.outcome == NEW_APPEARANCE


def test_changed_body_is_a_new_version_and_the_old_one_is_kept(archive):
    first = archive.save(record())
    edited = archive.save(record(body="First paragraph, corrected.\n\nSecond paragraph.",
                                 fetched_at="2025-06-22T09:00:00+00:00"))
    assert edited.outcome == NEW_VERSION
    assert edited.article_id == first.article_id and edited.version_id != first.version_id
    with archive.session() as s:
        bodies = s.scalars(select(Version.body).order_by(Version.id)).all()
    assert bodies == ["First paragraph.\n\nSecond paragraph.",
                      "First paragraph, corrected.\n\nSecond paragraph."]
    assert archive.counts() == {"articles": 1, "versions": 2, "appearances": 1}


def test_different_articles_stay_apart(archive):
    a = archive.save(record())
    b = archive.save(record(url="https://arabpress.com/other-story", headline="Other story",
                            body="Something else happened."))
    assert a.article_id != b.article_id and b.outcome == NEW_ARTICLE


def test_a_sister_copy_another_crawler_saved_meanwhile_joins_its_article(tmp_path, monkeypatch):
    # Two crawlers (one per sister site) save the same story at once, the copies' bodies
    # differing, so no unique key meets them. Here arabpress's crawler commits its copy right
    # after saudipress's has looked for the story and found none: saudipress's save must still
    # end in the same article, as a version of it, not in a second article. The archive's
    # writer lock (taken at the transaction's start) keeps such a commit out; left out here,
    # as on a database whose writers do not take turns, the check under the first write
    # (RacedError, and the save tried again) still does.
    from pressarchive.storage import archive as archive_module

    monkeypatch.setattr(archive_module, "hold_writer_lock", lambda bind: None)
    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    saudi, arab = Archive(url), Archive(url)
    sister = record(url=f"https://saudipress.com/{SLUG}", site="saudipress",
                    body="First paragraph.\n\nSecond paragraph.\n\nA closing line of its own.")
    real = Archive._same_article_elsewhere
    raced = []

    def meanwhile(self, session, rec, **besides):
        found = real(self, session, rec, **besides)
        if self is saudi and not raced:  # the lookup: the other crawler commits just after
            raced.append(arab.save(record()))
        return found

    monkeypatch.setattr(Archive, "_same_article_elsewhere", meanwhile)
    saved = saudi.save(sister)
    assert raced and raced[0].outcome == NEW_ARTICLE
    # A version of it at a new URL: counted as the known article seen there, not as an edit.
    assert saved.article_id == raced[0].article_id and saved.outcome == NEW_APPEARANCE
    assert saudi.counts() == {"articles": 1, "versions": 2, "appearances": 2}
    saudi.close()
    arab.close()


def test_a_sister_copy_fills_in_a_date_the_first_copy_lacked(archive):
    archive.save(record())
    archive.save(record(url=f"https://saudipress.com/{SLUG}", site="saudipress",
                        published_at="2021-08-16T18:00:00+00:00",
                        sources={"published_at": "meta"}))
    with archive.session() as s:
        version = s.scalar(select(Version))
    assert version.published_at == "2021-08-16T18:00:00+00:00"
    assert version.sources["published_at"] == "meta"


def test_sister_copies_saved_together_fill_in_what_their_versions_lacked(archive):
    """save_many writes sister copies a batch at a time, except one that states what its
    version lacks (a date, a section, authors): that one still fills the version in."""
    other = "https://arabpress.com/other-story"
    archive.save(record())
    archive.save(record(url=other, headline="Other story", body="Something else."))
    copies = [
        record(url=f"https://saudipress.com/{SLUG}", site="saudipress",
               published_at="2021-08-16T18:00:00+00:00", section="politics",
               sources={"published_at": "meta"}),
        record(url="https://saudipress.com/other-story", site="saudipress",
               headline="Other story", body="Something else."),
    ]
    with archive.transaction() as session:
        saved = archive.save_many(session, [(copy, None) for copy in copies])
    assert [s.outcome for s in saved] == [NEW_APPEARANCE, NEW_APPEARANCE]
    with archive.session() as s:
        versions = {v.first_url: v for v in s.scalars(select(Version))}
    filled = versions[f"https://arabpress.com/{SLUG}"]
    assert (filled.published_at, filled.section) == ("2021-08-16T18:00:00+00:00", "politics")
    assert filled.sources["published_at"] == "meta"
    assert versions[other].published_at is None and versions[other].section is None
    assert archive.counts() == {"articles": 2, "versions": 2, "appearances": 4}


def test_a_url_that_now_shows_another_article_moves_to_it_in_a_batch_too(archive):
    """save_many: a URL held that now carries content another article has is relinked to
    that article (as save does), not counted as seen again unchanged."""
    other = "https://arabpress.com/other-story"
    first = archive.save(record())
    moved = archive.save(record(url=other, headline="Other story", body="Something else."))
    again = record(headline="Other story", body="Something else.",
                   fetched_at="2025-06-21T09:00:00+00:00")
    with archive.transaction() as session:
        (saved,) = archive.save_many(session, [(again, None)])
    assert (saved.outcome, saved.article_id) == (UNCHANGED, moved.article_id)
    with archive.session() as s:
        appearance = s.scalar(select(Appearance).where(Appearance.url == again.url))
    assert appearance.article_id == moved.article_id != first.article_id
    assert appearance.version_id == moved.version_id


def test_sqlite_archive_is_in_wal_mode(archive, tmp_path):
    archive.save(record())
    con = sqlite3.connect(tmp_path / "a.sqlite")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_archive_url_comes_from_the_environment(monkeypatch, tmp_path):
    from pressarchive.storage import archive_url

    monkeypatch.setenv("ARCHIVE_URL", f"sqlite:///{tmp_path / 'env.sqlite'}")
    assert archive_url() == f"sqlite:///{tmp_path / 'env.sqlite'}"
    assert archive_url("sqlite:///x.sqlite") == "sqlite:///x.sqlite"
    # The short scheme many hosts hand out is SQLAlchemy's postgresql.
    assert archive_url("postgres://u:p@db/archive") == "postgresql://u:p@db/archive"
    assert archive_url("postgresql://u@db/archive") == "postgresql://u@db/archive"


def test_records_read_back_carry_the_contract_fields(archive):
    from pressarchive.record import RECORD_FIELDS

    archive.save(dataclasses.replace(record(), fingerprint=""))
    (rec,) = list(archive.records())
    assert set(RECORD_FIELDS) <= set(rec)
    assert rec["fetched_at"] == "2025-06-20T09:00:00+00:00"


def test_migrations_build_exactly_the_models_schema(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from pressarchive.research.index import is_index_table
    from pressarchive.storage.models import Base

    # The FTS5 search index (migration 0003) is a virtual table that no model describes.
    opts = {"include_name": lambda name, type_, parents: not (
        type_ == "table" and is_index_table(name))}
    arc = Archive(f"sqlite:///{tmp_path / 'm.sqlite'}")
    with arc.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata)
    arc.close()
    assert diff == []


def test_opening_an_archive_twice_applies_migrations_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'twice.sqlite'}"
    Archive(url).close()
    arc = Archive(url)
    with arc.engine.connect() as conn:
        versions = conn.exec_driver_sql("SELECT version_num FROM alembic_version").fetchall()
    arc.close()
    assert len(versions) == 1


def test_schema_head_is_the_newest_migration(tmp_path):
    """Archive skips Alembic for an archive at SCHEMA_HEAD: that constant must name the newest
    migration, or a new one would never be applied."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from pressarchive.storage.archive import SCHEMA_HEAD, _revision

    config = Config()
    config.set_main_option("script_location", "pressarchive:migrations")
    assert ScriptDirectory.from_config(config).get_heads() == [SCHEMA_HEAD]
    arc = Archive(f"sqlite:///{tmp_path / 'head.sqlite'}")
    assert _revision(arc.engine) == SCHEMA_HEAD
    arc.close()


def test_an_archive_behind_the_head_is_still_migrated(tmp_path):
    from pressarchive.storage.archive import SCHEMA_HEAD, _revision, make_engine, upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite'}")
    assert _revision(engine) is None
    upgrade(engine, "0002")
    assert _revision(engine) == "0002"
    engine.dispose()
    arc = Archive(f"sqlite:///{tmp_path / 'old.sqlite'}")  # brings it to the head
    assert _revision(arc.engine) == SCHEMA_HEAD
    arc.close()


# A first run killed while its migrations run (the index's backfill in 0003 made to wait, so
# that 0001 and 0002 have made their tables by then).
KILLED_WHILE_MIGRATING = """
import pathlib, sys, time
from pressarchive.research import index
def fill(connection):
    pathlib.Path(sys.argv[2]).write_text("migrating")
    time.sleep(60)
index.fill = fill
from pressarchive.storage import Archive
Archive(sys.argv[1])
"""


def test_a_run_killed_while_migrating_leaves_nothing_the_next_cannot_finish(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    from pressarchive.storage.archive import SCHEMA_HEAD, _revision

    url, marker = f"sqlite:///{tmp_path / 'a.sqlite'}", tmp_path / "marker"
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WHILE_MIGRATING, url, str(marker)])
    deadline = time.monotonic() + 60
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), "the migrations never reached 0003"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    con = sqlite3.connect(tmp_path / "a.sqlite")
    # All or nothing: the tables 0001 and 0002 had made are gone with the transaction.
    assert con.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall() == []
    con.close()
    arc = Archive(url)  # the next run migrates from the start
    assert _revision(arc.engine) == SCHEMA_HEAD
    with arc.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    arc.close()


def test_a_half_made_schema_an_older_version_left_is_made_again_if_it_holds_nothing(
        tmp_path, caplog):
    # What a first run killed while migrating left before the migrations ran in one
    # transaction: 0001's first tables, an empty alembic_version (seen in a kill -9 stress).
    from pressarchive.storage.archive import SCHEMA_HEAD, _revision

    path = tmp_path / "half.sqlite"
    con = sqlite3.connect(path)
    con.executescript("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL);"
                      "CREATE TABLE articles (id INTEGER NOT NULL, slug VARCHAR(512) NOT NULL, "
                      "first_seen DATETIME NOT NULL, last_seen DATETIME NOT NULL, "
                      "PRIMARY KEY (id));")
    con.close()
    with caplog.at_level("WARNING", logger="pressarchive"):
        arc = Archive(f"sqlite:///{path}")
    assert _revision(arc.engine) == SCHEMA_HEAD
    assert "unfinished schema with no revision (alembic_version, articles)" in caplog.text
    arc.save(record())
    arc.close()
    # One that holds a row, or has a table of anything else's, is no such leftover: left to
    # the migrations, which refuse it, untouched.
    for name, script in (("held", "INSERT INTO articles VALUES (1, 'kept');"),
                         ("shared", "CREATE TABLE invoices (id INTEGER PRIMARY KEY);")):
        other = tmp_path / f"{name}.sqlite"
        con = sqlite3.connect(other)
        con.executescript("CREATE TABLE articles (id INTEGER PRIMARY KEY, slug TEXT);" + script)
        before = con.execute("SELECT * FROM sqlite_master").fetchall(), con.execute(
            "SELECT * FROM articles").fetchall()
        con.close()
        with pytest.raises(Exception, match="already exists"):
            Archive(f"sqlite:///{other}")
        con = sqlite3.connect(other)
        assert (con.execute("SELECT * FROM sqlite_master").fetchall(),
                con.execute("SELECT * FROM articles").fetchall()) == before, name
        con.close()


def test_other_urls_of_a_listed_article_are_given_its_lastmod(archive):
    from pressarchive.storage import crawlstate
    from pressarchive.storage.crawlstate import Fetch

    when = "2025-06-20T09:00:00+00:00"
    base = f"https://arabpress.com/{SLUG}"

    june = "https://arabpress.com/sitemaps/2025-06.xml"

    def fetch(url, lastmod=None, site="arabpress"):
        return Fetch(site=site, url=url, fetched_at=crawlstate.stored_time(when),
                     last_modified="Fri, 20 Jun 2025 08:00:00 GMT", lastmod=lastmod,
                     sitemap=june if lastmod else None)

    listed = archive.save(record(), fetch(base, lastmod="2025-06-19T10:00:00+00:00"))
    archive.save(record(), fetch(f"https://arabpress.com/{SLUG.upper()}"))  # same article
    other = record(url="https://arabpress.com/other", headline="Another Story Entirely",
                   body="Nothing alike.\n\nAt all.")
    archive.save(other, fetch("https://arabpress.com/other"))  # listed nowhere
    # The same article on a sister site is that site's business, not this one's.
    archive.save(record(url=f"https://saudipress.com/{SLUG}", site="saudipress"),
                 fetch(f"https://saudipress.com/{SLUG.upper()}", site="saudipress"))
    with archive.session() as session:
        aliases = crawlstate.alias_lastmods(session, "arabpress")
        assert aliases == {f"https://arabpress.com/{SLUG.upper()}":
                           ("2025-06-19T10:00:00+00:00", june)}
        assert crawlstate.alias_lastmods(session, "saudipress") == {}
        # A second listed URL with another lastmod: which one the alias stands for is not
        # known, so it gets none.
        crawlstate.note_fetches(session, [(fetch(base + "-2", lastmod="2025-06-20T00:00:00Z"),
                                           listed.article_id)])
        assert crawlstate.alias_lastmods(session, "arabpress") == {}


def test_an_in_memory_archive_is_migrated_on_its_own_connection():
    # Migrations run on an engine of their own for files (one transaction); a database in
    # memory is its engine's connection, so there it is that engine that migrates.
    arc = Archive("sqlite://")
    assert arc.save(record()).outcome == NEW_ARTICLE
    assert arc.counts() == {"articles": 1, "versions": 1, "appearances": 1}
    arc.close()


LONG_BODY = ("The ministry said on Monday that the new port would open next spring, after two "
             "years of delays blamed on the contractor.\n\nOfficials expect the first ships "
             "in April, and a second terminal is planned for the year after that.\n\n") * 3
PUBLISHED = "2025-06-19T08:30:00+03:00"
MOVED = dict(url="https://arabpress.com/us-secretary-calls-china-russia-after-talks",
             headline="US Secretary Calls China, Russia After Talks",
             fetched_at="2025-06-21T09:00:00+00:00", page_date="2025-06-21")


@pytest.mark.parametrize("batched", [False, True])
def test_an_article_moved_to_its_new_headlines_slug_is_the_same_article(archive, batched):
    first = archive.save(record(body=LONG_BODY, published_at=PUBLISHED))
    moved = record(body=LONG_BODY, published_at=PUBLISHED, **MOVED)
    if batched:  # save_many: a body the archive holds goes the ORM path, which looks
        with archive.transaction() as session:
            (saved,) = archive.save_many(session, [(moved, None)])
    else:
        saved = archive.save(moved)
    # An edit, at a new URL: a new version of the article, not a second article.
    assert saved.outcome == NEW_VERSION and saved.article_id == first.article_id
    assert archive.counts() == {"articles": 1, "versions": 2, "appearances": 2}
    with archive.session() as s:
        by_url = {a.url: a.version.headline for a in s.scalars(select(Appearance))}
        keys = set(s.scalars(select(Version.body_key)))
    assert by_url == {record().url: record().headline, MOVED["url"]: MOVED["headline"]}
    assert len(keys) == 1  # one body


@pytest.mark.parametrize("other", [
    dict(published_at="2025-06-20T08:30:00+03:00"),  # published at another time
    dict(body=LONG_BODY + "A third terminal may follow."),  # another body
    dict(body=LONG_BODY[:450]),  # too short to tell: a paywall's notice, say
    dict(published_at="2025-06-19T00:00:00+00:00"),  # a date alone: every article that day
])
def test_a_new_url_with_a_new_headline_is_a_new_article_unless_body_and_time_agree(
        archive, other):
    body = other.get("body", LONG_BODY)
    archive.save(record(body=body if len(body) < 500 else LONG_BODY,
                        published_at=other.get("published_at", PUBLISHED)
                        if "T00:00:00" in other.get("published_at", "") else PUBLISHED))
    saved = archive.save(record(**{**MOVED, "body": LONG_BODY, "published_at": PUBLISHED,
                                   **other}))
    assert saved.outcome == NEW_ARTICLE
    assert archive.counts()["articles"] == 2


def test_a_body_two_articles_share_already_is_no_sign_of_a_move(archive):
    # A notice, or a batch imported at one time: two articles hold the body and time (an
    # archive from before this rule, here made so by hand), so a third URL with them is
    # neither's.
    archive.save(record(body=LONG_BODY, published_at=PUBLISHED))
    archive.save(record(body=LONG_BODY, published_at="2025-06-19T09:00:00+03:00",
                        headline="Another story", url="https://arabpress.com/another-story"))
    with archive.transaction() as session:
        session.execute(update(Version).where(Version.headline == "Another story")
                        .values(published_utc=dt.datetime(2025, 6, 19, 5, 30)))
    assert archive.counts()["articles"] == 2
    assert archive.save(record(body=LONG_BODY, published_at=PUBLISHED, **MOVED)).outcome \
        == NEW_ARTICLE


def test_a_sister_sites_copy_under_its_own_slug_and_headline_joins_but_is_no_edit(archive):
    # The same body and time on a sister site, under that site's own slug and headline: the
    # same article, seen at a new place (not counted as changed), not a move on its site.
    first = archive.save(record(body=LONG_BODY, published_at=PUBLISHED))
    sister = archive.save(record(body=LONG_BODY, published_at=PUBLISHED, site="saudipress",
                                 url="https://saudipress.com/port-to-open-next-spring",
                                 headline="Port To Open Next Spring"))
    assert (sister.outcome, sister.article_id) == (NEW_APPEARANCE, first.article_id)


def test_an_undated_page_is_never_taken_for_a_moved_article(archive):
    # Pages that state no date and share a body (a notice, a placeholder) are not one
    # article as surely as two published at the same instant.
    archive.save(record(body=LONG_BODY))
    assert archive.save(record(body=LONG_BODY, **MOVED)).outcome == NEW_ARTICLE
    # Nor is an undated copy of a dated article's body, or the other way round.
    dated = record(body=LONG_BODY, published_at=PUBLISHED,
                   **{**MOVED, "url": "https://arabpress.com/another-url",
                      "headline": "Another Headline"})
    assert archive.save(dated).outcome == NEW_ARTICLE
    assert archive.counts()["articles"] == 3


def test_a_record_made_by_replace_has_its_own_body_key():
    from pressarchive.record import body_key, fingerprint

    first = record(body=LONG_BODY)
    other = dataclasses.replace(first, body="Another body.",
                                fingerprint=fingerprint(first.headline, first.summary,
                                                        "Another body."))
    assert (first.body_key, other.body_key) == (body_key(LONG_BODY), body_key("Another body."))


def _open_at_once(url: str, barrier, errors) -> None:
    barrier.wait()
    try:
        Archive(url).close()
    except Exception as exc:  # noqa: BLE001 - reported to the test
        errors.put(str(exc).splitlines()[0])


def test_two_processes_opening_a_new_archive_at_once_both_open_it(tmp_path):
    """Two scheduled runs starting on a new archive in the same instant: turning the new file
    to WAL mode answered one of them "database is locked" at once (3 of 30 pairs), and that
    run did not start. Forty pairs, each started together."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    errors = context.Queue()
    for n in range(40):
        url = f"sqlite:///{tmp_path / f'a{n}.sqlite'}"
        barrier = context.Barrier(2)
        procs = [context.Process(target=_open_at_once, args=(url, barrier, errors))
                 for _ in range(2)]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join(60)
        assert [proc.exitcode for proc in procs] == [0, 0]
    failed = []
    while not errors.empty():
        failed.append(errors.get())
    assert failed == []
