"""The order a crawl asks for pages in: discovery first (sitemaps and feeds, then the home page
and listings), articles in bulk after, so that a listing's chain of pages, each found only once
the one before it is read, runs alongside the articles instead of trailing after them."""

from __future__ import annotations

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from pressarchive.extract.links import PageLinks
from pressarchive.fetched import FetchedPage
from pressarchive.sitegen import FamilyServer, SiteFamily
from spiders.family import ArabPressSpider

from conftest import run_crawl

HUBS = ("home", "section", "tag")


@pytest.fixture(scope="module")
def order(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("order")
    with FamilyServer(SiteFamily(800, seed=4), keep_order=True) as server:
        run = run_crawl("arabpress", tmp / "archive.sqlite", tmp,
                        base_url=server.origins["arabpress"])
        asked = [(kind, target) for site, kind, target in server.order if site == "arabpress"]
    assert run.returncode == 0, run.log[-3000:]
    return asked


def positions(asked, kinds):
    return [i for i, (kind, _) in enumerate(asked) if kind in kinds]


def test_every_sitemap_is_read_before_most_articles(order):
    articles = positions(order, ("article",))
    assert len(articles) > 500
    last_sitemap = max(positions(order, ("sitemap",)))
    # Strictly, before any article the sitemaps list; a page the home page links to may come
    # first if the home page is read before the sitemap index.
    assert last_sitemap < articles[len(articles) // 10], order[:last_sitemap + 1]


def test_listing_pages_are_not_left_for_the_end(order):
    articles = positions(order, ("article",))
    hubs = positions(order, HUBS)
    listing_pages = [t for k, t in order if k == "section" and "/page/" in t]
    assert len(listing_pages) >= 10  # pagination chains several pages long
    # Every listing page is asked for while the last quarter of the articles still waits.
    assert max(hubs) < articles[3 * len(articles) // 4], [order[i] for i in hubs[-5:]]


def test_the_pages_a_listing_chain_waits_on_are_marked_so(tmp_path):
    """A listing's next and previous pages are found only once the page before is read: their
    pages are marked ``waited_on``, which sends their batch to the ingester at once
    (tests/test_ingest_batching.py); an ordinary link's page is not, nor the next page an
    article names (a site may link each article to the next one: batches would go one page
    at a time)."""
    local = "http://127.0.0.1:9"
    links = PageLinks(hrefs=[f"{local}/news/a", f"{local}/section/world/page/3"],
                      next=[f"{local}/section/world/page/3"],
                      prev=[f"{local}/section/world/page/1"])

    def spider_following(hub: bool) -> tuple[ArabPressSpider, dict[str, Request]]:
        crawler = get_crawler(ArabPressSpider)
        spider = crawler.spider = ArabPressSpider.from_crawler(crawler, base_url=local)
        return spider, {r.url: r for r in spider._follow(links, hub=hub)}

    spider, requests = spider_following(hub=True)  # a listing page's links
    assert {url: r.meta.get("waited_on", False) for url, r in requests.items()} == {
        f"{local}/news/a": False,
        f"{local}/section/world/page/3": True, f"{local}/section/world/page/1": True}
    _, from_article = spider_following(hub=False)
    assert len(from_article) == 3
    assert not any(r.meta.get("waited_on") for r in from_article.values())

    def page(meta: dict) -> FetchedPage:
        url = f"{local}/section/world/page/3"
        response = HtmlResponse(url=url, body=b"<html><body><p>hi</p></body></html>",
                                headers={"Content-Type": "text/html"},
                                request=Request(url, meta=meta))
        (fetched,) = [i for i in spider.parse_page(response) if isinstance(i, FetchedPage)]
        return fetched

    assert page(requests[f"{local}/section/world/page/3"].meta).waited_on
    assert not page(requests[f"{local}/news/a"].meta).waited_on
    # A page whose links are not wanted (a back-fill's) is waited on by nobody.
    assert not page({**requests[f"{local}/section/world/page/3"].meta, "follow": False}).waited_on
