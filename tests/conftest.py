"""Shared test helpers: fixture cases, the local site copy, and real crawls in a subprocess."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
ARTICLES = FIXTURES / "articles"


@dataclass
class Case:
    name: str
    path: Path

    @property
    def meta(self) -> dict:
        return json.loads((self.path / "meta.json").read_text("utf-8"))

    @property
    def html(self) -> bytes:
        return (self.path / "page.html").read_bytes()

    @property
    def expected(self) -> dict:
        return json.loads((self.path / "expected.json").read_text("utf-8"))


def article_cases() -> list[Case]:
    return [Case(p.name, p) for p in sorted(ARTICLES.iterdir())
            if (p / "page.html").exists() and (p / "expected.json").exists()]


@dataclass
class CrawlResult:
    returncode: int
    stats: dict
    log: str


def run_crawl(spider: str, db: Path, tmp_path: Path, *, base_url: str | None = None,
              urls: list[str] | None = None, settings: dict | None = None,
              spider_args: dict | None = None, preexec_fn=None,
              env: dict | None = None) -> CrawlResult:
    """``scrapy crawl`` as a user runs it, from the project root, in its own process
    (``preexec_fn``: run in that process before it starts, to set its limits, say; ``env``:
    more environment variables)."""
    stats_file = tmp_path / f"stats-{spider}-{os.getpid()}-{len(list(tmp_path.iterdir()))}.json"
    cmd = [sys.executable, "-m", "scrapy", "crawl", spider,
           "-s", f"ARCHIVE_URL=sqlite:///{db}", "-s", f"STATS_FILE={stats_file}",
           "-s", "AUTOTHROTTLE_START_DELAY=0", "-s", "AUTOTHROTTLE_MAX_DELAY=1",
           "-s", "LOG_LEVEL=INFO"]
    if base_url:
        cmd += ["-a", f"base_url={base_url}"]
    if urls:
        cmd += ["-a", "urls=" + ",".join(urls)]
    for key, value in (spider_args or {}).items():
        cmd += ["-a", f"{key}={value}"]
    for key, value in (settings or {}).items():
        cmd += ["-s", f"{key}={value}"]
    # TMPDIR: the crawl's disk queue folder lands in the test's tmp_path, cleaned by pytest.
    extra = env or {}
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "pressarchive.settings",
           "TMPDIR": str(tmp_path)}
    env.pop("ARCHIVE_URL", None)
    env.update(extra)
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
                          preexec_fn=preexec_fn)
    stats = json.loads(stats_file.read_text()) if stats_file.exists() else {}
    return CrawlResult(proc.returncode, stats, proc.stderr)


def kill_9_midway(base_url: str, tmp_path: Path, settings: dict, ready) -> None:
    """``scrapy crawl arabpress`` of ``base_url`` with ``settings``, killed outright (kill -9)
    as soon as ``ready()`` says it is far enough in (within 120 s, the crawl still going);
    returns once its orphaned ingest worker has had time to notice and end."""
    import signal
    import time

    cmd = [sys.executable, "-m", "scrapy", "crawl", "arabpress", "-a", f"base_url={base_url}",
           "-s", "AUTOTHROTTLE_START_DELAY=0", "-s", "LOG_LEVEL=WARNING"]
    for key, value in settings.items():
        cmd += ["-s", f"{key}={value}"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "SCRAPY_SETTINGS_MODULE": "pressarchive.settings",
                                 "TMPDIR": str(tmp_path)})
    deadline = time.monotonic() + 120
    while not ready() and time.monotonic() < deadline:
        assert proc.poll() is None
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    time.sleep(1.5)  # the orphaned worker notices within half a second, and ends


@pytest.fixture
def local_sites():
    """Every bundled site copy served on its own 127.0.0.1 port: {site: SiteServer}."""
    from pressarchive.localsite import serving, site_roots

    with ExitStack() as stack:
        yield {site: stack.enter_context(serving(site, root))
               for site, root in site_roots().items()}


SERVER = os.environ.get("PRESSARCHIVE_TEST_POSTGRES", "postgresql://127.0.0.1:5432/test")


def conninfo(url: str) -> str:
    """A SQLAlchemy URL (``postgresql+psycopg://``, say) as psycopg itself takes it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def postgres_url(tmp_path):
    """A new, empty database on the PostgreSQL server, as an archive URL; dropped after the
    test. The server on 127.0.0.1:5432 (trust auth, database ``test``), or the maintenance
    database PRESSARCHIVE_TEST_POSTGRES names (a SQLAlchemy URL)."""
    import psycopg

    server = make_url(SERVER)
    name = f"pressarchive_test_{os.getpid()}_{abs(hash(str(tmp_path))) % 10**8}"
    try:
        admin = psycopg.connect(conninfo(SERVER), autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL at {SERVER} cannot be reached ({exc}); these tests run on it")
    with admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def recorded_runs(url: str) -> list:
    """The archive's crawl runs (``crawl_runs`` rows), oldest first."""
    from sqlalchemy import select

    from pressarchive.storage import Archive
    from pressarchive.storage.models import CrawlRun

    archive = Archive(url)
    try:
        with archive.session() as session:
            return list(session.scalars(select(CrawlRun).order_by(CrawlRun.id)))
    finally:
        archive.close()


def _utc(value):
    """A stored time as naive UTC, whichever engine gave it."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


def archive_content(url: str) -> dict[str, list[tuple]]:
    """What an archive holds, by value (no row ids): its articles, their versions, the places
    they were seen, the WARC records its pages are linked to, and the crawl state of the
    pages read from those records, as their responses tell it (sitemap lastmods aside)."""
    from sqlalchemy import func, select

    from pressarchive.storage import Archive
    from pressarchive.storage.models import Appearance, Article, Page, Version, WarcCapture

    archive = Archive(url)
    try:
        with archive.session() as session:
            slugs = dict(session.execute(select(Article.id, Article.slug)).all())
            prints = dict(session.execute(select(Version.id, Version.fingerprint)).all())
            return {
                "articles": sorted((a.slug, _utc(a.first_seen), _utc(a.last_seen))
                                   for a in session.scalars(select(Article))),
                "versions": sorted(
                    (slugs[v.article_id], v.fingerprint, v.headline, v.summary, v.body,
                     v.published_at, v.modified_at, tuple(v.authors), v.section,
                     v.language, _utc(v.first_seen), v.first_url, v.extractor_version)
                    for v in session.scalars(select(Version))),
                "appearances": sorted(
                    (a.site, a.url, slugs[a.article_id], prints[a.version_id],
                     _utc(a.first_seen), _utc(a.last_seen), a.times_seen, a.page_date,
                     str(a.related))
                    for a in session.scalars(select(Appearance))),
                "captures": sorted(
                    (c.site, c.url, c.requested_url, _utc(c.fetched_at), c.status, c.warc_file,
                     c.warc_offset, c.warc_length, prints.get(c.version_id))
                    for c in session.scalars(select(WarcCapture))),
                "pages": sorted(
                    (p.site, p.url, _utc(p.first_fetched), _utc(p.last_fetched), p.last_status,
                     p.etag, p.last_modified, slugs.get(p.article_id), p.failures,
                     p.unchanged_checks)
                    for p in session.scalars(select(Page).where(Page.url.in_(
                        select(func.coalesce(WarcCapture.requested_url, WarcCapture.url))
                        .where(WarcCapture.site == Page.site))))),
            }
    finally:
        archive.close()
