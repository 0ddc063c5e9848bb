"""Downloader middlewares for politeness that Scrapy does not provide itself, Scrapy's robots.txt
middleware reading the robots.txt the spider fetched, and Scrapy's start request marker without
its pass over callback output."""

from __future__ import annotations

import asyncio
import re
import time
from email.utils import parsedate_to_datetime
from urllib.parse import SplitResult, urljoin, urlsplit

from scrapy import signals
from scrapy.downloadermiddlewares.offsite import OffsiteMiddleware as ScrapyOffsite
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware, RedirectMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Request, Response
from scrapy.spidermiddlewares.start import StartSpiderMiddleware
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler, load_object
from w3lib.html import get_meta_refresh

# Sent by the spider once it has asked for a site's robots.txt itself (it needs the answer's
# status, its Crawl-delay and its Sitemap lines): url, the robots.txt URL asked for, and
# response, its answer, or None when there is no robots.txt to obey (refused on our side).
robots_fetched = object()


def retry_after_seconds(value: bytes | None) -> float | None:
    """``Retry-After`` as seconds: a number of seconds or an HTTP date."""
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        return max(0.0, parsedate_to_datetime(text).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class RetryAfterMiddleware(RetryMiddleware):
    """Scrapy's retries, but a 429 or 503 with ``Retry-After`` is retried only after the wait
    the server asked for; a wait longer than RETRY_AFTER_MAX gives the URL up to the next run."""

    def __init__(self, settings):
        super().__init__(settings)
        self.max_wait = settings.getfloat("RETRY_AFTER_MAX", 120.0)

    async def process_response(self, request: Request, response: Response):
        if response.status not in (429, 503):
            return super().process_response(request, response)
        wait = retry_after_seconds(response.headers.get(b"Retry-After"))
        if wait is not None and wait > self.max_wait:
            return response  # the spider's errback remembers it for the next run
        result = super().process_response(request, response)
        if wait is not None and isinstance(result, Request):
            # Only a retry waits: out of retries (or dont_retry), the answer goes on at once.
            self.crawler.stats.inc_value("pressarchive/retry_after_waits")
            await asyncio.sleep(wait)
        return result


class CrawlDelayMiddleware:
    """Spaces requests to a site by its robots.txt ``Crawl-delay`` (which Scrapy reads for
    nothing); the spider parses it into ``spider.crawl_delay``."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.next_slot = 0.0

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    async def process_request(self, request: Request):
        delay = getattr(self.crawler.spider, "crawl_delay", None)
        if not delay:
            return None
        now = time.monotonic()
        start = max(now, self.next_slot)
        self.next_slot = start + delay
        if start > now:
            await asyncio.sleep(start - now)
        return None


def within_domains(url: SplitResult, domains: list[str]) -> bool:
    """Whether a URL's host is one of ``domains`` or below one (Scrapy's allowed_domains)."""
    host = (url.hostname or "").lower()
    return any(host == d or host.endswith("." + d) for d in domains)


class OffsiteRedirectMiddleware:
    """Refuses a redirect that leaves the site before Scrapy's RedirectMiddleware follows it.

    Scrapy would drop such a redirect silently when scheduling it; refusing it here sends the
    request to the spider's errback, which remembers the URL to ask again next run."""

    REDIRECTS = {301, 302, 303, 307, 308}

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_response(self, request: Request, response: Response):
        if response.status not in self.REDIRECTS or b"Location" not in response.headers:
            return response
        target = urlsplit(urljoin(request.url, response.headers[b"Location"].decode("latin-1")))
        spider = self.crawler.spider
        if hasattr(spider, "on_site"):  # ours: the port of a local copy counts too
            if spider.on_site(target):
                return response
        else:
            allowed = getattr(spider, "allowed_domains", None) or []
            if not allowed or within_domains(target, allowed):
                return response
        self.crawler.stats.inc_value("pressarchive/offsite_redirects")
        raise IgnoreRequest(f"redirect off the site to {target.netloc}")


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware, which obeys the robots.txt the spider has already
    fetched for a site (``robots_fetched``) instead of asking the site for it a second time.

    The spider reads robots.txt itself before anything else (a site that cannot answer for it
    is not crawled, see ``FamilySpider.read_robots``); Scrapy's middleware would then fetch
    the same file again for the first request it checks. Hosts the spider did not fetch
    robots.txt for (a redirect to another host of the family) are left to Scrapy's own way.
    Only an answer of 200 has rules; anything else the spider lets the run go on with (a 4xx,
    no robots.txt) means no rule, as RFC 9309 (2.3.1.3) says."""

    def __init__(self, crawler):
        super().__init__(crawler)
        self.parser_class = load_object(crawler.settings.get("ROBOTSTXT_PARSER"))
        self.fetched: dict[str, object] = {}  # host (netloc) -> its rules (none: empty)
        crawler.signals.connect(self.robots_fetched, signal=robots_fetched)

    def robots_fetched(self, url: str, response: Response | None) -> None:
        stats = self.crawler.stats
        stats.inc_value("robotstxt/request_count")
        body = b""
        if response is not None:
            stats.inc_value("robotstxt/response_count")
            stats.inc_value(f"robotstxt/response_status_count/{response.status}")
            if response.status == 200:
                body = response.body
        parser = build_from_crawler(self.parser_class, self.crawler, body)
        self.fetched[urlsplit(url).netloc] = parser
        self.crawler.signals.send_catch_log(signal=signals.robots_parsed, robotparser=parser,
                                            request=response.request if response else None)

    async def robot_parser(self, request: Request):
        netloc = urlparse_cached(request).netloc
        if netloc in self.fetched:
            return self.fetched[netloc]
        return await super().robot_parser(request)


# -- the offsite check, its verdicts kept per host --------------------------------------------

class OffsiteMiddleware(ScrapyOffsite):
    """Scrapy's offsite middleware, its verdict kept for each host a URL names: Scrapy's
    parses every request's URL and matches its host against the allowed domains twice (when
    it is scheduled and when it is sent), 2% of a first crawl's CPU, for the few hosts a crawl
    ever meets. The verdicts are Scrapy's own (``should_follow``, on a URL's first request to
    a host), forgotten when the spider's ``allowed_domains`` change."""

    def __init__(self, stats):  # noqa: ANN001
        super().__init__(stats)
        self._verdicts: dict[str, bool] = {}
        self._verdicts_by: re.Pattern[str] | None = None

    def should_follow(self, request: Request, spider) -> bool:  # noqa: ANN001
        self._update_host_regex(spider)
        if self._verdicts_by is not self.host_regex or len(self._verdicts) > 10_000:
            self._verdicts, self._verdicts_by = {}, self.host_regex
        authority = _AUTHORITY.match(request.url)
        if authority is None:  # not http(s): Scrapy's judgement every time
            return super().should_follow(request, spider)
        verdict = self._verdicts.get(authority[1])
        if verdict is None:
            verdict = self._verdicts[authority[1]] = super().should_follow(request, spider)
        return verdict


# What precedes an http(s) URL's path, query or fragment: its host (and user and port).
_AUTHORITY = re.compile(r"https?://([^/?#]*)", re.IGNORECASE)


# -- redirects without a Referer -------------------------------------------------------------

class _NoReferer:
    """Scrapy's redirect middlewares hand the Referer of a redirected request to the Referer
    spider middleware, and warn at every start when it is off. Ours is off (no request carries
    a Referer, see settings.py): these follow redirects the same way and send none."""

    @classmethod
    def from_crawler(cls, crawler):
        middleware = cls(crawler.settings)  # without Scrapy's engine_started check and warning
        middleware.crawler = crawler
        return middleware

    def handle_referer(self, request: Request, response: Response) -> None:
        request.headers.pop("Referer", None)


class _NoLoops:
    """Scrapy's redirect middlewares hand a redirect to the scheduler, whose duplicate filter
    drops a hop to a URL already asked for in the run without a word: the URL first asked for
    then leaves neither a page nor a failure behind, and no later run asks for it again. That
    happened to a chain that looped back on itself, and to one that met another chain's hop
    (two spellings of a URL redirected to the same place, each ending in a loop).

    So a hop back to a URL of its own chain is refused here as a redirect loop, which the
    spider's errback remembers for the next run (as it does when Scrapy gives a long chain up
    at REDIRECT_MAX_TIMES); and the hops of a 3xx redirect stay out of the duplicate filter
    (``dont_filter``), so that every chain ends in the spider's callback or errback. Off-site
    3xx redirects never get this far (OffsiteRedirectMiddleware refuses them first); a meta
    refresh keeps Scrapy's filters, the offsite one included."""

    keep_out_of_filter = False

    def process_response(self, request: Request, response: Response):
        result = super().process_response(request, response)
        if isinstance(result, Request):
            if result.url in result.meta.get("redirect_urls", ()):
                self.crawler.stats.inc_value("pressarchive/redirect_loops")
                raise IgnoreRequest(f"redirect loop back to {result.url}")
            if self.keep_out_of_filter:
                result.dont_filter = True
        return result


class NoRefererRedirectMiddleware(_NoLoops, _NoReferer, RedirectMiddleware):
    keep_out_of_filter = True


class _QuickMetaRefresh:
    """Scrapy's meta refresh check without decoding every page whole.

    Scrapy looks for a ``<meta http-equiv="refresh">`` in the first 4,096 characters of every
    HTML response, but takes them from ``response.text``: the whole page decoded (and kept with
    the response), about 5% of the crawl process's time, though nothing else in it reads an
    article's text (the ingest worker parses the bytes). w3lib reads the bytes themselves: it
    rules a refresh out without decoding when the encoding lets markup be seen in the bytes,
    and decodes no more than it is given otherwise. Given the first ``SCAN_BYTES`` bytes,
    which hold those 4,096 characters in any encoding of up to 8 bytes a character, it answers
    "none" only when Scrapy would; any other answer (a refresh, or an error) is left to
    Scrapy's own check, which decides as before."""

    SCAN_BYTES = 8 * 4096

    def process_response(self, request: Request, response: Response):
        if isinstance(response, HtmlResponse) and not request.meta.get("dont_redirect") \
                and request.method != "HEAD":
            try:
                found = get_meta_refresh(response.body, response.url, response.encoding,
                                         self._ignore_tags, max_scan=self.SCAN_BYTES)
            except Exception:  # noqa: BLE001 - Scrapy's check decides, and reports
                found = None
            if found == (None, None):
                return response
        return super().process_response(request, response)


class NoRefererMetaRefreshMiddleware(_NoLoops, _NoReferer, _QuickMetaRefresh,
                                     MetaRefreshMiddleware):
    pass


class StartRequestsMiddleware(StartSpiderMiddleware):
    """Scrapy's StartSpiderMiddleware for start requests only.

    Scrapy's marks the requests of ``start()`` (meta ``is_start_request``, which sends them to
    the scheduler's start queues) and passes everything else through untouched. Passing
    through is not free: as a spider middleware with ``process_spider_output``, it wraps
    every callback's output in two more async generators, which every item and request a
    callback yields (a page's item; every entry of a sitemap) then goes through. Without the
    method Scrapy skips it for callback output (the other middleware left, HttpError, only
    checks responses on their way in), and start requests are marked as before."""

    process_spider_output = None
    process_spider_output_async = None


# -- every response kept as WARC -------------------------------------------------------------

class WarcMiddleware:
    """Writes every response the crawl downloads, with its request, to the WARC files of
    ``WARC_DIR`` (pressarchive.warc), and leaves where its record is in the request's meta
    (``warc``, a ``Capture``) for the page the archive reads from it (FetchedPage.warc).

    It sits next to the downloader (above Scrapy's downloader stats, 850), so it sees each
    response as it came: every hop of a redirect, every answer a retry asks again, robots.txt,
    sitemaps and 304s, the body still compressed if the site compressed it. Not configured
    without ``WARC_DIR``. A record that cannot be written (a full disk) is logged once a kind
    and counted (``pressarchive/warc/errors``); the crawl goes on, its page unlinked."""

    def __init__(self, crawler, files):  # noqa: ANN001
        self.crawler = crawler
        self.files = files
        self.failed: set[str] = set()
        crawler.signals.connect(self.close, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        from scrapy.exceptions import NotConfigured

        from pressarchive.warc import GZIP_LEVEL, MAX_BYTES, WarcFiles

        settings = crawler.settings
        folder = settings.get("WARC_DIR")
        if not folder:
            raise NotConfigured  # with a message, Scrapy would warn of it on every crawl
        info = {"robots": "obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore",
                "http-header-user-agent": settings.get("USER_AGENT") or "",
                "isPartOf": crawler.spidercls.name}
        files = WarcFiles(folder, prefix=settings.get("WARC_PREFIX") or "pressarchive",
                          max_bytes=settings.getint("WARC_MAX_BYTES", MAX_BYTES), info=info,
                          level=settings.getint("WARC_GZIP_LEVEL", GZIP_LEVEL))
        return cls(crawler, files)

    def process_response(self, request: Request, response: Response):
        try:
            capture = self.files.write(
                response.url, status=response.status, body=response.body,
                headers=[(k.decode("latin-1"), v.decode("latin-1"))
                         for k, values in response.headers.items() for v in values],
                method=request.method,
                request_headers=[(k.decode("latin-1"), v.decode("latin-1"))
                                 for k, values in request.headers.items() for v in values],
                protocol=_PROTOCOLS.get(response.protocol, response.protocol or "HTTP/1.1"),
                ip_address=str(response.ip_address) if response.ip_address else None)
        except OSError as exc:
            self._count_lost()
            self.crawler.stats.inc_value("pressarchive/warc/errors")
            kind = type(exc).__name__ + str(getattr(exc, "errno", ""))
            if kind not in self.failed:
                self.failed.add(kind)
                self.crawler.spider.logger.error(
                    "WARC record of %s not written (%s); later failures like it are counted "
                    "(pressarchive/warc/errors), not logged", response.url, exc)
            request.meta.pop("warc", None)
            return response
        self._count_lost()
        self.crawler.stats.inc_value("pressarchive/warc/records")
        request.meta["warc"] = capture
        return response

    def _count_lost(self) -> None:
        """Records written to a file that was then removed count as not kept."""
        if self.files.lost:
            self.crawler.stats.inc_value("pressarchive/warc/errors", self.files.lost)
            self.crawler.stats.inc_value("pressarchive/warc/records", -self.files.lost)
            self.files.lost = 0

    def close(self) -> None:
        self.files.close()
        self._count_lost()  # the run's record has its errors by now: its stats count them


# Scrapy's names for the protocol of a response, as an HTTP status line writes them.
_PROTOCOLS = {"h2": "HTTP/2"}
