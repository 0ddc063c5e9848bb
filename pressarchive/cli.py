"""The ``pressarchive`` command: thin commands over the Python API."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import click

from . import __version__


class UserError(click.ClickException):
    """One line on stderr and exit 1, never a traceback."""

    def show(self, file=None) -> None:  # noqa: ANN001
        click.echo(f"pressarchive: {self.message}", err=True)


@click.group()
@click.version_option(__version__, prog_name="pressarchive")
def main() -> None:
    """Crawl, archive and query the Arab Press family of news sites."""


@main.command()
@click.argument("page", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--url", required=True, help="The page's public URL.")
@click.option("--site", help="Site profile (default: from the URL's host).")
@click.option("--fetched-at", help="When the page was fetched, ISO 8601 (default: now).")
def extract(page: str, url: str, site: str | None, fetched_at: str | None) -> None:
    """Print the article record of a saved page as one JSON object.

    Pages that are not articles, or fail validation, print the reason on stderr and exit 1.

    Example: pressarchive extract page.html --url https://arabpress.com/some-slug
    """
    from .extract import ExtractError, extract as extract_page, validate

    try:
        data = sys.stdin.buffer.read() if page == "-" else Path(page).read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {page}: {exc.strerror}") from None
    try:
        record = extract_page(data, url, fetched_at, site=site)
        validate(record)
    except ExtractError as exc:
        raise UserError(f"{page}: {exc}") from None
    except ValueError as exc:
        raise UserError(str(exc)) from None
    click.echo(json.dumps(record.to_dict(), ensure_ascii=False, indent=2))


@main.command()
@click.option("--db", "db", default="demo.sqlite", show_default=True, type=click.Path(),
              help="SQLite file to create (an existing one is replaced).")
def demo(db: str) -> None:
    """Crawl the bundled local copy of the sites into a fresh archive and show what it holds.

    Example: pressarchive demo --db demo.sqlite
    """
    from contextlib import ExitStack

    from .crawl import LOCAL_SETTINGS, run_spiders
    from .localsite import serving, site_roots
    from .storage import Archive

    path = Path(db)
    for leftover in (path, Path(f"{db}-wal"), Path(f"{db}-shm")):
        leftover.unlink(missing_ok=True)
    url = f"sqlite:///{path.resolve()}"
    from .storage import archive_problem

    if problem := archive_problem(url):  # a folder that does not exist, say: one line
        raise UserError(problem)
    with ExitStack() as stack:
        servers = {site: stack.enter_context(serving(site, root))
                   for site, root in site_roots().items()}
        for site, server in servers.items():
            click.echo(f"serving the local copy of {site} at {server.origin}", err=True)
        stats = run_spiders([(site, {"base_url": s.origin}) for site, s in servers.items()],
                            ARCHIVE_URL=url, LOG_LEVEL="WARNING", **LOCAL_SETTINGS)
    archive = Archive(url)
    click.echo(f"archive: {path}")
    for site, crawl in zip(servers, stats):
        drops = {k.rsplit("/", 1)[1]: v for k, v in crawl.items()
                 if k.startswith("pressarchive/dropped/")}
        click.echo(f"{site}: {crawl.get('response_received_count', 0)} pages fetched, "
                   f"{crawl.get('pressarchive/extracted', 0)} articles extracted, "
                   f"{crawl.get('pressarchive/not_article', 0)} other pages, "
                   f"dropped {drops or 'none'}")
    counts = archive.counts()
    click.echo(f"{counts['articles']} articles, {counts['versions']} versions, "
               f"{counts['appearances']} appearances")
    for rec in archive.records():
        date = (rec["published_at"] or "-")[:10]
        click.echo(f"  #{rec['article_id']:<3} {rec['site']:<10} {date:<10} {rec['headline'][:70]}")
    archive.close()


@main.command()
@click.argument("sites", nargs=-1, required=True)
@click.option("--db", help="Archive: a SQLite file or an SQLAlchemy URL (default $ARCHIVE_URL "
              "or pressarchive.sqlite).")
@click.option("--base-url", "base_urls", multiple=True,
              help="Crawl a copy of the site instead: URL, or SITE=URL for several sites "
                   "(repeat the option, or separate them with commas).")
@click.option("--full", is_flag=True, help="Fetch every page again (FULL_RECHECK).")
@click.option("--budget", type=int, default=0,
              help="Stop once this many pages are fetched (those already asked for still "
                   "come in); the next run goes on.")
@click.option("--time-budget", type=float, default=0,
              help="Stop after this many seconds (the next run goes on).")
@click.option("--since", help="Back-fill: only sitemap entries modified on or after this day.")
@click.option("--until", help="Back-fill: only sitemap entries modified on or before this day.")
@click.option("--warc", "warc_dir", type=click.Path(file_okay=False),
              help="Keep every response as WARC in this folder, each archived page linked "
                   "to its record (WARC_DIR).")
@click.option("--frontier", metavar="REDIS_URL",
              help="Share each site's crawl with other processes (machines) through this "
                   "Redis database: this run leads it (FRONTIER_URL).")
@click.option("--helper", is_flag=True,
              help="With --frontier: help the lead run of each site instead, fetching what "
                   "its frontier holds (FRONTIER_HELPER).")
@click.option("--log-level", default="WARNING", show_default=True)
@click.option("-s", "--set", "overrides", multiple=True, metavar="NAME=VALUE",
              help="A Scrapy or pressarchive setting for every run, as scrapy crawl's -s "
                   "(STATS_FILE=..., JOBDIR=..., LASTMOD_AHEAD_REVISIT=...); it wins over "
                   "the options above. The archive is --db's.")
def crawl(sites, db, base_urls, full, budget, time_budget, since, until, warc_dir,
          frontier, helper, log_level, overrides) -> None:
    """Crawl sites into the archive (what scheduled runs call), then print each run's summary.

    Incremental unless --full: only what is new or may have changed is fetched. Exits 1 if a
    run did not finish (its summary says why: a run that read nothing of its site while its
    requests failed is ``site_unreadable``; a page or time budget reached is no failure).

    Example: pressarchive crawl arabpress saudipress --db /var/lib/pressarchive/archive.sqlite

    Shared by several machines: on one, pressarchive crawl arabpress --db postgresql://host/db
    --frontier redis://host:6379/0; on the others, the same with --helper.
    """
    from .crawl import run_spiders

    try:
        given = _settings_given(overrides, sites)
        if warc_dir:  # as -s WARC_DIR=..., which wins if given too
            given = {"WARC_DIR": warc_dir, **given}
        if frontier or helper:  # likewise
            given = {**({"FRONTIER_URL": frontier} if frontier else {}),
                     **({"FRONTIER_HELPER": True} if helper else {}), **given}
        jobs, settings = _crawl_jobs(sites, db, base_urls, since, until, given)
    except UserError as exc:  # the stats file a scheduler reads says so, not the last run's
        _refused(overrides, sites, exc.message)
        raise
    settings.update({"LOG_LEVEL": log_level, "FULL_RECHECK": full,
                     "CLOSESPIDER_PAGECOUNT": budget, "CLOSESPIDER_TIMEOUT": time_budget})
    if any("127.0.0.1" in b or "localhost" in b
           for b in (args.get("base_url", "") for _, args in jobs)):
        from .crawl import LOCAL_SETTINGS

        settings.update(LOCAL_SETTINGS)
    settings.update(given)
    from .crawl import run_failed, run_reason

    ended = run_spiders(jobs, **settings)
    ids = [stats.get("pressarchive/run_id") for stats in ended]
    try:
        # never an archive made where the crawl's went (moved or deleted meanwhile)
        with research.user_errors():
            research.open_archive(settings["ARCHIVE_URL"]).close()
            failed = _print_runs(settings["ARCHIVE_URL"], ids=[i for i in ids if i is not None])
    except click.ClickException as exc:  # UserError (of pressarchive.cli, not of __main__)
        raise UserError(f"the crawl's runs cannot be read back ({exc.message})") from None
    for (site, _), stats, run_id in zip(jobs, ended, ids):
        if run_id is None:  # stopped before its run was recorded (another run going, say)
            click.echo(f"{site}: no run recorded ({run_reason(stats) or 'not started'})")
            failed += run_failed(stats)
    if failed:
        sys.exit(1)


def _crawl_jobs(sites, db, base_urls, since, until,
                given: dict[str, str]) -> tuple[list[tuple[str, dict]], dict[str, Any]]:
    """The crawl command's jobs ((site, spider arguments)) and the archive's setting, every
    option checked, and the archive opened: a one-line UserError for any mistake."""
    from .commands.crawl import crawl_mistake
    from .crawl import project_settings
    from .storage import archive_problem

    _known_sites(sites)
    if twice := sorted({s for s in sites if sites.count(s) > 1}):
        raise UserError(f"{', '.join(twice)} named twice: one run of a site at a time")
    bases: dict[str, str] = {}
    for value in (part.strip() for given_url in base_urls for part in given_url.split(",")):
        if not value:  # a stray comma: nothing given, not "no base URL" (the real site)
            continue
        site, _, url = value.partition("=") if "=" in value.split("://")[0] else ("", "", value)
        if not url:
            raise UserError(f"--base-url {value}: no URL given")
        if not site and len(sites) > 1:
            raise UserError("with several sites, give --base-url as SITE=URL")
        if site and site not in sites:  # else that site's real one would be crawled
            raise UserError(f"--base-url {value}: {site} is not among the sites crawled "
                            f"({', '.join(sites)})")
        bases[site or sites[0]] = url
    args = {}
    for key, value in (("since", since), ("until", until)):
        if value:
            try:
                args[key] = dt.date.fromisoformat(value).isoformat()
            except ValueError:
                raise UserError(f"--{key} must be a date, YYYY-MM-DD, not {value!r}") from None
    url = research.db_url(db)
    if problem := crawl_mistake(args, project_settings(given)) or archive_problem(url):
        raise UserError(problem)
    jobs = [(site, {**args, **({"base_url": bases[site]} if site in bases else {})})
            for site in sites]
    return jobs, {"ARCHIVE_URL": url}


def _known_sites(sites: tuple[str, ...]) -> None:
    """A one-line UserError naming any of ``sites`` that is no known site."""
    from .sites import SITES

    if unknown := [s for s in sites if s not in SITES]:
        raise UserError(f"unknown site {', '.join(unknown)}; known: {', '.join(sorted(SITES))}")


def _refused(overrides: tuple[str, ...], sites: tuple[str, ...], problem: str) -> None:
    """A refused crawl's STATS_FILE (the last ``-s STATS_FILE=``, each known site's own)
    says it did not start; one that cannot be written says so in one line more."""
    from .crawl import write_not_started
    from .sites import SITES

    stats_file = next((value for name, _, value in (o.partition("=") for o in reversed(overrides))
                       if name.strip() == "STATS_FILE"), None)
    for site in dict.fromkeys(s for s in sites if s in SITES):
        path = stats_file.replace("{site}", site) if stats_file else None
        try:
            write_not_started(path, problem)
        except OSError as exc:
            click.echo(f"pressarchive: STATS_FILE {path} could not be written "
                       f"({exc.strerror or exc})", err=True)


def _settings_given(overrides: tuple[str, ...], sites: tuple[str, ...]) -> dict[str, str]:
    """``-s NAME=VALUE`` options as settings (strings, as Scrapy's own ``-s`` gives them,
    read by the settings' get* methods); a one-line error for anything else. A STATS_FILE or
    JOBDIR for several sites must name ``{site}``: one file or folder for all, the runs
    wrote over each other's stats and shared a request queue (one of them fetched almost
    nothing, and said nothing of it: a review's find)."""
    given: dict[str, str] = {}
    for override in overrides:
        name, equals, value = override.partition("=")
        name = name.strip()
        if not equals or not name:
            raise UserError(f"-s {override}: give a setting as NAME=VALUE")
        if name == "ARCHIVE_URL":
            raise UserError("-s ARCHIVE_URL: give the archive with --db (it is checked "
                            "before the crawl starts)")
        given[name] = value
    from .crawl import PER_SITE_SETTINGS

    for name in PER_SITE_SETTINGS:  # the value that wins, the last given
        value = given.get(name)
        if value and len(set(sites)) > 1 and "{site}" not in value:
            raise UserError(f"-s {name}: with several sites, name {{site}} in it (one each), "
                            f"as in {name}={value}-{{site}}")
    return given


def _print_runs(url: str, limit: int | None = None, ids: list[int] | None = None) -> int:
    """Print the latest runs (or those ``ids``), oldest first; return how many did not
    finish, or finished with pages an error of ours kept out of the archive, or with
    responses not kept as WARC."""
    from sqlalchemy import select

    from .crawl import FINISHED, INGEST_ERROR, WARC_ERROR
    from .storage import Archive
    from .storage.archive import hide_passwords
    from .storage.models import CrawlRun

    query = select(CrawlRun).order_by(CrawlRun.id.desc())
    query = query.where(CrawlRun.id.in_(ids)) if ids is not None else query.limit(limit)
    archive = Archive(url)
    with archive.session() as session:
        runs = list(reversed(session.scalars(query).all()))
    archive.close()
    missing = sorted(set(ids or ()) - {run.id for run in runs})
    for run_id in missing:  # the archive replaced meanwhile, say
        click.echo(f"run #{run_id} is not in the archive at {hide_passwords(url)} (moved, "
                   "deleted or replaced during the crawl?)", err=True)
    for run in runs:
        errors = ", ".join(f"{k} {v}" for k, v in sorted(run.errors.items())) or "none"
        click.echo(f"run #{run.id} {run.site} {run.mode} {run.started_at:%Y-%m-%d %H:%M}: "
                   f"{run.finish_reason or 'running'}; {run.pages_fetched} pages fetched, "
                   f"{run.new} new, {run.appeared} at new URLs, {run.changed} changed, "
                   f"{run.unchanged} unchanged, {run.not_modified} not modified, "
                   f"{run.dropped} dropped, {run.failed} failed (errors: {errors})")
    return len(missing) + sum(1 for r in runs
                              if r.finish_reason not in FINISHED or r.errors.get(INGEST_ERROR)
                              or r.errors.get(WARC_ERROR))


@main.command()
@click.option("--db", help="Archive: a SQLite file or an SQLAlchemy URL.")
@click.option("--limit", default=20, show_default=True)
def runs(db, limit) -> None:
    """List the latest crawl runs with what each fetched, added and dropped.

    Example: pressarchive runs --db archive.sqlite --limit 5
    """
    archive = research.open_archive(db)  # one line for a missing archive or a stranger's file
    archive.close()
    _print_runs(archive.url, limit)


@main.command()
@click.option("--db", help="Archive: a SQLite file or an SQLAlchemy URL.")
@click.option("--site", help="Only this site's URLs.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1_000_000))
def failures(db, site, limit) -> None:
    """List the URLs whose last fetches failed, latest first: how many runs in a row, the
    last error (http_503, timeout, truncated, soft_404, not_a_sitemap, ingest_error: and the
    exception of a page an error of pressarchive's kept out...), when, and what the URL was
    asked for as. The next run tries each again, up to 5 runs in a row; past
    that it is "given up" (a sitemap or link that leads to it still brings it back).

    Example: pressarchive failures --db archive.sqlite --site arabpress
    """
    from sqlalchemy import func, select

    from .storage.crawlstate import MAX_FAILURES
    from .storage.models import Page

    _known_sites((site,) if site else ())
    archive = research.open_archive(db)  # one line for a missing archive or a stranger's file
    query = select(Page.site, Page.url, Page.failures, Page.last_error, Page.last_failed,
                   Page.role).where(Page.failures > 0)
    if site:
        query = query.where(Page.site == site)
    try:
        with archive.session() as session:
            total = session.scalar(select(func.count()).select_from(query.subquery()))
            rows = session.execute(query.order_by(Page.last_failed.desc(), Page.id.desc())
                                   .limit(limit)).all()
    finally:
        archive.close()
    sites_width = max((len(row.site) for row in rows), default=0)
    error_width = max((len(row.last_error or "-") for row in rows), default=0)
    for row in rows:
        when = f"{row.last_failed:%Y-%m-%d %H:%M}" if row.last_failed else "-"
        # Past the limit, "given up", with no count: a failure another try will not mend (a
        # 410) is recorded at the limit at once, and its count says nothing of runs.
        if row.failures >= MAX_FAILURES:
            state, runs = "given up", ""
        else:
            state, runs = "retried", research.counted(row.failures, "run")
        click.echo(f"{row.site:<{sites_width}}  {runs:<6}  {row.last_error or '-':<{error_width}}"
                   f"  {when}  {row.role or 'page':<7} {state:<8}  {row.url}")
    shown = f", the latest {len(rows):,} shown" if len(rows) < total else ""
    click.echo(f"{research.counted(total, 'failing URL')}{shown}", err=True)


@main.command()
@click.option("--db", help="Archive: a SQLite file or an SQLAlchemy URL.")
@click.option("--warc-dir", required=True, type=click.Path(file_okay=False),
              help="The folder the crawls kept their WARC files in (their WARC_DIR).")
@click.option("--site", help="Only this site's pages.")
@click.option("--into", metavar="PATH|URL",
              help="Rebuild: read every page again into this new, empty archive (a SQLite "
                   "file or an SQLAlchemy URL) instead of only comparing.")
@click.option("--show", default=20, show_default=True, type=click.IntRange(0, 1_000_000),
              help="List this many of the versions that did not come out the same (with "
                   "--into: of the records that could not be read).")
def reextract(db, warc_dir, site, into, show) -> None:
    """Read each archived version's page again from its WARC record (the newest response that
    gave it, kept by a crawl with WARC_DIR) with today's extractor, and say which come out
    the same, which differently (and in which fields), which give no record any more and
    which records cannot be read. Writes nothing. Exits 1 if a record cannot be read.

    With --into, rebuild instead: every page the archive read from a record (listings, 304s
    and drops too) is read again, in the order it was fetched, into a new archive, which
    then holds what today's extractor makes of them (a run a site, mode "reextract"). The
    archive --db is only read. Exits 1 if a record cannot be read or a page not archived.

    Example: pressarchive reextract --db archive.sqlite --warc-dir /var/lib/pressarchive/warc

    Example: pressarchive reextract --db archive.sqlite --warc-dir warc --into rebuilt.sqlite
    """
    from . import reextract as checker

    _known_sites((site,) if site else ())
    if not Path(warc_dir).is_dir():
        raise UserError(f"--warc-dir {warc_dir}: no such folder")
    archive = research.open_archive(db)  # one line for a missing archive or a stranger's file
    if into is not None:
        try:
            _rebuild(archive, warc_dir, site, into, show)
        finally:
            archive.close()
        return
    try:
        report = checker.check(archive, warc_dir, site)
    finally:
        archive.close()
    for one in report.checked[:show]:
        detail = ", ".join(one.fields) if one.fields else one.reason
        click.echo(f"{one.verdict:<10}  #{one.version_id:<6} {one.site:<10} {one.url}  {detail}")
    counts = report.counts
    total = sum(counts.values())
    click.echo(f"{research.counted(total, 'version')} read again from WARC: "
               f"{counts[checker.SAME]:,} the same, {counts[checker.CHANGED]:,} different, "
               f"{counts[checker.NO_RECORD]:,} no record, "
               f"{counts[checker.UNREADABLE]:,} unreadable", err=True)
    if counts[checker.UNREADABLE]:
        sys.exit(1)


def _no_tables(path: Path) -> bool:
    """Whether a SQLite file holds no table: empty, or a new archive whose schema another
    process is making (a second rebuild into it then waits for that, and is refused as the
    archive is no longer empty, not taken for a stranger's file)."""
    import sqlite3
    from contextlib import closing

    if path.is_file() and path.stat().st_size == 0:
        return True
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)) as con:
            return con.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
    except sqlite3.DatabaseError:
        return False  # not SQLite: open_archive says so


def _rebuild(source, warc_dir: str, site: str | None, into: str, show: int) -> None:
    """``reextract --into``: the rebuild, its runs printed as ``runs`` prints them."""
    from . import reextract as checker
    from .storage import Archive, archive_problem, archive_url
    from .storage.archive import hide_passwords

    url = archive_url(into)
    path = research.sqlite_path(url)
    if path is not None and path.exists() and not _no_tables(path):
        target = research.open_archive(url)  # a stranger's file is refused, not written to
    else:
        if path is not None and not path.parent.is_dir():
            raise UserError(f"--into {into}: no folder {path.parent}")
        if problem := archive_problem(url):
            raise UserError(problem)
        target = Archive(url)
    try:
        rebuilt = checker.rebuild(source, warc_dir, target, site)
    except checker.RebuildRefused as exc:
        raise UserError(str(exc)) from None
    except KeyboardInterrupt:
        raise UserError(f"interrupted: {hide_passwords(target.url)} holds part of the rebuild "
                        "(its runs say shutdown); remove it, and rebuild into an empty "
                        "archive") from None
    finally:
        target.close()
    for one in rebuilt.unreadable[:show]:
        click.echo(f"unreadable  {one.site:<10} {one.url}  {one.reason}")
    _print_runs(target.url, ids=sorted(rebuilt.run_ids.values()))
    counts = rebuilt.counts
    click.echo(f"{research.counted(counts['pages_fetched'], 'page')} read again from WARC into "
               f"{hide_passwords(target.url)}: {counts['new']:,} articles, "
               f"{counts['appeared']:,} more appearances, {counts['changed']:,} more versions; "
               f"{len(rebuilt.unreadable):,} unreadable", err=True)
    if not rebuilt.complete:
        sys.exit(1)


@main.command()
@click.argument("cases", nargs=-1)
@click.option("--write", is_flag=True, help="Rewrite expected.json from the extractor's output.")
def fixtures(cases: tuple[str, ...], write: bool) -> None:
    """Compare the extractor with each fixture's expected record; --write regenerates them.

    Without --write it changes nothing and exits 1 if any field differs; review the diff
    (git diff tests/fixtures) after --write before committing.

    Example: pressarchive fixtures arabpress-v1-seed --write
    """
    from .extract import ExtractError, extract as extract_page
    from .localsite import FIXTURES

    folders = sorted(p for p in (FIXTURES / "articles").iterdir() if (p / "page.html").exists())
    if cases:
        unknown = set(cases) - {p.name for p in folders}
        if unknown:
            raise UserError(f"no fixture case named {', '.join(sorted(unknown))}")
        folders = [p for p in folders if p.name in cases]
    differing = 0
    for folder in folders:
        meta = json.loads((folder / "meta.json").read_text("utf-8"))
        try:
            actual = extract_page((folder / "page.html").read_bytes(), meta["url"],
                                  meta["fetched_at"], site=meta.get("site")).to_dict()
        except ExtractError as exc:
            click.echo(f"{folder.name}: {exc}")
            differing += 1
            continue
        expected_file = folder / "expected.json"
        expected = json.loads(expected_file.read_text("utf-8")) if expected_file.exists() else {}
        fields = sorted(k for k in set(actual) | set(expected) if actual.get(k) != expected.get(k))
        if write and fields:
            expected_file.write_text(
                json.dumps(actual, ensure_ascii=False, indent=2, sort_keys=True) + "\n", "utf-8")
        for name in fields:
            differing += 1
            click.echo(f"{folder.name}: {name}: expected {json.dumps(expected.get(name), ensure_ascii=False)[:200]}")
            click.echo(f"{' ' * len(folder.name)}  {' ' * len(name)}  actual   {json.dumps(actual.get(name), ensure_ascii=False)[:200]}")
    verb = "rewritten" if write else "differ"
    click.echo(f"{research.counted(len(folders), 'case')}, "
               f"{research.counted(differing, 'field')} {verb}", err=True)
    if differing and not write:
        sys.exit(1)


@main.command("serve-site")
@click.argument("site", default="arabpress")
@click.option("--port", default=8000, show_default=True)
def serve_site(site: str, port: int) -> None:
    """Serve the bundled local copy of one site on 127.0.0.1 until interrupted.

    Example: pressarchive serve-site arabpress --port 8000  (then:
    scrapy crawl arabpress -a base_url=http://127.0.0.1:8000)
    """
    import time

    from .localsite import serving, site_roots

    roots = site_roots()
    if site not in roots:
        raise UserError(f"no local copy of {site!r}; there is: {', '.join(roots)}")
    try:
        with serving(site, roots[site], port=port) as server:
            click.echo(f"serving {site} at {server.origin} (Ctrl-C stops)")
            while True:
                time.sleep(3600)
    except OSError as exc:
        raise UserError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from None
    except KeyboardInterrupt:
        pass


from .sitegen.cli import serve_generated  # noqa: E402
main.add_command(serve_generated)
from .research import cli as research  # noqa: E402
for _command in research.COMMANDS:  # search, show, export, stats, serve, reindex
    main.add_command(_command)

if __name__ == "__main__":
    main()
