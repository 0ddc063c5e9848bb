"""One spider per site of the Arab Press family: same code, another site profile."""

from __future__ import annotations

import datetime as dt
import hashlib
from functools import partial
from pathlib import Path
from typing import Any, AsyncIterator, Iterable, NoReturn
from urllib.parse import SplitResult, urlsplit

from protego import Protego
from parsel import Selector
from scrapy import Request, Spider, signals
from scrapy.exceptions import (CannotResolveHostError, CloseSpider,
                               DownloadConnectionRefusedError, DownloadFailedError,
                               DownloadTimeoutError, IgnoreRequest, ResponseDataLossError)
from scrapy.http import HtmlResponse, Response, TextResponse, XmlResponse
from scrapy.linkextractors import IGNORED_EXTENSIONS
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.gz import gzip_magic_number
from scrapy.utils.misc import build_from_crawler, load_object
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots

from pressarchive import frontier
from pressarchive.crawl import shared_archive, write_archive
from pressarchive.extract.links import PageLinks, SiteLinks, read_links
from pressarchive.extract.template import reaches_end
from pressarchive.fetched import FetchedPage, FetchFailure
from pressarchive.lastmods import as_recent, last_modified as read_last_modified
from pressarchive.lastmods import stamped as one_stamp, vouches
from pressarchive.sites import get_site
from pressarchive.storage import crawlstate
from pressarchive.urls import UrlHashes
from spiders.middlewares import robots_fetched, within_domains
from spiders.queues import remove_jobdir, temporary_jobdir
from spiders.sitemaps import (SitemapBody, TextSitemap, UnreadableBody, ends_whole,
                              read_body, whole_entries)

# The suffixes Scrapy's LinkExtractor skips (images, PDFs, archives…): not pages. Links are
# read in one pass over the page's <a>, <link> and <base> elements (read_links), not with
# LinkExtractor, which cost more per page than our whole extraction.
ASSET_SUFFIXES = frozenset("." + ext for ext in IGNORED_EXTENSIONS)
# Request priorities (Scrapy's: higher goes first). Discovery before bulk: sitemaps and feeds
# first, so that every article they list is known (with its lastmod) before links lead to it;
# then the home page and what pages that are not articles (sections, listings and their
# pagination, tags) link to, so that a listing's chain of pages, each found only once the one
# before it is read, runs alongside the articles instead of after them; articles last.
DISCOVERY_PRIORITY = 20
HUB_PRIORITY = 10
# An article the archive holds, asked for again (its lastmod changed, a link leads to it):
# after the pages it has never seen, so that a run under a page budget spends it
# on what is new first. Against sitemaps stamped with the time they were made, every known
# article is asked for again each run, and budgeted runs spent their budget on them, never
# finishing the archive (a helper's soak: 807 of 1,280 articles after ten runs of 400 pages).
RECHECK_PRIORITY = -1
# Root elements (local names) of what a sitemap or a feed is, to read a URL whose kind is not
# known (parse_any).
SITEMAP_ROOTS = frozenset({"sitemapindex", "urlset"})
FEED_ROOTS = frozenset({"rss", "feed", "RDF"})
# 4xx answers that another try will not mend; 408 and 429 are worth retrying.
PERMANENT_STATUSES = set(range(400, 500)) - {408, 429}


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


class FamilySpider(Spider):
    """Discovers pages the ways the site offers: sitemaps named in robots.txt, feeds, the home
    page and listings with their pagination, and links on article pages (related headlines).

    Incremental by default: a sitemap entry whose ``lastmod`` is what the archive recorded when
    it last stored that page is not fetched; a known page reached by a link is fetched with
    ``If-Modified-Since``/``If-None-Match``; pagination stops at a listing page that links to
    nothing new. ``-s FULL_RECHECK=1`` fetches every page again, unconditionally.

    Arguments: ``base_url`` points the spider at a copy of the site (``http://127.0.0.1:8000``);
    ``urls`` (comma-separated) fetches just those pages; ``since``/``until`` (YYYY-MM-DD)
    back-fill a window: only sitemap entries last modified in it, and no link following.
    """

    name = ""  # a base: only the site spiders below are listed

    site_slug = "arabpress"

    def __init__(self, base_url: str | None = None, urls: str | None = None,
                 since: str | None = None, until: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.site = get_site(self.site_slug)
        self.base_url = (base_url or self.site.origin).rstrip("/")
        self.only_urls = [u.strip() for u in (urls or "").split(",") if u.strip()]
        self.since, self.until = window_day(since, "since"), window_day(until, "until")
        copy = urlsplit(self.base_url)
        self.allowed_domains = [copy.hostname or ""] if base_url else [
            self.site.host, "www." + self.site.host]
        # A copy's port, when its base_url names one: sister sites served on one machine
        # differ by port alone (on_site).
        self.copy_port = _port(copy) if base_url and copy.port else None
        # Where links lead: pages of this site, as the copy's canonical URLs (URLLENGTH_LIMIT
        # is applied once the settings are known, in from_crawler).
        self.links = SiteLinks(self.base_url, self.site.origin, asset_suffixes=ASSET_SUFFIXES)
        self.windowed = bool(self.since or self.until)
        # The first and last days a back-fill's sitemap entries gave as lastmods (for the
        # word at the end of one whose window took none).
        self.lastmod_days: tuple[str, str] | None = None
        # Pages already asked for in this run: their links need no second look (the same set
        # Scrapy's duplicate filter keeps, but checked before the state lookup and the request).
        self.asked = UrlHashes()
        self.crawl_delay: float | None = None  # from robots.txt, applied by a middleware
        self.known = UrlHashes()  # the URLs the archive knew at the start
        # Sitemaps this run read in full (local URL -> their validators), remembered when the
        # run finishes, so that the next one may ask for them conditionally; but not those
        # with an entry that gave neither a record nor a failure to retry (see page_unsettled).
        self.sitemaps_read: dict[str, tuple[str | None, str | None]] = {}
        self.unsettled_sitemaps: set[str] = set()
        # Pages fetched this run that gave neither (listings, "not found" pages served with
        # 200, pages cut short...), by the local URL asked for, and the entries a sitemap
        # listed whose page a link had asked for first (local URL -> that sitemap, and the
        # entry's lastmod, recorded with the page at the end of the run: remember_sitemaps).
        self.unsettled = UrlHashes()
        self.listed_after: dict[str, tuple[str, str | None]] = {}
        # Known pages a sitemap read in full passed over as unchanged whose recorded lastmod or
        # sitemap it does not match (local URL -> that sitemap, the entry's lastmod, and the
        # lastmod and sitemap recorded): recorded at the end of a finished run
        # (remember_sitemaps), so that each page names the sitemap that lists it now. And the
        # sitemaps answered 304 (public URLs): only a page whose sitemap is among them is
        # settled by it (_settled_by_sitemap).
        self.relisted: dict[str, tuple[str, str, str | None, str | None]] = {}
        self.sitemaps_unchanged: set[str] = set()
        # The articles whose own URL a sitemap read in full passed over as unchanged, and the
        # lastmod it gave them ("" when two of its URLs gave different ones): their other URLs
        # are settled with them (_settled_by_sitemap).
        self.passed_over: dict[int, str] = {}
        self.passed = UrlHashes()  # the URLs a sitemap passed over as unchanged in this run
        # Sitemap requests made and answered (read, answered 304, or failed), and whether one
        # failed: once every sitemap is read or answered 304, a known article a link leads to
        # is settled by its sitemap (see _settled_by_sitemap).
        self.sitemaps_asked = self.sitemaps_answered = 0
        self.sitemap_failed = False
        self.sitemap_urls: set[str] = set()  # those asked for (sitemap_request), local
        # Last runs' failures asked for again first thing (local URLs, read by parse_any),
        # what became of each (True: read as a sitemap), and those the sitemap index lists
        # whose outcome is still awaited: a sitemap among them counts as one of the run's
        # (sitemaps_done) without being asked for twice (_retried_sitemap).
        self.retrying: set[str] = set()
        self.retried: dict[str, bool] = {}
        # What those were asked for as when they failed ("sitemap" or "feed"), where the
        # crawl state knows: an HTML answer to one is a failure again, not a page (parse_any).
        # And those whose failure this run has already given (one a run is counted).
        self.retry_roles: dict[str, str] = {}
        self.failed_again: set[str] = set()
        # Sitemaps and feeds whose failures reached MAX_FAILURES, no longer retried (local
        # URLs): read as what they are, their failure is cleared (_recovered_after_giving_up).
        self.given_up: set[str] = set()
        # Those read this time as the sitemap or feed they are: no record of theirs clears
        # their failure (a page's does), so forget_recovered does (local URLs).
        self.recovered: set[str] = set()
        self.awaiting_retry: set[str] = set()
        # Known articles that links or the feed led to while sitemaps were still being read
        # (local URL -> crawl state, priority): they wait for the last sitemap, which may
        # settle them (_hold).
        self.held: dict[str, tuple[Any, int]] = {}
        # Set by the archive pipeline when it opens: it parses every page anyway, so it reads
        # and resolves their links too, and hands them to ``follow_links``; otherwise the
        # spider reads them itself.
        self.links_from_pipeline = False
        # Whether the site's validators have followed its edits (read when the run starts):
        # then a page whose sitemap lastmods run ahead of it is asked for conditionally.
        self.trusts_validators = False
        self.run_number = 0  # the site's runs recorded (this one among them): whose turn it is
        self.ahead_recheck = 7  # LASTMOD_AHEAD_RECHECK
        self.ahead_revisit = 20.0  # LASTMOD_AHEAD_REVISIT, hours
        self.ahead_revisit_max = 160.0  # LASTMOD_AHEAD_REVISIT_MAX, hours
        self.stamped_min = 20  # LASTMOD_STAMPED_MIN
        # Pages asked for before a stamped sitemap listed them (a link led to them first),
        # by their URLs' hashes, with the sitemap's stamp (one string a sitemap): their
        # fetches, if not answered yet, count as stamped all the same (_stamped, which
        # takes them out).
        self.stamped_late: dict[int, str] = {}
        self.revisit_epoch = crawlstate.REVISIT_EPOCH  # LASTMOD_AHEAD_REVISIT_EPOCH
        # Pages checked (fetched, or answered 304) at these times or later (naive UTC, by how
        # many checks in a row found them unchanged, and at the longest wait by their id:
        # crawlstate.revisit_thresholds) are not due (_not_due); None: every page is.
        # And the pages found not due in this run.
        self.checked_since: crawlstate.Revisit | None = None
        self.not_due = UrlHashes()
        self.not_due_articles: set[int] = set()  # their articles

    @classmethod
    def update_settings(cls, settings) -> None:
        super().update_settings(settings)
        if settings.get("FRONTIER_URL"):  # requests wait in the shared frontier, in Redis
            frontier.apply(settings)
        elif not settings.get("JOBDIR") and settings.getbool("DISK_QUEUE"):
            # Pending requests wait on disk (Scrapy's own disk queues), not in memory, so a
            # crawl's memory stays flat however large the site. The folder lasts one run.
            settings.set("JOBDIR", temporary_jobdir(), priority="spider")
            settings.set("TEMPORARY_JOBDIR", True, priority="spider")

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any):
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.full = crawler.settings.getbool("FULL_RECHECK")
        spider.ahead_recheck = crawler.settings.getint("LASTMOD_AHEAD_RECHECK",
                                                       spider.ahead_recheck)
        spider.ahead_revisit = max(0.0, crawler.settings.getfloat("LASTMOD_AHEAD_REVISIT",
                                                                  spider.ahead_revisit))
        spider.ahead_revisit_max = max(0.0, crawler.settings.getfloat(
            "LASTMOD_AHEAD_REVISIT_MAX", spider.ahead_revisit_max))
        spider.stamped_min = crawler.settings.getint("LASTMOD_STAMPED_MIN", spider.stamped_min)
        epoch = crawler.settings.get("LASTMOD_AHEAD_REVISIT_EPOCH")
        if epoch:
            try:
                spider.revisit_epoch = crawlstate.stored_time(str(epoch))
            except ValueError:
                raise ValueError("LASTMOD_AHEAD_REVISIT_EPOCH must be an ISO 8601 time, not "
                                 f"{epoch!r}") from None
        crawler.signals.connect(spider.forget_recovered, signal=signals.spider_closed)
        crawler.signals.connect(spider.remember_sitemaps, signal=signals.spider_closed)
        crawler.signals.connect(spider.window_unmet, signal=signals.spider_closed)
        crawler.signals.connect(spider.page_unsettled, signal=signals.item_dropped)
        crawler.signals.connect(spider.page_unsettled, signal=signals.item_error)
        crawler.signals.connect(spider.release_on_idle, signal=signals.spider_idle)
        spider.links.max_length = crawler.settings.getint("URLLENGTH_LIMIT", 2083) or 10**9
        if crawler.settings.getbool("TEMPORARY_JOBDIR"):
            jobdir = crawler.settings.get("JOBDIR")
            crawler.signals.connect(lambda: remove_jobdir(jobdir),
                                    signal=signals.engine_stopped, weak=False)
        elif crawler.settings.get("JOBDIR"):
            crawler.signals.connect(spider.end_job, signal=signals.spider_closed)
        return spider

    def on_site(self, url: SplitResult) -> bool:
        """Whether a URL (a redirect's target) is on the site being crawled: on one of
        ``allowed_domains`` (or below it) and, on a copy whose base_url names a port, on that
        port. The copies of sister sites share 127.0.0.1, each on its own port: by host
        alone, a Saudi Press article's redirect to its Arab Press copy was followed and
        stored under a raw local URL, and that page's links asked of the wrong site, failing
        (a helper's soak). The real sites differ by name, and stay refused."""
        if not within_domains(url, self.allowed_domains):
            return False
        try:
            return self.copy_port is None or _port(url) == self.copy_port
        except ValueError:  # a port out of range
            return False

    def end_job(self, reason: str) -> None:
        """A JOBDIR of the user's (``-s JOBDIR=...``, to pause and resume) after a run that
        finished: nothing is left to resume, so the requests it saw are forgotten and the next
        run under it starts afresh. Kept, Scrapy's duplicate filter read them back and dropped
        every start request (robots.txt aside): a later run fetched nothing and reported
        ``finished``, a day's news left out (a helper's soak: a Ctrl-C that came after the
        run had ended, then a resume; or a JOBDIR left in a cron line). A run stopped before
        its end (Ctrl-C, a budget) keeps them, and its queue, to be resumed. Runs after the
        scheduler closed, which wrote them (Scrapy closes it before spider_closed)."""
        if reason != "finished":
            return
        seen = Path(self.settings["JOBDIR"]) / "requests.seen"
        try:
            seen.unlink(missing_ok=True)
        except OSError as exc:
            self.logger.error("the finished run's requests in %s could not be forgotten (%s): "
                              "the next run under it would fetch nothing; remove it", seen, exc)
        else:
            self.logger.info("JOBDIR %s: the run finished, its requests are forgotten; the "
                             "next run under it starts afresh", self.settings["JOBDIR"])

    # -- discovery -----------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        # robots.txt before anything else: its Crawl-delay must hold from the first request,
        # it names the sitemaps, and a site that cannot answer for it is not crawled at all.
        sitemaps = await self.read_robots()
        if self.only_urls:
            for url in self.only_urls:
                yield self.request(self._local(url), dont_filter=True, follow=False)
            return
        archive = shared_archive(self.crawler)
        with archive.engine.connect() as connection:
            # Enough to skip looking up the state of a URL the archive has never seen (most
            # of them, on a first crawl).
            self.known = UrlHashes(crawlstate.known_urls(connection, self.site.slug))
        with archive.session() as session:
            failing = list(crawlstate.failing_urls(session, self.site.slug))
            self.given_up = {self._local(url)
                             for url in crawlstate.given_up_urls(session, self.site.slug)}
            self.trusts_validators = crawlstate.validators_follow_edits(session, self.site.slug)
            self.run_number = crawlstate.runs_of(session, self.site.slug)
        if self.ahead_revisit and not self.full:
            self.checked_since = crawlstate.revisit_thresholds(
                crawlstate.stored_time(now()), self.ahead_revisit, self.ahead_revisit_max,
                self.revisit_epoch)
        if frontier.is_helper(self.settings):
            # A helper of a shared crawl: what it fetches comes from the frontier, which the
            # lead's start requests and every page's links fill (pressarchive.frontier).
            return
        self.crawler.stats.set_value("pressarchive/retrying_failed", len(failing))
        for url, role in failing:  # what the last runs could not fetch: pages, sitemaps, feeds
            self.retrying.add(local := self._local(url))
            if role:
                self.retry_roles[local] = role
            # A back-fill follows no link, a failed page's no more than a sitemap entry's.
            yield self.request(local, callback=self.parse_any, follow=not self.windowed)
        named = list(dict.fromkeys(self._local(url) for url in sitemaps)) or [
            self.base_url + "/sitemap.xml"]
        # A sitemap robots.txt names is asked for conditionally when a finished run read it
        # in full (remember_sitemaps): a set of URLs, not an index, which is never
        # remembered and so read every time (it names the sitemaps that may be new).
        # Made (and counted: sitemaps_asked) before the home page is asked for: Scrapy may
        # parse the home page before it takes this generator's next request, and its links
        # wait for the sitemaps only once some are counted (_hold).
        states = self._states(named)
        later: list[Any] = []
        for url in named:
            if url in self.retrying:  # asked for above: a second request would be dropped
                self.sitemap_urls.add(url)
                if failure := self._retried_sitemap(url):
                    later.append(failure)
            else:
                later.append(self.sitemap_request(url, states.get(url)))
        if not self.windowed:  # a back-fill reads the sitemaps' window, not the news of today
            yield self.request(self.base_url + "/", priority=HUB_PRIORITY, waited_on=True)
        for request_or_failure in later:
            yield request_or_failure

    async def read_robots(self) -> list[str]:
        """Fetch robots.txt (through the downloader middlewares, so politely, and retried),
        note its Crawl-delay and return the sitemaps it names.

        A site that cannot answer for its robots.txt (a 5xx or a 429 to the last retry, or
        no answer at all) counts as disallowing everything, as RFC 9309 (2.3.1.3, 2.3.1.4)
        says: the run stops here, before anything else is asked for, with the reason
        ``robots_unavailable``, and the next run tries again. Scrapy's own robots.txt
        middleware would read such an answer as no rule. No robots.txt (a 4xx), or one
        refused on our side (an off-site redirect), is no rule."""
        url = self.base_url + "/robots.txt"
        try:
            # Not itself checked against robots.txt: Scrapy's middleware would fetch the file
            # first for it, twice the requests (eight for one that fails to every retry).
            response = await self.crawler.engine.download_async(
                Request(url, meta={"dont_obey_robotstxt": True}))
        except IgnoreRequest as exc:
            self.logger.info("robots.txt not read (%s); looking for /sitemap.xml", exc)
            self.crawler.signals.send_catch_log(robots_fetched, url=url, response=None)
            return []
        except Exception as exc:  # noqa: BLE001 - any failure to reach the site
            self._robots_unavailable(str(exc) or type(exc).__name__)
        if response.status >= 500 or response.status == 429:
            self._robots_unavailable(f"HTTP {response.status}")
        # The rules for every request from here on (SharedRobotsTxtMiddleware): the file is
        # not fetched again.
        self.crawler.signals.send_catch_log(robots_fetched, url=url, response=response)
        if response.status != 200 or not isinstance(response, TextResponse):
            return []
        rules = Protego.parse(response.text)
        self.crawl_delay = rules.crawl_delay(self.settings.get("USER_AGENT")) or None
        sitemaps = list(sitemap_urls_from_robots(response.body, base_url=response.url))
        agent = self.settings.get("ROBOTSTXT_USER_AGENT") or self.settings.get("USER_AGENT")
        # Judged by the parser Scrapy's robots.txt middleware will obey (ROBOTSTXT_PARSER).
        obeyed = build_from_crawler(load_object(self.settings.get("ROBOTSTXT_PARSER")),
                                    self.crawler, response.body)
        starts = [*([] if self.windowed else [self.base_url + "/"]),  # a back-fill: no home
                  *(sitemaps or [self.base_url + "/sitemap.xml"])]
        if self.settings.getbool("ROBOTSTXT_OBEY") and not self.only_urls \
                and not any(obeyed.allowed(start, agent) for start in starts):
            # "Disallow: /", say: a site that has shut the archiver out. Not a run that
            # finished with nothing to do: exit status 1 tells the scheduler, and the next run
            # asks again.
            self.crawler.stats.set_value("pressarchive/robots_forbidden", len(starts))
            self.logger.warning("robots.txt of %s disallows its home page and every sitemap: "
                                "this run fetches nothing; the next run reads it again",
                                self.site.slug)
            raise CloseSpider("robots_forbidden")
        return sitemaps

    def _robots_unavailable(self, why: str) -> NoReturn:
        self.crawler.stats.set_value("pressarchive/robots_unavailable", why)
        self.logger.warning("robots.txt of %s could not be read (%s): the site counts as "
                            "disallowing everything (RFC 9309), so this run fetches nothing; "
                            "the next run tries again", self.site.slug, why)
        raise CloseSpider("robots_unavailable")

    def sitemap_request(self, url: str, state=None) -> Request:
        """The request for the sitemap at ``url`` (local): conditional when ``state`` (its
        crawl state) says a finished run read it in full (see ``remember_sitemaps``); a 304
        then means that none of its entries changed since, so it is not read again.

        Its download time does not set AutoThrottle's pace: a sitemap is a large file whose
        time says little about how fast the site serves pages."""
        meta: dict[str, Any] = {"autothrottle_dont_adjust_delay": True}
        headers = {}
        if state is not None and not (self.full or self.windowed) and state.fetched \
                and not state.failures:
            headers = _conditional(state)
        if headers:
            meta["handle_httpstatus_list"] = [304]
        self.sitemaps_asked += 1
        self.sitemap_urls.add(url)
        return Request(url, callback=self.parse_sitemap, errback=self.on_error,
                       headers=headers, meta=meta, priority=DISCOVERY_PRIORITY)

    @property
    def sitemaps_done(self) -> bool:
        """Whether every sitemap this run asked for was read in full or answered 304 (one
        whose request was lost, a duplicate say, keeps this False: the safe side)."""
        return 0 < self.sitemaps_asked == self.sitemaps_answered and not self.sitemap_failed

    def _settled_by_sitemap(self, state) -> bool:
        """Whether a known page a link (or the feed) leads to needs no request, its sitemap
        having settled it: every sitemap is read or answered 304 (sitemaps_done), and the page
        is an article stored with the sitemap ``lastmod`` of its last fetch and no failure
        since, and the sitemap that gave that lastmod answered 304 in this run: unchanged
        since a finished run read it, when every one of its entries was settled
        (remember_sitemaps), this page's with that very lastmod (``_late_lastmods`` for a page
        a link reached first); or the page is another URL of a listed article
        (``_alias_lastmods``), which its article's own URL stands for: such a URL is settled
        as well when its sitemap, read in full in this run, passed its article's own URL over
        as unchanged with the lastmod it carries, or with one its copy is as recent as
        (``_passed_over_as_held``). A page whose sitemap
        was read in full in this run without listing it (its entry would have been asked for
        or passed over, and so never reach here) has left it: asked for, conditionally. The
        trust is the one ``_unchanged_since`` puts in a lastmod. After a day's advance, when
        every related list changes, this spares a request (a conditional one, mostly a 304)
        for each known article those lists lead to."""
        return self.sitemaps_done and self._settles_by_lastmod(state) and (
            state.sitemap in self.sitemaps_unchanged or self._passed_over_as_held(state))

    def _passed_over_as_held(self, state) -> bool:
        """Whether the page at another URL of an article holds what its article's sitemap
        entries, all passed over in this run, say it is (``passed_over``): it carries their
        lastmod, or its copy was sent with a ``Last-Modified`` no older than that lastmod (as
        ``_unchanged_since`` judges the article's own URL: a date alone is the end of that
        day, and there must be a date to tell by). The second is an alias fetched again
        after its article's edit: it keeps the lastmod it was given before the edit
        (``alias_lastmods`` gives one only to a URL that has none), and without it would be
        asked for, conditionally, by every run that reads its sitemap in full."""
        lastmod = self.passed_over.get(state.article_id)
        return bool(lastmod) and (lastmod == state.lastmod
                                  or as_recent(lastmod, state.last_modified) is True)

    def _settles_by_lastmod(self, state) -> bool:
        """The page's side of ``_settled_by_sitemap``."""
        return (not self.full and state is not None and state.fetched and not state.failures
                and state.article_id is not None and bool(state.lastmod)
                and state.sitemap is not None)

    def _settled(self, url: str, state) -> bool:
        """Whether a known page a link or the feed leads to is settled by its sitemap, or is
        another URL of an article whose own URL a sitemap left for its revisit in this run
        (``_not_due``: an upper-case spelling, say, which no sitemap lists and so none
        leaves; asked for, it cost a 304 every run). Counted, and marked decided for this
        run."""
        if state is not None and not self.full and not state.failures \
                and state.article_id in self.not_due_articles:
            self.crawler.stats.inc_value("pressarchive/skipped/article_not_due")
        elif self._settled_by_sitemap(state):
            self.crawler.stats.inc_value("pressarchive/skipped/listed")
        else:
            return False
        self.asked.add(url)
        return True

    def _settled_or_held(self, url: str, state, priority: int) -> bool:
        """Whether a page a link or the feed leads to needs no request now: settled by its
        sitemap, or waiting for the last one (``_hold``)."""
        return self._settled(url, state) or self._hold(url, state, priority)

    def _hold(self, url: str, state, priority: int) -> bool:
        """Whether a known article a link or the feed leads to waits for the sitemaps still
        being read rather than being asked for now: once they are all in, its sitemap may
        settle it, or find it not due (``_not_due``), as it would had it come first
        (``_release``). Without the wait, the links of a home page read before the last
        sitemap (every run's, on a site whose home page changes by the hour) cost a
        conditional request for every known article they lead to."""
        if self.sitemaps_done or self.sitemap_failed or not self.sitemaps_asked or self.full \
                or state is None or state.article_id is None or state.failures:
            return False
        self.held.setdefault(url, (state, priority))
        return True

    def _release(self) -> None:
        """The held articles, once every sitemap is answered (or one failed, or the crawl has
        nothing else to do): settled by their sitemap, dealt with by a sitemap read in full
        meanwhile (asked for or passed over), or asked for now."""
        held, self.held = self.held, {}
        engine = self.crawler.engine
        for url, (state, priority) in held.items():
            if url in self.asked or self._settled(url, state):
                continue
            if engine.spider is not None:
                self.crawler.stats.inc_value("pressarchive/held_asked")
                engine.crawl(self.request(url, state=state, priority=priority))

    def release_on_idle(self) -> None:
        """Scrapy's spider_idle: a sitemap whose request was lost (a duplicate) is never
        answered, so what waits for it is asked for here (the engine then has work again)."""
        if self.held:
            self._release()

    def forget_recovered(self, reason: str) -> None:
        """At the end of any run: the failures of the sitemaps and feeds that the last runs
        could not fetch and this one read (``recovered``) are cleared, as a page's are when
        it is stored. Otherwise a sitemap index that failed once (read in full every run,
        never remembered) was asked for as a failure by every run after, for good. Not when
        the archive took no write (its one ERROR line is said): they are retried again."""
        if not self.recovered or reason == "archive_unwritable":
            return
        recovered = [self.public_url(url) for url in self.recovered]
        _, failure = write_archive(self.crawler, lambda session: crawlstate.clear_failures(
            session, self.site.slug, recovered))
        if failure:  # nothing lost: they are asked for again, as failures, next run
            self.logger.error("the failures of %d sitemaps or feeds read again could not be "
                              "cleared (%s)", len(recovered), failure)

    def remember_sitemaps(self, reason: str) -> None:
        """At the end of a run that finished (every request it made was answered or given
        up, so every entry of the sitemaps it read was dealt with: stored, skipped as
        unchanged, or remembered as failed for the next run), the validators of those
        sitemaps go to the crawl state. Not after a page budget, a kill, a back-fill window
        or a list of URLs: their sitemaps are read in full next time. Nor in a crawl shared
        through a frontier, whose helpers fetched some of their entries (pressarchive.frontier).

        Nor for a sitemap with an entry whose page gave no record and no failure to retry (a
        "not found" page served with 200, a page cut short): a 304 for it next time would
        leave that entry unread, so the sitemap is read in full, and the entry fetched again
        (``_unchanged_since`` never trusts a fetch that gave no article).

        An entry whose page a link had asked for first gets its lastmod recorded with that
        page, as if the sitemap had led there (``_late_lastmods``): without it, the page
        would be asked for again by every run a link leads to it while its sitemap answers
        304. An entry passed over as unchanged gets its lastmod and sitemap recorded where
        they differ from the page's (``relisted``): a page names the sitemap that lists it
        now, whose 304 settles it (``_settled_by_sitemap``)."""
        if reason != "finished" or self.windowed or self.only_urls \
                or self.settings.get("FRONTIER_URL"):  # helpers fetched some entries
            return
        settled = self._settled_sitemaps()
        when = crawlstate.stored_time(now())
        late = {self.public_url(url): (lastmod, self.public_url(sitemap))  # as stored
                for url, (sitemap, lastmod) in self.listed_after.items()
                if lastmod and sitemap in settled and url not in self.unsettled}
        # A page listed by two sitemaps (a sitemap of recent news and a monthly one) keeps
        # the one it names while that one answers 304: it is the one that will still list it.
        relisted = {self.public_url(url): (lastmod, self.public_url(sitemap))
                    for url, (sitemap, lastmod, was, named) in self.relisted.items()
                    if sitemap in settled
                    and not (lastmod == was and named in self.sitemaps_unchanged)}

        def remember(session) -> None:
            crawlstate.note_lastmods(session, self.site.slug, relisted)
            refused = self._late_lastmods(session, late)
            # A page older than the lastmod its sitemap gives it (edited after it was
            # fetched, or served stale) keeps the lastmod of an earlier fetch, if any: were
            # its sitemap remembered, the next run would get a 304 for it, and a link to the
            # page would be settled by that older lastmod, the edit never fetched. Read in
            # full next time, the sitemap asks for the page.
            stale = {late[url][1] for url in refused}  # their sitemaps, public URLs
            if stale:
                self.logger.info("%d sitemaps not remembered: a page fetched in this run is "
                                 "older than the lastmod they give it", len(stale))
                self.crawler.stats.set_value("pressarchive/sitemaps_unsettled_lastmod",
                                             len(stale))
            crawlstate.note_fetches(session, [
                (crawlstate.Fetch(site=self.site.slug, url=public, fetched_at=when, etag=etag,
                                  last_modified=modified), None)
                for url, (etag, modified) in settled.items()
                if (public := self.public_url(url)) not in stale])
            self._alias_lastmods(session)

        _, failure = write_archive(self.crawler, remember)
        if failure:  # nothing lost: sitemaps not remembered are read in full next run
            self.logger.error("the sitemaps read could not be remembered (%s)", failure)

    def _late_lastmods(self, session, lastmods: dict[str, crawlstate.Listed]) -> set[str]:
        """Records the sitemap lastmod of pages (public URL -> lastmod, and the sitemap, public)
        that a link had led to before their sitemap listed them, where the page as fetched is
        at least that recent: an article, fetched with a ``Last-Modified`` no earlier than the
        lastmod (both the site's clock), or with none to tell by, as ``parse_page`` judges a
        page a sitemap led to. An edit made between the page's fetch and the sitemap's reading
        then leaves no lastmod it would be mistaken for. Returns the pages refused so:
        articles older than their lastmod, whose sitemaps remember_sitemaps leaves to be read
        in full, so that the next run asks for them."""
        adopted, refused = self._adopt_lastmods(session, lastmods)
        self.crawler.stats.set_value("pressarchive/lastmods_recorded_late", adopted)
        return refused

    def _alias_lastmods(self, session) -> None:
        """Gives the pages at other URLs of a listed article (another spelling of its URL,
        the first hop of a redirect: in no sitemap) the lastmod of the article's listed page,
        where the page as fetched is at least that recent (as ``_late_lastmods``). A link to
        such a URL is then settled by the article's sitemap too, instead of costing every run
        a conditional request. The archive loses nothing when it is: the page at that URL is
        the article, whose own URL its sitemap settles or asks for."""
        adopted, _ = self._adopt_lastmods(
            session, crawlstate.alias_lastmods(session, self.site.slug))
        self.crawler.stats.set_value("pressarchive/alias_lastmods", adopted)

    def _adopt_lastmods(self, session,
                        lastmods: dict[str, crawlstate.Listed]) -> tuple[int, set[str]]:
        """Records the lastmods (public URL -> lastmod, and the sitemap that gives it) of the
        articles whose last fetch is at least that recent. Returns how many, and the articles
        whose last fetch is older (a page that gave no article is no sitemap's to settle:
        page_unsettled has seen to its sitemap)."""
        states = crawlstate.page_states(session, self.site.slug, list(lastmods))
        adopted, refused = {}, set()
        for url, (lastmod, sitemap) in lastmods.items():
            state = states.get(url)
            if state is None or (state.lastmod, state.sitemap) == (lastmod, sitemap) \
                    or state.failures or not state.fetched or state.article_id is None:
                continue  # a failure is tried again; a page with no article settles nothing
            # As parse_page judges a page a sitemap led to (vouches).
            if lastmod == state.lastmod or vouches(lastmod, state.last_modified):
                adopted[url] = (lastmod, sitemap)
            else:
                refused.add(url)
        crawlstate.note_lastmods(session, self.site.slug, adopted)
        return len(adopted), refused

    def _settled_sitemaps(self) -> dict[str, tuple[str | None, str | None]]:
        """The sitemaps read in full in this run (local URL -> validators) whose entries all
        settled (see page_unsettled); the others are counted and logged."""
        unsettled = self.unsettled_sitemaps | {
            sitemap for url, (sitemap, _) in self.listed_after.items() if url in self.unsettled}
        unsettled = {url for url in unsettled if url in self.sitemaps_read}
        if unsettled:
            self.logger.info("%d sitemaps not remembered: an entry gave no article, failed, "
                             "or is older than its lastmod; they are read in full next time",
                             len(unsettled))
            self.crawler.stats.set_value("pressarchive/sitemaps_unsettled", len(unsettled))
        return {url: validators for url, validators in self.sitemaps_read.items()
                if url not in unsettled}

    def parse_sitemap(self, response: Response) -> Iterable[Request]:
        try:
            if response.status == 304:  # as a finished run read it: nothing new in it
                self.crawler.stats.inc_value("pressarchive/skipped/sitemap")
                self.sitemaps_unchanged.add(self.public_url(response.url))
                return
            try:
                sitemap, cut = self._sitemap(response)
            except UnreadableBody as exc:  # gzip'd, and too large or corrupt
                self.logger.warning("Ignoring unreadable sitemap: %s (%s)", response.url, exc)
                self.sitemap_failed = True
                yield self._failed_sitemap(_asked(response), exc.kind, str(exc))
                return
            if sitemap is not None and sitemap.type in FEED_ROOTS:
                # An RSS or Atom feed, which sitemaps.org allows as a sitemap (robots.txt
                # may name one): read as the feed is, not remembered.
                yield from self.parse_feed(response)
                return
            if sitemap is None or sitemap.type not in SITEMAP_ROOTS:
                # A maintenance page served with 200, say: a failure, as a 503 would be,
                # recorded to be asked for again next run (unconditionally) and counted in
                # the run's errors. What is cut short before it can tell (a text sitemap cut
                # in its first line) fails as cut short.
                self.logger.warning("Ignoring invalid sitemap: %s", response.url)
                self.sitemap_failed = True
                yield self._failed_sitemap(_asked(response), *(
                    ("truncated", "the body stops before anything can be read of it")
                    if cut and sitemap is None else ()))
                return
            yield from self._read_sitemap(response, sitemap, cut)
        finally:  # once its entries are all asked for or passed over
            self.sitemaps_answered += 1
            self._release_when_answered()

    def _release_when_answered(self) -> None:
        if self.held and (self.sitemaps_answered == self.sitemaps_asked or self.sitemap_failed):
            self._release()

    def _recovered_after_giving_up(self, response: Response) -> None:
        """A sitemap or feed read as one whose failures reached MAX_FAILURES (``given_up``):
        no longer retried, it is read from the index, robots.txt or a page's link, and only
        this clears its failure (forget_recovered); a month's sitemap is also cleared when a
        finished run remembers it, an index or a feed never was."""
        if self.given_up and (asked := _asked(response)) in self.given_up:
            self.recovered.add(asked)

    def _retried_sitemap(self, url: str) -> FetchFailure | None:
        """A sitemap the index (or robots.txt) lists that this run asked for already, as a
        failure of the last runs (parse_any): counted as one of the run's sitemaps, answered
        with what parse_any makes of it (read as a sitemap, or failed). Asked for again from
        the index, it would be a duplicate that Scrapy drops: never answered, it kept every
        known article a link leads to from being settled by its sitemap in that run.

        Returns a failure to record when its answer came first and was no sitemap (an HTML
        page: a maintenance page served with 200, say): stored as a page, with that page's
        validators, it would be asked for conditionally next time, and a 304 would leave the
        sitemap unread. Recorded as failed, it is asked for again, unconditionally."""
        self.sitemaps_asked += 1
        if url not in self.retried:
            self.awaiting_retry.add(url)
            return None
        self._retry_answered(self.retried[url])
        if self.retried[url] or url in self.failed_again:  # read, or its failure given
            return None
        return self._failed_sitemap(url)

    def _failed_sitemap(self, url: str, kind: str = "not_a_sitemap",
                        message: str = "a sitemap the site names answered with no sitemap"
                        ) -> FetchFailure:
        self.failed_again.add(url)
        return FetchFailure(url=self.public_url(url), site=self.site.slug, kind=kind,
                            message=message[:200], failed_at=now(), retry=True, role="sitemap")

    def _failed_feed(self, url: str, kind: str = "not_a_feed",
                     message: str = "a feed answered with no feed") -> FetchFailure:
        self.failed_again.add(url)
        return FetchFailure(url=self.public_url(url), site=self.site.slug, kind=kind,
                            message=message[:200], failed_at=now(), retry=True, role="feed")

    def _retry_role(self, url: str) -> str | None:
        """What a URL retried from the last runs is: a sitemap, as the index (or robots.txt)
        said in this run, or what its failure recorded ("sitemap", "feed"; None: a page, or
        not known)."""
        return "sitemap" if url in self.awaiting_retry else self.retry_roles.get(url)

    def _retry_done(self, url: str, read: bool) -> None:
        """What parse_any made of a URL retried from the last runs (``read``: a sitemap)."""
        self.retried[url] = read
        if url in self.awaiting_retry:
            self.awaiting_retry.discard(url)
            self._retry_answered(read)

    def _retry_answered(self, read: bool) -> None:
        self.sitemaps_answered += 1
        if not read:
            self.sitemap_failed = True
        self._release_when_answered()

    def parse_any(self, response: Response) -> Iterable[Any]:
        """A URL that the last runs could not fetch, asked for again (``start``): read as what
        it turns out to be, a page, a sitemap or a feed (a failure recorded before migration
        0007 does not say which; a page's never does). As a page only, a sitemap that had
        failed would never be read: the sitemap index does not ask for it a second time (see
        ``_retried_sitemap``).

        One known to be a sitemap (the index or robots.txt names it, or its failure was
        recorded as a sitemap's) or a feed that answers with anything else (a maintenance
        page served with 200) has failed again: stored as a page, with that page's
        validators, it would be asked for conditionally next time, and a 304 could leave it
        unread until it changed. That holds when the index failed too in this run (the whole
        site in maintenance) and names nothing."""
        asked = _asked(response)
        role = self._retry_role(asked)
        # By its body, as parse_sitemap reads a sitemap: one served as text/html is still
        # one (a page that failed, the common case, is not parsed twice for it).
        unreadable: UnreadableBody | None = None
        if role or not isinstance(response, HtmlResponse):
            try:
                sitemap, cut = self._sitemap(response)
            except UnreadableBody as exc:
                sitemap, cut, unreadable = None, False, exc
            kind = sitemap.type if sitemap is not None else None
            if (kind in SITEMAP_ROOTS or kind in FEED_ROOTS) and not cut:
                self.recovered.add(asked)  # what it is, read: its failure goes (forget_recovered)
            if kind in SITEMAP_ROOTS:
                return self._read_retried_sitemap(asked, response, sitemap, cut)
            self._retry_done(asked, kind in FEED_ROOTS)  # a feed reads as a sitemap too
            if kind in FEED_ROOTS:
                return self.parse_feed(response)
        else:
            self._retry_done(asked, False)
        why = (unreadable.kind, str(unreadable)) if unreadable else ()
        if role == "sitemap":  # no page to store: a sitemap that failed again
            return [self._failed_sitemap(asked, *why)]
        if role == "feed":
            self.crawler.stats.inc_value("pressarchive/feeds_invalid")
            return [self._failed_feed(asked, *why)]
        return self.parse_page(response)

    def _read_retried_sitemap(self, asked: str, response: Response,
                              sitemap: Sitemap | TextSitemap, cut: bool) -> Iterable[Any]:
        try:
            yield from self._read_sitemap(response, sitemap, cut)
        finally:  # once its entries are all asked for or passed over
            self._retry_done(asked, True)

    def _sitemap(self, response: Response) -> tuple[Sitemap | TextSitemap | None, bool]:
        """The response's body as Scrapy's Sitemap (its ``type``: the root element's name),
        ungzipped if need be, or as a sitemap in text (``TextSitemap``), and whether it was
        cut short (``spiders.sitemaps``); None for what neither can be made of."""
        body = self._body(response)
        try:
            sitemap = Sitemap(body.data)
        except Exception:  # lxml raises many kinds on garbage
            return TextSitemap.read(body, self.links.hosts), body.cut
        # An XML body is whole when it holds its root's end (a gzip stream cut short leaves
        # it unended); Scrapy's dataloss flag alone (a server whose Content-Length is wrong,
        # let through) does not make it cut.
        return sitemap, not ends_whole(body.data, sitemap.type)

    def _body(self, response: Response) -> SitemapBody:
        return read_body(response, self.settings.getint("DOWNLOAD_MAXSIZE"))

    def _read_sitemap(self, response: Response, sitemap: Sitemap | TextSitemap,
                      cut: bool) -> Iterable[Any]:
        # Its entries are read as Scrapy's Sitemap parses them, not gathered first: this
        # generator lives until its last request is scheduled, and a large sitemap's entries
        # (a dict each) kept that long, for several sitemaps at once, raised a 50,000-article
        # crawl's peak memory by a tenth.
        self.crawler.stats.inc_value("pressarchive/sitemaps_read")
        if not cut:
            self._recovered_after_giving_up(response)
        elif failure := self._cut_short(response):  # what it lists before the cut is read
            yield failure
        # Of an XML sitemap cut short, the last entry read may stop at the cut; a text one
        # has left out its last line already (TextSitemap.read).
        entries = whole_entries(iter(sitemap), cut and isinstance(sitemap, Sitemap))
        if sitemap.type == "sitemapindex":
            # The index itself is read every time: it names the sitemaps that may be new.
            # Each sitemap once: one that robots.txt names too, or that the index lists
            # twice, would be dropped by Scrapy's duplicate filter, never answered, and keep
            # sitemaps_done False for the whole run.
            children = list(dict.fromkeys(
                url for entry in entries if (url := self._local(entry["loc"]))
                not in self.sitemap_urls and self._askable(url)))
            states = self._states(children)
            for url in children:
                if url in self.retrying:  # asked for already, as a failure to retry
                    if failure := self._retried_sitemap(url):
                        yield failure
                else:
                    yield self.sitemap_request(url, states.get(url))
            return
        if not cut:
            etag, modified = (response.headers.get(name, b"").decode("latin-1") or None
                              for name in (b"ETag", b"Last-Modified"))
            self.sitemaps_read[response.url] = (etag, modified)
        listed, after, lastmods = [], [], []
        for entry in entries:
            lastmods.append(lastmod := entry.get("lastmod"))
            if not self._in_window(lastmod):
                continue
            url = self._local(entry["loc"])
            if url in self.asked:
                after.append((url, lastmod))
            elif self._askable(url):
                listed.append((url, lastmod))
        states = self._states([url for url, _ in listed + after])
        # One time for every entry: the time the sitemap was made, no page's (the revisits
        # by age stand in for the runs that would learn it page by page: Fetch.stamped).
        stamped = one_stamp(lastmods, self.stamped_min)
        stamp = next(filter(None, lastmods), None)  # one string for stamped_late
        if self.windowed:
            self._note_window(lastmods, len(listed) + len(after))
        if stamped:
            self.crawler.stats.inc_value("pressarchive/sitemaps_stamped")
            if self.windowed:  # the window is read from lastmods that tell no page's date
                self.crawler.stats.inc_value("pressarchive/backfill/stamped_sitemaps")
                self.logger.warning(
                    "Sitemap stamped with the time it was made: its lastmods tell no page's "
                    "date, so the back-fill window took %d of its %d entries by them: %s",
                    len(listed) + len(after), len(lastmods), response.url)
        del lastmods
        for url, lastmod in after:
            if request := self._listed_again(url, lastmod, states.get(url), response.url,
                                             stamped, stamp):
                yield request
        public = self.public_url(response.url)
        for url, lastmod in listed:
            state = states.get(url)
            if url in self.asked:
                # Asked for meanwhile: Scrapy takes this generator's requests one at a time,
                # between other callbacks (the feed's, another sitemap's), and would drop this
                # one as a duplicate, and its lastmod with it.
                if request := self._listed_again(url, lastmod, state, response.url,
                                                 stamped, stamp):
                    yield request
                continue
            if not self.full and self._note_entry(state, lastmod):
                self.crawler.stats.inc_value("pressarchive/skipped/lastmod")
                self.asked.add(url)  # decided for this run: a link to it changes nothing
                self.passed.add(url)  # unless another sitemap says it changed
                if (state.lastmod, state.sitemap) != (lastmod, public):
                    self.relisted[url] = (response.url, lastmod, state.lastmod, state.sitemap)
                continue
            if self._not_due(url, state, response.url):
                continue
            yield self.request(url, lastmod=lastmod, state=state, follow=not self.windowed,
                               sitemap=response.url, stamped=stamped and bool(lastmod))

    def _cut_short(self, response: Response) -> FetchFailure | None:
        """A sitemap whose body stops before its end (``spiders.sitemaps``): its entries
        before the cut are read, but it is a failure, ``truncated`` as a page cut short is,
        counted in the run's errors and asked for again, unconditionally, by the next run
        (None: its failure given already in this run); never remembered, nor its failure
        cleared in this run (``recovered``). And, as when a sitemap fails, the known articles
        links lead to are not left waiting for it (``_hold``): it may not list them."""
        self.logger.warning("Sitemap cut short, read up to the cut: %s", response.url)
        self.crawler.stats.inc_value("pressarchive/sitemaps_cut")
        self.sitemap_failed = True
        asked = _asked(response)
        self.recovered.discard(asked)
        if asked in self.failed_again:
            return None
        return self._failed_sitemap(asked, "truncated", "the body stops before the sitemap "
                                    "ends; what it lists before the cut was read")

    def _not_due(self, url: str, state, sitemap: str) -> bool:
        """Whether a known page whose sitemap lastmod changed is left for a later run (counted,
        and marked decided for this run): its lastmods have run ahead of it
        (``PageState.lastmod_ahead``, as ``_ahead_and_trusted`` reads it), so a changed one
        says nothing, and it was checked less than its revisit ago (``checked_since``):
        LASTMOD_AHEAD_REVISIT hours, doubled for each check in a row past AHEAD_RUNS that
        found it unchanged, up to LASTMOD_AHEAD_REVISIT_MAX. Against a sitemap stamped with
        the time it was made, every run would otherwise ask for every known article, and a
        run a day for every one of them every day. An edit such a page hides waits at most
        LASTMOD_AHEAD_REVISIT_MAX hours (one found resets its wait); FULL_RECHECK asks for
        every page. Its sitemap is not remembered (``remember_sitemaps``), so the run it is
        due in reads the entry."""
        if self.full or state is None or not state.checked_since or state.failures \
                or state.article_id is None or state.lastmod_ahead < crawlstate.AHEAD_RUNS:
            return False
        self.crawler.stats.inc_value("pressarchive/lastmod_ahead/not_due")
        self.asked.add(url)  # a link to it changes nothing in this run
        self.not_due.add(url)
        self.not_due_articles.add(state.article_id)  # nor to its other URLs (_settled)
        self.unsettled_sitemaps.add(sitemap)
        return True

    def _listed_again(self, url: str, lastmod: str | None, state,
                      sitemap: str, stamped: bool = False,
                      stamp: str | None = None) -> Request | None:
        """A sitemap entry whose page this run has asked for already: a request for it if
        another sitemap passed it over earlier in this run and this one says it changed
        after all (a sitemap of the last days' news, ahead of the monthly one); otherwise no
        second request, but what its page gives settles this sitemap too (``listed_after``,
        read by remember_sitemaps)."""
        if url in self.not_due:  # left for a later run: its sitemaps are read in full then
            self.unsettled_sitemaps.add(sitemap)
            return None
        if stamped and lastmod:
            self.stamped_late[hash(url)] = stamp or lastmod
        # A stamped sitemap's lastmod tells nothing of the page: no word against another's.
        if not stamped and not self._note_entry(state, lastmod) and url in self.passed \
                and not self.full:
            self.passed.discard(url)
            self.relisted.pop(url, None)  # its pass-over is not to be recorded
            self.crawler.stats.inc_value("pressarchive/lastmods_contradicted")
            return self.request(url, lastmod=lastmod, state=state, follow=not self.windowed,
                                sitemap=sitemap)
        if state is not None and (state.lastmod, state.sitemap) == (
                lastmod, self.public_url(sitemap)):
            # This sitemap confirms the pair the page carries: an earlier sitemap's pass-over
            # with another lastmod is not recorded over it (relisted), or the next run, reading
            # both again, would find this one contradicting that pass-over and ask again.
            self.relisted.pop(url, None)
        self.listed_after[url] = (sitemap, lastmod)
        return None

    def _note_entry(self, state, lastmod: str | None) -> bool:
        """Whether a sitemap entry's page is as the archive holds it (``_unchanged_since``),
        noted for the other URLs of its article (``passed_over``): every entry of the article
        read in this run must say so, with one lastmod, for them to be settled by it; an
        entry that says it changed (asked for, or already asked for by a link) or gives
        another lastmod leaves them to their own requests."""
        unchanged = state is not None and _unchanged_since(lastmod, state)
        if state is not None and state.article_id is not None:
            article = state.article_id
            self.passed_over[article] = lastmod if unchanged and self.passed_over.get(
                article, lastmod) == lastmod else ""
        return unchanged

    def parse_feed(self, response: Response) -> Iterable[Any]:
        # Read as XML whatever its Content-Type: served as text/html, an RSS feed's <link>
        # elements are empty to an HTML parser. Anything but a feed (a maintenance page) is
        # logged, counted, and a failure, as an invalid sitemap is.
        unreadable: tuple[str, str] | tuple[()] = ()
        if isinstance(response, XmlResponse) and not gzip_magic_number(response):
            body = response.body
            selector = response.selector
        else:
            try:
                body = self._body(response).data
            except UnreadableBody as exc:
                body, unreadable = b"", (exc.kind, str(exc))
            # An empty body (parsel refuses one) reads as an empty page: no feed.
            selector = Selector(body=body or b" ", type="xml",
                                encoding=getattr(response, "encoding", None) or "utf-8")
        root = getattr(selector.root, "tag", None)
        root = root.rsplit("}", 1)[-1] if isinstance(root, str) else None
        asked = _asked(response)
        if root not in FEED_ROOTS:
            self.logger.warning("Ignoring invalid feed: %s%s", response.url,
                                f" ({unreadable[1]})" if unreadable else "")
            self.crawler.stats.inc_value("pressarchive/feeds_invalid")
            if asked not in self.failed_again:  # a retry's failure is given once
                yield self._failed_feed(asked, *unreadable)
            return
        self.crawler.stats.inc_value("pressarchive/feeds_read")
        selector.remove_namespaces()
        items = selector.xpath("//item | //entry")
        if ends_whole(body, root):
            self._recovered_after_giving_up(response)
        else:
            # Cut short: its items before the cut are read, not the last, whose link may stop
            # at the cut; a failure, as a sitemap cut short is (_cut_short), retried next run.
            self.logger.warning("Feed cut short, read up to the cut: %s", response.url)
            self.crawler.stats.inc_value("pressarchive/feeds_cut")
            self.recovered.discard(asked)
            items = items[:-1]
            if asked not in self.failed_again:
                yield self._failed_feed(asked, "truncated", "the body stops before the feed "
                                        "ends; what it lists before the cut was read")
        links = items.xpath("self::item/link/text() | self::entry/link/@href").getall()
        urls = [url for h in links
                if (url := self._local(response.urljoin(h.strip()))) not in self.asked
                and self._askable(url)]
        states = self._states(urls)
        for url in urls:
            if url in self.asked:
                # Asked for meanwhile, by a sitemap, say, with its lastmod: Scrapy takes the
                # requests of a callback one at a time and schedules them later, so this one,
                # though made second, could reach the duplicate filter first.
                continue
            state = states.get(url)
            if not self._settled_or_held(url, state, 0):  # as for a link (_follow)
                yield self.request(url, state=state)

    def parse_page(self, response: Response) -> Iterable[Any]:
        requested = response.meta.get("redirect_urls", [response.request.url])[0]
        if "dataloss" in response.flags \
                and not reaches_end(response.body[-2048:].decode("latin-1")):
            # Shorter than its Content-Length, let through (DOWNLOAD_FAIL_ON_DATALOSS off), and
            # stopping before the page's end: a failure, as Scrapy's refusal would have been,
            # tried again by the next run (one whose server sends a wrong Content-Length with
            # whole pages is read as usual). Its validators are the whole page's: kept, a 304
            # would hide what was cut.
            self.crawler.stats.inc_value("pressarchive/pages_cut")
            yield FetchFailure(url=self.public_url(requested), site=self.site.slug,
                               kind="truncated", message="the body stops before the page ends "
                               "(Scrapy's dataloss flag)", failed_at=now(), retry=True)
            return
        url = self.public_url(response.url)
        follow = (isinstance(response, TextResponse) and response.status == 200
                  and response.meta.get("follow", True))
        lastmod, sitemap = response.meta.get("lastmod"), response.meta.get("sitemap")
        unvouched = bool(lastmod) and response.status == 200 and not vouches(
            lastmod, _last_modified(response))
        if unvouched:
            self._unvouched(response)
            lastmod = None
        page = FetchedPage(
            url=url,
            requested_url=url if requested == response.url else self.public_url(requested),
            final_url=response.url,
            status=response.status,
            headers={k.decode("latin-1"): b", ".join(v).decode("latin-1")
                     for k, v in response.headers.items()},
            body=response.body,
            fetched_at=now(),
            site=self.site.slug,
            lastmod=lastmod,
            sitemap=self.public_url(sitemap) if lastmod and sitemap else None,
            forget_lastmod=unvouched,
            stamped=self._stamped(response, requested),
            conditional=bool(response.request.headers.get(b"If-Modified-Since")
                             or response.request.headers.get(b"If-None-Match")),
            follow=bool(follow),
            waited_on=bool(follow) and response.meta.get("waited_on", False),
            warc=response.meta.get("warc"),
        )
        if follow and self.links_from_pipeline:
            # The archive pipeline parses the page: it calls back with the page's new links.
            page.follow_links = partial(self.follow_links, response.url)
        yield page
        if follow and not self.links_from_pipeline:
            # No archive pipeline (say, a dry run with ITEM_PIPELINES={}): read them here. No
            # page is extracted then, so none is known for a hub: its links keep priority 0.
            links = self.links.fresh(response.url, read_links(response.selector.root))
            yield from self._follow(links)

    def _stamped(self, response: Response, requested: str) -> bool:
        """Whether a page's fetch (or 304) counts as led to by a sitemap stamped with the time
        it was made (FetchedPage.stamped): the sitemap's stamp, given with its request or
        after it (``stamped_late``), and a copy older than that stamp, or one that gives no
        ``Last-Modified`` to tell by. A copy as recent as the stamp (a site that re-saved its
        whole catalogue at that time, and says so in its sitemaps) counts as an ordinary
        fetch: marked, that site's later honest lastmods would have waited for revisits (a
        review's find). A 304 without a ``Last-Modified`` (RFC 9110 lets a server leave it
        out) is told by the copy held, whose date the request sent."""
        late = self.stamped_late.pop(hash(requested), None) if self.stamped_late else None
        stamp = response.meta.get("lastmod") if response.meta.get("stamped") else late
        if stamp is None:
            return False
        modified = _last_modified(response)
        if modified is None and response.status == 304:
            modified = (response.request.headers.get(b"If-Modified-Since")
                        or b"").decode("latin-1") or None
        return modified is None or not vouches(stamp, modified)

    def _unvouched(self, response: Response) -> None:
        """A page whose ``Last-Modified`` is older than the lastmod its sitemap gives it
        (edited since, a cache serving a stale copy): stored with no lastmod at all (not
        even an earlier one), so that no run skips it by the sitemap (``_unchanged_since``)
        on the word of this copy. Its sitemap is not remembered either: read in full next
        time, it asks for the page again, conditionally, since no lastmod is recorded (a 304
        then is the site's word that the copy holds, and records the lastmod: one more
        conditional request, however far a site's lastmods run ahead of its pages)."""
        self.crawler.stats.inc_value("pressarchive/lastmods_unvouched")
        if sitemap := response.meta.get("sitemap"):
            self.unsettled_sitemaps.add(sitemap)

    def follow_links(self, page_url: str, links: PageLinks | None, hub: bool = False) -> None:
        """Schedules what a page links to that this run has not asked for (the archive
        pipeline calls this once the page is archived, with the links the ingester resolved,
        or None; ``hub``: the page was not an article, so its links go first). The requests
        go straight to the engine, not through the spider middlewares (``SiteLinks`` applies
        URLLENGTH_LIMIT to links)."""
        if links is None:
            return
        engine = self.crawler.engine
        for request in self._follow(links, hub):
            if engine.spider is None:  # the crawl is over
                return
            engine.crawl(request)

    def _follow(self, links: PageLinks, hub: bool = False) -> Iterable[Request]:
        """Requests for the resolved links of a page that this run has not asked for yet
        (``hub``: the page was no article; its links go first, and its next and previous
        pages are ``waited_on``: a listing's chain goes on from them)."""
        priority = HUB_PRIORITY if hub else 0
        for feed in links.feeds:
            if feed not in self.asked:  # every page names the feed: read it once
                self.asked.add(feed)
                yield Request(feed, callback=self.parse_feed, errback=self.on_error,
                              priority=DISCOVERY_PRIORITY)
        # Pagination both ways: a walk that starts at a listing's last page (linked from its
        # first, say) goes back through rel=prev.
        next_pages = set(links.next) | set(links.prev)
        urls = [url for url in dict.fromkeys(links.hrefs + links.next + links.prev)
                if url not in self.asked]
        states = self._states(urls)
        anything_new = any(u not in states for u in urls if u not in next_pages)
        for url in urls:
            if url in next_pages and not (anything_new or self.full):
                # A listing page of nothing but known articles (or articles this run has
                # asked for already): the next and previous pages are not worth a request
                # for that listing; its front page, which every run reads, brings the news.
                self.crawler.stats.inc_value("pressarchive/skipped/pagination")
                continue
            state = states.get(url)
            pagination = url in next_pages
            if not pagination and self._settled_or_held(url, state, priority):
                continue
            yield self.request(url, state=state, priority=priority,
                               waited_on=pagination and hub)

    # -- requests and their failures ------------------------------------------------------

    def request(self, url: str, *, lastmod: str | None = None, state=None,
                dont_filter: bool = False, follow: bool = True, priority: int = 0,
                sitemap: str | None = None, callback=None, waited_on: bool = False,
                stamped: bool = False) -> Request:
        """A page request; a known page is asked for conditionally (unless FULL_RECHECK, or its
        sitemap lastmod changed from the one recorded and ``_ahead_and_trusted`` does not
        hold) so that an unchanged one costs a 304 and no parsing. ``sitemap``: the sitemap
        that listed it (see page_unsettled); ``waited_on``: the crawl goes on from this
        page's links (FetchedPage.waited_on); ``stamped``: that sitemap's lastmods are the
        time it was made (FetchedPage.stamped)."""
        if state is not None and state.article_id is not None and priority < DISCOVERY_PRIORITY:
            priority = RECHECK_PRIORITY  # an article the archive holds (a listing keeps its place)
        headers = {}
        if state is not None and not self.full and state.failures == 0 and (
                not (lastmod and state.lastmod and lastmod != state.lastmod)
                or self._ahead_and_trusted(url, state)) \
                and not self._blind_recheck(url, lastmod, state):
            headers = _conditional(state)
        self.asked.add(url)
        meta = {"lastmod": lastmod, "follow": follow}
        if headers:
            meta["handle_httpstatus_list"] = [304]
        if sitemap:
            meta["sitemap"] = sitemap
        if waited_on:
            meta["waited_on"] = True
        if stamped:
            meta["stamped"] = True
        return Request(url, callback=callback or self.parse_page, errback=self.on_error,
                       headers=headers, meta=meta, dont_filter=dont_filter, priority=priority)

    def _ahead_and_trusted(self, url: str, state) -> bool:
        """Whether a known page whose sitemap lastmod changed may be asked for conditionally
        all the same: its lastmods ran ahead of it (``PageState.lastmod_ahead``), its site's
        validators have told of an edit (``trusts_validators``), and this run is not its
        turn to be asked in full (one time in LASTMOD_AHEAD_RECHECK on average, by a hash of
        its URL and the run's number), which finds an edit its validators no longer tell of
        and ends the site's trust.

        A page whose revisit has grown (``_revisit_visits``: its wait as a number of
        LASTMOD_AHEAD_REVISIT waits) stands for that many visits, and its chance of a full
        fetch grows with it (always, from a wait of seven): validators that stop telling of
        edits are then found as soon, in hours, as when every visit came after the
        shortest wait, and with no more full fetches."""
        if not (self.trusts_validators and state.lastmod_ahead >= crawlstate.AHEAD_RUNS):
            return False
        if self._recheck_turn(url, state):
            return False
        self.crawler.stats.inc_value("pressarchive/lastmod_ahead/conditional")
        return True

    def _recheck_turn(self, url: str, state) -> bool:
        """Whether this run is the turn of a page whose lastmods run ahead to be asked in full
        (counted): one visit in LASTMOD_AHEAD_RECHECK, or as many as its grown wait holds."""
        every = self.ahead_recheck
        # A hash, not (URL + run) % every: with revisits a page is asked for only every so
        # many runs, and a stride that is a multiple of ``every`` (runs an hour apart, due
        # again after 21) met the same turn every time, always or never in full. (Not CRC-32
        # either, whose low bits missed every turn of some strides.)
        if every and _turn(f"{self.run_number} {url}") % every < self._revisit_visits(state):
            self.crawler.stats.inc_value("pressarchive/lastmod_ahead/rechecked")
            return True
        return False

    def _blind_recheck(self, url: str, lastmod: str | None, state) -> bool:
        """Whether a page whose lastmods run ahead, and whose crawl state keeps no lastmod
        (its last fetch was older than the one its sitemap gave: ``_unvouched``), is asked
        in full though a lastmod would not ask for it so: such a request is conditional
        whatever the site's trust, and a server answering it 304 whatever the page (a
        review's find) then hid an edit for a whole wait, a week once the wait had grown.
        So once its wait has grown, it takes the recheck turn, as ``_ahead_and_trusted``
        does: in full as often as the wait holds 20-hour ones, every visit at the longest.
        Before that (learning, and with no growth) it is asked conditionally, as before."""
        if not lastmod or state.lastmod or state.lastmod_ahead < crawlstate.AHEAD_RUNS \
                or self._revisit_visits(state) <= 1:
            return False
        return self._recheck_turn(url, state)

    def _revisit_visits(self, state) -> float:
        """How many LASTMOD_AHEAD_REVISIT waits a page's revisit now lasts (1 when it does
        not grow: ``crawlstate.revisit_wait``)."""
        if not self.ahead_revisit:
            return 1.0
        return crawlstate.revisit_wait(state.unchanged_checks, self.ahead_revisit,
                                       self.ahead_revisit_max) / self.ahead_revisit

    def page_unsettled(self, item: Any, response: Any, **kwargs: Any) -> None:
        """On ``item_dropped`` and ``item_error``: a page fetched in this run that gave the
        archive neither a record nor a failure to retry (a listing, as expected; or a "not
        found" page served with 200, a page cut short, one that is not HTML). If a sitemap
        listed it, that sitemap is not remembered (remember_sitemaps). A 304 is settled: the
        page is as the archive holds it; so is a page recorded as a failure to retry (a soft
        404 at an archived article's URL), as a 404 is."""
        if not isinstance(item, FetchedPage) or item.status == 304 or item.failed_as \
                or not isinstance(response, Response):
            return
        if sitemap := response.meta.get("sitemap"):
            self.unsettled_sitemaps.add(sitemap)
        else:
            self.unsettled.add(_asked(response))

    def on_error(self, failure) -> Iterable[FetchFailure]:
        request = failure.request
        asked = request.meta.get("redirect_urls", [request.url])[0]
        role = {self.parse_sitemap: "sitemap", self.parse_feed: "feed"}.get(request.callback)
        if request.callback == self.parse_sitemap:
            self.sitemaps_answered += 1
            self.sitemap_failed = True
            self._release_when_answered()
        elif request.callback == self.parse_any:
            role = self._retry_role(asked)
            self._retry_done(asked, False)
        kind, retry = _failure_kind(failure)
        if kind is None:
            return  # robots.txt said no: a decision, not a failure
        if request.callback == self.parse_any:
            self.failed_again.add(asked)  # the index naming it later gives no second failure
        if request.meta.get("sitemap") or (request.callback == self.parse_any
                                           and kind != "http_410"):
            # A sitemap lists the page, so even a 404 (published before the page, a cache
            # holding an old 404) is tried again by the next runs, up to their limit: its
            # sitemap, answering 304, would otherwise leave it unread for good. So is one
            # retried from the last runs (only those recorded as worth retrying are): asked
            # for before any sitemap is read, its 404 gave up all the runs left at once (a
            # 410, the site's word that the page is gone for good, still does).
            retry = True
        yield FetchFailure(url=self.public_url(asked), site=self.site.slug, kind=kind,
                           message=str(failure.value)[:200], failed_at=now(), retry=retry,
                           role=role)

    # -- helpers ---------------------------------------------------------------------------

    def _local(self, url: str) -> str:
        """A public URL of this site moved onto the copy being crawled, tracking removed."""
        return self.links.local(url)

    def _askable(self, url: str) -> bool:
        """Whether a URL a sitemap or feed lists may be asked for (``SiteLinks`` judges
        links so): within Scrapy's URLLENGTH_LIMIT (a longer one is logged and counted as
        Scrapy's UrlLengthMiddleware, off: see settings.py, would), and on the copy's port
        (``on_site``: Scrapy's offsite middleware judges by host alone, and a sister copy's
        URL on another port of 127.0.0.1 was asked of this site and stored as a raw local
        URL; counted as ``pressarchive/offsite_entries``)."""
        if len(url) > self.links.max_length:
            self.logger.info("Ignoring link (url length > %d): %s", self.links.max_length, url)
            self.crawler.stats.inc_value("urllength/request_ignored_count")
            return False
        if self.copy_port is not None and not self.on_site(urlsplit(url)):
            self.crawler.stats.inc_value("pressarchive/offsite_entries")
            return False
        return True

    def public_url(self, url: str) -> str:
        return self.links.public(url)

    def _states(self, local_urls: list[str]) -> dict[str, Any]:
        """The crawl state of these URLs (local URL -> PageState), for those the archive held
        when this run started (pages fetched since are in ``asked``, never asked again)."""
        if not self.known:  # a first crawl: no state to look up
            return {}
        public = {}
        for url in local_urls:
            if (key := self.public_url(url)) in self.known:
                public[key] = url
        if not public:
            return {}
        with shared_archive(self.crawler).engine.connect() as connection:
            states = crawlstate.page_states(connection, self.site.slug, list(public),
                                            self.checked_since)
        return {public[key]: state for key, state in states.items()}

    def _note_window(self, lastmods: list[str | None], took: int) -> None:
        """Counts what a back-fill's window took of a sitemap's entries, and the span of days
        their lastmods give."""
        self.crawler.stats.inc_value("pressarchive/backfill/entries_taken", took)
        days = [lastmod.strip()[:10] for lastmod in lastmods if lastmod and lastmod.strip()]
        if days:
            first, last = min(days), max(days)
            if self.lastmod_days is not None:
                first, last = min(first, self.lastmod_days[0]), max(last, self.lastmod_days[1])
            self.lastmod_days = (first, last)

    def window_unmet(self, reason: str) -> None:
        """At the end of a back-fill whose window took no sitemap entry (a wrong year, a
        window before the site's first day): one WARNING line with the days the sitemaps'
        lastmods run over, rather than a quiet run of nothing."""
        if not self.windowed or reason != "finished" \
                or self.crawler.stats.get_value("pressarchive/backfill/entries_taken"):
            return
        window = f"{self.since or '…'} to {self.until or '…'}"
        if self.lastmod_days is None:
            self.logger.warning("The back-fill window (%s) took no sitemap entry: no entry "
                                "read gave a lastmod", window)
        else:
            self.logger.warning("The back-fill window (%s) took no sitemap entry: their "
                                "lastmods run from %s to %s", window, *self.lastmod_days)

    def _in_window(self, lastmod: str | None) -> bool:
        if not (self.since or self.until):
            return True
        if not lastmod:
            return False
        day = lastmod[:10]
        return (not self.since or day >= self.since) and (not self.until or day <= self.until)


def _port(url: SplitResult) -> int | None:
    """A URL's port, its scheme's default when it names none (``http://host:80`` and
    ``http://host`` are one origin)."""
    return url.port or {"http": 80, "https": 443}.get(url.scheme)


def _last_modified(response: Response) -> str | None:
    """The response's ``Last-Modified`` as the crawl reads it (``lastmods.last_modified``),
    read only where a lastmod or a stamp is to be judged by it, not for every page."""
    return read_last_modified(*((response.headers.get(name) or b"").decode("latin-1") or None
                                for name in (b"Last-Modified", b"Date")))


def _asked(response: Response) -> str:
    """The URL a response answers as asked for, before any redirect."""
    return response.meta.get("redirect_urls", [response.url])[0]


def _turn(key: str) -> int:
    """A well-mixed number from ``key`` (the same in every process and run)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")


def _conditional(state) -> dict[str, str]:
    """The headers that ask for a page only if it changed since the fetch ``state`` recorded:
    both of its validators, as browsers send them (none when it sent neither). A server
    that knows ETags answers by the ETag alone (RFC 9110 13.2.2), so a page whose
    Last-Modified is stuck (the publication time, one date for every page) while its ETag
    follows its edits still comes back when edited; with If-Modified-Since alone it was
    answered 304 for good."""
    headers = {}
    if state.last_modified:
        headers["If-Modified-Since"] = state.last_modified
    if state.etag:
        headers["If-None-Match"] = state.etag
    return headers


def _unchanged_since(lastmod: str | None, state) -> bool:
    """Whether a sitemap ``lastmod`` says the page is as the archive last stored it: the very
    lastmod recorded with that fetch (or with a 304 since), or one no later than the
    ``Last-Modified`` the site sent with it (a date alone counts as the end of that day).
    Both sides are the site's clock: ours is never compared with it.

    Never for a page whose last fetch gave no article: a sitemap lists articles, so that
    fetch met something else (a "not found" page served with 200, say) and is not trusted."""
    if not lastmod or state.failures or not state.fetched or state.article_id is None:
        return False
    if lastmod == state.lastmod:
        return True
    # Unreadable dates: asked for conditionally instead, and the site's answer decides.
    return as_recent(lastmod, state.last_modified) is True


def window_day(value: str | None, name: str) -> str | None:
    """A back-fill window's day (``-a since=``/``until=``) as YYYY-MM-DD; a one-line
    ValueError for anything else."""
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise ValueError(f"{name} must be a date, YYYY-MM-DD, not {value!r}") from None


def _failure_kind(failure) -> tuple[str | None, bool]:
    """(kind, worth retrying later) of a failed request; kind None for deliberate skips."""
    if failure.check(HttpError):
        status = failure.value.response.status
        return f"http_{status}", status not in PERMANENT_STATUSES
    if failure.check(IgnoreRequest):
        message = str(failure.value).lower()
        if "off the site" in message:
            # A page of ours that redirects off the site is not followed; the next run asks
            # again (a misconfigured server often mends).
            return "offsite_redirect", True
        if "redirect" in message:
            return "redirect_loop", True
        return None, False
    if failure.check(DownloadTimeoutError):
        return "timeout", True
    if failure.check(CannotResolveHostError):
        return "dns", True
    if failure.check(ResponseDataLossError) or "DataLoss" in str(failure.value):
        return "truncated", True
    if failure.check(DownloadFailedError, DownloadConnectionRefusedError):
        return "connection", True
    return type(failure.value).__name__.lower(), True


class ArabPressSpider(FamilySpider):
    name = "arabpress"
    site_slug = "arabpress"


class SaudiPressSpider(FamilySpider):
    name = "saudipress"
    site_slug = "saudipress"
