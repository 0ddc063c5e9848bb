"""The researchers' commands: search, show, export, stats, serve and reindex."""

from __future__ import annotations

import json
import shutil
import socket
import sqlite3
import sys
import time
import unicodedata
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import click

from .query import HELP as QUERY_HELP


def _user_error(message: str) -> click.ClickException:
    # Imported late: pressarchive.cli imports this module to register the commands.
    from ..cli import UserError

    return UserError(message)


@contextmanager
def user_errors() -> Iterator[None]:
    """The mistakes a user can make, and the archive's own failures, as one line each."""
    from sqlalchemy.exc import SQLAlchemyError

    from .export import ExportError
    from .filters import FilterError
    from .query import QueryError
    from .show import NotFound
    from .stats import StatsError

    try:
        yield
    except (QueryError, FilterError, NotFound, ExportError, StatsError) as exc:
        raise _user_error(str(exc)) from None
    except SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise _user_error(f"archive error: {detail}") from None
    except BrokenPipeError:
        # `pressarchive export - | head`: the reader left; nothing went wrong here.
        sys.stderr.close()
        sys.exit(0)


def db_url(db: str | None) -> str:
    """--db as a database URL (every command's): a URL is taken as it is, anything else as a
    SQLite file; $ARCHIVE_URL when absent."""
    from ..storage.archive import archive_url  # late: sqlalchemy is not needed for --help

    return archive_url(db)


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL (None for other databases)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from ..storage.archive import sqlite_file

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise _user_error(f"not a database URL: {url}") from None
    if parsed.get_backend_name() != "sqlite":
        return None
    file = sqlite_file(parsed)
    if file is None:
        raise _user_error("an in-memory database holds no archive: give a file with --db")
    return Path(file)


def open_archive(db: str | None):
    """The archive to read, upgraded to the current schema. A SQLite file must exist and be
    an archive: reading never creates an empty one, nor adds tables to a stranger's file."""
    from ..storage import Archive

    url = db_url(db)
    path = sqlite_path(url)
    if path is not None:
        if not path.exists():
            raise _user_error(f"no archive at {path} (give one with --db or $ARCHIVE_URL)")
        if path.is_dir():
            raise _user_error(f"{path} is a directory, not an archive")
        try:
            # closing(): sqlite3's own context manager commits but does not close, and an
            # open read-only connection would keep the -wal and -shm files from going away.
            with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con:
                tables = {r[0] for r in con.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as exc:
            raise _user_error(f"cannot read {path}: {exc}") from None
        if "articles" not in tables:
            raise _user_error(f"{path} is not a pressarchive archive (it has no articles table)")
    from alembic.util import CommandError

    from ..storage.archive import hide_passwords, holds_archive

    with user_errors():
        try:
            # A server's database likewise: a mistyped --db naming another database got the
            # archive's tables made in it (a README walk-through's find).
            if path is None and not holds_archive(url):
                raise _user_error(f"the database at {hide_passwords(url)} holds no pressarchive "
                                  "archive (no articles table; a crawl makes one)")
            return Archive(url)
        except CommandError as exc:  # a revision this pressarchive does not know
            raise _user_error(f"cannot upgrade the archive's schema: {exc} (is it from a "
                              "newer pressarchive?)") from None
        except ImportError as exc:  # postgresql:// without its driver installed, say
            raise _user_error(f"cannot open the archive: {exc} (the database's driver is "
                              "not installed)") from None


def db_option(f: Callable) -> Callable:
    return click.option(
        "--db", metavar="PATH|URL",
        help="The archive: a SQLite file or an SQLAlchemy URL "
             "(default: $ARCHIVE_URL, else sqlite:///pressarchive.sqlite).")(f)


def filter_options(f: Callable) -> Callable:
    options = [
        click.option("--site", multiple=True,
                     help="Only articles seen on this site (repeat, or separate with commas)."),
        click.option("--since", metavar="DATE",
                     help="Published on or after DATE: YYYY-MM-DD, YYYY-MM, YYYY or an ISO "
                          "time. Articles whose page states no date count from when the "
                          "archive first saw them."),
        click.option("--until", metavar="DATE",
                     help="Published up to and including DATE (a whole month for YYYY-MM); "
                          "same fallback as --since."),
        click.option("--section", help="Only this section (case-insensitive)."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def make_filters(site: tuple[str, ...], since: str | None, until: str | None,
                 section: str | None):
    from .filters import Filters

    with user_errors():
        return Filters.make(site, since, until, section)


def _width(text: str) -> int:
    """Terminal cells: combining marks (harakat) take none, wide characters two."""
    return sum(0 if unicodedata.combining(c) else
               2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _fit(text: str, cells: int) -> str:
    text = " ".join(text.split())
    if _width(text) <= cells:
        return text + " " * (cells - _width(text))
    out, used = [], 0
    for char in text:
        w = _width(char)
        if used + w > cells - 1:
            break
        out.append(char)
        used += w
    return "".join(out) + "…" + " " * (cells - 1 - used)


@click.command(help=f"""Full-text search, best first (bm25, headline weighted highest): one row
per article, in its latest matching version.

\b
{QUERY_HELP}

--since/--until filter on the date the page states, else on when the archive first saw the
article; the DATE column marks the latter with `*` (JSON: "date_source": "first_seen").
A word so common that more than 10,000 versions match is ranked 10,000 matches at a time,
the most recent first, unless --exhaustive.
Prints a table, or with --json one JSON object per line.

Example: pressarchive search "الحكومة المصرية" --site arabpress --since 2021-08-01""")
@click.argument("query", nargs=-1, required=True)
@filter_options
@click.option("--limit", "-n", type=click.IntRange(1, 10_000), default=20, show_default=True,
              help="At most this many articles.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--snippets", "-s", is_flag=True, help="A line of matching text under each row.")
@click.option("--exhaustive", is_flag=True,
              help="Rank every match at once, however many (slower for very common words).")
@db_option
def search(query: tuple[str, ...], site, since, until, section, limit: int, as_json: bool,
           snippets: bool, exhaustive: bool, db: str | None) -> None:
    from .search import search as run_search

    filters = make_filters(site, since, until, section)
    archive = open_archive(db)
    try:
        with user_errors():
            hits = run_search(archive, " ".join(query), limit=limit, filters=filters,
                              exhaustive=exhaustive)
            if not hits.ranked_all:
                click.echo(f"{hits.matched:,} versions match: ranked {hits.window:,} at a time, "
                           "the most recent first (--exhaustive ranks all at once)", err=True)
            if as_json:
                for hit in hits:
                    click.echo(json.dumps(hit.to_dict(), ensure_ascii=False))
            else:
                _table(hits, snippets)
    finally:
        archive.close()


def _table(hits: list, snippets: bool) -> None:
    if not hits:
        click.echo("no articles match", err=True)
        return
    columns = shutil.get_terminal_size((100, 24)).columns
    sites_width = min(22, max(4, *(len(",".join(h.sites)) for h in hits)))
    id_width = max(2, *(len(str(h.article_id)) for h in hits)) + 1
    fixed = id_width + 1 + 11 + 1 + sites_width + 1
    headline_width = max(20, columns - fixed - 1)
    click.echo(click.style(f"{'ID':>{id_width}} {'DATE':<11} {'SITE':<{sites_width}} HEADLINE",
                           bold=True))
    for hit in hits:
        date = (hit.date or "")[:10] + ("*" if hit.date_source == "first_seen" else " ")
        click.echo(f"{'#' + str(hit.article_id):>{id_width}} {date:<11} "
                   f"{_fit(','.join(hit.sites), sites_width)} "
                   f"{_fit(hit.headline, headline_width).rstrip()}")
        if snippets and hit.snippet:
            click.echo(click.style(" " * (fixed) + _fit(hit.snippet, headline_width).rstrip(),
                                   dim=True))
    if any(h.date_source == "first_seen" for h in hits):
        click.echo("* the page states no date: when the archive first saw the article",
                   err=True)


@click.command()
@click.argument("ref", metavar="ID|URL")
@click.option("--json", "as_json", is_flag=True, help="Everything as one JSON object.")
@click.option("--no-body", is_flag=True, help="Leave out the latest version's full text.")
@db_option
def show(ref: str, as_json: bool, no_body: bool, db: str | None) -> None:
    """An article: its appearances, its versions with what changed, and its dates' sources.

    ID|URL is the article's number (as search prints it) or any URL it was seen at, in any
    spelling that canonicalizes to it (tracking parameters, trailing slash, fragment).

    Example: pressarchive show 42   (or: pressarchive show https://arabpress.com/some-slug)
    """
    from .show import render, show as load

    archive = open_archive(db)
    try:
        with user_errors():
            view = load(archive, ref)
        if as_json:
            click.echo(json.dumps(view, ensure_ascii=False, indent=2))
        else:
            click.echo(render(view, style=click.style, full=not no_body))
    finally:
        archive.close()


@click.command()
@click.argument("output", metavar="OUTPUT")
@click.option("--format", "fmt", type=click.Choice(["json", "jsonl", "csv"]),
              help="Default: from OUTPUT's extension (.json, .jsonl/.ndjson, .csv).")
@filter_options
@click.option("--query", "-q", help="Only records whose version matches this search query.")
@click.option("--bom", is_flag=True,
              help="CSV: start with a UTF-8 byte-order mark (Excel then reads Arabic right).")
@db_option
def export(output: str, fmt: str | None, site, since, until, section, query: str | None,
           bom: bool, db: str | None) -> None:
    """Export one record per appearance (site + URL) with the version it last showed.

    Records carry the record contract's fields (docs/record.md) plus article_id, version_id,
    first_seen, last_seen, times_seen and, when a crawl kept the page as WARC, warc_file,
    warc_offset and warc_length (its record). JSON is one array, JSON Lines one record a line,
    CSV one row a record with lists as JSON text; CSV cells that a spreadsheet would run as
    formulas (starting with = + - @, a tab or a carriage return) get a leading apostrophe.
    Memory stays flat at any size. Beside OUTPUT goes OUTPUT.manifest.json: command, filters,
    counts, date range, schema and extractor versions and the file's sha256. OUTPUT "-"
    writes to standard output, without a manifest.

    Example: pressarchive export snapshot.csv --bom --site arabpress --since 2021
    """
    from .export import export as run_export, guess_format, iter_records, write

    filters = make_filters(site, since, until, section)
    with user_errors():
        fmt = guess_format(output if output != "-" else "-.jsonl", fmt)
    archive = open_archive(db)
    command = ["pressarchive", *sys.argv[1:]]
    try:
        with user_errors():
            if output == "-":
                from .export import _Sink

                write(iter_records(archive, filters, query), _Sink(sys.stdout.buffer), fmt,
                      bom=bom)
                sys.stdout.flush()
                return
            with _progress(archive, filters, query) as progress:
                manifest = run_export(archive, output, fmt, filters=filters, query=query,
                                      bom=bom, command=command, progress=progress)
        click.echo(f"wrote {counted(manifest['records'], 'record')} "
                   f"({counted(manifest['articles'], 'article')}) to "
                   f"{output}, sha256 {manifest['sha256'][:16]}…; manifest "
                   f"{output}.manifest.json", err=True)
    finally:
        archive.close()


@contextmanager
def _progress(archive: Any, filters: Any, query: str | None) -> Iterator[Any]:
    """A progress bar on a terminal's stderr; nothing (and no counting query) otherwise."""
    if not sys.stderr.isatty():
        yield None
        return
    from .export import count

    total = count(archive, filters, query)
    with click.progressbar(length=total, label="exporting", file=sys.stderr,
                           show_eta=True) as bar:
        yield bar.update


@click.command()
@filter_options
@click.option("--json", "as_json", is_flag=True, help="Everything as one JSON object.")
@click.option("--plot", type=click.Path(dir_okay=False), metavar="FILE.png",
              help="Also draw articles per day to a PNG (needs the `plot` extra).")
@click.option("--days", type=click.IntRange(0), default=14, show_default=True,
              help="Days listed in the text output (the latest ones; --json has all).")
@db_option
def stats(site, since, until, section, as_json: bool, plot: str | None, days: int,
          db: str | None) -> None:
    """Counts by site, by day (published and first seen) and by section, and how many
    articles have each field (published_at, summary, related, authors, ...).

    Example: pressarchive stats --site arabpress --plot per-day.png
    """
    from .stats import plot as draw, stats as count_all

    filters = make_filters(site, since, until, section)
    archive = open_archive(db)
    try:
        with user_errors():
            result = count_all(archive, filters)
            if plot:
                draw(result, plot)
        if as_json:
            click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        else:
            _print_stats(result, days)
        if plot:
            click.echo(f"plot written to {plot}", err=True)
    finally:
        archive.close()


def _print_stats(r: dict[str, Any], days: int) -> None:
    bold = lambda text: click.style(text, bold=True)  # noqa: E731
    click.echo(f"{r['articles']} articles, {r['versions']} versions, {r['appearances']} "
               f"appearances; {r['changed_articles']} changed, {r['multi_site_articles']} "
               "on several sites")
    click.echo(bold("\nBy site"))
    click.echo(f"  {'site':<20} {'articles':>10} {'appearances':>12}")
    for site, n in r["by_site"].items():
        click.echo(f"  {site:<20} {n['articles']:>10} {n['appearances']:>12}")
    click.echo(bold("\nBy section"))
    for section, n in list(r["by_section"].items())[:20]:
        click.echo(f"  {_fit(section, 30)} {n:>8}")
    if len(r["by_section"]) > 20:
        click.echo(f"  … {len(r['by_section']) - 20} more (--json lists all)")
    all_days = sorted(set(r["by_day_published"]) | set(r["by_day_first_seen"]))
    click.echo(bold("\nBy day") + f" (the latest {min(days, len(all_days))} of {len(all_days)})")
    click.echo("  day           published  first seen")
    for day in all_days[-days:] if days else []:
        click.echo(f"  {day:<12} {r['by_day_published'].get(day, 0):>10} "
                   f"{r['by_day_first_seen'].get(day, 0):>11}")
    click.echo(bold("\nField coverage") + " (latest version of each article)")
    for name, c in r["coverage"].items():
        click.echo(f"  {name:<14} {c['share']:>7.1%}  {c['articles']:>8} articles")


@click.command()
@click.option("--port", type=click.IntRange(1, 65535), default=8001, show_default=True)
@db_option
def serve(port: int, db: str | None) -> None:
    """Browse the archive in Datasette on 127.0.0.1, with full-text search (normalized as in
    `pressarchive search`) on the versions table and canned queries: search, articles on
    several sites, changed articles, the latest version of every article.

    Needs the `serve` extra (pip install -e '.[serve]' in the checkout). Ctrl-C stops it.

    Example: pressarchive serve --db pressarchive.sqlite --port 8001
    """
    try:
        import datasette  # noqa: F401
    except ImportError:
        raise _user_error("serve needs Datasette: pip install -e '.[serve]' in the checkout") \
            from None
    from .serve import serve as run

    path = sqlite_path(db_url(db))
    if path is None:
        raise _user_error("serve needs a SQLite archive (Datasette reads SQLite files)")
    open_archive(db).close()  # checks the file and brings its schema up to date
    # uvicorn reports a busy port as a log line and exits: find out first, and say so.
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise _user_error(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from None
    click.echo(f"serving {path} at http://127.0.0.1:{port}/ (Ctrl-C stops)", err=True)
    try:
        run(path, port)
    except KeyboardInterrupt:
        pass


@click.command()
@db_option
def reindex(db: str | None) -> None:
    """Rebuild the full-text search index from every version (after a normalizer change, or
    to compact it). Safe to run while no crawl writes; one transaction.

    Example: pressarchive reindex --db pressarchive.sqlite
    """
    from .index import rebuild

    archive = open_archive(db)
    try:
        if archive.engine.dialect.name not in ("sqlite", "postgresql"):
            raise _user_error("the search index needs a SQLite or PostgreSQL archive")
        started = time.perf_counter()
        with user_errors():
            count = rebuild(archive.engine)
        click.echo(f"indexed {count} versions in {time.perf_counter() - started:.1f}s", err=True)
    finally:
        archive.close()


COMMANDS = (search, show, export, stats, serve, reindex)


def counted(n: int, noun: str) -> str:
    """``n`` and ``noun``, plural unless ``n`` is 1: "1 record", "2 records"."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")
