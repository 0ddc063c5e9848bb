"""The generated site family: deterministic model, template pages, time, HTTP server, faults."""

from __future__ import annotations

import datetime as dt
import gzip
import http.client
import re
import signal
import subprocess
import sys
import time
import tracemalloc
from urllib.parse import urlsplit

import pytest
from lxml import etree

from pressarchive.extract import NotAnArticle, extract
from pressarchive.sitegen import FamilyServer, Faults, SiteFamily, masthead, render_page, words

SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def get(origin: str, target: str, headers: dict | None = None, timeout: float = 5.0,
        method: str = "GET"):
    """(status, headers, body) of one request with a plain http.client connection."""
    url = urlsplit(origin)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=timeout)
    try:
        conn.request(method, target, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def html(fam: SiteFamily, site: str, target: str) -> str:
    page = render_page(fam, site, target)
    assert page.status == 200, target
    return page.body.decode()


def related_of(text: str) -> list[str]:
    return re.findall(r'<li class="related-item"><a href="([^"]+)"', text)


FIRST_WORDS = {w.lower() for w in words.PLACES} | {t for _, t in words.AR_VERBS}


def prefixed(fam: SiteFamily, i: int) -> bool:
    """Whether the slug carries a random prefix (zmznmz-...) before the headline's words."""
    return fam.slug(i).split("-")[0] not in FIRST_WORDS


@pytest.fixture(scope="module")
def served():
    fam = SiteFamily(300, seed=11)
    with FamilyServer(fam, crawl_delay=2) as server:
        yield fam, server


# -- the model -------------------------------------------------------------------------------

def test_same_seed_gives_identical_bytes_and_another_seed_differs():
    a, b, c = SiteFamily(500, seed=5), SiteFamily(500, seed=5), SiteFamily(500, seed=6)
    slug = a.slug(a.ids("arabpress")[-1])
    for target in ["/" + slug, "/", "/section/economy/page/2", "/feed.xml", "/sitemap.xml"]:
        assert render_page(a, "arabpress", target).body == render_page(b, "arabpress", target).body
    assert render_page(c, "arabpress", "/").body != render_page(a, "arabpress", "/").body
    assert [c.slug(i) for i in range(20)] != [a.slug(i) for i in range(20)]
    # The day's content is a function of (seed, id, edits so far), however the days were taken.
    a.advance(2)
    b.advance(1)
    b.advance(1)
    assert a.today == b.today and a.count == b.count
    for i in [*a.edits(), a.count - 1]:
        site = a.sites_of(i)[0]
        assert html(a, site, "/" + a.slug(i)) == html(b, site, "/" + b.slug(i))


def test_a_100k_family_costs_nothing_up_front():
    tracemalloc.start()
    start = time.perf_counter()
    fam = SiteFamily(100_000, seed=1)
    for i in (0, 54_321, 99_999):
        page = render_page(fam, fam.sites_of(i)[0], "/" + fam.slug(i))
        assert page.status == 200 and page.kind == "article"
    took = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert took < 0.5, took
    assert peak < 2_000_000, peak


def test_sizes_dates_languages_and_slugs_are_as_specified():
    fam = SiteFamily(5000, seed=2)
    arts = [fam.article(i) for i in range(0, 5000, 5)]
    assert all(2 <= len(a.body) <= 40 for a in arts)
    share = lambda pred: sum(map(pred, arts)) / len(arts)  # noqa: E731
    assert 0.10 < share(lambda a: a.summary is None) < 0.20
    assert 0.15 < share(lambda a: a.language == "ar") < 0.25
    assert 0.63 < share(lambda a: a.date_kind is not None) < 0.77
    assert 0.25 < share(lambda a: len(a.sites) == 2) < 0.35
    assert any(b[0] == "ul" for a in arts for b in a.body)
    assert any(b[0] == "h2" for a in arts for b in a.body)
    published = [fam.published(i) for i in range(5000)]
    assert published == sorted(published) and len(set(published)) == 5000
    assert dt.date(2023, 6, 15) < published[0].date() and published[-1].date() < fam.start
    for i in range(0, 5000, 7):
        assert fam.find(fam.slug(i)) == i
    english = next(a for a in arts if a.language == "en" and len(a.sites) == 2)
    assert english.slug == re.sub(r"[^a-z0-9]+", "-", english.headline.lower())
    saudi_only = [i for i in range(5000) if fam.sites_of(i) == ("saudipress",)]
    with_prefix = [i for i in range(5000) if prefixed(fam, i)]
    assert set(with_prefix) <= set(saudi_only)
    assert 0.03 < len(with_prefix) / len(saudi_only) < 0.08
    assert all(re.match(r"[a-z]{6}-", fam.slug(i)) for i in with_prefix)
    assert all(fam.find(fam.slug(i), "saudipress") == i for i in with_prefix)
    assert fam.find(fam.slug(with_prefix[0]), "arabpress") is None


def test_sister_sites_carry_shared_articles_with_identical_text():
    fam = SiteFamily(400, seed=3)
    i = next(i for i in range(400) if len(fam.sites_of(i)) == 2)
    url = "/" + fam.slug(i)
    pages = {s: html(fam, s, url) for s in fam.sites}
    records = {s: extract(pages[s].encode(), f"https://{s}.com{url}", "2025-06-20T10:00:00+00:00")
               for s in fam.sites}
    a, b = records["arabpress"], records["saudipress"]
    assert (a.headline, a.summary, a.body) == (b.headline, b.summary, b.body)
    assert "Arab Press" in pages["arabpress"] and "Saudi Press" in pages["saudipress"]
    assert related_of(pages["arabpress"]) != related_of(pages["saudipress"])
    only = next(i for i in range(400) if fam.sites_of(i) == ("arabpress",))
    assert render_page(fam, "saudipress", "/" + fam.slug(only)).status == 404


def test_sister_variants_give_a_sister_copy_a_closing_line_of_its_own():
    fam = SiteFamily(400, seed=3, sister_variants=True)
    i = next(i for i in range(400) if len(fam.sites_of(i)) == 2)
    home, sister = fam.home_of(i), next(s for s in fam.sites_of(i) if s != fam.home_of(i))
    url = "/" + fam.slug(i)
    records = {s: extract(html(fam, s, url).encode(), f"https://{s}.com{url}",
                          "2025-06-20T10:00:00+00:00") for s in (home, sister)}
    assert records[home].body == fam.article(i).body_text == fam.article(i, home).body_text
    assert records[sister].body == fam.article(i, sister).body_text
    assert records[sister].body.startswith(records[home].body + "\n\n")
    assert records[sister].body != records[home].body
    assert (records[sister].headline, records[sister].summary) == (
        records[home].headline, records[home].summary)
    assert SiteFamily(400, seed=3).article(i, sister) == fam.article(i)  # off by default


def test_listings_paginate_and_reach_every_article():
    fam = SiteFamily(300, seed=4, per_page=7)
    for site in fam.sites:
        seen = []
        for section in ["world", "politics", "economy", "sports", "culture"]:
            page, target = 1, f"/section/{section}"
            while target:
                text = html(fam, site, target)
                seen += [fam.find(h.split("?")[0].strip("/").lower(), site) for h in
                         re.findall(r'class="card-link" href="([^"]+)"', text)]
                assert ('rel="prev"' in text) == (page > 1)
                nxt = re.search(r'<a rel="next" href="([^"]+)"', text)
                target, page = (nxt.group(1), page + 1) if nxt else (None, page)
        assert sorted(seen) == list(fam.ids(site))
        assert render_page(fam, site, "/section/world/page/999").status == 404
        home = html(fam, site, "/")
        assert "?utm_source=" in home and 'body class="page-listing"' in home
        newest = [fam.find(h.split("?")[0].strip("/").lower(), site)
                  for h in re.findall(r'class="card-link" href="([^"]+)"', home)]
        assert newest == fam.newest(site, 30)


def test_advance_changes_chrome_adds_and_edits_exactly_what_it_announces():
    fam = SiteFamily(1000, seed=8)
    expected = fam.expected_counts_after_advance(1)
    before = {i: fam.article(i) for i in range(fam.count)}
    stable = next(i for i in fam.ids("arabpress") if i not in fam.plan_advance()["edited"])
    page_before = html(fam, "arabpress", "/" + fam.slug(stable))

    result = fam.advance(1)

    assert fam.today == dt.date(2025, 6, 21)
    assert len(result["new"]) >= 3 and len(result["edited"]) >= 2
    for site in fam.sites:
        assert expected[site] == {k: sum(site in fam.sites_of(i) for i in result[k])
                                  for k in ("new", "edited")}
    page_after = html(fam, "arabpress", "/" + fam.slug(stable))
    assert masthead(dt.date(2025, 6, 20)) in page_before and masthead(fam.today) in page_after
    assert related_of(page_before) != related_of(page_after)
    old, new = before[stable], fam.article(stable)
    assert (old.headline, old.summary, old.body) == (new.headline, new.summary, new.body)
    for i in result["edited"]:
        art = fam.article(i)
        assert (art.headline, art.body) != (before[i].headline, before[i].body)
        assert art.slug == before[i].slug and art.modified.date() == fam.today
    for site in fam.sites:
        new_here = {i for i in result["new"] if site in fam.sites_of(i)}
        assert new_here and all(fam.published(i).date() == fam.today for i in new_here)
        origin = "http://127.0.0.1:9"
        feed = render_page(fam, site, "/feed.xml", origin).body.decode()
        home = html(fam, site, "/")
        month = render_page(fam, site, f"/sitemaps/{fam.today:%Y-%m}.xml", origin).body.decode()
        for i in new_here:
            assert f"{origin}/{fam.slug(i)}</" in feed and f"/{fam.slug(i)}" in home
            assert f"{origin}/{fam.slug(i)}</loc>" in month
        for i in (i for i in result["edited"] if site in fam.sites_of(i)):
            xml = render_page(fam, site, f"/sitemaps/{fam.published(i):%Y-%m}.xml", origin).body
            entry = re.search(rf"<loc>{origin}/{fam.slug(i)}</loc>\s*<lastmod>([^<]+)<",
                              xml.decode())
            assert dt.datetime.fromisoformat(entry.group(1)) == fam.article(i).modified


def test_an_edit_of_one_article_changes_it_and_its_sitemap_entry_and_nothing_else():
    fam = SiteFamily(200, seed=8)
    first, second = fam.ids("arabpress")[3], fam.ids("arabpress")[5]
    before = {i: fam.article(i) for i in range(fam.count)}
    origin = "http://127.0.0.1:9"
    month = f"/sitemaps/{fam.published(first):%Y-%m}.xml"
    sitemap_before = render_page(fam, "arabpress", month, origin)
    fam.edit(first)
    fam.edit(second, "headline")
    edited = fam.article(first)
    assert edited.body != before[first].body and edited.headline == before[first].headline
    assert fam.article(second).headline != before[second].headline
    # Each edit is the family's latest, on today's date: a site's clock.
    assert before[first].published < edited.modified < fam.article(second).modified
    assert edited.modified.date() == fam.today == dt.date(2025, 6, 20)
    assert all(fam.article(i) == before[i] for i in range(fam.count) if i not in (first, second))
    sitemap = render_page(fam, "arabpress", month, origin)
    assert sitemap.etag != sitemap_before.etag
    entry = re.search(rf"<loc>{origin}/{fam.slug(first)}</loc>\s*<lastmod>([^<]+)<",
                      sitemap.body.decode())
    assert dt.datetime.fromisoformat(entry.group(1)) == edited.modified
    # A second edit of the body the same day changes it again (it rewrote the same paragraph
    # the same way, and so changed nothing but the lastmod).
    fam.edit(first)
    assert fam.article(first).body not in (edited.body, before[first].body)
    with pytest.raises(ValueError, match="body or the headline"):
        fam.edit(first, "summary")
    with pytest.raises(ValueError, match="no article"):
        fam.edit(fam.count)


# -- what the extractor reads ----------------------------------------------------------------

def test_the_extractor_reads_generated_articles_exactly():
    fam = SiteFamily(2000, seed=9)
    fam.advance(3)
    picks = set(range(0, fam.count, 97)) | set(fam.edits()) | {fam.count - 1}
    picks |= set([i for i in range(fam.count) if prefixed(fam, i)][:5])
    seen_kinds, blocks = set(), set()
    for i in sorted(picks)[:120]:
        art = fam.article(i)
        site = art.sites[-1]
        rec = extract(html(fam, site, "/" + art.slug).encode(), art.url(site),
                      "2025-06-23T12:00:00+00:00")
        assert rec.url == f"https://{site}.com/{art.slug}"
        assert (rec.headline, rec.summary, rec.body) == (art.headline, art.summary, art.body_text)
        if art.published_at is None:
            assert rec.published_at is None
        else:
            assert dt.datetime.fromisoformat(rec.published_at) == art.published
        assert rec.page_date == fam.today.isoformat() and rec.language == art.language
        assert list(rec.authors) == list(art.authors)
        assert [r["url"] for r in rec.related][:10] == [
            f"https://{site}.com/{fam.slug(j)}" for j in fam.related(site, i)]
        seen_kinds.add(art.date_kind)
        blocks |= {kind for kind, _ in art.body}
    assert seen_kinds == {"jsonld", "meta", "time", None} and blocks == {"p", "h2", "ul"}


@pytest.mark.parametrize("target", ["/", "/section/world", "/tag/riyadh", "/search?q=riyadh",
                                    "/videos"])
def test_listing_pages_are_not_articles(target):
    fam = SiteFamily(300, seed=1)
    with pytest.raises(NotAnArticle):
        extract(render_page(fam, "arabpress", target).body, f"https://arabpress.com{target}")
    video = fam.videos("arabpress")[0]
    page = html(fam, "arabpress", f"/video/{video.slug}")
    assert 'content="video.other"' in page and "article-body" not in page
    with pytest.raises(NotAnArticle):
        extract(page.encode(), f"https://arabpress.com/video/{video.slug}")


# -- the server ------------------------------------------------------------------------------

def test_robots_sitemaps_and_feed_are_well_formed_with_the_served_origin(served):
    fam, server = served
    for site, origin in server.origins.items():
        status, headers, robots = get(origin, "/robots.txt")
        assert status == 200 and headers["Content-Type"].startswith("text/plain")
        assert robots.decode().splitlines() == [
            "User-agent: *", "Disallow: /private/", "Crawl-delay: 2", "",
            f"Sitemap: {origin}/sitemap.xml"]
        status, headers, body = get(origin, "/sitemap.xml")
        assert headers["Content-Type"] == "application/xml"
        index = etree.fromstring(body)
        locs, listed = [e.text for e in index.iter(f"{SM}loc")], []
        assert locs and all(loc.startswith(f"{origin}/sitemaps/") for loc in locs)
        for entry in index.iter(f"{SM}sitemap"):
            loc, lastmod = entry.findtext(f"{SM}loc"), entry.findtext(f"{SM}lastmod")
            urlset = etree.fromstring(get(origin, urlsplit(loc).path)[2])
            stamps = [dt.datetime.fromisoformat(e.text) for e in urlset.iter(f"{SM}lastmod")]
            assert dt.datetime.fromisoformat(lastmod) == max(stamps)
            listed += [e.text for e in urlset.iter(f"{SM}loc")]
        assert listed == [f"{origin}/{fam.slug(i)}" for i in fam.ids(site)]
        rss = etree.fromstring(get(origin, "/feed.xml")[2])
        links = [e.text for e in rss.iter("link")][1:]
        assert links == [f"{origin}/{fam.slug(i)}" for i in fam.newest(site, 50)]
        status, _, private = get(origin, "/private/anything/at-all")
        assert status == 200 and b'content="article"' in private


def test_conditional_requests_and_url_variants(served):
    fam, server = served
    origin = server.origins["arabpress"]
    slug = fam.slug(fam.ids("arabpress")[-3])
    status, headers, body = get(origin, f"/{slug}")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert int(headers["Content-Length"]) == len(body)
    assert get(origin, f"/{slug}", {"If-None-Match": headers["ETag"]})[0] == 304
    assert get(origin, f"/{slug}", {"If-None-Match": '"other"'})[0] == 200
    assert get(origin, f"/{slug}", {"If-Modified-Since": headers["Last-Modified"]})[0] == 304
    assert get(origin, f"/{slug}", {"If-Modified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"})[0] == 200
    for variant in [f"/{slug.upper()}", f"/{slug}/", f"/{slug}?utm_source=home&utm_medium=x"]:
        assert get(origin, variant)[2] == body
    assert get(origin, "/no-such-article")[0] == 404
    status, _, head_body = get(origin, f"/{slug}", method="HEAD")
    assert status == 200 and head_body == b""


def test_admin_endpoints_advance_the_family(served):
    fam, server = served
    origin = server.origins["saudipress"]
    slug = fam.slug(fam.ids("arabpress")[0])
    _, before, _ = get(server.origins["arabpress"], f"/{slug}")
    status, _, body = get(origin, "/__state__")
    assert status == 200 and b'"articles": 300' in body
    conn = http.client.HTTPConnection("127.0.0.1", int(origin.rsplit(":", 1)[1]), timeout=5)
    conn.request("POST", "/__advance__?days=1", body=b"")
    resp = conn.getresponse()
    assert resp.status == 200 and b'"today": "2025-06-21"' in resp.read()
    conn.close()
    _, after, _ = get(server.origins["arabpress"], f"/{slug}")
    assert after["ETag"] != before["ETag"] and after["Last-Modified"] == before["Last-Modified"]
    assert get(server.origins["arabpress"], f"/{slug}",
               {"If-Modified-Since": before["Last-Modified"]})[0] == 304
    assert server.requests["by_kind"]["admin"] == 2


@pytest.mark.parametrize("kind", Faults.KINDS)
def test_each_fault_is_observable_and_a_retry_succeeds(kind):
    fam = SiteFamily(100, seed=2)
    faults = Faults(**{kind: 1.0}, retry_factor=0.0, slow_seconds=0.3, timeout_seconds=0.5)
    slug = fam.slug(fam.ids("arabpress")[-1])
    with FamilyServer(fam, faults) as server:
        origin = server.origins["arabpress"]
        assert get(origin, "/robots.txt")[0] == 200  # faults hit article pages only
        start = time.perf_counter()
        try:
            status, headers, body = get(origin, f"/{slug}", timeout=0.3 if kind == "timeout" else 2)
            outcome = None
        except Exception as exc:  # noqa: BLE001: the faults that break the exchange
            outcome = type(exc).__name__
        took = time.perf_counter() - start
        if kind == "error_5xx":
            assert status in (500, 502, 504)
        elif kind in ("error_503_retry_after", "error_429"):
            assert status == (503 if kind.startswith("error_503") else 429)
            assert headers["Retry-After"] == "1"
        elif kind == "slow":
            assert status == 200 and took >= 0.3
        elif kind == "timeout":
            assert outcome == "TimeoutError"
        elif kind == "reset":
            assert outcome in ("ConnectionResetError", "IncompleteRead")
        elif kind == "truncated":
            assert outcome == "IncompleteRead"
        elif kind == "soft_404":
            assert status == 200 and b'class="page-404"' in body and b'content="website"' in body
            with pytest.raises(NotAnArticle):
                extract(body, f"https://arabpress.com/{slug}")
        elif kind == "redirect_chain":
            assert status == 301
            status, headers, _ = get(origin, urlsplit(headers["Location"]).path)
            assert status == 302 and headers["Location"] == f"{origin}/article/{slug}"
            status, _, body = get(origin, f"/article/{slug}")
            assert status == 200 and f'href="https://arabpress.com/{slug}"'.encode() in body
        elif kind == "redirect_loop":
            hops = [headers["Location"]]
            for _ in range(3):
                hops.append(get(origin, urlsplit(hops[-1]).path)[1]["Location"])
            assert hops[0] == hops[2] != hops[1] == hops[3]
        elif kind == "offsite_redirect":
            assert status == 302 and headers["Location"] == f"https://evil.example.net/{slug}"
        assert get(origin, f"/{slug}")[0] == 200  # the second attempt is not faulted
        assert server.attempts("arabpress", f"/{slug}") == 2
        assert server.requests["by_fault"] == {kind: 1}


def test_faults_are_reproducible_and_retries_mostly_succeed():
    fam = SiteFamily(300, seed=5)
    paths = ["/" + fam.slug(i) for i in fam.ids("arabpress")[:120]]
    faults = Faults(seed=3, error_503_retry_after=0.5)
    runs = []
    for _ in range(2):
        with FamilyServer(fam, faults) as server:
            origin = server.origins["arabpress"]
            first = [get(origin, p)[0] for p in paths]
            second = [get(origin, p)[0] for p in paths if first[paths.index(p)] != 200]
            runs.append((first, second))
    assert runs[0] == runs[1]
    first, second = runs[0]
    assert 40 < first.count(503) < 80
    assert second.count(200) >= 0.85 * len(second)


def test_faults_on_all_reach_every_page_but_admin():
    fam = SiteFamily(100, seed=2)
    with FamilyServer(fam, Faults(error_429=1.0, retry_factor=0.0, faults_on_all=True)) as server:
        origin = server.origins["saudipress"]
        for target in ["/robots.txt", "/sitemap.xml", "/feed.xml", "/", "/section/world"]:
            assert get(origin, target)[0] == 429
            assert get(origin, target)[0] == 200
        assert get(origin, "/__state__")[0] == 200
        assert server.requests["by_status"] == {429: 5, 200: 6}


def test_faults_with_targets_hit_those_targets_only():
    from pressarchive.sitegen.cli import _parse_faults

    fam = SiteFamily(100, seed=2)
    faults = _parse_faults(("error_5xx=1", "faults_on_all=1", "retry_factor=0",
                            "targets=/sitemap.xml, /feed.xml"), seed=0)
    assert faults.targets == ("/sitemap.xml", "/feed.xml")
    with FamilyServer(fam, faults) as server:
        origin = server.origins["arabpress"]
        for target in ["/", "/robots.txt", "/" + fam.slug(fam.ids("arabpress")[0])]:
            assert get(origin, target)[0] == 200
        for target in faults.targets:
            assert get(origin, target)[0] in (500, 502, 504)
            assert get(origin, target)[0] == 200  # the second attempt is not faulted
        assert get(origin, "/Feed.xml/")[0] in (500, 502, 504)  # the same page, spelled anew
        assert server.requests["by_fault"] == {"error_5xx": 3}


def test_serve_generated_command():
    from click.testing import CliRunner

    from pressarchive.cli import main

    help_text = CliRunner().invoke(main, ["serve-generated", "--help"]).output
    assert any(line.strip().startswith("Example:") for line in help_text.splitlines())
    bad = subprocess.run([sys.executable, "-m", "pressarchive.cli", "serve-generated",
                          "--fault", "nonsense=1"], capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and bad.stderr.count("\n") == 1 and "nonsense" in bad.stderr
    proc = subprocess.Popen([sys.executable, "-m", "pressarchive.cli", "serve-generated",
                             "--articles", "100", "--fault", "error_5xx=0.5", "--no-robots"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        origins = dict(proc.stdout.readline().split() for _ in range(2))
        assert set(origins) == {"arabpress", "saudipress"}
        status, _, body = get(origins["arabpress"], "/__state__")
        assert status == 200 and b'"articles": 100' in body
        assert get(origins["arabpress"], "/robots.txt")[0] == 404  # --no-robots
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
    proc = subprocess.Popen([sys.executable, "-m", "pressarchive.cli", "serve-generated",
                             "--articles", "100", "--no-sitemap-index", "--sister-variants"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        origins = dict(proc.stdout.readline().split() for _ in range(2))
        status, _, body = get(origins["arabpress"], "/robots.txt")
        named = [line.split(": ", 1)[1] for line in body.decode().splitlines()
                 if line.startswith("Sitemap: ")]
        assert status == 200 and named and all("/sitemaps/" in url for url in named)
        fam = SiteFamily(100, seed=0, sister_variants=True)  # the command's defaults
        i = next(i for i in range(100) if len(fam.sites_of(i)) == 2)
        sister = next(s for s in fam.sites_of(i) if s != fam.home_of(i))
        status, _, page = get(origins[sister], "/" + fam.slug(i))
        line = fam.article(i, sister).body[-1][1]
        assert status == 200 and line.encode() in page and line not in fam.article(i).body_text
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
    proc = subprocess.Popen([sys.executable, "-m", "pressarchive.cli", "serve-generated",
                             "--articles", "100", "--gzip-sitemaps", "--lastmod-zone", "3"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        origins = dict(proc.stdout.readline().split() for _ in range(2))
        status, _, index = get(origins["arabpress"], "/sitemap.xml")
        month = re.search(rb"/sitemaps/[0-9-]+\.xml\.gz", index)
        assert status == 200 and month
        status, _, packed = get(origins["arabpress"], month[0].decode())
        lastmods = re.findall(rb"<lastmod>([^<]+)</lastmod>", gzip.decompress(packed))
        assert status == 200 and lastmods
        assert all(len(stamp) == 19 for stamp in lastmods)  # a local time, no offset
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0


def test_an_advance_that_does_not_fit_changes_nothing(monkeypatch):
    from pressarchive.sitegen import model

    fam = SiteFamily(300, seed=4)
    monkeypatch.setattr(model, "CAPACITY", fam.count + 10)  # room for a few days only
    before = (fam.state(), fam.edits(), fam.plan_advance(1))
    with pytest.raises(OverflowError):
        fam.advance(30)
    assert (fam.state(), fam.edits(), fam.plan_advance(1)) == before
    assert fam.advance(1)["new"]  # and the family still advances normally


def test_a_moved_article_answers_at_its_new_slug_and_its_old_one_redirects_there():
    fam = SiteFamily(120, seed=5)
    i = next(i for i in fam.ids("arabpress") if fam.sites_of(i) == ("arabpress",))
    old_slug, old_headline = fam.slug(i), fam.headline(i)
    body = fam.article(i, "arabpress").body_text
    month = next(m for m in fam.months("arabpress") if i in fam.month_ids("arabpress", m))
    fam.move(i)
    new_slug = fam.slug(i)
    assert new_slug != old_slug and fam.headline(i) != old_headline
    assert fam.article(i, "arabpress").body_text == body  # the body stays
    moved = render_page(fam, "arabpress", f"/{old_slug}")
    assert (moved.status, moved.location) == (301, f"https://arabpress.com/{new_slug}")
    page = html(fam, "arabpress", f"/{new_slug}")
    assert fam.headline(i) in page and f'href="https://arabpress.com/{new_slug}"' in page
    sitemap = render_page(fam, "arabpress", f"/sitemaps/{month}.xml").body.decode()
    assert f"/{new_slug}</loc>" in sitemap and f"/{old_slug}</loc>" not in sitemap
    fam.edit(i, "headline")  # a later headline edit keeps the new slug, as any edit does
    assert fam.slug(i) == new_slug and fam.find(new_slug) == i
    assert render_page(fam, "arabpress", f"/{old_slug}").status == 301
