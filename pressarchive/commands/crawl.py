"""``scrapy crawl``, Scrapy's own, with two changes that ``pressarchive crawl`` shares:

- it exits 1 when the run did not finish (a finish reason other than ``finished`` or a page,
  item or time budget: robots.txt unavailable, an archive that cannot be written, the ingest
  worker dead, another run still going, SIGTERM...), or when pages it fetched could not be
  archived for an error of ours (``ingest_error``, a bug). Scrapy's exits 0 whatever the
  reason, so a cron job or a systemd unit that runs ``scrapy crawl`` itself would never hear
  of a run that failed;
- it opens the archive (ARCHIVE_URL), migrating it if need be, before the crawl starts: one
  that cannot be opened (a wrong path, a stranger's file, a database out of reach) is one line
  and exit 1, where the crawl would have logged a traceback from each part that uses it."""

from __future__ import annotations

import sys
from typing import Any

from scrapy.commands.crawl import Command as ScrapyCrawl

from pressarchive.crawl import run_failed, write_not_started
from pressarchive.storage import archive_problem, archive_url


class Command(ScrapyCrawl):
    crawler: Any = None

    def _create_crawler(self, *args: Any, **kwargs: Any) -> Any:
        self.crawler = super()._create_crawler(*args, **kwargs)
        return self.crawler

    def run(self, args: list[str], opts: Any) -> None:
        assert self.settings is not None and self.crawler_process is not None
        if len(args) == 1:  # else a usage error, Scrapy's to tell, with the archive untouched
            self.crawler_process.spider_loader.load(args[0])  # KeyError: no such spider
            problem = crawl_mistake(opts.spargs, self.settings) or archive_problem(
                archive_url(self.settings.get("ARCHIVE_URL")))
            if problem:
                print(f"pressarchive: {problem}", file=sys.stderr)
                write_not_started(self.settings.get("STATS_FILE"), problem)
                self.exitcode = 1
                return
        super().run(args, opts)
        if self.exitcode == 0 and self.crawler is not None:
            stats = self.crawler.stats.get_stats()
            if run_failed(stats):
                self.exitcode = 1


# The settings pressarchive's own parts read as numbers or yes/no, by how they read them (and
# the budgets, which Scrapy reads once the crawl has started): a word where a number goes was
# a traceback from each part that reads it.
WHOLE_NUMBERS = ("LASTMOD_AHEAD_RECHECK", "LASTMOD_STAMPED_MIN", "INGEST_BATCH",
                 "PAGE_MAX_BYTES", "CLOSESPIDER_PAGECOUNT", "DISK_QUEUE_MEMORY",
                 "WARC_MAX_BYTES", "WARC_GZIP_LEVEL", "FRONTIER_LEAD_TTL")
NUMBERS = ("LASTMOD_AHEAD_REVISIT", "LASTMOD_AHEAD_REVISIT_MAX", "INGEST_GAP", "INGEST_LINGER",
           "CLOSESPIDER_TIMEOUT", "RETRY_AFTER_MAX", "RUN_LOCK_CHECK", "FRONTIER_HELPER_WAIT",
           "STALL_TIMEOUT")
YES_NO = ("FULL_RECHECK", "RUN_LOCK", "RECORD_RUNS", "INGEST_PROCESS", "DISK_QUEUE",
          "TEMPORARY_JOBDIR", "ROBOTSTXT_OBEY", "FRONTIER_HELPER")


def crawl_mistake(spider_args: dict[str, str], settings: Any) -> str | None:
    """A spider argument or setting the crawl would refuse once started (with a traceback,
    from Scrapy's event loop), told before it starts, in one line."""
    import math

    from pressarchive.ingest import scheduling_policy
    from spiders.family import window_day

    try:
        for name in ("since", "until"):
            window_day(spider_args.get(name), name)
        scheduling_policy(settings.get("INGEST_SCHEDULING", "batch"))
    except ValueError as exc:
        return str(exc)
    for names, read, kind in ((WHOLE_NUMBERS, settings.getint, "a whole number"),
                              (NUMBERS, settings.getfloat, "a number"),
                              (YES_NO, settings.getbool, "1/0, True/False")):
        for name in names:
            try:
                value = read(name)
            except (TypeError, ValueError):
                value = math.nan
            if isinstance(value, float) and not math.isfinite(value):
                return f"{name} must be {kind}, not {settings.get(name)!r}"
    from pressarchive import frontier

    return warc_dir_problem(settings.get("WARC_DIR")) or frontier.problem(spider_args, settings)


def warc_dir_problem(folder: str | None) -> str | None:
    """Why WARC files cannot be written in ``folder`` (WARC_DIR), in a line; None when they
    can, or none are to be (the folder is made if need be). Every response of the crawl is to
    be kept there: a crawl that could keep none is not started."""
    import tempfile
    from pathlib import Path

    if not folder:
        return None
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        return f"WARC_DIR {folder}: cannot write there ({exc.strerror or exc})"
    return None
