"""When a sitemap lastmod lets a crawl pass a known page over."""

import pytest
from sqlalchemy import select

from pressarchive.storage import crawlstate
from pressarchive.storage.crawlstate import Fetch, PageState, validators_follow_edits
from pressarchive.storage.models import Page, SiteValidators
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


def test_a_lastmod_time_with_no_offset_passes_a_page_over_only_at_the_latest_it_can_mean():
    # A site at UTC-5 writing its local time: the edit at 13:00 local is 18:00 UTC. The copy
    # stored was sent at 14:00 UTC, before the edit: read as UTC, the lastmod 13:00 made it
    # as recent, the page was passed over, and the edit was lost until the next one.
    from pressarchive.lastmods import as_recent, vouches

    before_edit = "Wed, 18 Jun 2025 14:00:00 GMT"
    assert as_recent("2025-06-18T13:00:00", before_edit) is False
    assert not _unchanged_since("2025-06-18T13:00:00",
                                state(last_modified=before_edit, lastmod="2025-06-17"))
    # Passed over once no zone can put the edit after the copy (UTC-12 at the latest) ...
    assert as_recent("2025-06-18T13:00:00", "Thu, 19 Jun 2025 01:00:00 GMT") is True
    assert as_recent("2025-06-18T13:00:00", "Thu, 19 Jun 2025 00:59:59 GMT") is False
    # ... while a time with its offset, or Z, is read as it says.
    assert as_recent("2025-06-18T13:00:00-05:00", "Wed, 18 Jun 2025 18:00:00 GMT") is True
    assert as_recent("2025-06-18T13:00:00Z", "Wed, 18 Jun 2025 13:00:00 GMT") is True
    # A copy vouches for it from the earliest it can mean (UTC+14): at Riyadh's UTC+3, the
    # copy sent at the edit, 10:00 UTC, vouches for the lastmod 13:00. Read as UTC, it looked
    # three hours older: the lastmod was forgotten every time, and with the masthead's ETags
    # those refusals counted as lastmods running ahead, edits waiting days (a helper's soak).
    assert vouches("2025-06-18T13:00:00", "Wed, 18 Jun 2025 10:00:00 GMT")
    assert vouches("2025-06-18T13:00:00", "Tue, 17 Jun 2025 23:00:00 GMT")
    assert not vouches("2025-06-18T13:00:00", "Tue, 17 Jun 2025 22:59:59 GMT")
    assert vouches("2025-06-18T13:00:00+03:00", "Wed, 18 Jun 2025 10:00:00 GMT")
    assert not vouches("2025-06-18T13:00:00Z", "Wed, 18 Jun 2025 12:59:59 GMT")
    assert as_recent("9999-12-31T23:00:00", "Fri, 31 Dec 9999 23:59:59 GMT") is False
    assert vouches("0001-01-01T05:00:00", "Mon, 01 Jan 0001 00:00:00 GMT")


def test_a_changed_lastmod_asks_in_full_unless_lastmods_run_ahead_on_a_trusted_site():
    from scrapy.utils.test import get_crawler

    from spiders.family import ArabPressSpider

    crawler = get_crawler(ArabPressSpider)
    spider = ArabPressSpider.from_crawler(crawler, base_url="http://127.0.0.1:9")
    sent = dict(lastmod="2025-06-19T00:00:00+00:00",
                last_modified="Wed, 18 Jun 2025 10:00:00 GMT")
    url = "http://127.0.0.1:9/a"

    def asked(**changes):
        return spider.request(url, lastmod="2025-06-20",
                              state=state(**{**sent, **changes})).headers

    # A lastmod that changed: in full (a server whose validators do not follow its edits
    # would answer a conditional request 304) ...
    assert not asked() and not asked(lastmod_ahead=5)
    # ... unless the page's lastmods ran ahead of it twice, on a site whose validators
    # have followed its edits.
    spider.trusts_validators = True
    assert not asked(lastmod_ahead=1)
    assert spider.ahead_recheck == 7  # LASTMOD_AHEAD_RECHECK: its turn below
    spider.ahead_recheck = 0
    assert asked(lastmod_ahead=2).get("If-Modified-Since") == b"Wed, 18 Jun 2025 10:00:00 GMT"
    # One time in LASTMOD_AHEAD_RECHECK on average it is asked in full all the same, so
    # that validators that stop telling of its edits cost visits, not edits ...
    spider.ahead_recheck = 7
    in_full = []
    for run in range(7000):
        spider.run_number = run
        in_full.append(not asked(lastmod_ahead=2))
    assert 900 <= sum(in_full) <= 1100, sum(in_full)
    # ... whatever the schedule: a page asked for every so many runs (its revisit: hourly
    # runs and 20 hours between checks make every 21st) meets its turn now and then, where
    # (URL + run) % 7 met the same turn every time, always or never. (A chance, not a
    # bound: 4.6% for twenty visits in a row without one.)
    for stride in range(1, 36):
        turns = [in_full[visit * stride] for visit in range(7000 // stride)]
        assert any(turns[:60]) and 0.08 < sum(turns) / len(turns) < 0.22, stride
    # A page whose revisit has grown (40, 80, then 160 hours: 2, 4, 8 of the 20-hour
    # waits) stands for as many visits: its chance grows with it, to a full fetch every
    # visit from a wait of seven, so validators that stop telling of edits are found as soon
    # in hours as before the growth. Without the growth (LASTMOD_AHEAD_REVISIT_MAX at 20 or
    # below), one in seven, however long unchanged.
    def share(checks: int) -> float:
        full = 0
        for run in range(7000):
            spider.run_number = run
            full += not asked(lastmod_ahead=2, unchanged_checks=checks)
        return full / 7000

    assert 0.13 < share(2) < 0.16 and 0.26 < share(3) < 0.31 and 0.55 < share(4) < 0.60
    assert share(5) == share(40) == 1.0
    spider.ahead_revisit_max = 20
    assert 0.13 < share(5) < 0.16
    spider.ahead_revisit_max = 160
    # A page whose crawl state keeps no lastmod (its last fetch was older than its sitemap's
    # lastmod) is asked conditionally whatever the site's trust: a server answering every
    # such request 304 hid an edit for a whole wait, a week once grown (a review's find).
    # Once its wait has grown it takes the same turn; before, conditionally as ever, and so
    # is any page a link leads to without a lastmod.
    spider.trusts_validators = False
    blind = dict(lastmod=None, lastmod_ahead=2)
    assert share(5) == 1.0  # untrusted, with a lastmod recorded: in full
    for run in range(50):
        spider.run_number = run
        assert asked(**blind, unchanged_checks=2)
        assert not asked(**blind, unchanged_checks=5)
        assert spider.request(url, state=state(**{**sent, **blind},
                                               unchanged_checks=5)).headers
    runs = range(7000)
    grown = [not (spider.__setattr__("run_number", run) or asked(**blind, unchanged_checks=3))
             for run in runs]
    assert 0.26 < sum(grown) / len(grown) < 0.31
    spider.trusts_validators = True
    spider.ahead_recheck = 0  # never
    assert asked(lastmod_ahead=2, unchanged_checks=5)
    assert asked(**blind, unchanged_checks=5)
    spider.full = True  # FULL_RECHECK: in full, always
    assert not asked(lastmod_ahead=2)


def test_a_page_whose_lastmods_run_ahead_waits_for_its_revisit_unless_checked_long_ago():
    from scrapy.utils.test import get_crawler

    from spiders.family import ArabPressSpider

    crawler = get_crawler(ArabPressSpider)
    spider = ArabPressSpider.from_crawler(crawler, base_url="http://127.0.0.1:9")
    assert spider.ahead_revisit == 20  # LASTMOD_AHEAD_REVISIT, hours
    sitemap, url = "http://127.0.0.1:9/sitemap-1.xml", "http://127.0.0.1:9/a"

    def waits(**changes):
        page = state(**{"lastmod_ahead": 2, "checked_since": True, **changes})
        return spider._not_due(url, page, sitemap)

    # Checked since the revisit's start, its lastmods having run ahead twice: left for a
    # later run, decided for this one (a link to it asks nothing), its sitemap read in full
    # next time (the entry is not settled).
    assert waits()
    assert url in spider.asked and url in spider.not_due and sitemap in spider.unsettled_sitemaps
    assert crawler.stats.get_value("pressarchive/lastmod_ahead/not_due") == 1
    # Another sitemap listing it later in the run asks nothing either, and is not settled.
    other = "http://127.0.0.1:9/sitemap-2.xml"
    assert spider._listed_again(url, "2025-06-21", state(), other) is None
    assert other in spider.unsettled_sitemaps and url not in spider.listed_after
    # Asked for as before: checked long ago (or LASTMOD_AHEAD_REVISIT 0, which leaves
    # checked_since False), ran ahead once only, failing, no article, or FULL_RECHECK.
    assert not waits(checked_since=False)
    assert not waits(lastmod_ahead=1)
    assert not waits(failures=1)
    assert not waits(article_id=None)
    assert not spider._not_due(url, None, sitemap)
    spider.full = True
    assert not waits()


def test_the_crawl_state_tells_whether_a_page_was_checked_since_a_time():
    import datetime as dt

    from pressarchive.storage.archive import Archive

    archive = Archive("sqlite://")
    url = "https://arabpress.com/port-reopens"
    when = dt.datetime(2025, 6, 20, 10)
    with archive.transaction() as session:
        crawlstate.note_fetches(session, [(Fetch(site="arabpress", url=url, fetched_at=when),
                                           None)])
    with archive.session() as session:
        def checked(since):
            return crawlstate.page_states(session, "arabpress", [url], since)[url].checked_since

        assert checked(when - dt.timedelta(hours=1)) and checked(when)
        assert not checked(when + dt.timedelta(seconds=1))
        assert not checked(None)  # no time given: never


def port_reopens(**fetched):
    """An in-memory archive, a record of one article and the fetch that gave it (``fetched``:
    the fetch's other fields)."""
    import datetime as dt

    from pressarchive.record import Record
    from pressarchive.storage.archive import Archive

    url = "https://arabpress.com/port-reopens"
    record = Record(url=url, site="arabpress", headline="Port reopens",
                    body="The port reopened on Friday after a week of repairs. " * 3,
                    fetched_at="2025-06-20T10:00:00+00:00")
    fetch = Fetch(site="arabpress", url=url, fetched_at=dt.datetime(2025, 6, 20, 10),
                  **fetched)
    return Archive("sqlite://"), url, record, fetch


def test_a_copy_as_held_under_a_lastmod_it_does_not_vouch_for_counts_as_running_ahead():
    from dataclasses import replace

    archive, url, record, fetch = port_reopens(
        last_modified="Fri, 20 Jun 2025 09:00:00 GMT", lastmod="2025-06-20")

    def ahead() -> int:
        with archive.session() as session:
            return session.scalar(select(Page.lastmod_ahead).where(Page.url == url))

    archive.save(record, fetch)
    unvouched = replace(fetch, lastmod=None, forget_lastmod=True)
    archive.save(replace(record, fetched_at="2025-06-21T10:00:00+00:00"), unvouched)
    assert ahead() == 1
    archive.save(replace(record, fetched_at="2025-06-22T10:00:00+00:00"), fetch)  # vouched
    assert ahead() == 1
    # An edit is no sign of lastmods running ahead; told by a conditional request, it is
    # the site's validators at work.
    edited = replace(record, body=record.body + " It closed again.", fingerprint="",
                     fetched_at="2025-06-23T10:00:00+00:00")
    archive.save(edited, replace(unvouched, last_modified="Mon, 23 Jun 2025 09:00:00 GMT",
                                 conditional=True))
    assert ahead() == 1
    with archive.session() as session:
        assert validators_follow_edits(session, "arabpress")
    archive.close()


def test_a_site_is_trusted_once_a_conditional_request_told_of_an_edit_and_none_kept_still():
    import datetime as dt

    from pressarchive.storage.archive import Archive

    archive = Archive("sqlite://")
    with archive.session() as session:
        page = Page(site="arabpress", url="https://arabpress.com/a",
                    last_modified="Fri, 20 Jun 2025 09:00:00 GMT", etag='"1"')
        session.add(page)
        session.flush()

        def edited(last_modified, conditional=True, etag='"2"') -> None:
            crawlstate.note_fetch(session, Fetch(
                site="arabpress", url=page.url, fetched_at=dt.datetime(2025, 6, 21),
                last_modified=last_modified, etag=etag, conditional=conditional,
                edited=True), None)

        def before() -> None:  # the page as the archive held it before each edit
            page.last_modified, page.etag = "Fri, 20 Jun 2025 09:00:00 GMT", '"1"'

        assert not validators_follow_edits(session, "arabpress")
        edited(None, etag=None)  # nothing to compare: no word either way
        before()
        # Moved validators in answer to an unconditional request: the site may still
        # answer a conditional one 304 whatever it holds. No word either.
        edited("Sat, 21 Jun 2025 08:00:00 GMT", conditional=False)
        assert not validators_follow_edits(session, "arabpress")
        before()
        edited("Sat, 21 Jun 2025 08:00:00 GMT")  # a conditional request told of the edit
        assert validators_follow_edits(session, "arabpress")
        assert not validators_follow_edits(session, "saudipress")
        before()
        edited("Sat, 21 Jun 2025 08:00:00 +0000", conditional=False, etag='"1"')
        # The ETag kept still (a conditional request sends both validators, and a server
        # that answers by the ETag would have said 304): trust ends, for good.
        assert not validators_follow_edits(session, "arabpress")
        before()
        edited("Sat, 21 Jun 2025 08:00:00 GMT")
        assert not validators_follow_edits(session, "arabpress")
    archive.close()


def test_an_edit_under_a_stuck_last_modified_is_kept_still_though_its_etag_moved():
    # A server whose Last-Modified never moves (the publication time) and whose ETag does:
    # one that answers If-Modified-Since alone would say 304 after the edit, so the site is
    # not trusted with conditional requests for pages whose lastmods run ahead of them.
    import datetime as dt

    from pressarchive.storage.archive import Archive

    archive = Archive("sqlite://")
    stuck = "Fri, 20 Jun 2025 09:00:00 GMT"
    with archive.session() as session:
        session.add(Page(site="arabpress", url="https://arabpress.com/a", last_modified=stuck,
                         etag='"1"'))
        session.flush()
        crawlstate.note_fetch(session, Fetch(
            site="arabpress", url="https://arabpress.com/a", fetched_at=dt.datetime(2025, 6, 21),
            last_modified=stuck, etag='"2"', conditional=True, edited=True), None)
        assert not validators_follow_edits(session, "arabpress")
        assert session.execute(select(SiteValidators.followed, SiteValidators.kept)).one() \
            == (0, 1)
    archive.close()


def test_an_edit_back_to_an_earlier_version_or_date_is_evidence_on_either_save_path():
    # A page that goes back to a version the archive holds is an edit at its URL, written
    # a table at a time (save_many) as one at a time; a Last-Modified that went back with an
    # edit is one an If-Modified-Since would have been answered 304 by: kept still.
    import datetime as dt
    from dataclasses import replace

    from pressarchive.record import Record
    from pressarchive.storage.archive import Archive

    def counts(archive) -> tuple[int, int]:
        with archive.session() as session:
            return session.execute(select(SiteValidators.followed, SiteValidators.kept)
                                   .where(SiteValidators.site == "arabpress")).one()

    url = "https://arabpress.com/port-reopens"
    one = Record(url=url, site="arabpress", headline="Port reopens",
                 body="The port reopened on Friday after a week of repairs. " * 3,
                 fetched_at="2025-06-20T10:00:00+00:00")
    two = replace(one, body=one.body + " It closed again.", fingerprint="",
                  fetched_at="2025-06-21T10:00:00+00:00")
    back = replace(one, fetched_at="2025-06-22T10:00:00+00:00")
    fetch = Fetch(site="arabpress", url=url, fetched_at=dt.datetime(2025, 6, 20, 10),
                  last_modified="Fri, 20 Jun 2025 09:00:00 GMT")
    later = replace(fetch, last_modified="Sat, 21 Jun 2025 09:00:00 GMT", conditional=True)
    for batched in (False, True):
        archive = Archive("sqlite://")
        archive.save(one, fetch)
        archive.save(two, later)
        assert counts(archive) == (1, 0)
        reverted = replace(fetch, last_modified="Sun, 22 Jun 2025 09:00:00 GMT",
                           conditional=True)
        if batched:
            with archive.session() as session:
                archive.save_many(session, [(back, reverted)])
                session.commit()
        else:
            archive.save(back, reverted)
        assert counts(archive) == (2, 0), batched
        # An edit under a Last-Modified older than the one recorded: kept still.
        archive.save(replace(two, fetched_at="2025-06-23T10:00:00+00:00"),
                     replace(fetch, last_modified="Sat, 21 Jun 2025 09:00:00 GMT"))
        assert counts(archive) == (2, 1), batched
        archive.close()


def test_a_conditional_request_sends_both_validators():
    from spiders.family import _conditional

    both = state(etag='"a"', last_modified="Fri, 20 Jun 2025 10:00:00 GMT")
    assert _conditional(both) == {"If-Modified-Since": "Fri, 20 Jun 2025 10:00:00 GMT",
                                  "If-None-Match": '"a"'}
    assert _conditional(state(etag=None, last_modified=None)) == {}


def test_a_304_replaces_the_validators_recorded_with_those_it_gives():
    # The site says the copy held is its current one: its validators describe that copy,
    # so a Last-Modified recorded older than the copy's sitemap lastmod (answered 304 by its
    # ETag) no longer keeps that lastmod from being vouched for.
    import datetime as dt

    from pressarchive.storage.archive import Archive

    archive = Archive("sqlite://")
    url = "https://arabpress.com/a"
    with archive.transaction() as session:
        crawlstate.note_fetches(session, [(Fetch(
            site="arabpress", url=url, fetched_at=dt.datetime(2025, 6, 20),
            last_modified="Mon, 02 Jan 2017 00:00:00 GMT", etag='"1"'), None)])
    answers = [crawlstate.NotModified("arabpress", url, dt.datetime(2025, 6, 21),
                                      last_modified="Fri, 20 Jun 2025 09:00:00 GMT"),
               crawlstate.NotModified("arabpress", url, dt.datetime(2025, 6, 22))]
    with archive.transaction() as session:
        crawlstate.note_not_modified(session, answers)  # the second gave none: kept
    with archive.session() as session:
        page = crawlstate.page_states(session, "arabpress", [url])[url]
    assert (page.last_modified, page.etag) == ("Fri, 20 Jun 2025 09:00:00 GMT", '"1"')
    archive.close()


def test_a_run_counts_pages_left_for_their_revisit_as_not_modified():
    # Known pages not read again (crawl_runs.not_modified): 304s, sitemap lastmod skips, and
    # pages whose lastmods run ahead left for their revisit.
    from pressarchive.crawl import run_counts

    stats = {"pressarchive/not_modified": 2, "pressarchive/skipped/lastmod": 3,
             "pressarchive/lastmod_ahead/not_due": 4}
    assert run_counts(stats)["not_modified"] == 9


def test_a_page_unchanged_for_longer_waits_longer_for_its_revisit():
    # LASTMOD_AHEAD_REVISIT (20 hours) for a page up to its first AHEAD_RUNS unchanged
    # checks, doubled for each one more, up to LASTMOD_AHEAD_REVISIT_MAX (168): the database
    # picks each page's threshold by its unchanged_checks.
    import datetime as dt

    from pressarchive.storage.archive import Archive

    now = dt.datetime(2026, 1, 10, 12)
    thresholds = crawlstate.revisit_thresholds(now, 20, 168)
    assert [(now - when) / dt.timedelta(hours=1) for when in thresholds.tiers] == [
        20, 40, 80, 160, 168]
    for flat in (0, 20):  # no growth: one threshold, no phases
        assert crawlstate.revisit_thresholds(now, 20, flat) == ([now - dt.timedelta(hours=20)],
                                                                [])
    assert [(now - when) / dt.timedelta(hours=1) for when in crawlstate.revisit_thresholds(
        now, 20, 160).tiers] == [20, 40, 80, 160]  # the defaults: a week apart for a run a day
    archive = Archive("sqlite://")
    pages = {  # unchanged checks, hours since the last check -> whether still not due (at
        # the longest wait, 6 and up here, a grid picks a time between 20 and 168 hours ago:
        # test_pages_at_the_longest_wait_come_due_on_a_grid_by_their_id_so_waves_spread)
        (0, 19): True, (2, 19): True, (2, 21): False, (3, 21): True, (3, 41): False,
        (4, 79): True, (4, 81): False, (5, 159): True, (5, 161): False, (9, 10): True,
        (9, 169): False}
    url = "https://arabpress.com/p-{}-{}".format
    with archive.transaction() as session:
        for (checks, hours) in pages:
            session.add(Page(site="arabpress", url=url(checks, hours), failures=0,
                             unchanged_checks=checks,
                             last_fetched=now - dt.timedelta(hours=hours)))
    with archive.session() as session:
        states = crawlstate.page_states(session, "arabpress", [url(*key) for key in pages],
                                        thresholds)
        flat = crawlstate.page_states(session, "arabpress", [url(*key) for key in pages],
                                      crawlstate.revisit_thresholds(now, 20))
    archive.close()
    assert {key: states[url(*key)].checked_since for key in pages} == pages
    # Without growth, 20 hours for every page, however long unchanged.
    assert {key for key in pages if flat[url(*key)].checked_since} == {
        key for key in pages if key[1] < 20}


def test_pages_at_the_longest_wait_come_due_on_a_grid_by_their_id_so_waves_spread():
    # A page at the longest wait is due once the last time of its own grid (its row id
    # modulo 28 picks one of 28 grids, 160/28 hours apart, each repeating every 160 hours)
    # has passed since its last check, and it is 20 hours old. Pages checked together (a
    # back catalogue crawled in one run, or all of it after a week without runs) then come
    # due a 28th at a time, not all together every 160 hours; none waits more than 160.
    import datetime as dt

    from pressarchive.storage.archive import Archive

    hour = dt.timedelta(hours=1)
    now = dt.datetime(2026, 1, 10, 12)
    revisit = crawlstate.revisit_thresholds(now, 20, 160)
    assert len(revisit.phases) == crawlstate.REVISIT_PHASES == 28
    for phase, at in enumerate(revisit.phases):
        assert now - 160 * hour < at <= now
        offset = ((at - crawlstate.REVISIT_EPOCH) / hour - 160 * phase / 28) % 160
        assert min(offset, 160 - offset) < 1e-6  # on its own grid
    assert crawlstate.revisit_thresholds(now, 20, 20).phases == []  # no growth, no grid

    # In the database: pages of every grid, at the longest wait (counts 5, 6 and 9) and at
    # the one before (4: 80 hours, no grid), checked just before and just after their
    # grid's last time, or long before.
    archive = Archive("sqlite://")
    url = "https://arabpress.com/p-{}-{}".format
    ids: dict[int, list[int]] = {}  # grid -> row ids of it
    for page_id in range(1, 2000):
        ids.setdefault(crawlstate.revisit_grid(page_id), []).append(page_id)
    assert sorted(ids) == list(range(28))
    checked = {}  # (id, unchanged checks) -> last check
    for grid, at in enumerate(revisit.phases):
        first, second, third, fourth = ids[grid][:4]
        checked[first, 5] = at - 0.5 * hour
        checked[second, 9] = at + 0.5 * hour
        checked[third, 4] = at - 0.5 * hour
        checked[fourth, 6] = now - 161 * hour
    with archive.transaction() as session:
        for (page_id, checks), when in checked.items():
            session.add(Page(id=page_id, site="arabpress", url=url(page_id, checks),
                             failures=0, unchanged_checks=checks, last_fetched=when))
    with archive.session() as session:
        states = crawlstate.page_states(session, "arabpress", [url(*key) for key in checked],
                                        revisit)
    archive.close()
    due = {key for key in checked if not states[url(*key)].checked_since}
    assert due == {key for key, when in checked.items()
                   if key[1] == 6  # 161 hours: whatever its grid
                   or (key[1] == 5 and when < now - 20 * hour)  # its grid's time passed
                   or (key[1] == 4 and when < now - 80 * hour)}
    assert {key for key in due if key[1] == 5} and {key for key in checked if key[1] == 5} - due

    # The database and revisit_grid agree on every id; ids that step by 2, 7 or 28 (rows of
    # other kinds between a site's pages) still use every grid, near evenly.
    archive = Archive("sqlite://")
    with archive.transaction() as session:
        session.add_all(Page(id=page_id, site="arabpress", url=f"u{page_id}", failures=0)
                        for page_id in range(1, 30000, 7))
    with archive.session() as session:
        pairs = session.execute(select(Page.id, crawlstate.revisit_grid(Page.id))).all()
    archive.close()
    assert all(crawlstate.revisit_grid(page_id) == grid for page_id, grid in pairs)
    for step in (1, 2, 7, 28):
        counts = [0] * 28
        for page_id in range(1, 1 + 2800 * step, step):
            counts[crawlstate.revisit_grid(page_id)] += 1
        assert min(counts) > 70 and max(counts) < 130, (step, counts)

    # A run a day from a time all 28 grids' pages were checked together: a few newly due
    # on each of the next seven days, all of them by the seventh; then each comes due
    # again a longest wait after its grid's time, so the spread holds.
    start = now
    runs = [start + day * (24 * hour - 0.1 * hour) for day in range(1, 16)]
    last = {phase: start for phase in range(28)}
    newly, seen = [], set()
    for day, run in enumerate(runs, 1):
        phases = crawlstate.revisit_thresholds(run, 20, 160).phases
        due_now = [p for p in last if last[p] < phases[p] and last[p] < run - 20 * hour]
        for p in due_now:
            assert run - last[p] <= 168 * hour  # a week, at a run a day
            last[p] = run
        newly.append(len(due_now))
        if day <= 7:
            seen.update(due_now)
    assert all(3 <= n <= 5 for n in newly), newly
    assert seen == set(range(28))


def test_where_the_grids_start_is_a_setting_read_as_a_time():
    import datetime as dt

    import pytest
    from scrapy.utils.test import get_crawler

    from spiders.family import ArabPressSpider

    def epoch(value):
        crawler = get_crawler(ArabPressSpider, {"LASTMOD_AHEAD_REVISIT_EPOCH": value})
        return ArabPressSpider.from_crawler(crawler, base_url="http://127.0.0.1:9").revisit_epoch

    assert epoch("1999-12-31T03:00:00+03:00") == dt.datetime(1999, 12, 31)  # naive UTC
    assert epoch("") == crawlstate.REVISIT_EPOCH
    with pytest.raises(ValueError, match="LASTMOD_AHEAD_REVISIT_EPOCH must be an ISO 8601"):
        epoch("last tuesday")
    now = dt.datetime(2026, 1, 10, 12)
    moved = crawlstate.revisit_thresholds(now + dt.timedelta(hours=24), 20, 160,
                                          crawlstate.REVISIT_EPOCH + dt.timedelta(hours=24))
    assert [at - dt.timedelta(hours=24) for at in moved.phases] == \
        crawlstate.revisit_thresholds(now, 20, 160).phases  # the grids move with it


def test_no_revisit_setting_is_too_large_or_small_to_compute():
    # A wait of a million years (a setting's typo) is held to ten: a threshold that far back
    # is still a datetime. A tiny one stops doubling before the longest (it hung the spider's
    # start: a review's find).
    import datetime as dt

    now = dt.datetime(2026, 1, 10, 12)
    for hours, longest in ((20, 1e10), (1e10, 1e12), (1e10, 0), (1e-8, 160)):
        revisit = crawlstate.revisit_thresholds(now, hours, longest)
        assert now - min(revisit.tiers + revisit.phases) <= dt.timedelta(days=3653)


def test_checks_that_find_a_page_unchanged_are_counted_until_one_finds_it_changed():
    # A 304 or a fetch of the version held at the URL counts one more; a first fetch, or
    # one that finds another version, starts again at 0.
    import datetime as dt
    from dataclasses import replace

    archive, url, record, fetch = port_reopens()

    def checks() -> int:
        with archive.session() as session:
            return session.scalar(select(Page.unchanged_checks).where(Page.url == url))

    def not_modified(day: int) -> None:
        with archive.transaction() as session:
            crawlstate.note_not_modified(session, [crawlstate.NotModified(
                site="arabpress", url=url, when=dt.datetime(2025, 6, day, 10))])

    archive.save(record, fetch)
    assert checks() == 0
    archive.save(replace(record, fetched_at="2025-06-21T10:00:00+00:00"),
                 replace(fetch, fetched_at=dt.datetime(2025, 6, 21, 10)))
    assert checks() == 1
    not_modified(22)
    not_modified(23)
    assert checks() == 3
    edited = replace(record, body=record.body + " It closed again.", fingerprint="",
                     fetched_at="2025-06-24T10:00:00+00:00")
    archive.save(edited, replace(fetch, fetched_at=dt.datetime(2025, 6, 24, 10)))
    assert checks() == 0
    # Another URL of the article (an upper-case spelling a link takes): its first fetch
    # starts at 0, though the version is the one held; an edit found there sets the
    # article's other URLs to 0 as well.
    alias = url.replace("port", "Port")

    def checks_at(at: str) -> int:
        with archive.session() as session:
            return session.scalar(select(Page.unchanged_checks).where(Page.url == at))

    archive.save(replace(edited, fetched_at="2025-06-24T11:00:00+00:00"),
                 replace(fetch, url=alias, fetched_at=dt.datetime(2025, 6, 24, 11)))
    assert (checks_at(alias), checks()) == (0, 0)
    not_modified(25)
    assert checks() == 1
    again = replace(edited, body=edited.body + " Then it reopened.", fingerprint="",
                    fetched_at="2025-06-26T10:00:00+00:00")
    archive.save(again, replace(fetch, url=alias, fetched_at=dt.datetime(2025, 6, 26, 10)))
    assert (checks_at(alias), checks()) == (0, 0)
    edited = again
    # Many at once (Archive.save_many, as the ingest worker saves): the same counts.
    with archive.transaction() as session:
        archive.save_many(session, [(replace(edited, fetched_at="2025-06-27T10:00:00+00:00"),
                                     replace(fetch, fetched_at=dt.datetime(2025, 6, 27, 10)))])
    assert checks() == 1
    archive.close()


@pytest.mark.parametrize("zone", [3, -5])
def test_sitemap_lastmods_in_local_time_with_no_offset_cost_nothing_and_lose_no_edit(
        tmp_path, zone):
    # A site writing its sitemap lastmods in its local time with no offset, east of
    # Greenwich (Riyadh's, UTC+3) or west of it (UTC-5), crawled once a day as the site
    # advances (new articles, edits, the masthead's date and so every page's ETag changing).
    # Read as UTC, the first had every fresh copy refused as older than its lastmod
    # (lastmods_unvouched), the refusals counted as lastmods running ahead, and two days on
    # every page was on the revisit schedule, edits waiting days (a helper's soak).
    import sqlite3

    from pressarchive.sitegen import FamilyServer, SiteFamily

    from conftest import run_crawl

    family = SiteFamily(150, seed=9)
    db = tmp_path / "archive.sqlite"
    with FamilyServer(family, lastmod_zone=zone) as server:
        site = server.origins["arabpress"]
        runs, plans = [run_crawl("arabpress", db, tmp_path, base_url=site).stats], []
        for _ in range(3):
            plans.append(family.advance())
            runs.append(run_crawl("arabpress", db, tmp_path, base_url=site).stats)
    assert all(run["finish_reason"] == "finished" for run in runs)
    assert not any(run.get("pressarchive/lastmods_unvouched") for run in runs)
    assert not any(run.get("pressarchive/skipped/lastmod_ahead") for run in runs)
    edited = [[family.article(i).url("arabpress") for i in plan["edited"]
               if "arabpress" in family.sites_of(i)] for plan in plans]
    assert sum(map(len, edited)) >= 3
    for run, urls in zip(runs[1:], edited):  # each day's edits stored by that day's run
        assert run.get("pressarchive/stored/new_version", 0) >= len(urls), urls
    con = sqlite3.connect(db)
    ahead = con.execute("SELECT count(*) FROM pages WHERE lastmod_ahead > 0").fetchone()[0]
    versions = dict(con.execute(
        "SELECT a.url, count(*) FROM appearances a JOIN versions v "
        "ON v.article_id = a.article_id GROUP BY a.url"))
    con.close()
    assert ahead == 0
    for urls in edited:
        assert all(versions[url] >= 2 for url in urls)


def test_the_age_of_a_page_s_content_stands_for_unchanged_checks():
    # RFC 9111's heuristic freshness, a tenth of the time since the content last changed:
    # each doubling of the 20-hour wait that stays within it counts one check, on top of the
    # two that show a page's lastmods run ahead (every page is counted through those before
    # a wait applies); content under 400 hours old (17 days) counts none.
    from pressarchive.storage.crawlstate import AHEAD_RUNS, checks_for_age, revisit_wait

    assert [checks_for_age(age, 20.0) for age in (None, 0.0, 399.0, 400.0, 799.0, 800.0,
                                                  1600.0, 24 * 365.0)] == [
        0, 0, 0, 1, 1, 2, 3, 5]
    # No overflow, whatever the age.
    assert [checks_for_age(age, 20.0) for age in (1e9, 1e300, float("inf"), float("nan"))] == [
        22, 32, 32, 0]
    assert checks_for_age(24 * 365.0, 0.0) == checks_for_age(24 * 365.0, -1.0) == 0
    # The first wait that applies, once the two checks are counted: the longest doubling of
    # 20 hours within a tenth of the age, up to the longest wait (17 days old: 40 hours, not
    # 160; a review found the two checks counted twice).
    first_wait = {age: revisit_wait(checks_for_age(age, 20.0) + AHEAD_RUNS, 20.0, 160.0)
                  for age in (300.0, 400.0, 900.0, 1700.0, 5000.0)}
    assert first_wait == {300.0: 20.0, 400.0: 40.0, 900.0: 80.0, 1700.0: 160.0, 5000.0: 160.0}


def test_a_record_s_age_runs_from_its_last_change_to_the_day_its_page_shows():
    from pressarchive.ingest import content_age
    from pressarchive.record import Record

    def record(**dates) -> Record:
        return Record(url="https://arabpress.com/a", site="arabpress", headline="A",
                      body="b", fetched_at="2026-11-30T12:00:00+00:00", **dates)

    # The masthead's day (the day the page was viewed), at its start; else the fetch.
    assert content_age(record(published_at="2025-06-10T00:00:00+00:00",
                              page_date="2025-06-20")) == 240.0
    assert content_age(record(published_at="2025-06-10T00:00:00+00:00",
                              modified_at="2025-06-19T00:00:00+00:00",
                              page_date="2025-06-20")) == 24.0
    assert content_age(record(published_at="2026-11-29T12:00:00+00:00")) == 24.0
    # Never less than 0 (a time later on the masthead's day, a clock ahead), and nothing
    # from a record without a date or with one that cannot be read.
    assert content_age(record(published_at="2025-06-20T09:00:00+03:00",
                              page_date="2025-06-20")) == 0.0
    assert content_age(record()) is None
    # A page with no date of its own: as old as its copy's Last-Modified says, the same way;
    # a date of its own wins, and a Last-Modified that cannot be read is none.
    assert content_age(record(page_date="2025-06-20"), "Tue, 10 Jun 2025 00:00:00 GMT") == 240.0
    assert content_age(record(published_at="2025-06-19T00:00:00+00:00", page_date="2025-06-20"),
                       "Tue, 10 Jun 2025 00:00:00 GMT") == 24.0
    assert content_age(record(page_date="2025-06-20"), "yesterday") is None
    assert content_age(record(), "Sat, 30 Nov 2026 13:00:00 GMT") == 0.0  # after the fetch
    assert content_age(record(published_at="2025-06-10T00:00:00", page_date="2025-06-20")) \
        is None  # no offset: no time that can be compared
    # A masthead that cannot be read, or dated ahead of the fetch: the fetch.
    for shown in ("June", "2099-01-01"):
        assert content_age(record(published_at="2026-11-29T12:00:00+00:00",
                                  page_date=shown)) == 24.0
    # A modification dated before the publication (a template's slip): the publication.
    assert content_age(record(published_at="2025-06-19T00:00:00+00:00",
                              modified_at="2024-01-01T00:00:00+00:00",
                              page_date="2025-06-20")) == 24.0


def test_a_first_fetch_counts_the_checks_its_content_s_age_stands_for():
    # A page new to the archive whose content is old starts at the checks its age stands
    # for, not at 0; a check that finds it as held counts one more, and a 304 one more; an
    # edit found starts again at 0, whatever the dates say, and the age is not counted
    # again: a page with a publication date alone went back to the longest wait at the
    # first check after its edit (a helper's soak: its next edits stored days late).
    import datetime as dt
    from dataclasses import replace

    archive, url, record, fetch = port_reopens()

    def checks() -> int:
        with archive.session() as session:
            return session.scalar(select(Page.unchanged_checks).where(Page.url == url))

    archive.save(record, replace(fetch, quiet_checks=5))
    assert checks() == 5
    archive.save(replace(record, fetched_at="2025-06-21T10:00:00+00:00"),
                 replace(fetch, fetched_at=dt.datetime(2025, 6, 21, 10), quiet_checks=5))
    assert checks() == 6
    archive.save(replace(record, fetched_at="2025-06-22T10:00:00+00:00"),
                 replace(fetch, fetched_at=dt.datetime(2025, 6, 22, 10), quiet_checks=9))
    assert checks() == 7
    with archive.transaction() as session:
        crawlstate.note_not_modified(session, [crawlstate.NotModified(
            site="arabpress", url=url, when=dt.datetime(2025, 6, 23, 10))])
    assert checks() == 8
    edited = replace(record, body=record.body + " It closed again.", fingerprint="",
                     fetched_at="2025-06-24T10:00:00+00:00")
    with archive.transaction() as session:  # the worker's way, many at once
        archive.save_many(session, [(edited, replace(fetch, fetched_at=dt.datetime(
            2025, 6, 24, 10), quiet_checks=9))])
    assert checks() == 0
    for day, expected in ((25, 1), (26, 2)):  # the checks after the edit count from 0
        with archive.transaction() as session:
            archive.save_many(session, [(replace(edited, fetched_at=f"2025-06-{day}T10:00:00"
                                                 "+00:00"), replace(fetch, fetched_at=dt.datetime(
                                                     2025, 6, day, 10), quiet_checks=9))])
        assert checks() == expected
    # Another URL of it (an upper-case spelling), new to the crawl state: its age's.
    alias = url.replace("port", "Port")
    archive.save(replace(edited, fetched_at="2025-06-27T10:00:00+00:00"),
                 replace(fetch, url=alias, fetched_at=dt.datetime(2025, 6, 27, 10),
                         quiet_checks=9))
    with archive.session() as session:
        assert session.scalar(select(Page.unchanged_checks).where(Page.url == alias)) == 9
    archive.close()


def test_a_crawl_stores_old_articles_at_the_checks_their_age_stands_for(tmp_path):
    # End to end, through the ingest worker: after a first crawl of a generated site, an
    # article published long before the masthead's day starts at the longest wait's count,
    # one published within 17 days at 0; one with no date on its page, at its copy's
    # Last-Modified's count. With LASTMOD_AHEAD_REVISIT=0 (no revisit) none counts any.
    from email.utils import format_datetime

    import sqlite3

    from pressarchive.ingest import content_age
    from pressarchive.sitegen import FamilyServer, SiteFamily, render_page
    from pressarchive.extract import extract, read_page
    from pressarchive.storage.crawlstate import checks_for_age

    from conftest import run_crawl

    family = SiteFamily(120, seed=3)
    expected, undated = {}, 0
    for i in family.ids("arabpress"):
        url = family.article(i).url("arabpress")
        page = render_page(family, "arabpress", "/" + url.split(".com/", 1)[1],
                           "https://arabpress.com")
        record = extract(read_page(page.body, url, None), url, "2026-11-30T12:00:00+00:00",
                         site="arabpress")
        expected[url] = checks_for_age(content_age(
            record, format_datetime(page.last_modified, True)), 20.0)
        undated += record.published_at is None and expected[url] > 0
    assert min(expected.values()) < 3 <= max(expected.values())  # young and old are there
    assert undated >= 5  # and old pages with no date of their own
    counts = {}
    with FamilyServer(family) as server:
        for revisit in ("20", "0"):
            db = tmp_path / f"archive-{revisit}.sqlite"
            run = run_crawl("arabpress", db, tmp_path, base_url=server.origins["arabpress"],
                            settings={"LASTMOD_AHEAD_REVISIT": revisit})
            assert run.stats["finish_reason"] == "finished", run.log[-2000:]
            con = sqlite3.connect(db)
            counts[revisit] = dict(con.execute(
                "SELECT url, unchanged_checks FROM pages WHERE article_id IS NOT NULL"))
            con.close()
    assert {url: counts["20"][url] for url in expected} == expected
    assert set(counts["0"].values()) == {0}


def test_a_sitemap_whose_entries_all_carry_one_time_is_stamped():
    # The time the sitemap was made, given to every entry: its lastmods say nothing of which
    # page changed. Too few entries with a lastmod, a date alone (a day's news share one
    # honestly), written as its midnight or with an offset and no time, a lastmod unread, or
    # times a minute and more apart: not.
    from pressarchive.lastmods import stamped

    one = ["2026-01-01T10:00:00+00:00"] * 20
    assert stamped(one, 20)
    assert not stamped(one[:19], 20) and stamped(one[:19], 19)
    assert not stamped(one, 0)  # LASTMOD_STAMPED_MIN 0: never
    assert stamped(one[:19] + ["2026-01-01T10:00:59+00:00"], 20)  # a clock read per entry
    assert not stamped(one[:19] + ["2026-01-01T10:01:01+00:00"], 20)
    assert stamped(one[:19] + ["2026-01-01T13:00:00+03:00"], 20)  # the same time elsewhere
    assert stamped(["2026-01-01T10:00:00Z"] * 20, 20)
    assert stamped(["2026-01-01 10:00:00"] * 20, 20)  # no offset (lastmods.utc reads it)
    for day in ("2026-01-01", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00+03:00",
                "2026-01-01+03:00"):
        assert not stamped([day] * 20, 20), day
    # An entry without a lastmod (a home page) is left out; too few left is not a stamp.
    assert stamped(one + [None, ""], 20) and not stamped(one[:19] + [None], 20)
    assert not stamped(one[:19] + ["soon"], 20)


def test_a_stamped_fetch_or_304_counts_the_checks_that_would_have_learned_it():
    # A page a stamped sitemap leads to counts as found with its lastmods running ahead
    # AHEAD_RUNS times (Page.lastmod_ahead), and its unchanged checks as after those checks:
    # a first article at its content age's count plus two; a page fetched before, as held,
    # or answered 304, one more for that check plus the learning checks it still lacked
    # (an archive first crawled without it: a review's find, one step short on 304s).
    import datetime as dt
    from dataclasses import replace

    archive, url, record, fetch = port_reopens()

    def row(at: str = url) -> tuple[int, int]:
        with archive.session() as session:
            return tuple(session.execute(select(Page.lastmod_ahead, Page.unchanged_checks)
                                         .where(Page.url == at)).one())

    archive.save(record, replace(fetch, quiet_checks=3))  # before it: learns page by page
    assert row() == (0, 3)
    with archive.transaction() as session:
        crawlstate.note_not_modified(session, [crawlstate.NotModified(
            site="arabpress", url=url, when=dt.datetime(2025, 6, 21, 10), stamped=True)])
    assert row() == (2, 6)
    with archive.transaction() as session:  # counted once: nothing lacks now
        crawlstate.note_not_modified(session, [crawlstate.NotModified(
            site="arabpress", url=url, when=dt.datetime(2025, 6, 22, 10), stamped=True)])
    assert row() == (2, 7)
    fresh = url + "-2"
    archive.save(replace(record, url=fresh), replace(fetch, url=fresh, quiet_checks=3,
                                                      stamped=True))
    assert row(fresh) == (2, 5)
    later = replace(record, url=fresh, fetched_at="2025-06-23T10:00:00+00:00")
    archive.save(later, replace(fetch, url=fresh, fetched_at=dt.datetime(2025, 6, 23, 10),
                                stamped=True, quiet_checks=3))
    assert row(fresh) == (2, 6)
    # Halfway through learning (one full fetch that ran ahead), a stamped fetch as held: the
    # one check still lacking is counted with it.
    half = url + "-3"
    archive.save(replace(record, url=half), replace(fetch, url=half, quiet_checks=1))
    with archive.transaction() as session:
        session.execute(Page.__table__.update().where(Page.url == half)
                        .values(lastmod_ahead=1, unchanged_checks=2))
    archive.save(replace(record, url=half, fetched_at="2025-06-23T10:00:00+00:00"),
                 replace(fetch, url=half, fetched_at=dt.datetime(2025, 6, 23, 10),
                         stamped=True))
    assert row(half) == (2, 4)
    archive.close()


def test_a_fetch_counts_as_stamped_only_under_a_copy_older_than_the_stamp():
    # FamilySpider._stamped: a copy as recent as the sitemap's stamp (a catalogue re-saved
    # then) is an ordinary fetch; an older one, or one with no Last-Modified, is stamped. A
    # 304 without a Last-Modified (RFC 9110 lets a server leave it out) is told by the copy
    # held, whose date the conditional request sent (a review's find: it counted as none).
    # A page a link asked for before a stamped sitemap listed it takes that sitemap's stamp,
    # once.
    import types

    from scrapy.http import Request, Response

    from spiders.family import FamilySpider

    url = "https://arabpress.com/a"
    spider = types.SimpleNamespace(stamped_late={})
    stamp = "2026-01-01T10:00:00+00:00"
    recent, older = "Thu, 01 Jan 2026 10:30:00 GMT", "Thu, 01 Jan 2026 09:00:00 GMT"

    def stamped(status, modified, meta=None, asked_with=None) -> bool:
        headers = {"If-Modified-Since": asked_with} if asked_with else {}
        if meta is None:
            meta = {"lastmod": stamp, "stamped": True}
        response = Response(url, status=status, headers={"Last-Modified": modified} if modified
                            else {}, request=Request(url, meta=meta, headers=headers))
        return FamilySpider._stamped(spider, response, url)

    assert not stamped(200, recent) and stamped(200, older) and stamped(200, None)
    assert not stamped(304, None, asked_with=recent) and stamped(304, None, asked_with=older)
    assert stamped(304, None)  # nothing to tell by
    assert not stamped(200, None, meta={"lastmod": stamp})  # not from a stamped sitemap
    spider.stamped_late[hash(url)] = stamp
    assert stamped(200, older, meta={}) and not spider.stamped_late
    assert not stamped(200, older, meta={})


def test_a_last_modified_unread_is_none_and_one_in_the_future_is_the_message_s_date():
    # What the crawl reads (spiders.family._last_modified) and records
    # (FetchedPage.last_modified), both lastmods.last_modified: an unreadable Last-Modified
    # is none (read as a date, it vouched for every lastmod, and a page behind a stamped
    # sitemap was fetched in full on every run); one later than the response's Date is that
    # Date (RFC 9110, 8.8.2.1: a copy dated 2099 vouched for every later lastmod, and no run
    # asked for the page again). Both a helper's soak.
    from scrapy.http import Response

    from pressarchive.fetched import FetchedPage
    from spiders.family import _last_modified

    date = "Mon, 30 Nov 2026 12:00:00 GMT"

    def read(modified, sent=date):
        headers = {"Content-Type": "text/html"}
        headers.update({"Last-Modified": modified} if modified else {})
        headers.update({"Date": sent} if sent else {})
        response = Response("https://arabpress.com/a", headers=headers)
        page = FetchedPage(url=response.url, final_url=response.url, status=200,
                           headers=headers, body=b"", fetched_at="2026-11-30T12:00:00+00:00",
                           site="arabpress")
        return _last_modified(response), page.last_modified

    assert read("Tue, 10 Jun 2025 09:00:00 GMT") == ("Tue, 10 Jun 2025 09:00:00 GMT",) * 2
    assert read("Fri, 01 Jan 2099 00:00:00 GMT") == (date, date)
    assert read("Fri, 31 Dec 9999 23:59:59 GMT") == (date, date)
    assert read("Fri, 01 Jan 2099 00:00:00 GMT", sent=None) == (
        "Fri, 01 Jan 2099 00:00:00 GMT",) * 2  # no Date to tell by
    assert read("Fri, 01 Jan 2099 00:00:00 GMT", sent="garbage") == (
        "Fri, 01 Jan 2099 00:00:00 GMT",) * 2
    for unread in ("not a date", "2025-06-10T09:00:00Z", "   "):
        assert read(unread) == (None, None), unread
    assert read(None) == (None, None)


def test_http_dates_read_directly_agree_with_the_email_module_s_parser():
    # http_date reads the IMF-fixdate form itself (and keeps what it read): the same datetime
    # as email.utils gives, or None where that fails, for the forms sites send and some they
    # should not.
    import datetime as dt
    import random
    from email.utils import format_datetime, parsedate_to_datetime

    from pressarchive.lastmods import http_date

    def by_email(value):
        try:
            sent = parsedate_to_datetime(value)
        except (TypeError, ValueError, OverflowError):
            return None
        return sent if sent.tzinfo is None else \
            sent.astimezone(dt.timezone.utc).replace(tzinfo=None)

    rng = random.Random(7)
    values = [format_datetime(dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
                              + dt.timedelta(seconds=rng.randrange(40 * 365 * 86400)),
                              usegmt=True) for _ in range(500)]
    values += ["Sun, 06 Nov 1994 08:49:37 GMT", " Sun, 06 Nov 1994 08:49:37 GMT ",
               "Sun, 31 Feb 1994 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT",
               "Sun, 06 Nov 1994 08:49:60 GMT", "Sun, 06 Foo 1994 08:49:37 GMT",
               "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994",
               "Sun, 06 Nov 1994 08:49:37 +0300", "Sun, 06 Nov 1994 08:49:37 -0000",
               "Sun, 06 Nov 1994 08:49:37 UTC", "6 Nov 1994 08:49:37 GMT", "yesterday", ""]
    assert values[0].endswith(" GMT")  # the form read directly
    for value in values:
        assert http_date(value) == by_email(value), value
        assert http_date(value) == by_email(value), value  # kept, the same
