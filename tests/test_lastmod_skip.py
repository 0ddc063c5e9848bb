"""When a sitemap lastmod lets a crawl pass a known page over."""

from pressarchive.storage.crawlstate import PageState
from spiders.family import _unchanged_since


def state(**changes) -> PageState:
    values = dict(lastmod="2025-06-19", etag='"a"', last_modified=None, fetched=True,
                  failures=0, article_id=7)
    return PageState(**{**values, **changes})


def test_an_archived_page_not_modified_since_the_site_said_it_was_is_passed_over():
    assert _unchanged_since("2025-06-19", state())  # the lastmod stored with it
    sent = state(lastmod=None, last_modified="Fri, 20 Jun 2025 10:00:00 GMT")
    assert _unchanged_since("2025-06-20T09:00:00Z", sent)  # before the site's Last-Modified
    assert _unchanged_since("2025-06-19", sent)  # a date: the end of that day
    assert not _unchanged_since("2025-06-20T11:00:00+00:00", sent)  # edited after it
    assert not _unchanged_since("2025-06-20", sent)
    # Never judged by our own clock: no Last-Modified and no lastmod recorded, it is asked
    # for again (conditionally), however old the lastmod.
    assert not _unchanged_since("2020-01-01", state(lastmod=None))


def test_a_page_whose_last_fetch_gave_no_article_is_asked_for_again():
    # A sitemap lists articles: a fetch that met a "not found" page (a 200) is not trusted.
    assert not _unchanged_since("2025-06-19", state(article_id=None))


def test_failing_or_never_fetched_pages_are_asked_for_again():
    assert not _unchanged_since("2025-06-19", state(failures=1))
    assert not _unchanged_since("2025-06-19", state(fetched=False))
    assert not _unchanged_since(None, state())
