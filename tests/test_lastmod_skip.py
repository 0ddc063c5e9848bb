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


def test_dates_past_the_calendar_s_ends_are_unreadable_not_errors():
    # A lastmod or Last-Modified at the edge of the calendar (a CMS's "no date" written with
    # an offset) cannot be moved to UTC: it is no date, and the site's answer decides.
    from pressarchive.lastmods import as_recent, http_date, utc, vouches

    sent = "Mon, 02 Jan 2017 00:00:00 GMT"
    for lastmod in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:00:00-05:00"):
        assert utc(lastmod) is None
        assert as_recent(lastmod, sent) is None and vouches(lastmod, sent)
        assert not _unchanged_since(lastmod, state(last_modified=sent, lastmod=None))
    assert as_recent("9999-12-31", "Fri, 31 Dec 9999 23:59:59 GMT") is False
    assert as_recent("9999-12-31", "Fri, 31 Dec 9999 23:59:59 GMT", whole_day=False) is True
    assert http_date("Fri, 31 Dec 9999 23:00:00 -0500") is None


def test_a_changed_lastmod_asks_in_full_unless_the_page_s_lastmods_are_known_to_run_ahead():
    from scrapy.utils.test import get_crawler

    from spiders.family import ArabPressSpider

    crawler = get_crawler(ArabPressSpider)
    spider = ArabPressSpider.from_crawler(crawler, base_url="http://127.0.0.1:9")
    sent = dict(lastmod="2025-06-19T00:00:00+00:00",
                last_modified="Wed, 18 Jun 2025 10:00:00 GMT")
    url = "http://127.0.0.1:9/a"
    # A lastmod that changed: in full (a server whose validators do not follow its edits
    # would answer a conditional request 304), unless a full fetch showed this page's
    # lastmods running ahead of a Last-Modified that follows its content.
    assert not spider.request(url, lastmod="2025-06-20", state=state(**sent)).headers
    ahead = spider.request(url, lastmod="2025-06-20", state=state(**sent, lastmod_ahead=True))
    assert ahead.headers.get("If-Modified-Since") == b"Wed, 18 Jun 2025 10:00:00 GMT"
    # FULL_RECHECK still asks in full.
    spider.full = True
    assert not spider.request(url, lastmod="2025-06-20",
                              state=state(**sent, lastmod_ahead=True)).headers


def test_only_a_copy_as_held_whose_last_modified_follows_its_content_shows_lastmods_ahead():
    import datetime as dt
    from dataclasses import replace

    from pressarchive.storage.archive import Archive
    from pressarchive.storage.crawlstate import Fetch, lastmod_ran_ahead
    from pressarchive.storage.models import Page

    archive = Archive("sqlite://")
    # A full fetch whose sitemap lastmod was newer than the copy's Last-Modified.
    fetch = Fetch(site="arabpress", url="https://arabpress.com/a",
                  fetched_at=dt.datetime(2026, 1, 1),
                  last_modified="Fri, 20 Jun 2025 10:00:00 GMT", forget_lastmod=True)
    with archive.session() as session:
        assert lastmod_ran_ahead(session, fetch, "2025-06-20T13:00:00+03:00")  # modified then
        assert lastmod_ran_ahead(session, fetch, "2025-06-20")
        # A Last-Modified older than the article itself (one date for every page: a server
        # start, a template) does not follow the content: a 304 from it would say nothing.
        assert not lastmod_ran_ahead(session, fetch, "2025-06-20T10:00:01+00:00")
        # A lastmod the copy vouched for says nothing of the sitemap running ahead.
        assert not lastmod_ran_ahead(session, replace(fetch, forget_lastmod=False), "2025-06-20")
        # A page that states no date: the site's word, once another of its pages gave it.
        assert not lastmod_ran_ahead(session, fetch, None)
        session.add(Page(site="arabpress", url="https://arabpress.com/b", lastmod_ahead=True))
        session.flush()
        assert lastmod_ran_ahead(session, fetch, None)
        assert not lastmod_ran_ahead(session, replace(fetch, site="saudipress"), None)
    archive.close()
