"""A sitemap entry is dealt with before its sitemap is trusted again, and a URL that failed is
asked for again as what it was.

A finished run remembers the validators of the sitemaps it read, so that the next run gets a
304 for an unchanged one and reads none of its entries. That is only right when every entry was
dealt with: stored, passed over as unchanged, or remembered as failed. An entry whose page gave
nothing to keep and nothing to retry (a "not found" page served with 200, a page cut short)
keeps its sitemap from being remembered, so the next run reads that sitemap in full and fetches
the page again. And a sitemap (or feed) that failed is retried as a sitemap: retried as a page,
its entries were never read, since its request from the sitemap index is then a duplicate.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3

from scrapy import Request
from scrapy.http import HtmlResponse, XmlResponse
from scrapy.utils.test import get_crawler

from pressarchive.fetched import FetchedPage, FetchFailure
from pressarchive.storage.crawlstate import PageState
from pressarchive.sitegen import FamilyServer, Faults, SiteFamily
from spiders.family import ArabPressSpider

from conftest import run_crawl

LOCAL = "http://127.0.0.1:9"
WHOLE_WINDOW = {"since": "2000-01-01", "until": "2100-01-01"}


def spider() -> ArabPressSpider:
    crawler = get_crawler(ArabPressSpider)
    crawler.spider = ArabPressSpider.from_crawler(crawler, base_url=LOCAL)
    return crawler.spider


def spider_on(tmp_path) -> ArabPressSpider:
    """A spider whose crawl's archive is ``tmp_path/a.sqlite``."""
    crawler = get_crawler(ArabPressSpider,
                          {"ARCHIVE_URL": f"sqlite:///{tmp_path / 'a.sqlite'}"})
    crawler.spider = ArabPressSpider.from_crawler(crawler, base_url=LOCAL)
    return crawler.spider


def urlset(*slugs: str) -> bytes:
    entries = "".join(f"<url><loc>https://arabpress.com/{slug}</loc>"
                      f"<lastmod>2025-06-01</lastmod></url>" for slug in slugs)
    return (b'<?xml version="1.0" encoding="UTF-8"?>\n'
            b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            + entries.encode() + b"</urlset>")


def xml(url: str, body: bytes, meta: dict | None = None) -> XmlResponse:
    return XmlResponse(url=url, body=body, request=Request(url, meta=meta or {}))


def html(url: str, body: bytes = b"<html><body><p>hi</p></body></html>",
         meta: dict | None = None) -> HtmlResponse:
    return HtmlResponse(url=url, body=body, request=Request(url, meta=meta or {}),
                        headers={"Content-Type": "text/html"})


def fetched(url: str, status: int = 200) -> FetchedPage:
    return FetchedPage(url=url, requested_url=url, final_url=url, status=status, headers={},
                       body=b"", fetched_at="2025-06-20T10:00:00+00:00", site="arabpress")


def test_a_url_asked_for_again_is_read_as_what_it_turns_out_to_be():
    s = spider()
    sitemap = list(s.parse_any(xml(f"{LOCAL}/sitemaps/2025-06.xml", urlset("a", "b"))))
    assert [r.url for r in sitemap] == [f"{LOCAL}/a", f"{LOCAL}/b"]
    assert all(r.callback == s.parse_page for r in sitemap)
    assert set(s.sitemaps_read) == {f"{LOCAL}/sitemaps/2025-06.xml"}
    feed = list(s.parse_any(xml(f"{LOCAL}/feed.xml", b'<?xml version="1.0"?><rss><channel>'
                                b"<item><link>https://arabpress.com/c</link></item>"
                                b"</channel></rss>")))
    assert [r.url for r in feed] == [f"{LOCAL}/c"]
    page = list(s.parse_any(html(f"{LOCAL}/d")))
    assert [type(item) for item in page] == [FetchedPage] and page[0].url.endswith("/d")
    # Neither XML nor HTML: handed on as a page (the archive drops it, counted, as not HTML).
    other = list(s.parse_any(xml(f"{LOCAL}/e.json", b'{"not": "xml"}')))
    assert [type(item) for item in other] == [FetchedPage]


def test_a_sitemap_whose_entry_gave_no_article_is_not_remembered():
    s = spider()
    one, two, three = (f"{LOCAL}/sitemaps/2025-0{n}.xml" for n in (4, 5, 6))
    requests = {r.url: r for r in s.parse_sitemap(xml(one, urlset("a", "b")))}
    requests.update({r.url: r for r in s.parse_sitemap(xml(two, urlset("c")))})
    assert requests[f"{LOCAL}/a"].meta["sitemap"] == one
    # /d was asked for by a link before the third sitemap listed it: no second request.
    s.asked.add(f"{LOCAL}/d")
    assert [r.url for r in s.parse_sitemap(xml(three, urlset("d")))] == []
    assert s._settled_sitemaps().keys() == {one, two, three}
    # An unchanged page (304) and a failure (remembered, retried next run) settle an entry.
    s.page_unsettled(fetched(f"{LOCAL}/a", 304), html(f"{LOCAL}/a", meta={"sitemap": one}))
    failure = FetchFailure(url=f"{LOCAL}/c", site="arabpress", kind="timeout", message="",
                           failed_at="2025-06-20T10:00:00+00:00", retry=True)
    s.page_unsettled(failure, None)
    assert s._settled_sitemaps().keys() == {one, two, three}
    # A page that gave no article does not, whichever way it was asked for.
    s.page_unsettled(fetched(f"{LOCAL}/b"), html(f"{LOCAL}/b", meta={"sitemap": one}))
    assert s._settled_sitemaps().keys() == {two, three}
    s.page_unsettled(fetched(f"{LOCAL}/d"), html(f"{LOCAL}/d"))
    assert s._settled_sitemaps().keys() == {two}
    assert s.crawler.stats.get_value("pressarchive/sitemaps_unsettled") == 2


def stored_urls(db) -> set[str]:
    con = sqlite3.connect(db)
    try:
        return {url for (url,) in con.execute(
            "SELECT url FROM appearances WHERE site = 'arabpress'")}
    finally:
        con.close()


def failing_rows(db) -> list[tuple[str, int, str | None]]:
    """(URL, failures, role) of the pages the crawl state holds as failing, by URL."""
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT url, failures, role FROM pages WHERE failures > 0 "
                           "ORDER BY url").fetchall()
    finally:
        con.close()


def finished(server, db, tmp_path) -> dict:
    """A crawl of the generated site's arabpress into ``db`` that must finish: its stats."""
    run = run_crawl("arabpress", db, tmp_path, base_url=server.origins["arabpress"])
    assert run.stats["finish_reason"] == "finished", run.log[-2000:]
    return run.stats


def articles_of(family: SiteFamily, month: str | None = None) -> set[str]:
    ids = family.month_ids("arabpress", month) if month else family.ids("arabpress")
    return {family.article(i).url("arabpress") for i in ids}


def test_a_failed_sitemap_is_read_as_a_sitemap_by_the_next_run(tmp_path):
    """A back-fill reads sitemaps only: a month's sitemap redirected off the site is its only
    way to that month's articles."""
    family = SiteFamily(200, seed=8)
    month = family.months("arabpress")[-2]
    faults = Faults(offsite_redirect=1.0, retry_factor=0.0, faults_on_all=True,
                    targets=(f"/sitemaps/{month}.xml",))
    db = tmp_path / "archive.sqlite"
    with FamilyServer(family, faults) as server:
        runs = [run_crawl("arabpress", db, tmp_path, base_url=server.origins["arabpress"],
                          spider_args=WHOLE_WINDOW) for _ in range(2)]
        assert server.attempts("arabpress", f"/sitemaps/{month}.xml") == 2
    after_second = stored_urls(db)
    first, second = (run.stats for run in runs)
    assert all(run.returncode == 0 for run in runs)
    assert first["pressarchive/failed/offsite_redirect"] == 1
    lost = articles_of(family, month)
    assert lost and first["pressarchive/stored/new_article"] == len(articles_of(family)) - len(lost)
    assert after_second == articles_of(family)
    assert second["pressarchive/retrying_failed"] == 1
    assert second["pressarchive/stored/new_article"] == len(lost)


def test_a_sitemap_that_failed_last_run_is_asked_for_once_and_counts_as_one_of_this_runs(
        tmp_path):
    # A sitemap that failed last run is asked for first this run, as a failure to retry; the
    # index's request for it would be a duplicate that Scrapy drops, never answered, and no
    # known article could be settled by its sitemap for the whole run. The front pages
    # answer 200 (no validators), so their links lead to known articles every run.
    family = SiteFamily(200, seed=9)
    target = f"/sitemaps/{family.months('arabpress')[-1]}.xml"
    down = Faults(error_5xx=1.0, retry_factor=1.0, faults_on_all=True, targets=(target,))
    db = tmp_path / "archive.sqlite"
    with FamilyServer(family, down, hub_validators=False) as server:
        first = run_crawl("arabpress", db, tmp_path, base_url=server.origins["arabpress"])
        # Still failing: it settles nothing, so the known articles the links lead to are
        # asked for (conditionally: 304s), after waiting for it or, once it has failed, at
        # once.
        still = run_crawl("arabpress", db, tmp_path, base_url=server.origins["arabpress"])
    with FamilyServer(family, hub_validators=False, keep_order=True) as server:
        mended = run_crawl("arabpress", db, tmp_path, base_url=server.origins["arabpress"])
        asked = [target_ for _, _, target_ in server.order if target_ == target]
    for run in (first, still, mended):
        assert run.stats["finish_reason"] == "finished", run.log[-2000:]
    assert first.stats["pressarchive/failed"] == 1
    assert still.stats["pressarchive/retrying_failed"] == 1
    assert still.stats["pressarchive/failed"] == 1
    assert still.stats["pressarchive/not_modified"] >= 1
    assert "pressarchive/skipped/listed" not in still.stats
    # Answering again: read once, as the failure to retry, and counted as this run's: the
    # known articles the links lead to are settled by their sitemaps, none waits in vain.
    assert asked == [target]
    assert mended.stats["pressarchive/retrying_failed"] == 1
    assert mended.stats["pressarchive/skipped/listed"] >= 1
    assert "pressarchive/held_asked" not in mended.stats
    assert stored_urls(db) == articles_of(family)


def test_a_sitemap_index_or_feed_read_again_after_a_failure_is_no_failure_any_more(tmp_path):
    # The sitemap index and the feed fail to their last retry in one run, and answer in the
    # next. Read in full every run and never stored as pages, nothing cleared their
    # failures: every run after asked for them as failures to retry, for good (a helper's
    # soak). The run that reads them again clears them (forget_recovered).
    family = SiteFamily(120, seed=5)
    db = tmp_path / "archive.sqlite"
    down = Faults(error_5xx=1.0, retry_factor=1.0, faults_on_all=True,
                  targets=("/sitemap.xml", "/feed.xml"))
    with FamilyServer(family) as server:
        finished(server, db, tmp_path)
        server.faults = down
        failed = finished(server, db, tmp_path)
        server.faults = None
        mended, after = finished(server, db, tmp_path), finished(server, db, tmp_path)
    assert failed["pressarchive/failed"] == 2, failed
    assert mended["pressarchive/retrying_failed"] == 2, mended
    assert "pressarchive/failed" not in mended, mended
    assert after["pressarchive/retrying_failed"] == 0, after
    assert failing_rows(db) == []
    assert stored_urls(db) == articles_of(family)


def test_recovered_failures_are_not_cleared_when_the_archive_took_no_write(monkeypatch):
    # A run closed as archive_unwritable has said so in one ERROR line; a second attempt
    # to write would say another. The failures stay, and are retried next run.
    import spiders.family

    writes = []
    monkeypatch.setattr(spiders.family, "write_archive",
                        lambda crawler, write: writes.append(write) or (None, None))
    s = spider()
    s.recovered.add(f"{LOCAL}/sitemap.xml")
    s.forget_recovered("archive_unwritable")
    assert writes == []
    s.forget_recovered("closespider_pagecount")  # any other end: what was read, was read
    assert len(writes) == 1


def test_a_sitemap_read_again_after_a_failure_forgets_validators_that_were_not_its(tmp_path):
    # A sitemap's row holds the validators of an answer that was no sitemap (a maintenance
    # page parse_any stored as a page, before the index named it) and a failure. Once a
    # run reads the sitemap again, its failure is cleared (forget_recovered); with those
    # validators kept, every run that did not remember it after asked for it with them, and
    # a server answered 304 for good, its entries never read (a review's find). They go
    # with the failure, and the sitemap is asked for unconditionally.
    from pressarchive.storage import Archive, crawlstate

    archive = Archive(f"sqlite:///{tmp_path / 'a.sqlite'}")
    june = "https://arabpress.com/sitemaps/2025-06.xml"
    with archive.transaction() as session:
        crawlstate.note_fetch(session, crawlstate.Fetch(
            site="arabpress", url=june, fetched_at=crawlstate.stored_time(
                "2026-11-30T12:00:00+00:00"), etag=None,
            last_modified="Mon, 30 Nov 2026 12:00:00 GMT"), None)
        crawlstate.note_failure(session, "arabpress", june, "not_a_sitemap",
                                crawlstate.stored_time("2026-11-30T12:00:00+00:00"))
    with archive.transaction() as session:
        crawlstate.clear_failures(session, "arabpress", [june])
    with archive.session() as session:
        (state,) = crawlstate.page_states(session, "arabpress", [june]).values()
    archive.close()
    assert (state.failures, state.etag, state.last_modified) == (0, None, None)
    s = spider()
    assert not s.sitemap_request(f"{LOCAL}/sitemaps/2025-06.xml", state).headers


def test_a_page_that_was_not_found_is_fetched_again_from_its_remembered_sitemap(tmp_path):
    """A "not found" page served with 200 for a listed article: the next run over the same,
    unchanged site reads that article's sitemap in full and archives it."""
    family = SiteFamily(200, seed=8)
    article = family.article(family.month_ids("arabpress", family.months("arabpress")[0])[0])
    path = "/" + article.url("arabpress").split(".com/", 1)[1]
    faults = Faults(soft_404=1.0, retry_factor=0.0, targets=(path,))
    db = tmp_path / "archive.sqlite"
    with FamilyServer(family, faults) as server:
        first = run_crawl("arabpress", db, tmp_path, base_url=server.origins["arabpress"])
        after_first = stored_urls(db)
        second = run_crawl("arabpress", db, tmp_path, base_url=server.origins["arabpress"])
        third = run_crawl("arabpress", db, tmp_path, base_url=server.origins["arabpress"])
        # Every spelling of its URL that a link took (the site has case variants) met the
        # "not found" page on its first request.
        assert server.requests["by_fault"].keys() == {"soft_404"}
    assert after_first == articles_of(family) - {article.url("arabpress")}
    assert stored_urls(db) == articles_of(family)
    assert first.stats["pressarchive/sitemaps_unsettled"] == 1
    assert second.stats["pressarchive/stored/new_article"] == 1
    # Once it is archived, its sitemap is remembered again: a third run reads no sitemap.
    assert "pressarchive/sitemaps_unsettled" not in second.stats
    assert third.stats["pressarchive/skipped/sitemap"] == len(family.months("arabpress"))
    assert "pressarchive/stored/new_article" not in third.stats


def test_an_archived_article_answering_not_found_with_200_is_a_soft_404_failure(tmp_path):
    """An article the archive holds whose URL now answers a "not found" page with 200 (or
    redirects to the front page): a failure, soft_404, in the run's errors and its stats,
    retried by the next run, the article and its versions kept. Noted as a page that is no
    article (a soak's find), it was neither a failure nor a drop: no run said a word of it.
    Once the page is back, the retry clears the failure and no version is made."""
    family = SiteFamily(150, seed=8)
    gone = family.article(family.month_ids("arabpress", family.months("arabpress")[0])[0])
    public = gone.url("arabpress")
    path = "/" + public.split(".com/", 1)[1]
    db = tmp_path / "archive.sqlite"

    def versions() -> list[tuple]:
        con = sqlite3.connect(db)
        try:
            return con.execute("SELECT * FROM versions ORDER BY id").fetchall()
        finally:
            con.close()

    def state() -> list[tuple]:
        """Its pages: (URL, failures, last error, whether an article is the URL's)."""
        con = sqlite3.connect(db)
        try:
            return con.execute("SELECT url, failures, last_error, article_id IS NOT NULL "
                               "FROM pages WHERE lower(url) = ? ORDER BY url",
                               (public.lower(),)).fetchall()
        finally:
            con.close()

    with FamilyServer(family) as server:
        finished(server, db, tmp_path)
        held = versions()
        server.faults = Faults(soft_404=1.0, retry_factor=1.0, targets=(path,))
        # Asked for again by a full re-check (its sitemap would pass it over as unchanged).
        missing = run_crawl("arabpress", db, tmp_path, base_url=server.origins["arabpress"],
                            settings={"FULL_RECHECK": True}).stats
        after_missing = state()
        again = finished(server, db, tmp_path)  # retried as a failure, still missing
        after_again = state()
        # A run of that URL alone: the site answered it, so the run finished (exit 0), not
        # site_unreadable (a helper's soak).
        alone = run_crawl("arabpress", db, tmp_path, base_url=server.origins["arabpress"],
                          spider_args={"urls": public})
        server.faults = None
        back = finished(server, db, tmp_path)
    # Both spellings of its URL the crawl state holds (the site links an upper-case one).
    shouting = public.replace(path, path.upper())
    assert missing["finish_reason"] == "finished"
    assert missing["pressarchive/failed/soft_404"] == 2
    # A failure to retry, as a 404 is: its sitemap is remembered all the same.
    assert "pressarchive/sitemaps_unsettled" not in missing
    assert after_missing == [(shouting, 1, "soft_404", 1), (public, 1, "soft_404", 1)]
    assert again["pressarchive/retrying_failed"] == 2
    assert again["pressarchive/failed/soft_404"] == 2
    assert after_again == [(shouting, 2, "soft_404", 1), (public, 2, "soft_404", 1)]
    con = sqlite3.connect(db)
    errors = [json.loads(e or "{}") for (e,) in con.execute(
        "SELECT errors FROM crawl_runs ORDER BY id")]
    con.close()
    assert errors[1:4] == [{"soft_404": 2}, {"soft_404": 2}, {"soft_404": 1}]
    assert alone.returncode == 0, alone.log[-2000:]
    assert alone.stats["pressarchive/run_reason"] == "finished"
    assert "pressarchive/failed" not in back
    assert state() == [(shouting, 0, None, 1), (public, 0, None, 1)]
    assert versions() == held  # no version made or lost by its absence and return
    assert stored_urls(db) == articles_of(family)


def known(**changes) -> PageState:
    """A known article, listed with its lastmod by sitemaps/b.xml (answered 304 below)."""
    values = dict(lastmod="2025-06-01", etag='"a"', last_modified=None, fetched=True,
                  failures=0, article_id=7, sitemap="https://arabpress.com/sitemaps/b.xml")
    return PageState(**{**values, **changes})


def test_a_known_article_a_link_leads_to_is_settled_by_its_sitemap_once_all_are_in():
    s = spider()
    index = s.sitemap_request(f"{LOCAL}/sitemap.xml")
    assert not s._settled_by_sitemap(known())  # no sitemap answered yet
    children = list(s.parse_sitemap(xml(index.url, b'<?xml version="1.0"?><sitemapindex '
                                        b'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                                        b"<sitemap><loc>https://arabpress.com/sitemaps/a.xml"
                                        b"</loc></sitemap><sitemap><loc>https://arabpress.com/"
                                        b"sitemaps/b.xml</loc></sitemap></sitemapindex>")))
    assert [c.url for c in children] == [f"{LOCAL}/sitemaps/a.xml", f"{LOCAL}/sitemaps/b.xml"]
    list(s.parse_sitemap(xml(children[0].url, urlset("x"))))
    assert not s._settled_by_sitemap(known())  # b.xml not answered yet
    not_modified = XmlResponse(url=children[1].url, status=304, body=b"",
                               request=children[1])
    list(s.parse_sitemap(not_modified))
    assert s.sitemaps_done and s._settled_by_sitemap(known())
    # Only an article stored with its sitemap lastmod and no failure since.
    for state in (None, known(failures=1), known(lastmod=None), known(article_id=None),
                  known(fetched=False), known(sitemap=None)):
        assert not s._settled_by_sitemap(state), state
    # Nor one whose sitemap was read in full without listing it: it has left that sitemap
    # (a sitemap of the last two days' news, say), and an edit since is in no lastmod.
    assert not s._settled_by_sitemap(known(sitemap="https://arabpress.com/sitemaps/a.xml"))


def test_another_url_of_an_article_its_sitemap_passed_over_is_settled_with_it():
    # Another URL of an article (an upper-case spelling a link used) carries the lastmod and
    # sitemap of the article's own URL (alias_lastmods). After a day's advance that sitemap
    # lists new articles, so it is read in full, not answered 304; the article's own URL,
    # listed with the same lastmod, is passed over as unchanged, and a link to the other URL
    # is settled with it, with no request.
    s = spider()
    a = "https://arabpress.com/sitemaps/a.xml"
    request = s.sitemap_request(f"{LOCAL}/sitemaps/a.xml")
    s._states = lambda urls: {u: known(sitemap=a) for u in urls if u.endswith("/x")}
    asked = list(s.parse_sitemap(xml(request.url, urlset("x", "new"))))
    assert [r.url for r in asked] == [f"{LOCAL}/new"] and s.sitemaps_done
    assert a not in s.sitemaps_unchanged  # read in full
    assert s._settled_by_sitemap(known(sitemap=a))
    assert not s._settled_by_sitemap(known(sitemap=a, article_id=8))  # another article
    assert not s._settled_by_sitemap(known(sitemap=a, lastmod="2025-05-01"))  # edited since
    # Unless its copy was fetched after the edit: sent with a Last-Modified no older than
    # the lastmod its article's own URL was passed over with (a date alone: the end of that
    # day, as for the article's own URL: a second edit that day may be missing from it).
    for sent, settled in (("Mon, 02 Jun 2025 00:00:00 GMT", True),
                          ("Tue, 03 Jun 2025 09:00:00 GMT", True),
                          ("Sun, 01 Jun 2025 09:00:00 GMT", False),
                          ("not a date", False)):
        state = known(sitemap=a, lastmod="2025-05-01", last_modified=sent)
        assert s._settled_by_sitemap(state) is settled, sent
        assert not s._settled_by_sitemap(dataclasses.replace(state, article_id=8))


def test_a_page_passed_over_by_one_sitemap_and_listed_as_edited_by_the_next_is_asked_for():
    # Article 7's own URL /x is recorded with 2025-06-01 from a.xml, the month's sitemap,
    # which still says so; the news sitemap n.xml, read after it, lists /x as edited on
    # 2025-06-03. The edit is fetched in this run, and no other URL of the article is
    # settled by a.xml's word meanwhile.
    s = spider()
    a = "https://arabpress.com/sitemaps/a.xml"
    month, news, more = (s.sitemap_request(f"{LOCAL}/sitemaps/{name}.xml")
                         for name in ("a", "n", "m"))
    s._states = lambda urls: {u: known(sitemap=a) for u in urls if u.endswith("/x")}
    assert list(s.parse_sitemap(xml(month.url, urlset("x")))) == []  # passed over
    (edited,) = s.parse_sitemap(xml(news.url, urlset("x").replace(b"06-01", b"06-03")))
    assert (edited.url, edited.meta["lastmod"]) == (f"{LOCAL}/x", "2025-06-03")
    assert edited.meta["sitemap"] == news.url
    assert f"{LOCAL}/x" not in s.listed_after and f"{LOCAL}/x" not in s.relisted
    assert s.crawler.stats.get_value("pressarchive/lastmods_contradicted") == 1
    # A third sitemap saying the same: the page is asked for already, once is enough.
    assert list(s.parse_sitemap(xml(more.url, urlset("x").replace(b"06-01", b"06-03")))) == []
    assert s.listed_after[f"{LOCAL}/x"] == (more.url, "2025-06-03")
    assert s.crawler.stats.get_value("pressarchive/lastmods_contradicted") == 1
    assert s.sitemaps_done and not s._settled_by_sitemap(known(sitemap=a))


def test_a_stamped_sitemap_does_not_contradict_another_s_pass_over():
    # The month's sitemap passes /x over; a sitemap stamped with the time it was made (every
    # lastmod one time: lastmods.stamped), read next, lists /x with that time, which says
    # nothing of /x: no second request, as there was on every run before (a review's find).
    # Its entry is still noted for the page's answer (listed_after).
    s = spider()
    s.stamped_min = 2
    a = "https://arabpress.com/sitemaps/a.xml"
    month, news = (s.sitemap_request(f"{LOCAL}/sitemaps/{name}.xml") for name in ("a", "n"))
    s._states = lambda urls: {u: known(sitemap=a) for u in urls if u.endswith("/x")}
    assert list(s.parse_sitemap(xml(month.url, urlset("x")))) == []  # passed over
    stamped = urlset("x", "y").replace(b"2025-06-01", b"2025-06-03T10:00:00Z")
    assert [r.url for r in s.parse_sitemap(xml(news.url, stamped))] == [f"{LOCAL}/y"]
    assert s.crawler.stats.get_value("pressarchive/sitemaps_stamped") == 1
    assert "pressarchive/lastmods_contradicted" not in s.crawler.stats.get_stats()
    assert s.listed_after[f"{LOCAL}/x"] == (news.url, "2025-06-03T10:00:00Z")


def test_a_sitemap_that_confirms_a_page_s_pair_keeps_an_earlier_pass_over_from_replacing_it():
    # The page carries n.xml's lastmod (a 304 recorded it). The month's sitemap, read first,
    # lists it with an earlier lastmod its copy vouches for, and passes it over; n.xml, read
    # next, confirms the pair the page carries. Recording the month's pair over it at the end
    # would have n.xml contradict it next run, and the page be asked for again, every few
    # runs for ever (a cycle measured with real crawls on sitemaps that always disagree).
    s = spider()
    month, news = (s.sitemap_request(f"{LOCAL}/sitemaps/{name}.xml") for name in ("a", "n"))
    carried = known(lastmod="2025-06-03", sitemap="https://arabpress.com/sitemaps/n.xml",
                    last_modified="Mon, 02 Jun 2025 12:00:00 GMT")
    s._states = lambda urls: {u: carried for u in urls if u.endswith("/x")}
    assert list(s.parse_sitemap(xml(month.url, urlset("x")))) == []  # 06-01: passed over
    assert f"{LOCAL}/x" in s.relisted
    assert list(s.parse_sitemap(xml(news.url, urlset("x").replace(b"06-01", b"06-03")))) == []
    assert f"{LOCAL}/x" not in s.relisted
    assert "pressarchive/lastmods_contradicted" not in s.crawler.stats.get_stats()


def test_a_page_listed_twice_alike_is_passed_over_once_and_settles_its_other_urls():
    s = spider()
    a = "https://arabpress.com/sitemaps/a.xml"
    month, news = (s.sitemap_request(f"{LOCAL}/sitemaps/{name}.xml") for name in ("a", "n"))
    s._states = lambda urls: {u: known(sitemap=a) for u in urls if u.endswith("/x")}
    assert list(s.parse_sitemap(xml(month.url, urlset("x")))) == []
    assert list(s.parse_sitemap(xml(news.url, urlset("x")))) == []  # the same lastmod
    assert "pressarchive/lastmods_contradicted" not in s.crawler.stats.get_stats()
    assert s.sitemaps_done and s._settled_by_sitemap(known(sitemap=a))


def test_an_article_passed_over_with_two_lastmods_settles_none_of_its_other_urls():
    s = spider()
    a, b = (f"https://arabpress.com/sitemaps/{name}.xml" for name in "ab")
    requests = [s.sitemap_request(f"{LOCAL}/sitemaps/{name}.xml") for name in "ab"]
    # Two URLs of article 7, each listed by a sitemap with a lastmod of its own, each no
    # later than what the copy held says (so both are passed over as unchanged).
    s._states = lambda urls: {u: known(lastmod=None, last_modified=(
        "Mon, 30 Jun 2025 00:00:00 GMT")) for u in urls}
    list(s.parse_sitemap(xml(requests[0].url, urlset("x"))))
    list(s.parse_sitemap(xml(requests[1].url, urlset("X").replace(b"06-01", b"06-02"))))
    assert s.sitemaps_done
    assert s.crawler.stats.get_value("pressarchive/skipped/lastmod") == 2
    for lastmod, sitemap in (("2025-06-01", a), ("2025-06-02", b)):
        assert not s._settled_by_sitemap(known(lastmod=lastmod, sitemap=sitemap))


def test_a_sitemap_that_failed_leaves_known_articles_to_their_own_requests():
    from twisted.python.failure import Failure

    from scrapy.spidermiddlewares.httperror import HttpError

    s = spider()
    index = s.sitemap_request(f"{LOCAL}/sitemap.xml")
    failed = Failure(HttpError(HtmlResponse(url=index.url, status=500, request=index)))
    failed.request = index
    assert [f.kind for f in s.on_error(failed)] == ["http_500"]
    assert s.sitemaps_answered == s.sitemaps_asked == 1 and not s.sitemaps_done
    assert not s._settled_by_sitemap(known())


class Engine:
    """What the spider asks of Scrapy's engine when it releases held articles."""

    def __init__(self, spider):
        self.spider, self.requests = spider, []

    def crawl(self, request):
        self.requests.append(request)


INDEX_AB = (b'<?xml version="1.0"?><sitemapindex '
            b'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            b"<sitemap><loc>https://arabpress.com/sitemaps/a.xml</loc></sitemap>"
            b"<sitemap><loc>https://arabpress.com/sitemaps/b.xml</loc></sitemap></sitemapindex>")


def test_a_known_article_a_link_leads_to_before_the_last_sitemap_waits_for_it():
    s = spider()
    s.crawler.engine = engine = Engine(s)
    index = s.sitemap_request(f"{LOCAL}/sitemap.xml")
    children = list(s.parse_sitemap(xml(index.url, INDEX_AB)))
    # Links (or the feed) lead to three known articles while a.xml and b.xml are out.
    assert s._hold(f"{LOCAL}/x", known(), 10) and s._hold(f"{LOCAL}/y", known(), 10)
    # One with no lastmod to be settled by waits as well: a sitemap entry may still decide
    # it (asked for with the entry's lastmod, or found not due). A page that failed last
    # time was asked for first thing; a listing is no article a sitemap would list.
    assert s._hold(f"{LOCAL}/z", known(lastmod=None), 10)
    assert not s._hold(f"{LOCAL}/v", known(failures=1), 10)
    assert not s._hold(f"{LOCAL}/u", known(article_id=None), 10)
    # a.xml, read in full, lists x: the sitemap deals with it (here: asks for it).
    assert [r.url for r in s.parse_sitemap(xml(children[0].url, urlset("x")))] == [
        f"{LOCAL}/x"]
    assert s.held and not engine.requests  # b.xml is still out
    list(s.parse_sitemap(XmlResponse(url=children[1].url, status=304, body=b"",
                                     request=children[1])))
    # Every sitemap is in: y is settled by the one answered 304, x is not asked for twice,
    # z, which none listed, is asked for now, conditionally.
    assert not s.held and [r.url for r in engine.requests] == [f"{LOCAL}/z"]
    assert engine.requests[0].headers.get("If-None-Match") == b'"a"'
    assert s.crawler.stats.get_value("pressarchive/skipped/listed") == 1
    assert not s._hold(f"{LOCAL}/w", known(), 0)  # from now on settled at once instead
    assert s._settled_by_sitemap(known())


def hold_then_read(state: PageState, alias: PageState):
    """A spider that holds x (crawl state ``state``) and X (another URL of its article, in no
    sitemap: ``alias``) while a.xml and b.xml are out, then reads a.xml, which lists x, and
    has b.xml answered 304: (the spider, what a.xml asked for, what the release asked for)."""
    s = spider()
    s.crawler.engine = engine = Engine(s)
    s._states = lambda urls: {url: state for url in urls}
    index = s.sitemap_request(f"{LOCAL}/sitemap.xml")
    children = list(s.parse_sitemap(xml(index.url, INDEX_AB)))
    assert s._hold(f"{LOCAL}/x", state, 10) and s._hold(f"{LOCAL}/X", alias, 10)
    listed = [r.url for r in s.parse_sitemap(xml(children[0].url, urlset("x")))]
    list(s.parse_sitemap(XmlResponse(url=children[1].url, status=304, body=b"",
                                     request=children[1])))
    assert not s.held
    return s, listed, [r.url for r in engine.requests]


def test_a_held_article_its_sitemap_finds_not_due_is_not_asked_for_when_released():
    # A known article whose sitemap lastmods ran ahead of it twice, checked lately: a link
    # read before its sitemap leaves it to the sitemap, which finds it not due (_not_due),
    # as it would have had the sitemap come first. Asked for by the link, it cost a 304 in
    # every run, and whether it did hung on which response came first (a flaky test in CI).
    # And another URL of its article (an upper-case spelling), which no sitemap lists,
    # waits for its revisit with the article (before, a 304 every run).
    learned = known(lastmod=None, sitemap=None, lastmod_ahead=2, checked_since=True)
    alias = known(lastmod=None, sitemap=None)
    s, listed, released = hold_then_read(learned, alias)
    assert listed == released == []
    assert s.crawler.stats.get_value("pressarchive/lastmod_ahead/not_due") == 1
    assert s.crawler.stats.get_value("pressarchive/skipped/article_not_due") == 1
    assert s._settled(f"{LOCAL}/X?from=feed", alias)  # a link read later: the same
    # Checked longer ago than LASTMOD_AHEAD_REVISIT: it is due, and the sitemap asks for
    # it; its other URL is asked for, conditionally, once the sitemaps are in.
    due = known(lastmod=None, sitemap=None, lastmod_ahead=2, checked_since=False)
    s, listed, released = hold_then_read(due, alias)
    assert (listed, released) == ([f"{LOCAL}/x"], [f"{LOCAL}/X"])
    assert not s._settled(f"{LOCAL}/X?from=feed", alias)


def test_held_articles_are_asked_for_when_a_sitemap_fails_or_the_crawl_goes_idle():
    from twisted.python.failure import Failure

    from scrapy.spidermiddlewares.httperror import HttpError

    s = spider()
    s.crawler.engine = engine = Engine(s)
    index = s.sitemap_request(f"{LOCAL}/sitemap.xml")
    assert s._hold(f"{LOCAL}/y", known(), 10)
    failed = Failure(HttpError(HtmlResponse(url=index.url, status=500, request=index)))
    failed.request = index
    list(s.on_error(failed))
    # No sitemap can settle it now: asked for, conditionally, as a known article is: after
    # the pages never fetched (RECHECK_PRIORITY), whatever the link's priority.
    from spiders.family import RECHECK_PRIORITY

    [request] = engine.requests
    assert request.url == f"{LOCAL}/y" and request.priority == RECHECK_PRIORITY
    assert request.headers.get("If-None-Match") == b'"a"'
    assert not s._hold(f"{LOCAL}/v", known(), 0)  # and nothing waits any more

    s = spider()
    s.crawler.engine = engine = Engine(s)
    s.sitemap_request(f"{LOCAL}/sitemap.xml")  # asked for, never answered (a lost request)
    assert s._hold(f"{LOCAL}/y", known(), 0)
    s.release_on_idle()  # Scrapy's spider_idle: asked for rather than left behind
    assert [r.url for r in engine.requests] == [f"{LOCAL}/y"] and not s.held


def test_a_sitemap_lastmod_read_after_a_link_led_to_its_page_is_recorded_with_it(tmp_path):
    from pressarchive.ingest import Ingester
    from pressarchive.sitegen import render_page
    from pressarchive.storage import Archive, crawlstate

    family = SiteFamily(40, seed=4)
    archive = Archive(f"sqlite:///{tmp_path / 'a.sqlite'}")
    items = []
    for i in family.ids("arabpress")[:2]:
        url = family.article(i).url("arabpress")
        page = render_page(family, "arabpress", url.split(".com", 1)[1])
        items.append(FetchedPage(url=url, final_url=url, requested_url=url, status=200,
                                 headers={"Content-Type": page.content_type, "ETag": page.etag,
                                          "Last-Modified": "Fri, 20 Jun 2025 10:00:00 GMT"},
                                 body=page.body, fetched_at="2025-06-20T10:00:05+00:00",
                                 site="arabpress"))
    assert [o.kind for o in Ingester(archive).ingest(items)] == ["stored", "stored"]
    older, newer = (item.url for item in items)
    s = spider()
    with archive.transaction() as session:
        june = "https://arabpress.com/sitemaps/2025-06.xml"
        s._late_lastmods(session, {older: ("2025-06-20T09:00:00+00:00", june),
                                   # edited after the page was fetched: not its lastmod
                                   newer: ("2025-06-20T11:00:00+00:00", june)})
    with archive.session() as session:
        states = crawlstate.page_states(session, "arabpress", [older, newer])
    assert (states[older].lastmod, states[older].sitemap) == ("2025-06-20T09:00:00+00:00", june)
    assert (states[newer].lastmod, states[newer].sitemap) == (None, None)
    assert s.crawler.stats.get_value("pressarchive/lastmods_recorded_late") == 1
    archive.close()


def test_each_sitemap_is_asked_for_once_however_often_it_is_named():
    # A sitemap named by robots.txt and by the index, or twice by the index, would be dropped
    # by Scrapy's duplicate filter the second time, never answered, and no known article
    # could be settled by its sitemap in that run.
    s = spider()
    named = s.sitemap_request(f"{LOCAL}/sitemaps/a.xml")  # by robots.txt
    index = s.sitemap_request(f"{LOCAL}/sitemap.xml")
    twice = INDEX_AB.replace(b"</sitemapindex>", b"<sitemap><loc>https://arabpress.com/"
                             b"sitemaps/b.xml</loc></sitemap></sitemapindex>")
    children = list(s.parse_sitemap(xml(index.url, twice)))
    assert [c.url for c in children] == [f"{LOCAL}/sitemaps/b.xml"]
    list(s.parse_sitemap(xml(named.url, urlset())))
    list(s.parse_sitemap(XmlResponse(url=children[0].url, status=304, body=b"",
                                     request=children[0])))
    assert s.sitemaps_asked == s.sitemaps_answered == 3 and s.sitemaps_done


def test_a_retried_sitemap_counts_whichever_comes_first_its_answer_or_the_index():
    from twisted.python.failure import Failure

    from scrapy.spidermiddlewares.httperror import HttpError

    a_xml = f"{LOCAL}/sitemaps/a.xml"
    # The index first: the retried sitemap is awaited, then read by parse_any.
    s = spider()
    s.retrying.add(a_xml)
    index = s.sitemap_request(f"{LOCAL}/sitemap.xml")
    children = list(s.parse_sitemap(xml(index.url, INDEX_AB)))
    assert [c.url for c in children] == [f"{LOCAL}/sitemaps/b.xml"]  # a.xml not asked twice
    list(s.parse_sitemap(XmlResponse(url=children[0].url, status=304, body=b"",
                                     request=children[0])))
    assert s.sitemaps_asked == 3 and s.sitemaps_answered == 2 and not s.sitemaps_done
    assert [r.url for r in s.parse_any(xml(a_xml, urlset("x")))] == [f"{LOCAL}/x"]
    assert s.sitemaps_done and s._settled_by_sitemap(known())
    # Its failure first: the index then counts it as a sitemap that failed.
    s = spider()
    s.retrying.add(a_xml)
    retry = s.request(a_xml, callback=s.parse_any)
    failed = Failure(HttpError(HtmlResponse(url=a_xml, status=503, request=retry)))
    failed.request = retry
    assert [f.kind for f in s.on_error(failed)] == ["http_503"]
    index = s.sitemap_request(f"{LOCAL}/sitemap.xml")
    list(s.parse_sitemap(xml(index.url, INDEX_AB)))
    assert s.sitemap_failed and not s.sitemaps_done
    # A retried URL that turns out to be a page is no sitemap answered either.
    s = spider()
    s.retrying.add(a_xml)
    index = s.sitemap_request(f"{LOCAL}/sitemap.xml")
    list(s.parse_sitemap(xml(index.url, INDEX_AB)))
    list(s.parse_any(html(a_xml)))
    assert s.sitemap_failed


def test_an_entry_asked_for_while_its_sitemap_was_read_keeps_the_entrys_lastmod():
    # Scrapy takes a callback's requests one at a time, between other callbacks: the feed
    # may ask for a page after its sitemap entry was read and before the sitemap's request
    # for it is taken. That request would be a duplicate Scrapy drops, lastmod and all: the
    # page would then be stored without one, and asked for again by every later run.
    s = spider()
    sitemap = s.sitemap_request(f"{LOCAL}/sitemaps/a.xml")
    requests = s.parse_sitemap(xml(sitemap.url, urlset("x", "y")))
    assert next(requests).url == f"{LOCAL}/x"
    s.request(f"{LOCAL}/y")  # the feed's, meanwhile
    assert list(requests) == []
    assert s.listed_after[f"{LOCAL}/y"] == (sitemap.url, "2025-06-01")


def test_a_feed_entry_its_sitemap_asked_for_meanwhile_is_not_asked_for_again():
    # The other way round: the sitemap's request (with the lastmod) is made while the feed's
    # requests wait to be taken. A second request from the feed could reach Scrapy's
    # duplicate filter first, and the sitemap's would be the one dropped.
    s = spider()
    rss = (b'<?xml version="1.0"?><rss><channel>'
           b"<item><link>https://arabpress.com/x</link></item>"
           b"<item><link>https://arabpress.com/y</link></item></channel></rss>")
    feed = s.parse_feed(xml(f"{LOCAL}/feed.xml", rss))
    assert next(feed).url == f"{LOCAL}/x"
    s.request(f"{LOCAL}/y", lastmod="2025-06-01")  # its sitemap's, meanwhile
    assert list(feed) == []


def stored_pages(tmp_path, family: SiteFamily, n: int, last_modified: str):
    """An archive holding ``n`` articles of ``family``, fetched with ``last_modified``; the
    archive and the articles' public URLs."""
    from pressarchive.ingest import Ingester
    from pressarchive.sitegen import render_page
    from pressarchive.storage import Archive

    archive = Archive(f"sqlite:///{tmp_path / 'a.sqlite'}")
    items = []
    for i in family.ids("arabpress")[:n]:
        url = family.article(i).url("arabpress")
        page = render_page(family, "arabpress", url.split(".com", 1)[1])
        items.append(FetchedPage(url=url, final_url=url, requested_url=url, status=200,
                                 headers={"Content-Type": page.content_type, "ETag": page.etag,
                                          "Last-Modified": last_modified},
                                 body=page.body, fetched_at="2025-06-20T10:00:05+00:00",
                                 site="arabpress"))
    assert [o.kind for o in Ingester(archive).ingest(items)] == ["stored"] * n
    return archive, [item.url for item in items]


def test_a_page_that_gave_an_article_and_now_gives_none_is_no_longer_settled_by_a_lastmod(
        tmp_path):
    # A listed article answered with a "not found" page (served with 200) under a newer
    # lastmod: that fetch is no article but a failure (soft_404), so a later run does not
    # pass the page over on the word of a lastmod, nor does a link to it count as settled;
    # the article stays the URL's, and the lastmod recorded with it stays the one it had.
    from pressarchive.ingest import Ingester
    from pressarchive.sitegen import render_page
    from pressarchive.storage import crawlstate
    from spiders.family import _unchanged_since

    archive, (url,) = stored_pages(tmp_path, SiteFamily(40, seed=4), 1,
                                   "Fri, 20 Jun 2025 10:00:00 GMT")
    gone = render_page(SiteFamily(40, seed=4), "arabpress", "/no-such-page")
    assert gone.status == 404
    june = "https://arabpress.com/sitemaps/2025-06.xml"
    soft = FetchedPage(url=url, final_url=url, requested_url=url, status=200,
                       headers={"Content-Type": gone.content_type,
                                "Last-Modified": "Sat, 21 Jun 2025 10:00:00 GMT"},
                       body=gone.body, fetched_at="2025-06-21T10:00:05+00:00",
                       site="arabpress", lastmod="2025-06-21T09:00:00+00:00", sitemap=june)
    with archive.session() as session:
        before = crawlstate.page_states(session, "arabpress", [url])[url]
    assert [(o.kind, o.key) for o in Ingester(archive).ingest([soft])] == [
        ("failed", "soft_404")]
    with archive.session() as session:
        state = crawlstate.page_states(session, "arabpress", [url])[url]
    archive.close()
    assert state == dataclasses.replace(before, failures=1)
    assert state.article_id is not None
    assert not _unchanged_since("2025-06-21T09:00:00+00:00", state)
    assert not _unchanged_since(state.lastmod, state)
    s = spider()
    s.sitemaps_asked = s.sitemaps_answered = 1
    s.sitemaps_unchanged.add(june)
    assert s._settled_by_sitemap(dataclasses.replace(state, failures=0,
                                                     lastmod="2025-06-21T09:00:00+00:00",
                                                     sitemap=june))  # were it not failing
    assert not s._settled_by_sitemap(dataclasses.replace(state, lastmod="2025-06-21T09:00:00"
                                                         "+00:00", sitemap=june))


def test_a_soft_404_the_crawl_follows_keeps_its_links(tmp_path):
    # A failure retried is followed, and the ingester resolves its links once a crawl
    # (SiteLinks gives each link once): a soft 404's outcome keeps them, else the not-found
    # page's menus, the site's sections, were given up for the whole crawl (a review's find:
    # the run after a soft 404 asked for no section page).
    from pressarchive.extract.links import SiteLinks
    from pressarchive.ingest import Ingester
    from pressarchive.sitegen import render_page

    family = SiteFamily(40, seed=4)
    archive, (url,) = stored_pages(tmp_path, family, 1, "Fri, 20 Jun 2025 10:00:00 GMT")
    gone = render_page(family, "arabpress", "/no-such-page")
    soft = FetchedPage(url=url, final_url=url, requested_url=url, status=200,
                       headers={"Content-Type": gone.content_type}, body=gone.body,
                       fetched_at="2025-06-21T10:00:05+00:00", site="arabpress", follow=True)
    links = SiteLinks("https://arabpress.com", "https://arabpress.com")
    (outcome,) = Ingester(archive, links=links).ingest([soft])
    archive.close()
    assert (outcome.kind, outcome.key) == ("failed", "soft_404")
    sections = {link for link in outcome.links.hrefs if "/section/" in link}
    assert len(sections) >= 3, outcome.links


def test_a_page_older_than_its_lastmod_keeps_its_sitemap_unremembered(tmp_path):
    # Two pages a link led to before their sitemaps listed them. The first page is as recent
    # as its lastmod: the lastmod is recorded with it and its sitemap remembered. The second
    # was edited after it was fetched (its Last-Modified is older than the lastmod): a
    # remembered sitemap would answer the next run 304, and a link to the page would be
    # settled by the lastmod of its first fetch, the edit never fetched. Its sitemap is read
    # in full next time instead.
    from pressarchive.storage import crawlstate

    family = SiteFamily(40, seed=4)
    archive, (fresh, edited) = stored_pages(tmp_path, family, 2, "Fri, 20 Jun 2025 10:00:00 GMT")
    with archive.transaction() as session:  # both had a lastmod from an earlier run
        crawlstate.note_lastmods(session, "arabpress", {
            fresh: ("2025-06-01T00:00:00+00:00", None),
            edited: ("2025-06-01T00:00:00+00:00", None)})
    archive.close()
    s = spider_on(tmp_path)
    may, june = f"{LOCAL}/sitemaps/2025-05.xml", f"{LOCAL}/sitemaps/2025-06.xml"
    s.sitemaps_read = {may: ('"m"', None), june: ('"j"', None)}
    s.listed_after = {s._local(fresh): (may, "2025-06-20T09:00:00+00:00"),
                      s._local(edited): (june, "2025-06-20T11:00:00+00:00")}
    s.remember_sitemaps("finished")
    with s.crawler._pressarchive_archive.session() as session:
        states = crawlstate.page_states(session, "arabpress",
                                        [fresh, edited, s.public_url(may), s.public_url(june)])
    s.crawler._pressarchive_archive.close()
    assert (states[fresh].lastmod, states[fresh].sitemap) == (
        "2025-06-20T09:00:00+00:00", s.public_url(may))
    assert states[edited].lastmod == "2025-06-01T00:00:00+00:00"
    assert states[s.public_url(may)].etag == '"m"'
    assert s.public_url(june) not in states
    assert s.crawler.stats.get_value("pressarchive/sitemaps_unsettled_lastmod") == 1
    assert s.crawler.stats.get_value("pressarchive/lastmods_recorded_late") == 1


def test_a_page_served_older_than_its_sitemap_lastmod_is_stored_without_it():
    # A sitemap says the page changed at 11:00; the copy served says 10:00 (a cache still
    # holding the old one, say). Recorded with that copy, the lastmod would let every later
    # run pass the page over until its next edit. It is not, and its sitemap is read in full
    # next time, which asks for the page again.
    s = spider()
    june = f"{LOCAL}/sitemaps/2025-06.xml"

    def fetched_with(last_modified: str | None, lastmod: str) -> FetchedPage:
        headers = {"Content-Type": "text/html"}
        if last_modified:
            headers["Last-Modified"] = last_modified
        response = HtmlResponse(url=f"{LOCAL}/a", body=b"<html><body><p>hi</p></body></html>",
                                headers=headers, request=Request(
                                    f"{LOCAL}/a", meta={"sitemap": june, "lastmod": lastmod}))
        (page,) = [item for item in s.parse_page(response) if isinstance(item, FetchedPage)]
        return page

    assert fetched_with("Fri, 20 Jun 2025 11:00:00 GMT", "2025-06-20T11:00:00+00:00").lastmod \
        == "2025-06-20T11:00:00+00:00"
    assert fetched_with(None, "2025-06-20T11:00:00+00:00").lastmod \
        == "2025-06-20T11:00:00+00:00"  # nothing to tell by: the sitemap's word
    assert june not in s.unsettled_sitemaps
    # A date alone is that day: a copy modified that day is that day's.
    assert fetched_with("Fri, 20 Jun 2025 08:00:00 GMT", "2025-06-20").lastmod == "2025-06-20"
    assert june not in s.unsettled_sitemaps
    older = fetched_with("Fri, 20 Jun 2025 10:00:00 GMT", "2025-06-20T11:00:00+00:00")
    assert (older.lastmod, older.sitemap, older.forget_lastmod) == (None, None, True)
    assert june in s.unsettled_sitemaps
    assert fetched_with("Thu, 19 Jun 2025 23:00:00 GMT", "2025-06-20").forget_lastmod
    assert s.crawler.stats.get_value("pressarchive/lastmods_unvouched") == 2


def test_a_page_older_than_a_new_lastmod_loses_the_old_one_and_is_asked_conditionally(
        tmp_path):
    # An article recorded with an earlier lastmod, fetched again (unconditionally: the
    # lastmod changed) and found older than its new lastmod. Were the earlier lastmod kept,
    # every run would see the new one differ from it and fetch the page in full again, and
    # never remember its sitemap. With none kept, the next run asks conditionally, and a 304
    # records the new lastmod.
    from pressarchive.fetched import fetch_of
    from pressarchive.ingest import Ingester
    from pressarchive.storage import crawlstate

    family = SiteFamily(40, seed=4)
    archive, (url,) = stored_pages(tmp_path, family, 1, "Fri, 20 Jun 2025 10:00:00 GMT")
    june = "https://arabpress.com/sitemaps/2025-06.xml"
    with archive.transaction() as session:
        crawlstate.note_lastmods(session, "arabpress", {url: ("2025-06-19", june)})
    s = spider()
    with archive.session() as session:
        state = crawlstate.page_states(session, "arabpress", [url])[url]
    assert s.request(s._local(url), lastmod="2025-06-21", state=state).headers == {}
    (page,) = [item for item in s.parse_page(HtmlResponse(
        url=s._local(url), body=b"<html><body><p>hi</p></body></html>",
        headers={"Content-Type": "text/html", "Last-Modified": "Fri, 20 Jun 2025 10:00:00 GMT"},
        request=Request(s._local(url), meta={"sitemap": s._local(june),
                                             "lastmod": "2025-06-21"})))
        if isinstance(item, FetchedPage)]
    assert page.forget_lastmod
    with archive.transaction() as session:  # as the ingester records a fetch
        crawlstate.note_fetch(session, fetch_of(page), state.article_id)
    with archive.session() as session:
        state = crawlstate.page_states(session, "arabpress", [url])[url]
    assert (state.lastmod, state.sitemap) == (None, None)
    request = s.request(s._local(url), lastmod="2025-06-21", state=state)
    assert request.headers.get("If-Modified-Since") == b"Fri, 20 Jun 2025 10:00:00 GMT"
    not_modified = FetchedPage(url=url, final_url=url, requested_url=url, status=304,
                               headers={}, body=b"", fetched_at="2025-06-22T10:00:00+00:00",
                               site="arabpress", lastmod="2025-06-21", sitemap=june)
    assert [o.kind for o in Ingester(archive).ingest([not_modified])] == ["not_modified"]
    with archive.session() as session:
        state = crawlstate.page_states(session, "arabpress", [url])[url]
    archive.close()
    assert (state.lastmod, state.sitemap) == ("2025-06-21", june)


def test_a_sitemap_entry_that_failed_is_tried_again_by_the_next_runs(tmp_path):
    # A 404 is not tried again on its own, but a sitemap lists this page: published before
    # the page, say. Were it given up at once, its sitemap, remembered and answering 304,
    # would leave it unread for good; tried again by the next runs, up to their limit, it
    # settles its sitemap as any failure does, and a page gone for good costs a few runs one
    # request each, not one every run.
    from twisted.python.failure import Failure

    from pressarchive.storage import Archive, crawlstate
    from scrapy.spidermiddlewares.httperror import HttpError

    s = spider()
    june = f"{LOCAL}/sitemaps/2025-06.xml"
    (request,) = s.parse_sitemap(xml(june, urlset("a")))
    assert request.meta["sitemap"] == june

    def failed(request):
        failure = Failure(HttpError(HtmlResponse(url=request.url, status=404, request=request)))
        failure.request = request
        return failure

    (failure,) = s.on_error(failed(request))
    assert (failure.kind, failure.retry) == ("http_404", True)
    s.page_unsettled(failure, None)
    assert june in s._settled_sitemaps()
    # A link's 404 is given up at once, as before.
    (gone,) = s.on_error(failed(s.request(f"{LOCAL}/b")))
    assert (gone.kind, gone.retry) == ("http_404", False)
    # The next run asks for it as a failure of the last runs (parse_any), before any sitemap
    # is read: its 404 counts one more failure, not all of them at once (a helper's soak:
    # 1, then 5, given up by the second run).
    later = spider()
    later.retrying = {request.url}
    (again,) = later.on_error(failed(later.request(request.url, callback=later.parse_any)))
    assert (again.kind, again.retry) == ("http_404", True)
    gone_for_good = Failure(HttpError(HtmlResponse(url=request.url, status=410,
                                                   request=request)))
    gone_for_good.request = later.request(request.url, callback=later.parse_any)
    (final,) = later.on_error(gone_for_good)  # 410: the site's word, given up at once
    assert (final.kind, final.retry) == ("http_410", False)
    archive = Archive(f"sqlite:///{tmp_path / 'a.sqlite'}")
    runs = 0
    while True:
        with archive.session() as session:
            failing = {url for url, _ in crawlstate.failing_urls(session, "arabpress")}
            if failure.url not in failing and runs:
                break
        with archive.transaction() as session:
            crawlstate.note_failure(session, "arabpress", failure.url, failure.kind,
                                    crawlstate.stored_time(failure.failed_at), failure.retry)
        runs += 1
    archive.close()
    assert runs == crawlstate.MAX_FAILURES


def test_an_http_date_without_a_zone_is_utc_whatever_the_machine_s_zone(monkeypatch):
    import time

    from pressarchive.lastmods import http_date

    monkeypatch.setenv("TZ", "Asia/Riyadh")
    time.tzset()
    try:
        for value in ("Fri, 20 Jun 2025 10:00:00 -0000", "Fri Jun 20 10:00:00 2025",
                      "Fri, 20 Jun 2025 10:00:00 GMT", "Fri, 20 Jun 2025 13:00:00 +0300"):
            assert http_date(value).isoformat() == "2025-06-20T10:00:00", value
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_a_top_level_sitemap_that_failed_last_run_is_asked_for_once(tmp_path):
    # robots.txt names the sitemap index. When it failed last run, this run asks for it
    # first, as a failure to retry; asked for again as robots.txt's sitemap, the request
    # was a duplicate that Scrapy drops, never answered: no known article a link led to
    # could be settled by its sitemap, and all of them were asked for at the end.
    family = SiteFamily(200, seed=9)
    down = Faults(error_5xx=1.0, retry_factor=1.0, faults_on_all=True,
                  targets=("/sitemap.xml",))
    db = tmp_path / "archive.sqlite"
    with FamilyServer(family, hub_validators=False) as server:
        first = run_crawl("arabpress", db, tmp_path, base_url=server.origins["arabpress"])
    with FamilyServer(family, down, hub_validators=False) as server:
        failing = run_crawl("arabpress", db, tmp_path, base_url=server.origins["arabpress"])
    with FamilyServer(family, hub_validators=False, keep_order=True) as server:
        mended = run_crawl("arabpress", db, tmp_path, base_url=server.origins["arabpress"])
        asked = [target for _, _, target in server.order if target == "/sitemap.xml"]
    for run in (first, failing, mended):
        assert run.stats["finish_reason"] == "finished", run.log[-2000:]
    assert failing.stats["pressarchive/failed"] == 1
    assert mended.stats["pressarchive/retrying_failed"] == 1
    assert asked == ["/sitemap.xml"]
    assert mended.stats["pressarchive/skipped/listed"] >= 1
    assert "pressarchive/held_asked" not in mended.stats
    assert stored_urls(db) == articles_of(family)


def test_an_archive_from_before_page_sitemaps_reads_its_sitemaps_once_then_settles_again(
        tmp_path):
    # Revision 0004 records which sitemap gave a page its lastmod: only that sitemap's 304
    # settles the page. An archive made before it names no sitemap for any page, so the
    # upgrade drops the validators of the pages that gave no article (sitemaps among them):
    # the next run reads every sitemap in full, which records each entry's, and the run
    # after that settles the known articles links lead to by their sitemaps' 304s again.
    from pressarchive.storage import Archive

    family = SiteFamily(120, seed=5)
    months = len(family.months("arabpress"))
    db = tmp_path / "archive.sqlite"
    with FamilyServer(family, hub_validators=False) as server:
        origin = server.origins["arabpress"]
        first = run_crawl("arabpress", db, tmp_path, base_url=origin)
        con = sqlite3.connect(db)
        with con:  # the archive as revision 0003 left it
            con.execute("DROP TABLE captures")  # 0011
            con.execute("DROP INDEX ix_versions_body_key")  # 0009
            con.execute("ALTER TABLE versions DROP COLUMN body_key")
            con.execute("ALTER TABLE pages DROP COLUMN unchanged_checks")  # 0008
            con.execute("ALTER TABLE pages DROP COLUMN role")  # 0007
            con.execute("ALTER TABLE pages DROP COLUMN lastmod_ahead")  # 0006
            con.execute("DROP TABLE site_validators")
            con.execute("ALTER TABLE pages DROP COLUMN sitemap")
            con.execute("UPDATE alembic_version SET version_num = '0003'")
            articles_with_validators = con.execute(
                "SELECT count(*) FROM pages WHERE article_id IS NOT NULL AND etag IS NOT NULL"
            ).fetchone()[0]
        con.close()
        Archive(f"sqlite:///{db}").close()  # upgraded to the head
        con = sqlite3.connect(db)
        assert con.execute("SELECT count(*) FROM pages WHERE article_id IS NULL AND "
                           "(etag IS NOT NULL OR last_modified IS NOT NULL)").fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM pages WHERE article_id IS NOT NULL AND "
                           "etag IS NOT NULL").fetchone() == (articles_with_validators,)
        con.close()
        upgraded = run_crawl("arabpress", db, tmp_path, base_url=origin)
        con = sqlite3.connect(db)
        unnamed = con.execute("SELECT url FROM pages WHERE lastmod IS NOT NULL AND "
                              "sitemap IS NULL").fetchall()
        con.close()
        after = run_crawl("arabpress", db, tmp_path, base_url=origin)
    for run in (first, upgraded, after):
        assert run.stats["finish_reason"] == "finished", run.log[-2000:]
    assert "pressarchive/skipped/sitemap" not in upgraded.stats  # every one read in full
    assert "pressarchive/stored/new_article" not in upgraded.stats
    assert unnamed == []
    assert after.stats["pressarchive/skipped/sitemap"] == months
    assert after.stats["pressarchive/skipped/listed"] >= 1
    assert "pressarchive/held_asked" not in after.stats
    assert after.stats.get("pressarchive/not_modified", 0) <= 2  # the home page and such


def test_an_upgrade_forgets_lastmods_older_copies_were_recorded_with_and_refetches_them(
        tmp_path):
    # Crawls before revision 0004 recorded a page with its sitemap lastmod even when the copy
    # served was older (a stale cache): the page was passed over by it from then on. Revision
    # 0005 forgets such a lastmod (and has every sitemap read in full once), so the next run
    # asks for the page again; a 304 then records the lastmod, and the run after passes the
    # page over as before. A lastmod the copy vouches for is kept.
    from pressarchive.storage import Archive

    family = SiteFamily(60, seed=6)
    db = tmp_path / "archive.sqlite"
    with FamilyServer(family, hub_validators=False, keep_order=True) as server:
        origin = server.origins["arabpress"]
        first = run_crawl("arabpress", db, tmp_path, base_url=origin)
        con = sqlite3.connect(db)
        (stale, lastmod), (kept, kept_lastmod) = con.execute(
            "SELECT url, lastmod FROM pages WHERE lastmod IS NOT NULL AND "
            "article_id IS NOT NULL ORDER BY url LIMIT 2").fetchall()
        with con:  # the archive as a crawl before 0004 could leave it: a stale copy's row,
            con.execute("UPDATE pages SET last_modified = 'Mon, 02 Jan 2017 00:00:00 GMT' "
                        "WHERE url = ?", (stale,))
            # and lastmods no date can be made of (a CMS's "no date" written with an offset)
            con.execute("INSERT INTO pages (site, url, lastmod, last_modified, failures) "
                        "VALUES ('arabpress', 'https://arabpress.com/odd', ?, ?, 0), "
                        "('arabpress', 'https://arabpress.com/odd2', ?, ?, 0)",
                        ("0001-01-01T00:00:00+01:00", "Mon, 02 Jan 2017 00:00:00 GMT",
                         "9999-12-31", "Fri, 31 Dec 9999 23:59:59 GMT"))
            con.execute("DROP TABLE captures")  # 0011
            con.execute("DROP INDEX ix_versions_body_key")  # 0009
            con.execute("ALTER TABLE versions DROP COLUMN body_key")
            con.execute("ALTER TABLE pages DROP COLUMN unchanged_checks")  # 0008
            con.execute("ALTER TABLE pages DROP COLUMN role")  # 0007
            con.execute("ALTER TABLE pages DROP COLUMN lastmod_ahead")  # 0006
            con.execute("DROP TABLE site_validators")
            con.execute("UPDATE alembic_version SET version_num = '0004'")
        con.close()
        Archive(f"sqlite:///{db}").close()  # upgraded to the head
        con = sqlite3.connect(db)
        assert con.execute("SELECT lastmod, sitemap FROM pages WHERE url = ?",
                           (stale,)).fetchone() == (None, None)
        assert con.execute("SELECT lastmod FROM pages WHERE url = ?",
                           (kept,)).fetchone() == (kept_lastmod,)
        assert con.execute("SELECT count(*) FROM pages WHERE url LIKE '%/odd%' AND "
                           "lastmod IS NOT NULL").fetchone() == (2,)  # nothing to tell by
        assert con.execute("SELECT count(*) FROM pages WHERE article_id IS NULL AND "
                           "(etag IS NOT NULL OR last_modified IS NOT NULL)").fetchone() == (0,)
        con.close()
        server.order.clear()
        upgraded = run_crawl("arabpress", db, tmp_path, base_url=origin)
        asked = {target for site, _, target in server.order if site == "arabpress"}
        server.order.clear()
        after = run_crawl("arabpress", db, tmp_path, base_url=origin)
        asked_after = {target for site, _, target in server.order if site == "arabpress"}
    for run in (first, upgraded, after):
        assert run.stats["finish_reason"] == "finished", run.log[-2000:]
    path = stale.split(".com", 1)[1]
    assert path in asked and kept.split(".com", 1)[1] not in asked
    # The page was as archived: nothing new is stored (a 304, or the same copy again).
    assert not any(key.startswith("pressarchive/stored/new_") for key in upgraded.stats), \
        upgraded.stats
    con = sqlite3.connect(db)
    assert con.execute("SELECT lastmod FROM pages WHERE url = ?", (stale,)).fetchone() \
        == (lastmod,)
    con.close()
    assert path not in asked_after


def test_a_page_keeps_the_sitemap_it_names_while_that_one_answers_304(tmp_path):
    # An article listed by a monthly sitemap (answering 304) and by a sitemap of recent news
    # (read in full). It keeps naming the monthly one, which will still list it when it has
    # left the news; a page whose sitemap did not answer 304 names the one that lists it now.
    from pressarchive.storage import crawlstate

    family = SiteFamily(40, seed=4)
    archive, (kept, moved) = stored_pages(tmp_path, family, 2, "Fri, 20 Jun 2025 10:00:00 GMT")
    month, other = ("https://arabpress.com/sitemaps/2025-06.xml",
                    "https://arabpress.com/sitemaps/2025-05.xml")
    with archive.transaction() as session:
        crawlstate.note_lastmods(session, "arabpress", {kept: ("2025-06-20", month),
                                                        moved: ("2025-06-20", other)})
    archive.close()
    s = spider_on(tmp_path)
    news = f"{LOCAL}/sitemaps/news.xml"
    s.sitemaps_unchanged.add(month)
    s.sitemaps_read = {news: ('"n"', None)}
    from pressarchive.crawl import shared_archive

    for url in (kept, moved):
        with shared_archive(s.crawler).session() as session:
            state = crawlstate.page_states(session, "arabpress", [url])[url]
        s.relisted[s._local(url)] = (news, "2025-06-20", state.lastmod, state.sitemap)
    s.remember_sitemaps("finished")
    with s.crawler._pressarchive_archive.session() as session:
        states = crawlstate.page_states(session, "arabpress", [kept, moved])
    s.crawler._pressarchive_archive.close()
    assert states[kept].sitemap == month
    assert states[moved].sitemap == s.public_url(news)


def test_a_late_lastmod_is_recorded_with_a_page_that_sent_no_last_modified(tmp_path):
    # Nothing to tell the page's age by: the sitemap's word, as for a page a sitemap led to.
    from pressarchive.storage import crawlstate

    archive, (url,) = stored_pages(tmp_path, SiteFamily(40, seed=4), 1, "")
    archive.close()
    s = spider_on(tmp_path)
    june = f"{LOCAL}/sitemaps/2025-06.xml"
    s.sitemaps_read = {june: ('"j"', None)}
    s.listed_after = {s._local(url): (june, "2025-06-20T11:00:00+00:00")}
    s.remember_sitemaps("finished")
    with s.crawler._pressarchive_archive.session() as session:
        states = crawlstate.page_states(session, "arabpress", [url, s.public_url(june)])
    s.crawler._pressarchive_archive.close()
    assert (states[url].lastmod, states[url].sitemap) == ("2025-06-20T11:00:00+00:00",
                                                          s.public_url(june))
    assert states[s.public_url(june)].etag == '"j"'


def test_a_retried_sitemap_that_answers_with_a_page_is_recorded_as_failed_again():
    # A sitemap that failed last run is asked for again first thing; this time the site
    # answers with an HTML page (a maintenance page served with 200). Stored as a page, with
    # that page's validators, it would be asked for conditionally next time, and a 304 would
    # leave the sitemap unread. Whichever comes first, the index naming it or its answer, it
    # is recorded as failed, to be asked for again, unconditionally.
    index = f"{LOCAL}/sitemap.xml"
    child = f"{LOCAL}/sitemaps/a.xml"
    for answer_first in (True, False):
        s = spider()
        s.retrying = {child}
        out = []
        if answer_first:
            out += list(s.parse_any(html(child)))
            assert [type(item) for item in out] == [FetchedPage]  # not known as a sitemap yet
        out += list(s.parse_sitemap(xml(s.sitemap_request(index).url, INDEX_AB)))
        if not answer_first:
            out += list(s.parse_any(html(child)))
        failures = [item for item in out if isinstance(item, FetchFailure)]
        assert [(f.url, f.kind, f.retry) for f in failures] == [
            ("https://arabpress.com/sitemaps/a.xml", "not_a_sitemap", True)], answer_first
        assert [r.url for r in out if isinstance(r, Request)] == [f"{LOCAL}/sitemaps/b.xml"]
        assert s.sitemap_failed and s.sitemaps_asked == 3


def test_sitemaps_robots_txt_names_are_asked_for_conditionally_once_read_in_full(tmp_path):
    # A site with no sitemap index: robots.txt names each month's sitemap. A finished run
    # remembers them as it remembers an index's children, and an unchanged rerun reads none
    # of them; the index of a site that has one is still read every time.
    family = SiteFamily(120, seed=6, sites=("arabpress",))
    months = len(family.months("arabpress"))
    db = tmp_path / "archive.sqlite"
    with FamilyServer(family, sitemap_index=False, keep_order=True) as server:
        origin = server.origins["arabpress"]
        first = run_crawl("arabpress", db, tmp_path, base_url=origin)
        again = run_crawl("arabpress", db, tmp_path, base_url=origin)
        asked = [target for _, _, target in server.order if target.startswith("/sitemap")]
    assert first.stats["finish_reason"] == again.stats["finish_reason"] == "finished"
    assert "/sitemap.xml" not in asked  # robots.txt named the months instead
    assert first.stats["pressarchive/sitemaps_read"] == months
    assert again.stats["pressarchive/skipped/sitemap"] == months
    assert "pressarchive/sitemaps_read" not in again.stats
    assert "pressarchive/stored/new_article" not in again.stats
    assert stored_urls(db) == articles_of(family)
    # The same archive, and the site with an index, at the same origin: the months'
    # sitemaps are then the same bytes, with the same ETag (on another port, the URLs in
    # them and so their ETags would differ, and each would be read again in full).
    port = int(origin.rsplit(":", 1)[1])
    with FamilyServer(family, port_base=port) as server:
        indexed = run_crawl("arabpress", db, tmp_path, base_url=server.origins["arabpress"])
    assert indexed.stats["pressarchive/sitemaps_read"] == 1  # the index; its months 304
    assert indexed.stats["pressarchive/skipped/sitemap"] == months


def http_error(request: Request, status: int = 503):
    """What Scrapy hands an errback for ``request`` answered ``status`` to its last retry."""
    from scrapy.spidermiddlewares.httperror import HttpError
    from twisted.python.failure import Failure

    failure = Failure(HttpError(HtmlResponse(url=request.url, status=status, request=request)))
    failure.request = request
    return failure


def test_a_retried_sitemap_or_feed_whose_failure_says_what_it_is_fails_again_on_a_page():
    # Its failure recorded it as a sitemap (or a feed): an HTML answer to its retry is a
    # failure again before the index names it, or when the index fails too and never does
    # (the whole site in maintenance). Stored as a page, its validators were the page's.
    # Whichever comes first, one failure a run, the role kept.
    index = f"{LOCAL}/sitemap.xml"
    child, feed = f"{LOCAL}/sitemaps/a.xml", f"{LOCAL}/feed.xml"
    for answer_first in (True, False):
        s = spider()
        s.retrying = {child, feed}
        s.retry_roles = {child: "sitemap", feed: "feed"}
        out = []
        if answer_first:
            out += list(s.parse_any(html(child)))
        out += list(s.parse_sitemap(xml(s.sitemap_request(index).url, INDEX_AB)))
        if not answer_first:
            out += list(s.parse_any(html(child)))
        out += list(s.parse_any(html(feed)))
        assert not any(isinstance(item, FetchedPage) for item in out), answer_first
        assert [(f.url, f.kind, f.role) for f in out if isinstance(f, FetchFailure)] == [
            ("https://arabpress.com/sitemaps/a.xml", "not_a_sitemap", "sitemap"),
            ("https://arabpress.com/feed.xml", "not_a_feed", "feed")], answer_first
    # Its retry failing outright: the errback's failure, with the role, and none more when
    # the index names it after.
    s = spider()
    s.retrying, s.retry_roles = {child}, {child: "sitemap"}
    (failure,) = s.on_error(http_error(s.request(child, callback=s.parse_any)))
    assert (failure.kind, failure.role) == ("http_503", "sitemap")
    out = list(s.parse_sitemap(xml(s.sitemap_request(index).url, INDEX_AB)))
    assert not any(isinstance(item, FetchFailure) for item in out)
    assert s.sitemap_failed and s.sitemaps_asked == 3 == s.sitemaps_answered + 1  # b: out
    # A sitemap or feed failing in its own request says so too; a page says nothing.
    (failure,) = s.on_error(http_error(s.sitemap_request(f"{LOCAL}/sitemaps/c.xml")))
    assert failure.role == "sitemap"
    (page,) = s.on_error(http_error(s.request(f"{LOCAL}/a-page")))
    assert page.role is None


def test_a_failure_s_role_is_kept_by_later_failures_that_do_not_know_it(tmp_path):
    from pressarchive.storage import Archive, crawlstate

    archive = Archive(f"sqlite:///{tmp_path / 'a.sqlite'}")
    url, page = "https://arabpress.com/sitemaps/2025-06.xml", "https://arabpress.com/a"
    when = crawlstate.stored_time("2026-11-30T12:00:00+00:00")
    with archive.transaction() as session:
        crawlstate.note_failure(session, "arabpress", url, "http_503", when, role="sitemap")
        crawlstate.note_failure(session, "arabpress", page, "timeout", when)
    with archive.transaction() as session:
        crawlstate.note_failure(session, "arabpress", url, "timeout", when)  # role not known
    with archive.session() as session:
        failing = sorted(crawlstate.failing_urls(session, "arabpress"))
    archive.close()
    assert failing == [(page, None), (url, "sitemap")]


def test_a_failed_sitemap_answering_a_maintenance_page_with_its_index_fails_again(tmp_path):
    # A month's sitemap and the feed fail (5xx) in one run; in the next the whole site is in
    # maintenance: the index, the sitemap and the feed answer an HTML page with 200. No index
    # names the sitemap then, so only its recorded failure tells what it is: that answer is
    # a failure again (kept to be retried, unconditionally), not a page stored under the
    # sitemap's URL with the maintenance page's validators. The run after reads it again.
    family = SiteFamily(120, seed=12)
    month = f"/sitemaps/{family.months('arabpress')[-2]}.xml"
    db = tmp_path / "archive.sqlite"
    with FamilyServer(family) as server:
        server.faults = Faults(error_5xx=1.0, retry_factor=1.0, faults_on_all=True,
                               targets=(month, "/feed.xml"))
        finished(server, db, tmp_path)
        server.faults = Faults(soft_404=1.0, retry_factor=1.0, faults_on_all=True,
                               targets=("/sitemap.xml", month, "/feed.xml"))
        maintenance = finished(server, db, tmp_path)
        con = sqlite3.connect(db)
        rows = con.execute("SELECT url, failures, role, last_error, etag, last_modified, "
                           "last_fetched FROM pages WHERE failures > 0 ORDER BY url").fetchall()
        con.close()
        server.faults = None
        mended = finished(server, db, tmp_path)
    public = "https://arabpress.com"
    assert rows == [(f"{public}/feed.xml", 2, "feed", "not_a_feed", None, None, None),
                    (f"{public}/sitemap.xml", 1, "sitemap", "not_a_sitemap", None, None, None),
                    (f"{public}{month}", 2, "sitemap", "not_a_sitemap", None, None, None)]
    assert maintenance["pressarchive/retrying_failed"] == 2
    assert mended["pressarchive/retrying_failed"] == 3  # the index's failure, too
    assert "pressarchive/failed" not in mended, mended
    assert mended["pressarchive/sitemaps_read"] == 2  # the index and the month; others 304
    assert mended["pressarchive/feeds_read"] == 1
    assert failing_rows(db) == []
    assert stored_urls(db) == articles_of(family)


def test_a_sitemap_or_feed_answering_a_page_in_its_own_request_is_a_failure():
    # Not only a retry: an index, a month's sitemap or the feed that answers its own request
    # with an HTML page (a maintenance page served with 200) is a failure, as a 503 is,
    # recorded with its role to be asked for again next run and counted in the run's errors.
    s = spider()
    index = s.sitemap_request(f"{LOCAL}/sitemap.xml")
    child = s.sitemap_request(f"{LOCAL}/sitemaps/a.xml")
    out = list(s.parse_sitemap(html(index.url))) + list(s.parse_sitemap(html(child.url)))
    out += list(s.parse_feed(html(f"{LOCAL}/feed.xml")))
    assert [(f.url, f.kind, f.role, f.retry) for f in out] == [
        ("https://arabpress.com/sitemap.xml", "not_a_sitemap", "sitemap", True),
        ("https://arabpress.com/sitemaps/a.xml", "not_a_sitemap", "sitemap", True),
        ("https://arabpress.com/feed.xml", "not_a_feed", "feed", True)]
    assert s.sitemap_failed and s.sitemaps_answered == s.sitemaps_asked == 2
    assert s.crawler.stats.get_value("pressarchive/feeds_invalid") == 1
    # Read as what they are, they give none.
    s = spider()
    rss = b'<?xml version="1.0"?><rss><channel></channel></rss>'
    out = list(s.parse_sitemap(xml(s.sitemap_request(child.url).url, urlset("a"))))
    out += list(s.parse_feed(html(f"{LOCAL}/feed.xml", rss)))
    assert not any(isinstance(item, FetchFailure) for item in out)
    assert not s.sitemap_failed


def test_every_form_of_sitemap_sitemaps_org_allows_is_read_not_failed():
    # gzip'd XML (a .xml.gz served as a file, no Content-Encoding), an RSS or Atom feed,
    # and a text file of URLs, one a line, are sitemaps: read, not failures (a helper's
    # soak: a gzip'd sitemap was never ungzipped, and became a failure every run). A text
    # file that is not all URLs is not one.
    import gzip

    from scrapy.http import Response, TextResponse

    rss = (b'<?xml version="1.0"?><rss><channel><item><link>https://arabpress.com/r</link>'
           b"</item></channel></rss>")
    atom = (b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><entry>'
            b'<link href="https://arabpress.com/t"/></entry></feed>')
    text = b"\xef\xbb\xbfhttps://arabpress.com/x\r\nhttps://arabpress.com/y\n\n"

    def read(response) -> list:
        out = list(s.parse_sitemap(response))
        assert not any(isinstance(item, FetchFailure) for item in out)
        return [r.url for r in out]

    s = spider()
    gz = s.sitemap_request(f"{LOCAL}/sitemaps/a.xml.gz").url
    assert read(Response(gz, body=gzip.compress(urlset("a", "b")), request=Request(gz))) == [
        f"{LOCAL}/a", f"{LOCAL}/b"]
    gz_feed = s.sitemap_request(f"{LOCAL}/feed.xml.gz").url
    assert read(Response(gz_feed, body=gzip.compress(rss), request=Request(gz_feed))) == [
        f"{LOCAL}/r"]
    assert read(xml(s.sitemap_request(f"{LOCAL}/feed.xml").url, atom)) == [f"{LOCAL}/t"]
    listed = s.sitemap_request(f"{LOCAL}/urls.txt").url
    assert read(TextResponse(listed, body=text, request=Request(listed))) == [
        f"{LOCAL}/x", f"{LOCAL}/y"]
    assert not s.sitemap_failed and s.sitemaps_answered == s.sitemaps_asked == 4
    assert s.crawler.stats.get_value("pressarchive/feeds_read") == 2
    # A text sitemap is remembered as a sitemap is; a feed, read in full every time, is not.
    assert listed in s.sitemaps_read and gz in s.sitemaps_read
    assert gz_feed not in s.sitemaps_read
    # Not sitemaps: a text page that is not all URLs of the site (one naming a status page
    # elsewhere was taken for one, and its validators hid the month's edits: a review's
    # find), an HTML page gzip'd, a gzip'd body that is corrupt or too large once ungzipped
    # (each failure saying which).
    for body, kind in ((b"Down for maintenance", "not_a_sitemap"),
                       (b"https://arabpress.com/x maintenance", "not_a_sitemap"),
                       (b"https://status.example.net/\n", "not_a_sitemap"),
                       (b"https://arabpress.com/x\nhttps://example.net/y", "not_a_sitemap"),
                       (b"", "not_a_sitemap"),
                       (gzip.compress(b"<html><body>maintenance</body></html>"), "not_a_sitemap"),
                       (b"\x1f\x8b\x08" + b"not gzip at all", "bad_gzip")):
        down = s.sitemap_request(f"{LOCAL}/down.txt").url
        (failure,) = s.parse_sitemap(TextResponse(down, body=body, request=Request(down)))
        assert failure.kind == kind, body
    crawler = get_crawler(ArabPressSpider, {"DOWNLOAD_MAXSIZE": 1000})
    small = crawler.spider = ArabPressSpider.from_crawler(crawler, base_url=LOCAL)
    big = small.sitemap_request(f"{LOCAL}/sitemaps/big.xml.gz").url
    body = gzip.compress(urlset(*(f"article-{i}" for i in range(100))))
    assert len(body) < 1000
    (failure,) = small.parse_sitemap(Response(big, body=body, request=Request(big)))
    assert (failure.kind, failure.role) == ("gzip_too_large", "sitemap")
    assert "DOWNLOAD_MAXSIZE (1000 bytes)" in failure.message
    feed = f"{LOCAL}/feed.xml.gz"
    (failure,) = small.parse_feed(Response(feed, body=body, request=Request(feed)))
    assert (failure.kind, failure.role) == ("gzip_too_large", "feed")
    # Retried (it failed last run, recorded as a sitemap): a feed robots.txt names as a
    # sitemap reads as one, with no failure when robots.txt names it again; a retried feed
    # answering a page is counted as an invalid feed, as in its own request.
    s = spider()
    feed = f"{LOCAL}/feed.xml"
    s.retrying, s.retry_roles = {feed, f"{LOCAL}/news.xml"}, {feed: "sitemap",
                                                              f"{LOCAL}/news.xml": "feed"}
    assert [r.url for r in s.parse_any(xml(feed, rss))] == [f"{LOCAL}/r"]
    assert s._retried_sitemap(feed) is None and not s.sitemap_failed
    (failure,) = s.parse_any(html(f"{LOCAL}/news.xml"))
    assert failure.kind == "not_a_feed"
    empty = f"{LOCAL}/empty.xml"  # an empty body is no feed (parsel refuses to parse one)
    (failure,) = s.parse_feed(TextResponse(empty, body=b"", request=Request(empty)))
    assert failure.kind == "not_a_feed"
    assert s.crawler.stats.get_value("pressarchive/feeds_invalid") == 2


def test_a_sitemap_and_feed_in_maintenance_are_failures_read_by_the_next_run(tmp_path):
    # A first crawl finds a month's sitemap and the feed answering a maintenance page with
    # 200: the run records them as failed (its errors say so), and the next run asks for
    # them again, reads them, and clears the failures; nothing of the site is missing.
    family = SiteFamily(120, seed=12)
    month = f"/sitemaps/{family.months('arabpress')[-2]}.xml"
    db = tmp_path / "archive.sqlite"
    with FamilyServer(family) as server:
        server.faults = Faults(soft_404=1.0, retry_factor=1.0, faults_on_all=True,
                               targets=(month, "/feed.xml"))
        first = run_crawl("arabpress", db, tmp_path, base_url=server.origins["arabpress"])
        rows = failing_rows(db)
        server.faults = None
        second = run_crawl("arabpress", db, tmp_path, base_url=server.origins["arabpress"])
    assert first.stats["finish_reason"] == second.stats["finish_reason"] == "finished"
    public = "https://arabpress.com"
    assert rows == [(f"{public}/feed.xml", 1, "feed"), (f"{public}{month}", 1, "sitemap")]
    con = sqlite3.connect(db)
    (errors,) = con.execute("SELECT errors FROM crawl_runs ORDER BY id LIMIT 1").fetchone()
    con.close()
    assert json.loads(errors) == {"not_a_feed": 1, "not_a_sitemap": 1}
    assert second.stats["pressarchive/retrying_failed"] == 2
    assert second.stats["pressarchive/feeds_read"] == 1
    assert failing_rows(db) == []
    assert stored_urls(db) == articles_of(family)


def test_a_retried_sitemap_or_feed_served_as_text_html_is_read_as_what_its_body_is():
    # Content-Type is not what tells: a sitemap or feed served as text/html is read as one
    # by its own request, and so by its retry, its failure cleared (a helper's soak: the
    # feed was failed again on every run, not_a_feed, until it was given up for good).
    child, feed = f"{LOCAL}/sitemaps/a.xml", f"{LOCAL}/feed.xml"
    rss = (b'<?xml version="1.0"?><rss><channel><item><link>https://arabpress.com/x</link>'
           b"</item></channel></rss>")
    s = spider()
    s.retrying = {child, feed}
    s.retry_roles = {child: "sitemap", feed: "feed"}
    out = list(s.parse_any(html(child, urlset("a")))) + list(s.parse_any(html(feed, rss)))
    assert [r.url for r in out] == [f"{LOCAL}/a", f"{LOCAL}/x"]
    assert s.recovered == {child, feed}
    assert s.crawler.stats.get_value("pressarchive/feeds_read") == 1


def test_a_retried_sitemap_robots_txt_now_refuses_still_fails_when_the_index_names_it():
    # The retry refused by robots.txt gives no failure of its own (a decision): the index
    # naming it then records one, so that it is given up after MAX_FAILURES runs, not
    # retried for ever (a helper's soak found it stuck at one failure).
    from scrapy.exceptions import IgnoreRequest
    from twisted.python.failure import Failure

    index = f"{LOCAL}/sitemap.xml"
    child = f"{LOCAL}/sitemaps/a.xml"
    s = spider()
    s.retrying, s.retry_roles = {child}, {child: "sitemap"}
    refused = Failure(IgnoreRequest("Forbidden by robots.txt"))
    refused.request = s.request(child, callback=s.parse_any)
    assert list(s.on_error(refused)) == []
    out = list(s.parse_sitemap(xml(s.sitemap_request(index).url, INDEX_AB)))
    assert [(f.url, f.kind) for f in out if isinstance(f, FetchFailure)] == [
        ("https://arabpress.com/sitemaps/a.xml", "not_a_sitemap")]


def test_an_index_or_feed_given_up_after_failing_is_cleared_once_read_again(tmp_path):
    # The sitemap index and the feed fail MAX_FAILURES runs in a row: no longer retried on
    # their own, they are still read every run (robots.txt names the index, every page the
    # feed), and the first run that reads them as what they are clears their failures. (A
    # month's sitemap is cleared by the finished run that remembers it; these never were.)
    from pressarchive.storage import crawlstate

    family = SiteFamily(120, seed=5)
    db = tmp_path / "archive.sqlite"
    down = Faults(error_5xx=1.0, retry_factor=1.0, faults_on_all=True,
                  targets=("/sitemap.xml", "/feed.xml"))

    with FamilyServer(family, down) as server:
        for _ in range(crawlstate.MAX_FAILURES):
            finished(server, db, tmp_path)
        given_up = failing_rows(db)
        server.faults = None
        mended = finished(server, db, tmp_path)
    assert given_up == [("https://arabpress.com/feed.xml", crawlstate.MAX_FAILURES, "feed"),
                        ("https://arabpress.com/sitemap.xml", crawlstate.MAX_FAILURES,
                         "sitemap")]
    assert mended["pressarchive/retrying_failed"] == 0  # given up: read as usual, not retried
    assert failing_rows(db) == []
    assert stored_urls(db) == articles_of(family)
