"""canonical_url skips w3lib for plain URLs: that shortcut must never change a result."""

import random

import pytest
from w3lib.url import canonicalize_url, url_query_cleaner

from pressarchive.urls import _PLAIN, TRACKING_PARAMS, _canonical, canonical_url, rebase

HOSTS = ["arabpress.com", "127.0.0.1:8100", "ArabPress.COM", "saudipress.com:80", "a.b-c.org:443"]
PATH_CHARS = "az09.-/_~Z" * 3 + "%?#&=: é+;,'()!$*@"


def random_urls(n: int, seed: int = 7):
    rng = random.Random(seed)
    for _ in range(n):
        path = "".join(rng.choice(PATH_CHARS) for _ in range(rng.randint(0, 20)))
        yield f"{rng.choice(['http', 'https', 'HTTP'])}://{rng.choice(HOSTS)}/{path}"


def test_plain_urls_are_left_alone_by_w3lib():
    plain = 0
    for url in random_urls(30_000):
        if _PLAIN.match(url):
            plain += 1
            cleaned = url_query_cleaner(url, TRACKING_PARAMS, remove=True, keep_fragments=False)
            assert canonicalize_url(cleaned, keep_fragments=False) == url, url
    assert plain > 1_000  # the shortcut was really exercised (1,985 with this seed)


def test_the_plain_shortcut_gives_what_the_general_way_gives():
    """Plain URLs are canonicalized with string work alone: same result as urlsplit's way,
    ports (default, leading zeros, out of range), upper case and trailing slashes included."""
    rng = random.Random(11)
    hosts = HOSTS + ["127.0.0.1:08000", "h.org:0", "h.org:99999", "h.org:65535", "h.org:00443"]
    plain = 0
    for n in range(30_000):
        path = "".join(rng.choice("az09.-/_~Z/") for _ in range(rng.randint(0, 12)))
        url = f"{rng.choice(['http', 'https', 'HTTP'])}://{rng.choice(hosts)}/{path}"
        url = url[:-len(path) - 1] if n % 7 == 0 else url  # some with no path at all
        plain += bool(_PLAIN.match(url))
        try:
            expected = _canonical(url)
        except ValueError:
            expected = ValueError
        try:
            got = canonical_url(url)
        except ValueError:
            got = ValueError
        assert got == expected, url
    assert plain > 10_000


@pytest.mark.parametrize("url", ["https://arabpress.com/a/./b", "https://arabpress.com/a/..",
                                 "https://arabpress.com/a b", "https://arabpress.com/x?utm_source=1",
                                 "https://arabpress.com/%7Ex", "https://arabpress.com/é"])
def test_urls_that_need_w3lib_are_not_plain(url):
    assert not _PLAIN.match(url)


@pytest.mark.parametrize("url, expected", [
    ("https://ArabPress.com:443/News/Item/", "https://arabpress.com/News/Item"),
    ("https://arabpress.com/a/./b/../c", "https://arabpress.com/a/c"),
    ("https://arabpress.com/x?utm_source=tw&b=2&a=1#top", "https://arabpress.com/x?a=1&b=2"),
    ("http://127.0.0.1:8100", "http://127.0.0.1:8100/"),
])
def test_canonical_url(url, expected):
    assert canonical_url(url) == expected


@pytest.mark.parametrize("url, expected", [
    ("https://arabpress.com/x?a=1", "http://127.0.0.1:8100/x?a=1"),
    ("https://arabpress.com", "http://127.0.0.1:8100"),
    ("https://ARABPRESS.com/x", "http://127.0.0.1:8100/x"),   # not spelled as the origin
    ("https://arabpress.com.evil.org/x", "https://arabpress.com.evil.org/x"),
    ("https://saudipress.com/x", "https://saudipress.com/x"),
])
def test_rebase(url, expected):
    assert rebase(url, "https://arabpress.com", "http://127.0.0.1:8100") == expected


def test_the_offsite_middleware_s_kept_verdicts_are_scrapy_s():
    # spiders.middlewares.OffsiteMiddleware keeps a verdict per URL authority: the same as
    # Scrapy's own middleware for every URL, asked twice, and anew once allowed_domains change.
    from scrapy import Request, Spider
    from scrapy.downloadermiddlewares.offsite import OffsiteMiddleware as Scrapy
    from scrapy.utils.test import get_crawler

    from spiders.middlewares import OffsiteMiddleware as Ours

    class Family(Spider):
        name = "family"
        allowed_domains = ["arabpress.com", "saudipress.com"]

    crawler = get_crawler(Family)
    spider = crawler._create_spider()
    crawler.spider = spider
    ours, scrapy = Ours.from_crawler(crawler), Scrapy.from_crawler(crawler)
    urls = ["https://arabpress.com/a", "https://www.arabpress.com/b?x=1",
            "https://ARABPRESS.COM/c", "https://arabpress.com.evil.net/d",
            "https://evilarabpress.com/e", "https://user@saudipress.com:8443/f",
            "http://saudipress.com?q", "https://example.org/#arabpress.com",
            "ftp://arabpress.com/g", "data:text/plain,arabpress.com", "https://[::1]:8080/h"]
    for turn in ("first", "kept"):
        assert [ours.should_follow(Request(url), spider) for url in urls] == \
               [scrapy.should_follow(Request(url), spider) for url in urls], turn
    assert ours.should_follow(Request("https://arabpress.com/a"), spider)
    spider.allowed_domains = ["saudipress.com"]
    assert not ours.should_follow(Request("https://arabpress.com/a"), spider)
    assert [ours.should_follow(Request(url), spider) for url in urls] == \
           [scrapy.should_follow(Request(url), spider) for url in urls]
