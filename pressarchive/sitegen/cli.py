"""The ``pressarchive serve-generated`` command: serve a generated site family until Ctrl-C."""

from __future__ import annotations

import datetime as dt

import click


def _parse_faults(specs: tuple[str, ...], seed: int):
    from .server import Faults

    values: dict[str, object] = {"seed": seed}
    known = [n for n in Faults.names() if n != "seed"]
    for spec in specs:
        name, sep, raw = spec.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or name not in known:
            raise ValueError(f"--fault {spec!r}: expected NAME=VALUE with NAME one of "
                             f"{', '.join(known)}")
        try:
            if name == "faults_on_all":
                values[name] = raw.strip().lower() in ("1", "true", "yes", "on")
            elif name == "targets":
                values[name] = tuple(t.strip() for t in raw.split(",") if t.strip())
            else:
                values[name] = float(raw)
        except ValueError:
            raise ValueError(f"--fault {spec!r}: {raw!r} is not a number") from None
    return Faults(**values) if len(values) > 1 else None


@click.command("serve-generated")
@click.option("--articles", default=1000, show_default=True, type=click.IntRange(10, 300_000),
              help="How many articles the family starts with.")
@click.option("--seed", default=0, show_default=True, help="Seed of the site and of its faults.")
@click.option("--shared", default=0.3, show_default=True, type=click.FloatRange(0, 1),
              help="Fraction of articles carried by every sister site.")
@click.option("--start", default="2025-06-20", show_default=True,
              help="The first day (YYYY-MM-DD).")
@click.option("--port-base", type=click.IntRange(1, 65000), default=None,
              help="Site k listens on PORT_BASE+k (default: free ports).")
@click.option("--crawl-delay", type=float, default=None, help="Crawl-delay for robots.txt.")
@click.option("--no-robots", "no_robots", is_flag=True,
              help="Answer /robots.txt with 404, as a site without one.")
@click.option("--no-sitemap-index", "no_sitemap_index", is_flag=True,
              help="Name each monthly sitemap in robots.txt, as a site without an index.")
@click.option("--sister-variants", "sister_variants", is_flag=True,
              help="A shared article's copy on its sister site ends with a line of its own "
                   "(same story, another body).")
@click.option("--lastmods-now", "lastmods_now", is_flag=True,
              help="Every sitemap lastmod is the time the sitemap was asked for, as on a "
                   "site that makes its sitemaps on each request.")
@click.option("--lastmod-zone", "lastmod_zone", type=click.FloatRange(-12, 14), default=None,
              metavar="HOURS", help="Write sitemap lastmods as the local time of the zone "
                                    "HOURS east of UTC, with no offset, as many sites do.")
@click.option("--gzip-sitemaps", "gzip_sitemaps", is_flag=True,
              help="The sitemap index names each month's sitemap as a gzip'd .xml.gz file.")
@click.option("--fault", "faults", multiple=True, metavar="NAME=VALUE",
              help="A fault probability or setting, e.g. error_5xx=0.1, timeout_seconds=3, "
                   "targets=/a,/b (only those pages; repeatable).")
def serve_generated(articles: int, seed: int, shared: float, start: str, port_base: int | None,
                    crawl_delay: float | None, no_robots: bool, no_sitemap_index: bool,
                    sister_variants: bool, lastmods_now: bool, lastmod_zone: float | None,
                    gzip_sitemaps: bool, faults: tuple[str, ...]) -> None:
    """Serve a generated Arab Press / Saudi Press family on 127.0.0.1 until interrupted.

    The same --articles and --seed always give the same sites. POST /__advance__?days=1 to any
    port moves the sites one day on (new and edited articles); GET /__state__ tells the day.

    Faults: --fault error_5xx=0.1 --fault timeout=0.02 (see Faults in pressarchive/sitegen).

    Example: pressarchive serve-generated --articles 1000 --port-base 8100
    """
    import time

    from ..cli import UserError  # here, not at import: pressarchive.cli imports this module
    from .model import SiteFamily
    from .server import FamilyServer

    try:
        day = dt.date.fromisoformat(start)
    except ValueError:
        raise UserError(f"--start {start!r} is not a date (YYYY-MM-DD)") from None
    try:
        fault_config = _parse_faults(faults, seed)
        family = SiteFamily(articles, seed=seed, shared=shared, start=day,
                            sister_variants=sister_variants)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    try:
        server = FamilyServer(family, fault_config, port_base=port_base, crawl_delay=crawl_delay,
                              robots=not no_robots, sitemap_index=not no_sitemap_index,
                              lastmods_at=_now if lastmods_now else None,
                              lastmod_zone=lastmod_zone, gzip_sitemaps=gzip_sitemaps)
    except OSError as exc:
        where = f"ports {port_base}-{port_base + len(family.sites) - 1}" if port_base else "a port"
        raise UserError(f"cannot listen on 127.0.0.1 ({where}): {exc.strerror or exc}") from None
    try:
        with server:
            for site, origin in server.origins.items():
                click.echo(f"{site} {origin}")
            click.echo(f"{articles} articles, seed {seed}, day {family.today}; Ctrl-C stops",
                       err=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass


def _now() -> dt.datetime:
    """The time, to the second, for ``--lastmods-now``."""
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
