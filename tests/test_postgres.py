"""The archive on PostgreSQL, for real: the server on 127.0.0.1:5432 (trust auth; its database
``test`` is where each test makes a database of its own, dropped after). The crawl runs as on
SQLite: two sister sites crawled at once make the archive SQLite makes crawled in turn, an
unchanged rerun adds nothing, a day's advance adds what it should, and the times stored are
UTC whatever the client's time zone; one run of a site at a time, however its lock's
connection fares; a database that cannot be written stops the crawl in one line; a kill -9
loses and duplicates nothing.

PRESSARCHIVE_TEST_POSTGRES names another server's maintenance database (a SQLAlchemy URL)."""

from __future__ import annotations

import datetime as dt
import json
import getpass
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url

from pressarchive.research.export import count
from pressarchive.research.filters import Filters
from pressarchive.research.search import search
from pressarchive.sitegen import FamilyServer, Faults, SiteFamily
from pressarchive.storage import Archive

from conftest import ROOT, SERVER, conninfo, kill_9_midway, run_crawl

SITES = ("arabpress", "saudipress")
# A client in another time zone: the archive's times must not move with it.
BERLIN = {"PGTZ": "Europe/Berlin", "TZ": "Europe/Berlin"}


def content(archive: Archive) -> set[frozenset[tuple[str, str, int]]]:
    """Each article as the set of its appearances (site, URL) with its count of versions."""
    with archive.session() as session:
        versions = dict(session.execute(text(
            "SELECT article_id, COUNT(*) FROM versions GROUP BY article_id")).all())
        groups: dict[int, set] = {}
        for article, site, url in session.execute(text(
                "SELECT article_id, site, url FROM appearances")):
            groups.setdefault(article, set()).add((site, url, versions[article]))
    assert set(groups) == set(versions)
    return {frozenset(group) for group in groups.values()}


def sqlite_content(db) -> set[frozenset[tuple[str, str, int]]]:
    archive = Archive(f"sqlite:///{db}")
    try:
        return content(archive)
    finally:
        archive.close()


def crawl_both(db, tmp_path, server, postgres: str | None):
    """Both sites' crawls at once (into PostgreSQL) or in turn (into the SQLite file db)."""
    def one(site):
        folder = tmp_path / f"{site}-{len(list(tmp_path.iterdir()))}"
        folder.mkdir()
        return run_crawl(site, db, folder, base_url=server.origins[site],
                         settings={"ARCHIVE_URL": postgres} if postgres else None,
                         env=BERLIN if postgres else None)
    if postgres:
        with ThreadPoolExecutor(max_workers=2) as pool:
            runs = list(pool.map(one, SITES))
    else:
        runs = [one(site) for site in SITES]
    for run in runs:
        assert run.returncode == 0, run.log[-3000:]
        assert run.stats["finish_reason"] == "finished"
    return runs


def found(archive: Archive, query: str) -> tuple[int, set[tuple[str, tuple[str, ...]]]]:
    """How many versions match ``query``, and the articles found (headline, sites)."""
    hits = search(archive, query, limit=10_000, exhaustive=True)
    return hits.matched, {(hit.headline, tuple(sorted(hit.sites))) for hit in hits}


def stored(runs, key: str) -> int:
    return sum(run.stats.get(f"pressarchive/stored/{key}", 0) for run in runs)


def test_sister_crawls_at_once_on_postgresql_archive_what_sqlite_does(tmp_path, postgres_url):
    family = SiteFamily(300, seed=4, shared=0.5, sister_variants=True)
    lite = tmp_path / "archive.sqlite"
    started = dt.datetime.now(dt.timezone.utc)
    with FamilyServer(family) as server:
        first = crawl_both(None, tmp_path, server, postgres_url)
        crawl_both(lite, tmp_path, server, None)
        pg = Archive(postgres_url)
        try:
            assert content(pg) == sqlite_content(lite)
            assert len(content(pg)) == family.count
            assert stored(first, "new_appearance") > 30  # shared articles joined, not doubled
            # The run's times are UTC, read back as the archive's naive UTC, though the
            # crawls' time zone (and PostgreSQL's session's, PGTZ) was Berlin's.
            with pg.session() as session:
                times = session.execute(text(
                    "SELECT started_at, finished_at FROM crawl_runs")).all()
            for started_at, finished_at in times:
                assert started_at.tzinfo is None and finished_at.tzinfo is None
                assert started.replace(tzinfo=None) - dt.timedelta(seconds=2) <= started_at \
                    <= finished_at <= dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)

            # An unchanged rerun writes no article, version or appearance.
            before = pg.counts()
            rerun = crawl_both(None, tmp_path, server, postgres_url)
            assert pg.counts() == before
            assert all(run.stats.get("pressarchive/skipped/sitemap", 0) for run in rerun)
            # A snapshot of it, the password of the URL given kept out of its manifest.
            given = make_url(postgres_url)  # trust auth takes any password
            with_password = given.set(username=given.username or getpass.getuser(),
                                      password="s3cret").render_as_string(hide_password=False)
            snapshot = tmp_path / "snapshot.jsonl"
            exported = subprocess.run(
                [sys.executable, "-m", "pressarchive.cli", "export", str(snapshot),
                 "--db", with_password], cwd=ROOT, capture_output=True, text=True, timeout=120)
            assert exported.returncode == 0, exported.stderr
            assert len(snapshot.read_text("utf-8").splitlines()) == before["appearances"]
            manifest = (tmp_path / "snapshot.jsonl.manifest.json").read_text()
            assert "s3cret" not in manifest and ":***@" in manifest
            assert sum(run.stats["response_received_count"] for run in rerun) < 150

            # A day on: the new articles and the edits, as on SQLite.
            plan = family.advance()
            crawl_both(None, tmp_path, server, postgres_url)
            crawl_both(lite, tmp_path, server, None)
            assert content(pg) == sqlite_content(lite)
            after = pg.counts()
            assert after["articles"] == before["articles"] + len(plan["new"])
            assert after["versions"] >= before["versions"] + len(plan["new"]) + len(
                plan["edited"])

            # Search, and an export's query, find on PostgreSQL what they find on SQLite,
            # plain words and FTS5's syntax alike.
            lite_archive = Archive(f"sqlite:///{lite}")
            try:
                with lite_archive.session() as session:
                    headlines = session.execute(text(
                        "SELECT headline FROM versions ORDER BY id LIMIT 60")).scalars().all()
                words = sorted({w for h in headlines[::6] for w in h.split()[:2]})
                queries = words[:8] + [f'"{" ".join(headlines[0].split()[:2])}"',
                                       f"{words[0]} OR {words[1]}", f"headline: {words[2]}",
                                       f"{words[3][:3]}*"]
                for query in queries:
                    on_pg, on_lite = found(pg, query), found(lite_archive, query)
                    assert on_pg == on_lite and on_pg[0], query
                    assert count(pg, Filters(), query) == count(lite_archive, Filters(), query)
            finally:
                lite_archive.close()
        finally:
            pg.close()
    con = sqlite3.connect(lite)
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    con.close()


def held_run_locks(url: str) -> list[str]:
    """The application names of the sessions that hold a run lock on the database at url."""
    from pressarchive.storage.archive import RUN_LOCK_CLASS

    with psycopg.connect(conninfo(url)) as con:
        return [name for name, in con.execute(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a "
            "ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
            "AND l.classid = %s AND l.database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database())",
            (RUN_LOCK_CLASS,))]


def test_one_run_at_a_time_on_postgresql_and_a_killed_run_leaves_no_lock(tmp_path,
                                                                          postgres_url):
    family = SiteFamily(100, seed=5)
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "pressarchive.settings",
           "TMPDIR": str(tmp_path)}
    # Every article page answers after a second: a crawl of the site lasts some seconds.
    with FamilyServer(family, faults=Faults(seed=1, slow=1.0, slow_seconds=1.0)) as server:
        def start(site):
            return subprocess.Popen(
                [sys.executable, "-m", "scrapy", "crawl", site,
                 "-a", f"base_url={server.origins[site]}", "-s", f"ARCHIVE_URL={postgres_url}",
                 "-s", "AUTOTHROTTLE_START_DELAY=0", "-s", "AUTOTHROTTLE_MAX_DELAY=0.05",
                 "-s", "LOG_LEVEL=WARNING"],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def wait_for_locks(count, *procs):
            deadline = time.monotonic() + 60
            while len(held_run_locks(postgres_url)) < count:
                assert all(p.poll() is None for p in procs) and time.monotonic() < deadline
                time.sleep(0.05)

        first = start("arabpress")
        sister = None
        try:
            wait_for_locks(1, first)
            assert held_run_locks(postgres_url) == [
                f"pressarchive arabpress pid {first.pid} on {socket.gethostname()}"[:63]]
            second = subprocess.run(
                [sys.executable, "-m", "pressarchive.cli", "crawl", "arabpress",
                 "--db", postgres_url, "--base-url", server.origins["arabpress"]],
                cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
            # A sister site's run on the same archive is not turned away: it takes its lock.
            sister = start("saudipress")
            wait_for_locks(2, first, sister)
            assert first.poll() is None, "the first crawl ended before it could be killed"
            os.kill(first.pid, signal.SIGKILL)
        finally:
            first.wait(timeout=60)
            if sister is not None:
                sister.wait(timeout=120)
    assert second.returncode == 1, second.stderr[-2000:]
    assert "another run of arabpress is still going on this archive (pressarchive " \
        f"arabpress pid {first.pid} on" in second.stderr
    assert "already_running; 0 pages fetched" in second.stdout
    assert sister.returncode == 0
    # The server let go of the killed run's lock with its connection: the next run goes on,
    # and marks the killed one interrupted.
    deadline = time.monotonic() + 30
    while held_run_locks(postgres_url):
        assert time.monotonic() < deadline, "the killed run's lock outlived it"
        time.sleep(0.1)
    with FamilyServer(family) as server:
        after = run_crawl("arabpress", tmp_path / "none.sqlite", tmp_path,
                          base_url=server.origins["arabpress"],
                          settings={"ARCHIVE_URL": postgres_url})
    assert after.returncode == 0, after.log[-2000:]
    assert not held_run_locks(postgres_url)
    archive = Archive(postgres_url)
    try:
        with archive.session() as session:
            reasons = sorted(session.execute(text(
                "SELECT finish_reason FROM crawl_runs WHERE site = 'arabpress'")).scalars())
    finally:
        archive.close()
    assert reasons == ["already_running", "finished", "interrupted"], after.log
    assert "recorded as interrupted" in after.log


def test_a_read_only_or_unprivileged_postgresql_archive_stops_the_crawl_in_one_line(
        tmp_path, postgres_url):
    # A standby, a database set read-only, a role with SELECT alone: as SQLite's read-only
    # file, one line and exit 1, not a traceback a page and exit 0 with every page lost.
    family = SiteFamily(40, seed=6)
    name = make_url(postgres_url).database
    with FamilyServer(family) as server:
        origin = server.origins["arabpress"]
        made = run_crawl("arabpress", tmp_path / "none.sqlite", tmp_path, base_url=origin,
                         settings={"ARCHIVE_URL": postgres_url})
        assert made.returncode == 0, made.log[-2000:]
        with psycopg.connect(conninfo(SERVER), autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
        family.advance()  # something to store
        refused = subprocess.run(
            [sys.executable, "-m", "pressarchive.cli", "crawl", "arabpress",
             "--db", postgres_url, "--base-url", origin],
            cwd=ROOT, capture_output=True, text=True, timeout=300,
            env={**os.environ, "TMPDIR": str(tmp_path)})
    assert refused.returncode == 1
    problems = [line for line in refused.stderr.splitlines()
                if "ERROR" in line or "Traceback" in line]
    assert len(problems) == 1, refused.stderr[-3000:]
    assert "the archive cannot be written (cannot execute" in problems[0]
    assert "read-only transaction" in problems[0]


def test_a_run_that_loses_its_lock_takes_it_again_or_stops(tmp_path, postgres_url):
    from pressarchive.storage.archive import RUN_LOCK_CLASS, _run_lock_keys

    family = SiteFamily(150, seed=5)
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "pressarchive.settings",
           "TMPDIR": str(tmp_path)}
    site_key = _run_lock_keys("arabpress")["site"]
    holder = ("SELECT l.pid FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND "
              "l.classid = %s AND l.objid = %s AND l.database = (SELECT oid FROM pg_database "
              "WHERE datname = current_database())")
    log = tmp_path / "first.log"
    with FamilyServer(family, faults=Faults(seed=1, slow=1.0, slow_seconds=1.0)) as server, \
            psycopg.connect(conninfo(postgres_url), autocommit=True) as other:
        with open(log, "w") as out:
            first = subprocess.Popen(
                [sys.executable, "-m", "scrapy", "crawl", "arabpress",
                 "-a", f"base_url={server.origins['arabpress']}",
                 "-s", f"ARCHIVE_URL={postgres_url}", "-s", "AUTOTHROTTLE_START_DELAY=0",
                 "-s", "AUTOTHROTTLE_MAX_DELAY=0.05", "-s", "RUN_LOCK_CHECK=0.5",
                 "-s", "LOG_LEVEL=WARNING"],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=out)
        try:
            def lock_backend(not_this=None):
                deadline = time.monotonic() + 60
                while True:
                    assert first.poll() is None and time.monotonic() < deadline
                    row = other.execute(holder, (RUN_LOCK_CLASS, site_key)).fetchone()
                    if row and row[0] != not_this:
                        return row[0]
                    time.sleep(0.05)

            # Its connection ended by the server (an administrator, a restart): the run
            # takes the lock again within its check.
            backend = lock_backend()
            other.execute("SELECT pg_terminate_backend(%s, 5000)", (backend,))
            lock_backend(not_this=backend)
            # Ended again, and another run has taken the lock meanwhile: this run stops.
            backend = lock_backend()
            other.execute("SELECT pg_terminate_backend(%s, 5000), pg_advisory_lock(%s, %s)",
                          (backend, RUN_LOCK_CLASS, site_key))
            first.wait(timeout=60)
        finally:
            if first.poll() is None:
                first.kill()
                first.wait()
    text_ = log.read_text()
    assert first.returncode == 1, text_[-3000:]
    assert "the connection that held the run lock of arabpress ended; the lock is taken " \
        "again" in text_
    assert "the run lock of arabpress went with its connection, and another run holds it " \
        "now" in text_
    archive = Archive(postgres_url)
    try:
        with archive.session() as session:
            reason = session.execute(text("SELECT finish_reason FROM crawl_runs")).scalar_one()
    finally:
        archive.close()
    assert reason == "run_lock_lost"


def test_kill_9_mid_crawl_into_postgresql_then_reruns_lose_and_duplicate_nothing(
        tmp_path, postgres_url):
    # As tests/test_resume.py on SQLite: cut bodies and resets in flight, the crawl killed
    # outright once its worker has stored some, then two runs.
    family = SiteFamily(800, seed=21)
    expected = {family.article(i).url("arabpress"): family.article(i)
                for i in family.ids("arabpress")}
    archive = Archive(postgres_url)

    def stored() -> int:
        with archive.session() as session:
            return session.execute(text("SELECT count(*) FROM appearances")).scalar_one()

    try:
        with FamilyServer(family, faults=Faults(seed=3, truncated=0.05, reset=0.02)) as server:
            origin = server.origins["arabpress"]
            kill_9_midway(origin, tmp_path, {"ARCHIVE_URL": postgres_url},
                          ready=lambda: stored() >= 100)
            killed_at = stored()
            assert 0 < killed_at < len(expected), "the crawl was not killed midway"
            runs = [run_crawl("arabpress", tmp_path / "none.sqlite", tmp_path, base_url=origin,
                              settings={"ARCHIVE_URL": postgres_url}) for _ in range(2)]
        assert all(run.returncode == 0 for run in runs), runs[0].log[-2000:]
        with archive.session() as session:
            rows = session.execute(text(
                "SELECT a.url, v.headline, v.body FROM appearances a "
                "JOIN versions v ON v.id = a.version_id")).all()
            counts = session.execute(text(
                "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM versions)")).one()
            reasons = session.execute(text(
                "SELECT finish_reason FROM crawl_runs ORDER BY id")).scalars().all()
    finally:
        archive.close()
    urls = [url for url, _, _ in rows]
    assert len(urls) == len(set(urls)) and set(urls) == set(expected)
    assert tuple(counts) == (len(expected), len(expected))
    for url, headline, body in rows:
        assert (headline, body) == (expected[url].headline, expected[url].body_text), url
    assert reasons == ["interrupted", "finished", "finished"]


def test_commands_that_read_refuse_a_database_that_holds_no_archive(postgres_url):
    # A mistyped --db naming another database: one line, and nothing made in it.
    for args in (["runs"], ["stats"], ["export", "-"], ["failures"]):
        proc = subprocess.run([sys.executable, "-m", "pressarchive.cli", *args,
                               "--db", postgres_url], cwd=ROOT, capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 1, (args, proc.stderr)
        assert proc.stderr.strip().splitlines() == [
            f"pressarchive: the database at {postgres_url} holds no pressarchive archive (no "
            "articles table; a crawl makes one)"], (args, proc.stderr)
    with psycopg.connect(conninfo(postgres_url)) as con:
        assert con.execute("SELECT count(*) FROM information_schema.tables "
                           "WHERE table_schema = 'public'").fetchone() == (0,)


def test_search_on_postgresql_an_older_archive_indexed_when_opened_and_reindex(postgres_url):
    from research_helpers import assert_one_line_error, cli, rec

    archive = Archive(postgres_url)
    for record in (rec("budget", "الحكومة تعلن الميزانية", "قال المسؤول إن الميزانية جديدة."),
                   rec("cafes", "Cairo cafés reopen", "Owners of cafés in Cairo met."),
                   rec("other", "Weather", "Rain in Jeddah.")):
        archive.save(record)
    archive.close()
    # As an archive made before PostgreSQL kept a search index (schema 0009): no index.
    with psycopg.connect(conninfo(postgres_url), autocommit=True) as con:
        con.execute("DROP TABLE captures")  # 0011
        con.execute("DROP TABLE search_index")
        con.execute("UPDATE alembic_version SET version_num = '0009'")
    archive = Archive(postgres_url)  # upgraded when opened: its versions are indexed
    try:
        assert [h.url for h in search(archive, "حكومة")] == ["https://arabpress.com/budget"]
        assert [h.url for h in search(archive, "CAFÉS cairo")] == ["https://arabpress.com/cafes"]
    finally:
        archive.close()

    rebuilt = cli("reindex", "--db", postgres_url)
    assert rebuilt.returncode == 0 and "indexed 3 versions" in rebuilt.stderr, rebuilt.stderr
    for query, expected in (("headline: (cairo OR jeddah)", {"cafes"}),
                            ("headline: cairo OR jeddah", {"cafes", "other"})):  # as FTS5 reads it
        listed = cli("search", "--db", postgres_url, "--json", query)
        assert listed.returncode == 0, listed.stderr
        assert {json.loads(line)["url"].rsplit("/", 1)[1]
                for line in listed.stdout.splitlines()} == expected
    assert_one_line_error(cli("search", "--db", postgres_url, "^cairo"), "SQLite archives only")
    assert_one_line_error(cli("search", "--db", postgres_url, "NEAR(a b c)"),
                          "SQLite archives only")


def test_warc_captures_on_postgresql_link_every_version_and_read_again_the_same(tmp_path,
                                                                               postgres_url):
    from pressarchive import reextract

    warc = tmp_path / "warc"
    family = SiteFamily(60, seed=5)
    with FamilyServer(family) as server:
        runs = [run_crawl(site, tmp_path / "none.sqlite", tmp_path, base_url=server.origins[site],
                          settings={"ARCHIVE_URL": postgres_url, "WARC_DIR": str(warc)})
                for site in SITES]
    assert all(run.returncode == 0 for run in runs), runs[0].log[-2000:]
    archive = Archive(postgres_url)
    try:
        with archive.session() as session:
            versions, linked, sister = session.execute(text(
                "SELECT (SELECT count(*) FROM versions), "
                "(SELECT count(DISTINCT version_id) FROM captures), "
                "(SELECT count(*) FROM (SELECT version_id FROM captures WHERE version_id "
                "IS NOT NULL GROUP BY version_id HAVING count(DISTINCT site) = 2) AS shared)")).one()
        report = reextract.check(archive, warc)
    finally:
        archive.close()
    assert versions and linked == versions
    assert sister > 0  # a sister site's identical copy is linked to the version it shares
    assert report.counts == {reextract.SAME: versions}


def test_a_sqlite_archive_rebuilt_from_its_warc_records_into_postgresql(tmp_path, postgres_url):
    """``reextract --into`` a PostgreSQL database: the archive the crawls made on SQLite, read
    again from its WARC records (a way to move an archive kept as WARC to a server)."""
    from conftest import archive_content as content, recorded_runs as runs_of
    from test_rebuild import crawl_days

    db, warc = tmp_path / "archive.sqlite", tmp_path / "warc"
    crawl_days(db, warc, tmp_path, days=1, articles=50)
    proc = subprocess.run([sys.executable, "-m", "pressarchive.cli", "reextract", "--db",
                           str(db), "--warc-dir", str(warc), "--into", postgres_url],
                          cwd=ROOT, capture_output=True, text=True, env={**os.environ, **BERLIN})
    assert proc.returncode == 0, proc.stderr
    before, rebuilt = content(f"sqlite:///{db}"), content(postgres_url)
    assert before["versions"] and any(c[4] == 304 for c in before["captures"])
    for table in ("articles", "versions", "appearances", "captures", "pages"):
        assert rebuilt[table] == before[table], table
    assert [(r.site, r.mode, r.finish_reason) for r in runs_of(postgres_url)] == [
        (site, "reextract", "finished") for site in sorted(SITES)]
    # and once more into it: refused, in a line, the rebuilt archive as it was
    again = subprocess.run([sys.executable, "-m", "pressarchive.cli", "reextract", "--db",
                            str(db), "--warc-dir", str(warc), "--into", postgres_url],
                           cwd=ROOT, capture_output=True, text=True)
    assert again.returncode == 1 and "is not empty" in again.stderr, again.stderr
    assert content(postgres_url) == rebuilt


def test_a_writer_stuck_holding_the_write_lock_is_an_archive_that_cannot_be_written(
        postgres_url, monkeypatch):
    """Another writer's transaction left open (a stuck sister crawl) held the archive's write
    lock, and the ingest worker waited for it for good (a soak: the crawl never ended). It
    waits as long as SQLite's writers do (WRITER_LOCK_WAIT, here 1 s), then its batch is
    one the archive cannot take, which stops the crawl (archive_unwritable); the lock's wait
    alone is bounded, not the transaction's statements."""
    from test_ingest import fetched

    from pressarchive.ingest import Ingester
    from pressarchive.storage import archive as archive_module

    monkeypatch.setattr(archive_module, "WRITER_LOCK_WAIT", 1)
    family = SiteFamily(40, seed=2)
    items = [fetched(family, i) for i in range(family.count)
             if "arabpress" in family.sites_of(i)][:6]
    ingester = Ingester(Archive(postgres_url))
    assert [o.key for o in ingester.ingest(items[:3])] == ["new_article"] * 3
    stuck = psycopg.connect(conninfo(postgres_url))
    try:
        stuck.execute("SELECT pg_advisory_xact_lock(%s)", (archive_module.WRITER_LOCK,))
        started = time.monotonic()
        outcomes = ingester.ingest(items[3:])
        waited = time.monotonic() - started
    finally:
        stuck.rollback()
        stuck.close()
    assert 1 <= waited < 10
    assert {o.kind for o in outcomes} == {"unsaved"}
    assert all("lock timeout" in o.message for o in outcomes), outcomes[0].message
    # the lock released, the same batch is saved, and the session's own setting is back
    assert [o.key for o in ingester.ingest(items[3:])] == ["new_article"] * 3
    with ingester.archive.session() as session:
        assert session.execute(text("SHOW lock_timeout")).scalar() == "0"
    ingester.archive.close()


def test_a_crawl_blocked_on_its_database_ends_in_bounded_time(tmp_path, postgres_url):
    """The crawl state's table locked by another session that never lets go (as a server
    that stops answering does, to every query): the crawl's process and its worker
    waited for good, SIGTERM unheard. After STALL_TIMEOUT (here 3 s) it ends, exit 1, with
    one line naming the stall (the worker's, or the crawl process's own, blocked in its
    query: then it exits at once and the next run records it as interrupted); with the lock
    gone, the next run completes the archive."""
    from conftest import archive_content

    family = SiteFamily(1500, seed=13)
    expected = sum(1 for i in range(family.count) if "arabpress" in family.sites_of(i))
    with FamilyServer(family) as server:
        origin = server.origins["arabpress"]
        cmd = [sys.executable, "-m", "pressarchive.cli", "crawl", "arabpress", "--db",
               postgres_url, "--base-url", origin, "-s", "STALL_TIMEOUT=3",
               "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2"]
        env = {**os.environ, "TMPDIR": str(tmp_path)}
        crawl = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        with psycopg.connect(conninfo(postgres_url)) as other:
            deadline = time.monotonic() + 120
            while True:
                assert time.monotonic() < deadline and crawl.poll() is None
                try:
                    if other.execute("SELECT count(*) FROM appearances").fetchone()[0] > 150:
                        break
                except psycopg.errors.UndefinedTable:
                    pass
                other.rollback()
                time.sleep(0.05)
            other.rollback()
            # One table (every batch writes its pages' crawl state): a lock on two, taken one
            # after the other, could meet the worker holding the second (a deadlock, which
            # PostgreSQL broke by failing this session: a CI run's find).
            other.execute("LOCK TABLE pages IN ACCESS EXCLUSIVE MODE")
            locked = time.monotonic()
            try:
                out, log = crawl.communicate(timeout=120)
            finally:
                if crawl.poll() is None:
                    crawl.kill()
                    crawl.wait()
            waited = time.monotonic() - locked
            other.rollback()
        assert crawl.returncode == 1, log[-3000:]
        assert waited < 60, waited
        assert ("the crawl has not moved for" in log
                or "the ingest worker has finished no batch in" in log), log[-3000:]
        time.sleep(1)  # a killed worker's connection gone
        again = subprocess.run(cmd[:-4], cwd=ROOT, env=env, capture_output=True, text=True,
                               timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    assert len(archive_content(postgres_url)["appearances"]) == expected
