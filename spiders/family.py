"""One spider per site of the Arab Press family: same code, another site profile."""

from __future__ import annotations

import datetime as dt
from typing import Any, AsyncIterator, Iterable
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.http import Response, TextResponse
from scrapy.linkextractors import LinkExtractor
from scrapy.spiders import SitemapSpider

from pressarchive.fetched import FetchedPage
from pressarchive.sites import get_site
from pressarchive.urls import canonical_url, rebase

FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json")


class FamilySpider(SitemapSpider):
    """Discovers pages the ways the site offers: sitemaps named in robots.txt, feeds, the home
    page and listings with their pagination, and links on article pages (related headlines).

    Arguments: ``base_url`` points the spider at a copy of the site (``http://127.0.0.1:8000``);
    ``urls`` (comma-separated) fetches just those pages.
    """

    name = ""  # a base: only the site spiders below are listed
    site_slug = "arabpress"
    sitemap_rules = [("", "parse_page")]

    def __init__(self, base_url: str | None = None, urls: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.site = get_site(self.site_slug)
        self.base_url = (base_url or self.site.origin).rstrip("/")
        self.only_urls = [u.strip() for u in (urls or "").split(",") if u.strip()]
        host = urlsplit(self.base_url).hostname or ""
        self.allowed_domains = [host] if base_url else [self.site.host, "www." + self.site.host]
        self.sitemap_urls = [] if self.only_urls else [self.base_url + "/robots.txt"]
        # Same origin as the copy being crawled: host *and* port, which allow_domains ignores.
        self.origin = urlsplit(self.base_url).netloc.lower()
        self.links = LinkExtractor()

    async def start(self) -> AsyncIterator[Any]:
        if self.only_urls:
            for url in self.only_urls:
                yield Request(self._local(url), callback=self.parse_page, dont_filter=True)
            return
        yield Request(self.base_url + "/", callback=self.parse_page)
        async for request in super().start():
            yield request

    def _local(self, url: str) -> str:
        """A public URL of this site moved onto the copy being crawled, tracking removed."""
        return canonical_url(rebase(url, self.site.origin, self.base_url))

    def public_url(self, url: str) -> str:
        return rebase(url, self.base_url, self.site.origin)

    def sitemap_filter(self, entries: Iterable[dict[str, Any]]) -> Iterable[dict[str, Any]]:
        for entry in entries:
            entry["loc"] = self._local(entry["loc"])
            yield entry

    def parse_page(self, response: Response) -> Iterable[Any]:
        yield FetchedPage(
            url=self.public_url(response.url),
            final_url=response.url,
            status=response.status,
            headers={k.decode("latin-1"): b", ".join(v).decode("latin-1")
                     for k, v in response.headers.items()},
            body=response.body,
            fetched_at=dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
            site=self.site.slug,
        )
        if not isinstance(response, TextResponse) or self.only_urls:
            return
        for href in response.css("link[rel=alternate]").xpath(
                "@href[../@type=$a or ../@type=$b]", a=FEED_TYPES[0], b=FEED_TYPES[1]).getall():
            yield Request(self._local(response.urljoin(href)), callback=self.parse_feed)
        for link in self.links.extract_links(response):
            url = self._local(link.url)
            if urlsplit(url).netloc == self.origin:
                yield Request(url, callback=self.parse_page)

    def parse_feed(self, response: Response) -> Iterable[Request]:
        if not isinstance(response, TextResponse):
            return
        response.selector.remove_namespaces()
        for href in response.xpath("//item/link/text() | //entry/link/@href").getall():
            yield Request(self._local(response.urljoin(href.strip())), callback=self.parse_page)


class ArabPressSpider(FamilySpider):
    name = "arabpress"
    site_slug = "arabpress"


class SaudiPressSpider(FamilySpider):
    name = "saudipress"
    site_slug = "saudipress"
