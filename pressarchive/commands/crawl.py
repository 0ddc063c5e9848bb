"""``scrapy crawl``, Scrapy's own, except that it exits 1 when the run did not finish (a finish
reason other than ``finished`` or a page or time budget: robots.txt unavailable, an archive that
cannot be written, the ingest worker dead, another run still going, SIGTERM...), as
``pressarchive crawl`` does. Scrapy's exits 0 whatever the reason, so a cron job or a systemd
unit that runs ``scrapy crawl`` itself would never hear of a run that failed."""

from __future__ import annotations

from typing import Any

from scrapy.commands.crawl import Command as ScrapyCrawl

from pressarchive.crawl import FINISHED


class Command(ScrapyCrawl):
    crawler: Any = None

    def _create_crawler(self, *args: Any, **kwargs: Any) -> Any:
        self.crawler = super()._create_crawler(*args, **kwargs)
        return self.crawler

    def run(self, args: list[str], opts: Any) -> None:
        super().run(args, opts)
        if self.exitcode == 0 and self.crawler is not None:
            reason = self.crawler.stats.get_value("finish_reason")
            if reason not in FINISHED:
                self.exitcode = 1
