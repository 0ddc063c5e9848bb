"""Scheduled runs over a generated site family on 127.0.0.1: a rerun of an unchanged site adds
nothing and reads almost nothing; after a day's advance exactly the new and edited articles
change the archive, and the masthead and related-list churn changes nothing."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import time

import pytest

from pressarchive.sitegen import FamilyServer, Faults, SiteFamily, render_page

from conftest import ROOT, run_crawl

SITES = ("arabpress", "saudipress")


def counts(db) -> dict[str, int]:
    con = sqlite3.connect(db)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("articles", "versions", "appearances")}
    finally:
        con.close()


def crawl_all(server, db, tmp, **settings):
    return {site: run_crawl(site, db, tmp, base_url=server.origins[site], settings=settings)
            for site in SITES}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("incremental")
    db = tmp / "archive.sqlite"
    family = SiteFamily(300, seed=3)
    out = {"family": family, "db": db}
    with FamilyServer(family) as server:
        out["first"] = crawl_all(server, db, tmp)
        out["after_first"] = counts(db)
        out["rerun"] = crawl_all(server, db, tmp)
        out["after_rerun"] = counts(db)
        out["plan"] = family.advance()
        out["advanced"] = crawl_all(server, db, tmp)
        out["after_advance"] = counts(db)
        out["full"] = crawl_all(server, db, tmp, FULL_RECHECK=True)
        out["after_full"] = counts(db)
    return out


def on_site(family, site):
    return [i for i in range(family.count) if site in family.sites_of(i)]


def test_first_run_archives_every_article_of_every_site(runs):
    family = runs["family"]
    assert runs["after_first"] == {
        "articles": family.count - len(runs["plan"]["new"]),
        "versions": family.count - len(runs["plan"]["new"]),
        "appearances": sum(len(on_site(family, s)) for s in SITES) - sum(
            len(family.sites_of(i)) for i in runs["plan"]["new"]),
    }
    for run in runs["first"].values():
        assert run.returncode == 0 and run.stats["finish_reason"] == "finished"


def test_unchanged_rerun_adds_no_row(runs):
    assert runs["after_rerun"] == runs["after_first"]
    for run in runs["rerun"].values():
        stored = {k for k in run.stats if k.startswith("pressarchive/stored/")}
        assert stored <= {"pressarchive/stored/unchanged"}


def test_unchanged_rerun_reads_a_small_fraction_of_the_pages(runs):
    for site in SITES:
        first, rerun = runs["first"][site].stats, runs["rerun"][site].stats
        assert rerun.get("pressarchive/extracted", 0) <= 0.05 * first["pressarchive/extracted"]
        # Known articles cost no fetch: the sitemaps that list them are as the first run
        # (which finished) read them, answered 304 and not read again; the sitemap index is
        # read, and the pages reached by links are answered 304.
        assert rerun["pressarchive/skipped/sitemap"] >= 1
        full = "downloader/response_status_count/200"
        assert rerun.get(full, 0) <= 0.1 * first[full], (rerun.get(full), first[full])
        assert rerun.get("pressarchive/not_modified", 0) >= 1
        received = rerun["downloader/response_bytes"]
        assert received < 0.35 * first["downloader/response_bytes"], (received, first)


def test_a_day_later_exactly_the_new_and_edited_articles_change_the_archive(runs):
    family, plan = runs["family"], runs["plan"]
    before, after = runs["after_rerun"], runs["after_advance"]
    assert plan["new"] and plan["edited"]
    assert after["articles"] - before["articles"] == len(plan["new"])
    assert after["versions"] - before["versions"] == len(plan["new"]) + len(plan["edited"])
    assert after["appearances"] - before["appearances"] == sum(
        len(family.sites_of(i)) for i in plan["new"])
    stats = runs["advanced"]
    # The sitemaps of the months that changed are read again, and their unchanged entries
    # passed over on their lastmod; the other months' sitemaps are answered 304.
    assert sum(r.stats.get("pressarchive/skipped/lastmod", 0) for r in stats.values()) > 0
    assert all(r.stats.get("pressarchive/skipped/sitemap", 0) > 0 for r in stats.values())
    # Known articles that the day's new related lists link to are settled by their sitemaps
    # (read, or answered 304): no request, conditional or not, and a listing's pages are
    # walked only while they hold news. The run makes about a quarter of the first run's
    # requests on this site, most of them its sitemaps (75% before the sitemaps settled
    # linked articles, then 42% before links waited for the last sitemap and rel=prev walks
    # stopped with the news).
    for site in SITES:
        advanced, first = stats[site].stats, runs["first"][site].stats
        assert advanced["pressarchive/skipped/listed"] > 0
        assert advanced["downloader/request_count"] < 0.3 * first["downloader/request_count"], (
            advanced["downloader/request_count"], first["downloader/request_count"])
    new_version = sum(r.stats.get("pressarchive/stored/new_version", 0) for r in stats.values())
    assert new_version == len(plan["edited"])
    for site in SITES:
        s = stats[site].stats
        arrived = s.get("pressarchive/stored/new_article", 0) + s.get(
            "pressarchive/stored/new_appearance", 0)
        assert arrived == len([i for i in plan["new"] if site in family.sites_of(i)])


def test_edited_article_keeps_its_old_version(runs):
    family, db = runs["family"], runs["db"]
    con = sqlite3.connect(db)
    for i in runs["plan"]["edited"]:
        slug = family.article(i).slug
        rows = con.execute(
            "SELECT v.headline, v.body FROM versions v JOIN appearances a "
            "ON a.article_id = v.article_id WHERE a.url LIKE ? GROUP BY v.id ORDER BY v.id",
            (f"%/{slug}",)).fetchall()
        assert len(rows) == 2, slug
        assert (rows[1][0], rows[1][1]) == (family.article(i).headline, family.article(i).body_text)
    con.close()


def test_masthead_and_related_churn_is_stored_on_the_appearance_only(runs):
    con = sqlite3.connect(runs["db"])
    dates = {d for (d,) in con.execute("SELECT DISTINCT page_date FROM appearances")}
    con.close()
    assert runs["family"].today.isoformat() in dates  # refreshed by the runs after the advance


def test_full_recheck_fetches_everything_and_changes_nothing(runs):
    assert runs["after_full"] == runs["after_advance"]
    for site in SITES:
        full = runs["full"][site].stats
        assert full.get("pressarchive/skipped/lastmod", 0) == 0
        assert full.get("pressarchive/skipped/sitemap", 0) == 0  # read in full as well
        assert full["pressarchive/extracted"] >= len(on_site(runs["family"], site))


def test_each_run_is_recorded(runs):
    con = sqlite3.connect(runs["db"])
    rows = con.execute("SELECT site, mode, finish_reason, new + appeared, changed, pages_fetched "
                       "FROM crawl_runs ORDER BY id").fetchall()
    con.close()
    assert [r[1] for r in rows] == ["incremental"] * 6 + ["full"] * 2
    assert all(r[2] == "finished" for r in rows)
    advanced = rows[4:6]
    assert sum(r[3] for r in advanced) == sum(
        len(runs["family"].sites_of(i)) for i in runs["plan"]["new"])
    assert sum(r[4] for r in advanced) == len(runs["plan"]["edited"])


def test_a_rerun_pages_through_a_listing_neither_way_when_it_holds_nothing_new(tmp_path):
    # The front pages answer 200 on every visit (no validators). A section's first page
    # links to its next page (rel=next) and to its last; the last links back (rel=prev). With
    # nothing new on a page, neither walk goes on: the first page and the last are read.
    family = SiteFamily(1500, seed=21)
    db = tmp_path / "archive.sqlite"
    with FamilyServer(family, hub_validators=False) as server:
        run_crawl("arabpress", db, tmp_path, base_url=server.origins["arabpress"])
    with FamilyServer(family, hub_validators=False, keep_order=True) as server:
        rerun = run_crawl("arabpress", db, tmp_path, base_url=server.origins["arabpress"])
        sections = [target for _, kind, target in server.order if kind == "section"]
    from pressarchive.sitegen.render import render_section

    def last_page(section: str) -> int:
        page = 1
        while render_section(family, "arabpress", section, page + 1) is not None:
            page += 1
        return page

    first_pages = {t.split("/")[2] for t in sections if "/page/" not in t}
    paged = [t.split("/") for t in sections if "/page/" in t]
    assert first_pages and all(last_page(section) > 2 for section in first_pages)
    # Besides each first page, only the last pages it links to: no walk either way.
    assert sorted((section, int(n)) for _, _, section, _, n in paged) == sorted(
        (section, last_page(section)) for section in first_pages), sections
    assert rerun.stats["pressarchive/skipped/pagination"] >= len(first_pages)


def test_articles_held_for_a_sitemap_that_never_answers_are_asked_for_when_the_crawl_idles(
        tmp_path):
    # A rerun whose home page (no validators: never a 304) links to known articles while the
    # sitemaps are still being read: those articles wait for the last sitemap. Here one
    # sitemap's request is lost (dropped by the duplicate filter, as a duplicate is, and so
    # never answered): when nothing else is left to do, the waiting articles are asked for
    # (conditionally: unchanged, each answers 304), not left unchecked.
    family = SiteFamily(60, seed=5)
    db = tmp_path / "archive.sqlite"
    lost = f"/sitemaps/{family.months('arabpress')[-1]}.xml"
    with FamilyServer(family, hub_validators=False) as server:
        origin = server.origins["arabpress"]
        first = run_crawl("arabpress", db, tmp_path, base_url=origin)
        before = counts(db)
        rerun = run_crawl("arabpress", db, tmp_path, base_url=origin,
                          settings={"DUPEFILTER_CLASS": "lost_request.LoseOne"},
                          env={"LOST_REQUEST": lost, "PYTHONPATH": str(ROOT / "tests")})
    assert first.stats["finish_reason"] == "finished", first.log[-2000:]
    stats = rerun.stats
    assert stats["finish_reason"] == "finished", rerun.log[-2000:]
    assert stats.get("dupefilter/filtered") == 1, stats  # the lost sitemap, and only it
    held = stats.get("pressarchive/held_asked", 0)
    assert held >= 3, stats
    assert stats.get("pressarchive/not_modified", 0) >= held, stats
    assert counts(db) == before


def test_an_unchanged_rerun_asks_for_no_article_whatever_spelling_the_links_use(tmp_path):
    # Listings link to a few articles under another spelling (upper case), which no sitemap
    # lists. The first run gives each such URL the lastmod of its article's listed page, so
    # that a rerun settles it by the sitemap as it does the article's own URL: with front
    # pages that answer 200 every time (no validators), the rerun still asks for no article.
    family = SiteFamily(120, seed=7)
    db = tmp_path / "archive.sqlite"
    with FamilyServer(family, hub_validators=False) as server:
        origin = server.origins["arabpress"]
        first = run_crawl("arabpress", db, tmp_path, base_url=origin)
        server.reset_counters()
        rerun = run_crawl("arabpress", db, tmp_path, base_url=origin)
        by_kind = dict(server.requests["by_kind"])
    assert first.stats["finish_reason"] == "finished", first.log[-2000:]
    assert first.stats.get("pressarchive/alias_lastmods", 0) >= 2, first.stats
    assert rerun.stats["finish_reason"] == "finished", rerun.log[-2000:]
    assert by_kind.get("article", 0) == 0, by_kind
    assert by_kind.get("home") == 1 and rerun.stats.get("pressarchive/skipped/listed", 0) > 0


def test_another_url_of_an_edited_article_is_settled_with_it_once_fetched_after_the_edit(
        tmp_path):
    # The home page (no validators: read every run) links to an article under an upper-case
    # spelling, which the first run gives its article's lastmod. The article is edited: the
    # next run fetches the edit at the article's own URL and, its sitemap having passed
    # nothing over for it, the other URL too. Then another article of the same month is
    # edited, so that month's sitemap is read in full again and passes the first one over:
    # its other URL, whose copy is as recent as the lastmod, is settled with it, where it was
    # asked for again by every run that read its sitemap in full.
    family = SiteFamily(120, seed=7)
    home = render_page(family, "arabpress", "/").body.decode()
    spelled = [(href, i) for href in re.findall(r'href="/([^"/?]+)"', home)
               if href != href.lower() and (i := family.find(href.lower())) is not None]
    assert spelled, "the home page links to no article under another spelling"
    alias, edited = spelled[0]
    month = next(m for m in family.months("arabpress")
                 if edited in family.month_ids("arabpress", m))
    other = next(i for i in family.month_ids("arabpress", month) if i != edited)
    own = family.article(edited).url("arabpress").split(".com", 1)[1]
    db = tmp_path / "archive.sqlite"
    with FamilyServer(family, hub_validators=False, keep_order=True) as server:
        origin = server.origins["arabpress"]

        def crawl():
            server.reset_counters()
            run = run_crawl("arabpress", db, tmp_path, base_url=origin)
            assert run.stats["finish_reason"] == "finished", run.log[-2000:]
            return run, [target for _, _, target in server.order]

        first, _ = crawl()
        assert first.stats.get("pressarchive/alias_lastmods", 0) >= 1, first.stats
        family.edit(edited)
        second, asked = crawl()
        assert second.stats.get("pressarchive/stored/new_version") == 1, second.stats
        assert f"/{alias}" in asked and own in asked
        family.edit(other)
        third, asked = crawl()
    assert third.stats.get("pressarchive/stored/new_version") == 1, third.stats  # the other
    assert f"/{alias}" not in asked and own not in asked  # the first article: no request
    assert third.stats.get("pressarchive/skipped/listed", 0) >= 1, third.stats


def test_sister_copies_that_differ_are_one_article_with_a_version_each(tmp_path):
    # Shared stories whose sister copy ends with a line of its own (same slug and headline,
    # another body): one article each, with the sister's copy as a version of it, and each
    # site's appearance on its own copy. A rerun of both sites adds nothing.
    family = SiteFamily(150, seed=12, sister_variants=True)
    shared = [i for i in range(family.count) if len(family.sites_of(i)) == 2]
    assert shared
    db = tmp_path / "archive.sqlite"
    with FamilyServer(family) as server:
        for n in range(2):
            for site in SITES:
                run = run_crawl(site, db, tmp_path, base_url=server.origins[site])
                assert run.returncode == 0, run.log[-2000:]
                if n == 0 and site == SITES[-1]:
                    sister = run.stats
            if n == 0:
                first = counts(db)
    # The second site's run counts each shared story as a known article at a new URL, not
    # as changed: nothing was edited (crawl_runs.appeared and .changed).
    assert sister["pressarchive/stored/new_appearance"] == len(shared), sister
    assert "pressarchive/stored/new_version" not in sister, sister
    assert first == counts(db) == {"articles": family.count,
                                   "versions": family.count + len(shared),
                                   "appearances": family.count + len(shared)}
    con = sqlite3.connect(db)
    seen = {(site, url): body for site, url, body in con.execute(
        "SELECT a.site, a.url, v.body FROM appearances a JOIN versions v ON v.id = a.version_id")}
    stories = con.execute("SELECT count(DISTINCT article_id) FROM appearances").fetchone()[0]
    con.close()
    assert stories == family.count
    for i in shared:
        for site in family.sites_of(i):
            assert seen[(site, family.article(i).url(site))] == family.article(i, site).body_text


def stamped_runs(family, db, tmp_path, server_options=None, settings=None):
    """A crawl function for arabpress on a server whose sitemap lastmods are the time they
    are asked for, an hour later each run; each crawl gives its stored and 304 counts."""
    clock = [dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)]
    server = FamilyServer(family, lastmods_at=lambda: clock[0], **(server_options or {}))

    def crawl():
        clock[0] += dt.timedelta(hours=1)
        run = run_crawl("arabpress", db, tmp_path, base_url=server.origins["arabpress"],
                        settings=settings)
        assert run.stats["finish_reason"] == "finished", run.log[-2000:]
        return {key.rsplit("/", 1)[1]: value for key, value in run.stats.items()
                if key.startswith(("pressarchive/stored/", "pressarchive/not_modified",
                                   "pressarchive/lastmod_ahead/not_due"))}

    return server, crawl


def stuck_runs(family, db, tmp_path):
    """``stamped_runs`` on a server that sends one Last-Modified for every article whatever
    its edits (its ETag follows them), with LASTMOD_AHEAD_REVISIT off."""
    stuck = dt.datetime(2025, 6, 20, tzinfo=dt.timezone.utc)
    return stamped_runs(family, db, tmp_path, {"article_last_modified": stuck},
                        {"LASTMOD_AHEAD_REVISIT": 0})


def learned_pages(db) -> list[str]:
    """The articles' URLs whose sitemap lastmods ran ahead of them twice (AHEAD_RUNS)."""
    con = sqlite3.connect(db)
    try:
        return [url for (url,) in con.execute(
            "SELECT url FROM pages WHERE lastmod_ahead >= 2 AND article_id IS NOT NULL")]
    finally:
        con.close()


def site_validators(db) -> tuple[int, int]:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT followed, kept FROM site_validators "
                           "WHERE site = 'arabpress'").fetchone() or (0, 0)
    finally:
        con.close()


def test_sitemaps_stamped_with_the_time_they_were_made_cost_conditional_requests(tmp_path):
    # Every sitemap lastmod is the time the sitemap was asked for, so every known article's
    # lastmod changes every run though no page does. A changed lastmod asks for the page in
    # full, and a full fetch of an unchanged page under a lastmod its copy does not vouch for
    # records none (a 304 does): before, every such page was fetched in full every other
    # run, for good. Now once the site's validators have followed an edit, a page found as
    # held in two such full fetches (Page.lastmod_ahead) is asked for conditionally, and
    # answers 304; an edit then answers 200. (Without the one run in LASTMOD_AHEAD_RECHECK
    # that asks such a page in full all the same: test_lastmod_skip.py; without
    # LASTMOD_AHEAD_REVISIT, which leaves it for a later run: the test after the next.)
    family = SiteFamily(120, seed=9)
    db = tmp_path / "archive.sqlite"
    server, crawl = stamped_runs(family, db, tmp_path, settings={
        "LASTMOD_AHEAD_RECHECK": 0, "LASTMOD_AHEAD_REVISIT": 0})
    with server:
        first = crawl()
        family.edit(family.ids("arabpress")[0])  # its Last-Modified moves with it
        runs = [crawl()]
        evidence = site_validators(db)
        runs += [crawl() for _ in range(11)]
        learned = learned_pages(db)
        edited = next(i for url in learned
                      if (i := family.find(url.rsplit("/", 1)[1])) is not None)
        family.edit(edited)
        runs.append(crawl())
    assert first["new_article"] > 50, first
    assert runs[0].get("new_version") == 1 and evidence == (1, 0), runs[0]
    known = runs[0]["not_modified"] + runs[0].get("unchanged", 0) + 1
    for run in runs:
        assert sum(run.values()) == known, runs  # every known page, each once
    # Each known page is fetched in full at most twice after the first run (when asked for
    # with a lastmod a 304 recorded), then answers 304. Before, each was fetched in full every other run (216 in
    # ten reruns, once, against at most 2 x 101 now).
    assert 0 < sum(run.get("unchanged", 0) for run in runs) <= 2 * known, runs
    assert runs[-1].get("new_version") == 1, runs[-1]
    assert site_validators(db) == (2, 0)  # the second edit, found by a conditional request


def test_stamped_sitemaps_on_a_site_whose_validators_keep_still_still_fetch_in_full(tmp_path):
    # The same stamped sitemaps, from a server that sends one Last-Modified for every article
    # whatever its edits: a conditional request would be answered 304 after an edit, so
    # the site is never trusted with one, and an edit is found by the full fetch its changed
    # lastmod asks for, within two runs, however often the page ran ahead before. (The
    # newest article: the home page and the feed link to it, and a link read before its
    # sitemap entry waits for the entry, which decides: _hold.)
    family = SiteFamily(120, seed=9)
    db = tmp_path / "archive.sqlite"
    server, crawl = stuck_runs(family, db, tmp_path)
    edited = family.ids("arabpress")[-1]
    assert family.slug(edited).encode() in render_page(family, "arabpress", "/").body
    with server:
        for _ in range(6):
            crawl()
        family.edit(edited)
        after = [crawl(), crawl()]
    assert sum(run.get("new_version", 0) for run in after) == 1, after
    assert site_validators(db) == (0, 1)
    con = sqlite3.connect(db)
    try:
        assert con.execute("SELECT count(*) FROM pages WHERE lastmod_ahead >= 2").fetchone()[0]
    finally:
        con.close()


def test_a_page_whose_lastmods_run_ahead_is_asked_again_once_its_revisit_is_due(tmp_path):
    # Stamped sitemaps again, with LASTMOD_AHEAD_REVISIT as it comes (20 hours): a page whose
    # lastmods ran ahead of it twice (Page.lastmod_ahead) and that was checked less than
    # that long ago is left for a later run, though its lastmod changed, so a rerun an hour
    # later asks for none of those pages; once its last check is older than that, it is
    # asked for again, and an edit made meanwhile is stored. Pages the home page and the
    # feed link to as well: a link read before the sitemap entry waits for it (_hold), so
    # which response comes first changes nothing (it did: a flaky test in CI).
    family = SiteFamily(120, seed=9)
    db = tmp_path / "archive.sqlite"
    server, crawl = stamped_runs(family, db, tmp_path)
    home = render_page(family, "arabpress", "/").body
    with server:
        crawl()
        for _ in range(4):  # most known pages fetched in full twice: their lastmods run ahead
            crawl()
        learned = learned_pages(db)
        edited = next(i for url in learned if (i := family.find(url.rsplit("/", 1)[1]))
                      is not None and family.slug(i).encode() in home)
        family.edit(edited)
        waiting = crawl()
        con = sqlite3.connect(db)
        try:  # a day and more later: every page's last check is older than 20 hours
            con.execute("UPDATE pages SET last_fetched = '2025-01-01 00:00:00.000000'")
            con.commit()
        finally:
            con.close()
        due = crawl()
    assert len(learned) >= 20, learned
    assert waiting.get("new_version", 0) == 0, waiting
    assert waiting["not_due"] == len(learned), waiting
    assert due.get("new_version") == 1 and "not_due" not in due, due


def test_a_page_unchanged_for_longer_waits_longer_for_its_revisit(tmp_path):
    # The revisit of a page whose lastmods run ahead doubles with each check in a row past
    # the first two that found it unchanged (LASTMOD_AHEAD_REVISIT_MAX caps it): 30 hours
    # after their last checks, the pages checked unchanged twice are due (20 hours), those
    # checked three times are not (40); and each check counts, in the crawl as it runs.
    family = SiteFamily(120, seed=9)
    db = tmp_path / "archive.sqlite"
    server, crawl = stamped_runs(family, db, tmp_path)
    with server:
        for _ in range(5):
            crawl()
        learned = sorted(learned_pages(db))
        con = sqlite3.connect(db)
        try:
            counted = dict(con.execute("SELECT url, unchanged_checks FROM pages WHERE url IN "
                                       f"({','.join('?' * len(learned))})", learned))
            longer, shorter = learned[::2], learned[1::2]
            with con:
                con.execute("UPDATE pages SET last_fetched = "
                            "datetime(last_fetched, '-30 hours')")
                con.executemany("UPDATE pages SET unchanged_checks = ? WHERE url = ?",
                                [(3, url) for url in longer] + [(2, url) for url in shorter])
        finally:
            con.close()
        later = crawl()
        again = crawl()  # an hour on: every page checked since, or not due
    assert len(learned) >= 20, learned
    # Fetched once, then found unchanged by each of three more runs (two full fetches, the
    # third a fetch or a 304); those a link led to before their sitemap, by as many or more.
    assert min(counted.values()) >= 3, counted
    assert later["not_due"] == len(longer), later
    assert later.get("not_modified", 0) + later.get("unchanged", 0) >= len(shorter), later
    assert again["not_due"] == len(learned), again
    assert "new_version" not in later and "new_version" not in again


def test_an_edit_behind_a_stuck_last_modified_is_found_by_the_etag_sent_with_it(tmp_path):
    # Stamped sitemaps from a server whose Last-Modified never moves, while its ETag follows
    # the edits: an article the home page links to, in a run whose sitemap for it fails
    # (so no sitemap entry decides for it: _hold), is asked for by that link, without a
    # lastmod and conditionally. With If-Modified-Since alone it was answered 304 on every
    # such run, the edit never archived (a helper's soak: 16 runs); both validators are
    # sent now, and the server answers by the ETag.
    family = SiteFamily(120, seed=9)
    db = tmp_path / "archive.sqlite"
    server, crawl = stuck_runs(family, db, tmp_path)
    home = render_page(family, "arabpress", "/").body
    edited = next(i for i in reversed(family.ids("arabpress")) if family.slug(i).encode() in home)
    month = family.published(edited).strftime("/sitemaps/%Y-%m.xml")
    with server:
        for _ in range(3):
            crawl()
        family.edit(edited, "body")
        server.faults = Faults(error_5xx=1.0, retry_factor=1.0, faults_on_all=True,
                               targets=(month,))
        after = crawl()
    assert after["not_modified"] > 0, after  # conditional requests made
    assert after.get("new_version") == 1, after
    con = sqlite3.connect(db)
    try:
        body = con.execute("SELECT v.body FROM appearances a JOIN versions v ON "
                           "v.id = a.version_id WHERE a.url = ?",
                           (family.article(edited).url("arabpress"),)).fetchone()[0]
    finally:
        con.close()
    assert body == family.article(edited, "arabpress").body_text


def test_a_sitemap_whose_etag_moved_though_its_last_modified_did_not_is_read_again(tmp_path):
    # An article of this month edited at a time before the month's newest publication: the
    # month's sitemap changes (its body, its ETag), its Last-Modified (its newest lastmod)
    # does not. Asked for with If-Modified-Since alone it was answered 304, and the edit
    # missed by every run after (a helper's soak); with the ETag too, it is read again.
    family = SiteFamily(300, seed=77)
    family.advance()
    db = tmp_path / "archive.sqlite"
    month = family.today.strftime("%Y-%m")
    target = family.month_ids("arabpress", month)[-2]
    with FamilyServer(family) as server:
        origin = server.origins["arabpress"]
        run_crawl("arabpress", db, tmp_path, base_url=origin)
        before = render_page(family, "arabpress", f"/sitemaps/{month}.xml")
        family.edit(target, "body")
        after = render_page(family, "arabpress", f"/sitemaps/{month}.xml")
        rerun = run_crawl("arabpress", db, tmp_path, base_url=origin)
    assert before.last_modified == after.last_modified and before.etag != after.etag
    assert rerun.stats.get("pressarchive/stored/new_version") == 1, rerun.stats


def test_runs_under_a_page_budget_fetch_what_is_new_before_what_they_hold(tmp_path):
    # Stamped sitemaps make every known article's lastmod change every run, so each run asks
    # for every one again; under a page budget, the pages never fetched go first, and
    # budgeted runs go on archiving the site (a helper's soak: runs of 400 pages had
    # archived 807 of 1,280 articles after ten, new articles a run falling from 354 to 1).
    family = SiteFamily(300, seed=61)
    db = tmp_path / "archive.sqlite"
    clock = [dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)]
    new = []
    with FamilyServer(family, lastmods_at=lambda: clock[0]) as server:
        for _ in range(3):
            clock[0] += dt.timedelta(hours=1)
            run = run_crawl("arabpress", db, tmp_path, base_url=server.origins["arabpress"],
                            settings={"CLOSESPIDER_PAGECOUNT": 60})
            assert run.stats["finish_reason"] == "closespider_pagecount", run.log[-2000:]
            new.append(run.stats.get("pressarchive/stored/new_article", 0))
    assert new[0] > 20, new
    assert all(n >= new[0] - 10 for n in new[1:]), new  # each run a budget's worth of news


def test_a_stamped_sitemap_starts_its_pages_on_their_revisits_at_once(tmp_path):
    # Sitemaps whose lastmods are the time they are asked for, judged stamped from the first
    # run (LASTMOD_STAMPED_MIN 2: this family's monthly sitemaps are small). A page one leads
    # to counts as found with its lastmods running ahead (Page.lastmod_ahead) from its first
    # fetch, and starts on its revisits by its content's age: a rerun an hour later fetches
    # none of them, and one 30 hours later only those whose first wait is 20 hours (content
    # under 17 days old, or with no date nor Last-Modified). Not judged so
    # (LASTMOD_STAMPED_MIN 0), the rerun asks for every one again (here a 304 each: this site's ETags move only with its day;
    # a day later, a full fetch each), as the next after it would: the two runs that learn,
    # page by page, what the sitemap's one time already says (bench/revisit_days.py: a run a day
    # fetched the whole back catalogue again on days 2 and 3).
    family = SiteFamily(120, seed=9)
    articles = len(family.ids("arabpress"))
    runs = {}
    for least in (2, 0):
        db = tmp_path / f"archive-{least}.sqlite"
        server, crawl = stamped_runs(family, db, tmp_path,
                                     settings={"LASTMOD_STAMPED_MIN": least})
        with server:
            first = crawl()
            learned = learned_pages(db)
            con = sqlite3.connect(db)
            checks = dict(con.execute("SELECT url, unchanged_checks FROM pages "
                                      "WHERE lastmod_ahead >= 2 AND article_id IS NOT NULL"))
            con.close()
            again = crawl()
            con = sqlite3.connect(db)
            with con:
                con.execute("UPDATE pages SET last_fetched = "
                            "datetime(last_fetched, '-30 hours')")
            con.close()
            later = crawl()
        runs[least] = (first, learned, checks, again, later)
    first, learned, checks, again, later = runs[2]
    assert first["new_article"] == articles, first
    assert len(learned) >= articles * 0.8, (len(learned), articles)
    young = [url for url, count in checks.items() if count == 2]
    assert young and len(young) < len(learned) / 2, checks  # most of the family is old
    assert min(checks.values()) == 2, checks
    assert again.get("not_due") == len(learned), again
    assert again.get("unchanged", 0) <= articles - len(learned), again
    # 30 hours on, the young are due; those at 40 and 80 hours are not, nor most at the
    # longest wait (due on their grid: a 28th of them every 160/28 hours).
    middle = [url for url, count in checks.items() if count in (3, 4)]
    assert middle and len(middle) <= later["not_due"] <= len(learned) - len(young), later
    assert later.get("not_modified", 0) + later.get("unchanged", 0) >= len(young), later
    assert "new_version" not in again and "new_version" not in later
    first, learned, checks, again, later = runs[0]
    assert learned == [] and "not_due" not in again, again
    assert again.get("unchanged", 0) + again.get("not_modified", 0) >= articles, again
    # Those pages, judged stamped later: a 304 from a stamped sitemap counts as its fetch
    # does, and the next run leaves them to their revisits.
    server, crawl = stamped_runs(family, tmp_path / "archive-0.sqlite", tmp_path,
                                 settings={"LASTMOD_STAMPED_MIN": 2})
    with server:
        marked = crawl()
        learned = learned_pages(tmp_path / "archive-0.sqlite")
        then = crawl()
    assert marked.get("not_modified", 0) >= articles * 0.8, marked
    assert len(learned) >= articles * 0.8 and then.get("not_due") == len(learned), then


def test_a_catalogue_re_saved_at_one_time_is_not_taken_for_a_stamp_its_copies_deny(tmp_path):
    # A site that re-saved every page at one time (a migration) writes that time in every
    # sitemap entry, honestly: each copy's Last-Modified says the same. Its sitemaps look
    # stamped, but no copy is older than the stamp, so no page is taken for one whose
    # lastmods run ahead: its later honest lastmods ask for it at once, not at its revisit
    # (a review's find: 4 of 5 edits waited 1 to 5 days). Copies older than the stamp, as
    # from a sitemap stamped when it was asked for: marked (the test before the last).
    family = SiteFamily(120, seed=9)
    migrated = dt.datetime(2025, 6, 20, 12, 0, tzinfo=dt.timezone.utc)
    db = tmp_path / "archive.sqlite"
    with FamilyServer(family, lastmods_at=lambda: migrated,
                      article_last_modified=migrated) as server:
        run = run_crawl("arabpress", db, tmp_path, base_url=server.origins["arabpress"],
                        settings={"LASTMOD_STAMPED_MIN": 2})
    assert run.stats["pressarchive/sitemaps_stamped"] >= 20, run.stats
    assert run.stats["pressarchive/stored/new_article"] == len(family.ids("arabpress"))
    assert learned_pages(db) == []


def test_a_page_sent_with_a_last_modified_in_the_future_is_asked_for_again(tmp_path):
    # Every article sent with Last-Modified 2099, and sitemaps stamped with the time they are
    # asked for: recorded as sent, that copy vouched for every later lastmod, so every rerun
    # passed every article over as unchanged and no edit was ever stored (a helper's soak:
    # 60 edits never stored in 12 days). Read as the response's Date (RFC 9110, 8.8.2.1), the
    # next run's newer stamp asks for the page, and an edit made meanwhile is stored.
    family = SiteFamily(120, seed=9)
    db = tmp_path / "archive.sqlite"
    future = dt.datetime(2099, 1, 1, tzinfo=dt.timezone.utc)
    edited = family.ids("arabpress")[3]
    with FamilyServer(family, lastmods_at=lambda: dt.datetime.now(dt.timezone.utc),
                      article_last_modified=future) as server:
        origin = server.origins["arabpress"]
        first = run_crawl("arabpress", db, tmp_path, base_url=origin)
        time.sleep(1.1)  # the next stamp, a second later
        family.edit(edited, "body")
        again = run_crawl("arabpress", db, tmp_path, base_url=origin)
    assert first.stats["pressarchive/stored/new_article"] == len(family.ids("arabpress"))
    assert "pressarchive/skipped/lastmod" not in again.stats, again.stats
    assert again.stats.get("pressarchive/stored/new_version") == 1, again.stats
    con = sqlite3.connect(db)
    try:
        assert not con.execute("SELECT count(*) FROM pages WHERE last_modified LIKE '%2099%'"
                               ).fetchone()[0]
    finally:
        con.close()


def test_an_article_moved_to_its_new_headlines_slug_stays_one_article(tmp_path):
    # A newsroom rewrites a headline, and the article moves to the slug the new headline
    # spells: the old URL answers 301, the sitemap names the new URL. The next run finds a
    # new URL with a new headline and the body as it was: a new version of the article
    # (docs/schema.md, how records are matched, rule 4), not a second article.
    family = SiteFamily(120, seed=7)
    moved = next(i for i in reversed(family.ids("arabpress"))  # one site's, dated, long
                 if family.sites_of(i) == ("arabpress",) and family.date_kind_of(i)
                 and len(family.article(i).body_text) >= 500)
    old_url = family.article(moved).url("arabpress").split(".com", 1)[1]
    old_headline = family.headline(moved)
    db = tmp_path / "archive.sqlite"
    with FamilyServer(family) as server:
        origin = server.origins["arabpress"]

        def crawl():
            run = run_crawl("arabpress", db, tmp_path, base_url=origin)
            assert run.stats["finish_reason"] == "finished", run.log[-2000:]
            return run

        crawl()
        before = counts(db)
        family.move(moved)
        new_url = family.article(moved).url("arabpress").split(".com", 1)[1]
        assert new_url != old_url
        second = crawl()
        after = counts(db)
        third = crawl()
    assert second.stats.get("pressarchive/stored/new_version") == 1, second.stats
    assert second.stats.get("pressarchive/stored/new_article", 0) == 0, second.stats
    assert after == {"articles": before["articles"], "versions": before["versions"] + 1,
                     "appearances": before["appearances"] + 1}
    con = sqlite3.connect(db)
    try:
        rows = con.execute("SELECT a.url, v.headline, a.article_id FROM appearances a "
                           "JOIN versions v ON v.id = a.version_id WHERE a.url LIKE ? "
                           "OR a.url LIKE ?", (f"%{old_url}", f"%{new_url}")).fetchall()
    finally:
        con.close()
    assert len({article for _, _, article in rows}) == 1, rows
    assert {url.rsplit("/", 1)[1]: headline for url, headline, _ in rows} == {
        old_url[1:]: old_headline, new_url[1:]: family.headline(moved)}, rows
    # Nothing more to add on the next run.
    assert counts(db) == after
    assert third.stats.get("pressarchive/stored/new_article", 0) == 0, third.stats
