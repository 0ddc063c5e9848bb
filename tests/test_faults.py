"""Crawls of a generated site whose server misbehaves: errors, timeouts, resets, truncated
bodies, redirects (chains, loops, off the site), soft 404s, 429 and 503 with Retry-After."""

from __future__ import annotations

import sqlite3

import pytest

from pressarchive.sitegen import FamilyServer, Faults, SiteFamily

from conftest import run_crawl

# DOWNLOAD_TIMEOUT below the server's hold time turns its "timeout" fault into a real one.
SETTINGS = {"DOWNLOAD_TIMEOUT": 1}


def crawl_twice(tmp, family, faults):
    db = tmp / "archive.sqlite"
    with FamilyServer(family, faults=faults) as server:
        runs = [run_crawl("arabpress", db, tmp, base_url=server.origins["arabpress"],
                          settings=SETTINGS) for _ in range(2)]
        faulted = dict(server.requests["by_fault"])
    con = sqlite3.connect(db)
    stored = con.execute("SELECT a.url, v.headline, v.body FROM appearances a "
                         "JOIN versions v ON v.id = a.version_id WHERE a.site='arabpress'").fetchall()
    integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
    con.close()
    return {"runs": runs, "stored": stored, "integrity": integrity, "faulted": faulted}


def expected_articles(family):
    return {family.article(i).url("arabpress"): family.article(i)
            for i in range(family.count) if "arabpress" in family.sites_of(i)}


@pytest.fixture(scope="module")
def transport_faults(tmp_path_factory):
    family = SiteFamily(500, seed=5)
    faults = Faults(seed=1, error_5xx=0.10, timeout=0.05, timeout_seconds=3, truncated=0.02,
                    reset=0.01)
    return family, crawl_twice(tmp_path_factory.mktemp("faults"), family, faults)


@pytest.fixture(scope="module")
def page_faults(tmp_path_factory):
    family = SiteFamily(300, seed=6)
    faults = Faults(seed=2, redirect_chain=0.05, redirect_loop=0.03, offsite_redirect=0.05,
                    soft_404=0.03, error_429=0.03, error_503_retry_after=0.03)
    return family, crawl_twice(tmp_path_factory.mktemp("page-faults"), family, faults)


def test_faults_were_really_injected(transport_faults):
    faulted = transport_faults[1]["faulted"]
    for kind in ("error_5xx", "timeout", "truncated", "reset"):
        assert faulted.get(kind, 0) > 0, faulted


@pytest.mark.parametrize("which", ["transport_faults", "page_faults"])
def test_a_follow_up_run_archives_at_least_999_per_mille(request, which):
    family, result = request.getfixturevalue(which)
    expected = expected_articles(family)
    stored = {url for url, _, _ in result["stored"]}
    assert len(stored & set(expected)) >= 0.999 * len(expected)
    assert stored <= set(expected)  # nothing but real articles: no soft 404, no foreign page
    for run in result["runs"]:
        assert run.returncode == 0 and run.stats["finish_reason"] == "finished"


@pytest.mark.parametrize("which", ["transport_faults", "page_faults"])
def test_no_record_is_corrupt(request, which):
    family, result = request.getfixturevalue(which)
    expected = expected_articles(family)
    assert result["integrity"] == "ok"
    for url, headline, body in result["stored"]:
        article = expected[url]
        assert (headline, body) == (article.headline, article.body_text), url


def test_truncated_bodies_are_retried_not_stored(transport_faults):
    first = transport_faults[1]["runs"][0].stats
    assert first.get("retry/reason_count/scrapy.exceptions.ResponseDataLossError", 0) > 0
    assert "pressarchive/dropped/truncated" not in first


def test_off_site_redirects_are_not_followed_but_remembered(page_faults):
    first, second = (r.stats for r in page_faults[1]["runs"])
    assert first.get("pressarchive/offsite_redirects", 0) > 0
    assert first.get("pressarchive/failed/offsite_redirect", 0) > 0
    assert "offsite/filtered" not in first  # refused before Scrapy would even try
    assert second["pressarchive/retrying_failed"] >= first["pressarchive/failed/offsite_redirect"]


def test_retry_after_is_honoured(page_faults):
    first = page_faults[1]["runs"][0].stats
    assert first.get("pressarchive/retry_after_waits", 0) > 0
    assert first.get("retry/reason_count/429 Unknown Status", 0) > 0


def test_a_redirect_loop_is_remembered_and_the_page_archived_by_the_next_run(tmp_path):
    """Scrapy's duplicate filter drops a hop to a URL already asked for without a trace; a
    loop must be a failure the next run retries, or the page is lost for good."""
    family = SiteFamily(200, seed=8)
    article = family.article(family.month_ids("arabpress", family.months("arabpress")[0])[0])
    url = article.url("arabpress")
    faults = Faults(redirect_loop=1.0, retry_factor=0.0,
                    targets=("/" + url.split(".com/", 1)[1],))
    db = tmp_path / "archive.sqlite"
    with FamilyServer(family, faults) as server:
        runs = [run_crawl("arabpress", db, tmp_path, base_url=server.origins["arabpress"])]
        chains = server.requests["by_fault"]["redirect_loop"]  # one a spelling links used
        runs.append(run_crawl("arabpress", db, tmp_path, base_url=server.origins["arabpress"]))
    con = sqlite3.connect(db)
    stored = {u for (u,) in con.execute("SELECT url FROM appearances WHERE site='arabpress'")}
    con.close()
    assert url in stored
    first, second = (r.stats for r in runs)
    # Every chain ends in a failure, even one that meets another chain's hop (the server sends
    # every spelling of the URL round the same loop).
    assert first["pressarchive/redirect_loops"] == first["pressarchive/failed/redirect_loop"]
    assert first["pressarchive/failed/redirect_loop"] == chains
    assert second["pressarchive/retrying_failed"] >= 1
    assert second["pressarchive/stored/new_article"] == 1


def test_an_article_cut_short_before_its_text_is_retried_not_kept_as_no_article(tmp_path):
    # DOWNLOAD_FAIL_ON_DATALOSS off (a user's choice for a server whose Content-Length is
    # wrong): the server sends half of an article page, then closes. Cut before its text, the
    # page looked like one with no article: it was kept as a page that is none, with the
    # whole page's validators, and every later run got a 304 and left the article out (a
    # helper's soak). Scrapy's dataloss flag on a page that stops before its end now makes it
    # a failure the next run retries; and the extractor calls a page cut before any article
    # text cut short, not "no article", however it came (a transfer closed with no length).
    from pressarchive.extract import InvalidArticle, NotAnArticle, extract
    from pressarchive.sitegen.render import render_page

    family = SiteFamily(120, seed=5)
    article = family.article(family.ids("arabpress")[3])
    path = "/" + article.url("arabpress").split(".com/", 1)[1]
    page = render_page(family, "arabpress", path).body
    before_text = page[:page.index(b'<article class="article">') + 30]
    with pytest.raises(InvalidArticle) as cut:
        extract(before_text, article.url("arabpress"), site="arabpress")
    assert cut.value.key == "truncated"
    listing = render_page(family, "arabpress", "/").body
    with pytest.raises(NotAnArticle):  # a whole page with no article is still none
        extract(listing, "https://arabpress.com/", site="arabpress")

    db = tmp_path / "archive.sqlite"
    lenient = {"DOWNLOAD_FAIL_ON_DATALOSS": "False"}
    with FamilyServer(family) as server:
        site = server.origins["arabpress"]
        server.faults = Faults(truncated=1.0, retry_factor=0.0, targets=(path,))
        first = run_crawl("arabpress", db, tmp_path, base_url=site, settings=lenient).stats
        server.faults = None
        second = run_crawl("arabpress", db, tmp_path, base_url=site, settings=lenient).stats
    assert first["finish_reason"] == second["finish_reason"] == "finished"
    assert first["pressarchive/pages_cut"] == 1
    assert first["pressarchive/failed/truncated"] == 1
    assert second["pressarchive/retrying_failed"] == 1
    assert "pressarchive/pages_cut" not in second
    con = sqlite3.connect(db)
    stored = {url for (url,) in con.execute("SELECT url FROM appearances")}
    failing = con.execute("SELECT url FROM pages WHERE failures > 0").fetchall()
    con.close()
    assert article.url("arabpress") in stored and failing == []
    assert stored == set(expected_articles(family))


def test_a_page_flagged_dataloss_that_reaches_its_end_is_read_as_usual():
    # A server whose Content-Length is wrong for whole pages (why a user turns
    # DOWNLOAD_FAIL_ON_DATALOSS off): its pages are read; one that stops short is a failure.
    from scrapy import Request
    from scrapy.http import HtmlResponse
    from scrapy.utils.test import get_crawler

    from pressarchive.fetched import FetchedPage, FetchFailure
    from spiders.family import ArabPressSpider

    crawler = get_crawler(ArabPressSpider)
    spider = crawler.spider = ArabPressSpider.from_crawler(crawler, base_url="http://127.0.0.1:9")
    whole = b"<html><body><p>" + b"x" * 5000 + b"</p></body>\n</html>\n"
    url = "http://127.0.0.1:9/a"

    def parsed(body):
        return list(spider.parse_page(HtmlResponse(url, body=body, request=Request(url),
                                                   flags=["dataloss"])))

    (page,) = parsed(whole)
    assert isinstance(page, FetchedPage) and page.body == whole
    (failure,) = parsed(whole[:3000])
    assert isinstance(failure, FetchFailure)
    assert (failure.url, failure.kind, failure.retry) == ("https://arabpress.com/a", "truncated",
                                                          True)


def test_a_redirect_to_a_sister_site_s_copy_on_another_port_is_off_the_site():
    # Local copies of the sister sites share 127.0.0.1, each on its own port: judged by host
    # alone, a Saudi Press article's 301 to its Arab Press copy was followed, stored under a
    # raw local URL, and that page's links asked of Saudi Press, failing (a helper's soak).
    from scrapy import Request
    from scrapy.exceptions import IgnoreRequest
    from scrapy.http import Response
    from scrapy.utils.test import get_crawler

    from spiders.family import ArabPressSpider, SaudiPressSpider
    from spiders.middlewares import OffsiteRedirectMiddleware

    def redirect(spider_cls, base_url, request_url, location):
        crawler = get_crawler(spider_cls)
        crawler.spider = spider_cls.from_crawler(crawler, base_url=base_url)
        crawler.stats.open_spider()
        middleware = OffsiteRedirectMiddleware.from_crawler(crawler)
        response = Response(request_url, status=301, headers={"Location": location})
        try:
            middleware.process_response(Request(request_url), response)
        except IgnoreRequest as exc:
            return str(exc)
        return "followed"

    copy = "http://127.0.0.1:8001"
    assert redirect(SaudiPressSpider, copy, f"{copy}/a", "http://127.0.0.1:8000/a") \
        == "redirect off the site to 127.0.0.1:8000"
    assert redirect(SaudiPressSpider, copy, f"{copy}/a", "/article/a") == "followed"
    assert redirect(SaudiPressSpider, copy, f"{copy}/a", "http://127.0.0.1/a") != "followed"
    # The real sites: another name is off the site; www and a move to https are not.
    real = "https://saudipress.com"
    assert redirect(SaudiPressSpider, None, f"{real}/a", "https://arabpress.com/a") \
        == "redirect off the site to arabpress.com"
    assert redirect(SaudiPressSpider, None, "http://saudipress.com/a",
                    "https://www.saudipress.com/a") == "followed"
    # A copy named without a port: its host alone decides.
    assert redirect(ArabPressSpider, "https://staging.example.org", "https://staging.example.org/a",
                    "http://staging.example.org:8443/a") == "followed"


def test_a_sister_copy_s_url_in_a_feed_or_sitemap_is_not_asked_of_this_copy():
    # A sitemap or feed entry on another port of 127.0.0.1 (the sister's copy) passed Scrapy's
    # offsite check (host alone) and was stored as a raw local URL (a review's find). And a
    # copy named with its scheme's default port takes redirects written without it.
    from scrapy import Request
    from scrapy.http import XmlResponse
    from scrapy.utils.test import get_crawler

    from spiders.family import ArabPressSpider

    crawler = get_crawler(ArabPressSpider)
    copy = "http://127.0.0.1:8000"
    spider = crawler.spider = ArabPressSpider.from_crawler(crawler, base_url=copy)
    body = (b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            b"<url><loc>https://arabpress.com/a</loc></url>"
            b"<url><loc>http://127.0.0.1:8001/b</loc></url></urlset>")
    url = spider.sitemap_request(f"{copy}/sitemaps/m.xml").url
    out = list(spider.parse_sitemap(XmlResponse(url, body=body, request=Request(url))))
    assert [r.url for r in out] == [f"{copy}/a"]
    assert crawler.stats.get_value("pressarchive/offsite_entries") == 1
    crawler = get_crawler(ArabPressSpider)
    spider = ArabPressSpider.from_crawler(crawler, base_url="http://127.0.0.1:80")
    from urllib.parse import urlsplit
    assert spider.on_site(urlsplit("http://127.0.0.1/article/a"))
    assert not spider.on_site(urlsplit("http://127.0.0.1:8001/article/a"))
