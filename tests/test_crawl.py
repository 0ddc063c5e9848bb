"""Real crawls: `scrapy crawl` against the bundled site copy served on 127.0.0.1."""

from __future__ import annotations

import json
import sqlite3

import pytest

from conftest import FIXTURES, run_crawl


def rows(db, sql, *args):
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def routed_articles(site: str) -> dict[str, dict]:
    """The article fixtures a site copy serves: {public URL: expected record}."""
    routes = json.loads((FIXTURES / "site" / site / "routes.json").read_text())
    out = {}
    for target in routes.values():
        expected = FIXTURES / target.replace("page.html", "expected.json")
        if expected.exists():
            record = json.loads(expected.read_text())
            out[record["url"]] = record
    return out


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    """Both sites crawled once into a fresh archive, then crawled again."""
    from contextlib import ExitStack

    from pressarchive.localsite import serving, site_roots

    tmp = tmp_path_factory.mktemp("crawl")
    db = tmp / "archive.sqlite"
    with ExitStack() as stack:
        servers = {s: stack.enter_context(serving(s, root)) for s, root in site_roots().items()}
        first = {s: run_crawl(s, db, tmp, base_url=srv.origin) for s, srv in servers.items()}
        counts_after_first = _counts(db)
        second = {s: run_crawl(s, db, tmp, base_url=srv.origin) for s, srv in servers.items()}
        requested = {s: list(srv.requested) for s, srv in servers.items()}
    return {"db": db, "first": first, "second": second, "requested": requested,
            "counts_after_first": counts_after_first}


def _counts(db):
    return {t: rows(db, f"SELECT count(*) FROM {t}")[0][0]
            for t in ("articles", "versions", "appearances")}


def test_crawls_finish_cleanly(crawled):
    for run in (*crawled["first"].values(), *crawled["second"].values()):
        assert run.returncode == 0, run.log[-3000:]
        assert run.stats["finish_reason"] == "finished"


def test_every_article_is_archived_exactly_once(crawled):
    for url, expected in routed_articles("arabpress").items():
        found = rows(crawled["db"], "SELECT v.headline, v.fingerprint FROM appearances a "
                     "JOIN versions v ON v.id = a.version_id WHERE a.site=? AND a.url=?",
                     "arabpress", url)
        assert found == [(expected["headline"], expected["fingerprint"])], url


def test_the_sister_copy_is_a_second_appearance_of_the_same_article(crawled):
    db = crawled["db"]
    sister = next(iter(routed_articles("saudipress").values()))
    (article_id,) = rows(db, "SELECT article_id FROM appearances WHERE site='saudipress' "
                             "AND url=?", sister["url"])[0]
    sites = rows(db, "SELECT site FROM appearances WHERE article_id=? ORDER BY site", article_id)
    assert sites == [("arabpress",), ("saudipress",)]
    assert rows(db, "SELECT count(*) FROM versions WHERE article_id=?", article_id) == [(1,)]


def test_non_article_pages_give_no_record(crawled):
    db = crawled["db"]
    urls = [u for (u,) in rows(db, "SELECT url FROM appearances")]
    for marker in ("/tag/", "/search", "/section/", "/video", "/videos", "/empty", "/files/"):
        assert not [u for u in urls if marker in u], marker
    assert crawled["first"]["arabpress"].stats.get("pressarchive/not_article", 0) >= 5


def test_robots_disallow_is_obeyed(crawled):
    assert not [p for p in crawled["requested"]["arabpress"] if p.startswith("/private/")]
    bodies = "".join(b for (b,) in rows(crawled["db"], "SELECT body FROM versions"))
    assert "SECRET-DRAFT-MARKER" not in bodies


def test_robots_txt_is_asked_for_once_a_run(crawled):
    # Scrapy's robots.txt middleware, left to itself, would ask for it a second time in each
    # run; it obeys the answer the spider got instead.
    for site in ("arabpress", "saudipress"):
        assert crawled["requested"][site].count("/robots.txt") == 2, site  # two runs
        for run in (crawled["first"][site], crawled["second"][site]):
            assert run.stats["robotstxt/response_count"] == 1


def test_discovery_uses_sitemap_feed_and_listing_pagination(crawled):
    requested = crawled["requested"]["arabpress"]
    for path in ("/robots.txt", "/sitemap.xml", "/sitemap-articles.xml", "/feed.xml",
                 "/section/world/page/3"):
        assert path in requested, path


def test_truncated_page_is_dropped_not_stored(crawled):
    stats = crawled["first"]["arabpress"].stats
    assert stats.get("pressarchive/dropped/truncated") == 1
    assert not rows(crawled["db"], "SELECT 1 FROM appearances WHERE url LIKE '%/truncated'")


def test_second_crawl_adds_no_rows(crawled):
    assert _counts(crawled["db"]) == crawled["counts_after_first"]
    for run in crawled["second"].values():
        stored = {k: v for k, v in run.stats.items() if k.startswith("pressarchive/stored/")}
        assert set(stored) <= {"pressarchive/stored/unchanged"}, stored


def test_second_crawl_skips_or_revalidates_known_articles(crawled):
    """Known pages are skipped or answered 304: none is read again."""
    run = crawled["second"]["arabpress"].stats
    # The sitemap is as the first run (which finished) read it: asked for conditionally,
    # answered 304, not read again. Known articles that links lead to are settled by it
    # (once it has answered) or asked for conditionally.
    assert run.get("pressarchive/skipped/sitemap", 0) >= 1
    assert run.get("pressarchive/skipped/listed", 0) >= 1
    assert run.get("pressarchive/not_modified", 0) + run["pressarchive/skipped/listed"] >= 16
    assert run.get("pressarchive/extracted", 0) == 0


def test_a_rerun_does_not_ask_again_for_pages_that_were_gone(crawled):
    first, second = crawled["first"]["arabpress"].stats, crawled["second"]["arabpress"].stats
    assert first.get("pressarchive/failed/http_404", 0) > 100  # related links the copy lacks
    assert "pressarchive/failed/http_404" not in second


def test_each_run_is_recorded_in_the_archive(crawled):
    runs = rows(crawled["db"], "SELECT site, mode, finish_reason, new, changed, unchanged, "
                "not_modified, pages_fetched FROM crawl_runs ORDER BY id")
    assert [r[0] for r in runs] == ["arabpress", "saudipress", "arabpress", "saudipress"]
    first, second = runs[0], runs[2]
    assert first[1:3] == ("incremental", "finished") and first[3] == 17
    assert second[3] == second[4] == 0 and second[6] >= 10
    assert second[7] < first[7]


def test_the_archive_passes_integrity_check(crawled):
    assert rows(crawled["db"], "PRAGMA integrity_check") == [("ok",)]
