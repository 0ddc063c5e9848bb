"""URLLENGTH_LIMIT holds for the URLs sitemaps and feeds list, as for links (the spider applies
it itself: Scrapy's UrlLengthMiddleware is off, see settings.py)."""

from scrapy.http import XmlResponse
from scrapy.utils.test import get_crawler

from spiders.family import FamilySpider

BASE = "http://127.0.0.1:8000"


class ArabPress(FamilySpider):
    name = "arabpress-test"
    site_slug = "arabpress"


def spider(limit: int):
    crawler = get_crawler(ArabPress, {"URLLENGTH_LIMIT": limit, "DISK_QUEUE": False})
    crawler.stats.open_spider()
    return crawler._create_spider(base_url=BASE), crawler.stats


def sitemap(root: str, item: str, urls: list[str]) -> XmlResponse:
    body = "".join(f"<{item}><loc>{u}</loc><lastmod>2025-06-01</lastmod></{item}>" for u in urls)
    xml = f'<{root} xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{body}</{root}>'
    return XmlResponse(BASE + "/sitemap.xml", body=xml.encode())


def test_too_long_sitemap_entries_are_not_asked_for_and_are_counted():
    s, stats = spider(limit=60)
    short, long = "https://arabpress.com/a-short-slug", "https://arabpress.com/" + "x" * 80
    asked = [r.url for r in s.parse_sitemap(sitemap("urlset", "url", [short, long]))]
    assert asked == [BASE + "/a-short-slug"]
    assert stats.get_value("urllength/request_ignored_count") == 1
    # The same for the sitemaps an index names.
    index = sitemap("sitemapindex", "sitemap", [short + ".xml", long + ".xml"])
    assert [r.url for r in s.parse_sitemap(index)] == [BASE + "/a-short-slug.xml"]
    assert stats.get_value("urllength/request_ignored_count") == 2


def test_the_default_limit_lets_ordinary_urls_through():
    s, stats = spider(limit=2083)
    urls = [f"https://arabpress.com/article-{n}" for n in range(3)]
    assert len(list(s.parse_sitemap(sitemap("urlset", "url", urls)))) == 3
    assert stats.get_value("urllength/request_ignored_count") is None
