"""The order a crawl asks for pages in: discovery first (sitemaps and feeds, then the home page
and listings), articles in bulk after, so that a listing's chain of pages, each found only once
the one before it is read, runs alongside the articles instead of trailing after them."""

from __future__ import annotations

import pytest

from pressarchive.sitegen import FamilyServer, SiteFamily

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
