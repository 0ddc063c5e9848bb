"""Reading a page's links (where the page is parsed) and resolving them for the site crawled."""

from urllib.parse import urljoin

import parsel

from pressarchive.extract.links import SiteLinks, read_links
from spiders.family import ArabPressSpider

PAGE = """<html><head>
<link rel="alternate" type="application/rss+xml" href=" /feed.xml ">
<link rel="next" href="/politics?page=2"></head><body>
<a href="/a-story">A</a> <a href="/a-story">again</a> <a href="relative-story">R</a>
<a href="https://twitter.com/share?u=x">share</a> <a href="#top">top</a>
<a rel="next" href="/politics?page=2">more</a></body></html>"""


def test_read_links_gives_them_as_written_once_each():
    links = read_links(parsel.Selector(text=PAGE).root)
    assert links.base is None
    assert links.hrefs == ["/a-story", "relative-story", "https://twitter.com/share?u=x",
                           "#top", "/politics?page=2"]
    assert links.next == ["/politics?page=2", "/politics?page=2"]
    assert links.prev == []
    paged = read_links(parsel.Selector(text=PAGE.replace(
        "<body>", '<body><a rel="prev" href="/politics">back</a>')).root)
    assert paged.prev == ["/politics"] and paged.hrefs[0] == "/politics"
    assert links.feeds == ["/feed.xml"]
    based = PAGE.replace("<head>", '<head><base href="https://example.org/dir/">')
    assert read_links(parsel.Selector(text=based).root).base == "https://example.org/dir/"


def test_read_links_finds_what_the_xpath_queries_find():
    """read_links walks the <a>, <link> and <base> elements once; it must give what the four
    XPath queries it replaced give, on real pages and on random ones."""
    import random

    from pressarchive.extract import links as module
    from pressarchive.extract.page import Page
    from pressarchive.sitegen import SiteFamily, render

    from lxml.etree import XPath

    hrefs_of = XPath("//a/@href", smart_strings=False)
    next_of = XPath("//a[@rel='next']/@href | //link[@rel='next']/@href", smart_strings=False)
    prev_of = XPath("//a[@rel='prev' or @rel='previous']/@href"
                    " | //link[@rel='prev' or @rel='previous']/@href", smart_strings=False)
    feeds_of = XPath("//link[@rel='alternate'][@type=$a or @type=$b]/@href",
                     smart_strings=False)
    base_of = XPath("//base/@href", smart_strings=False)

    def by_xpath(root):
        base = base_of(root)
        return module.PageLinks(
            base=base[0].strip() if base else None,
            hrefs=list(dict.fromkeys(h.strip() for h in hrefs_of(root))),
            next=[h.strip() for h in next_of(root)],
            prev=[h.strip() for h in prev_of(root)],
            feeds=[h.strip() for h in feeds_of(root, a=module.FEED_TYPES[0],
                                               b=module.FEED_TYPES[1])])

    family = SiteFamily(30, seed=4)
    pages = [PAGE, render.render_home(family, "arabpress").body.decode(),
             render.render_section(SiteFamily(400, seed=4), "arabpress", "world", 2)
             .body.decode()]  # rel=prev and rel=next
    pages += [render.render_article(family, "arabpress", i).body.decode() for i in range(0, 30, 3)]
    rng = random.Random(7)
    for _ in range(60):
        parts = []
        for _ in range(rng.randint(1, 30)):
            tag = rng.choice(["a", "link", "base", "A", "p", "area"])
            attrs = [f'{name}="{rng.choice(values)}"' for name, values in (
                ("href", [" /x ", "/y", "", "https://o.org/z"]),
                ("rel", ["next", "alternate", "Next", "next prev", "prev", "previous", ""]),
                ("type", list(module.FEED_TYPES) + ["text/html"]))
                if rng.random() < 0.7]
            parts.append(f"<{tag} {' '.join(attrs)}>t</{tag}>")
        where = rng.choice(["<head>{}</head><body></body>", "<body>{}</body>"])
        pages.append("<html>" + where.format("".join(parts)) + "</html>")
    for html in pages:
        for root in (parsel.Selector(text=html).root, Page(html, "https://arabpress.com/x").root):
            assert read_links(root) == by_xpath(root), html


def test_the_spider_resolves_links_against_the_page_or_its_base():
    spider = ArabPressSpider(base_url="http://127.0.0.1:8100")
    spider._link = spider.links.resolve
    page = "http://127.0.0.1:8100/section/x"
    assert spider._link("/a-story", page) == "http://127.0.0.1:8100/a-story"
    assert spider._link("relative-story", page) == "http://127.0.0.1:8100/section/relative-story"
    assert spider._link("https://arabpress.com/b?utm_source=x", page) == \
        "http://127.0.0.1:8100/b"  # the public site's own link, on the copy, tracking removed
    assert spider._link("https://twitter.com/share?u=x", page) is None
    assert spider._link("/img/photo.jpg", page) is None
    assert spider._link("mailto:desk@arabpress.com", page) is None
    assert spider._link("http://127.0.0.1:bad/x", page) is None
    # With a <base href>, relative and root-relative links go by it, not by the page.
    base = "http://127.0.0.1:8100/archive/"
    assert spider._link("relative-story", page, base) == \
        "http://127.0.0.1:8100/archive/relative-story"
    assert spider._link("/c", page, "https://elsewhere.example/") is None


def test_the_spiders_once_per_crawl_links_agree_with_joining_against_the_page():
    """Links the spider resolves once per crawl (from the site's root) must lead where joining
    them against the page would: "http:y" and "/\t/x" are relative, whatever they look like."""
    links = ArabPressSpider(base_url="http://127.0.0.1:8100").links
    page = "http://127.0.0.1:8100/section/world/"
    for href in ("/a-story", "/a/../b", "https://arabpress.com/x", "http:y", "https:y",
                 "/\t/story", "http://", "https://\tarabpress.com/x", "/x?utm_source=y#z"):
        assert links.resolve(href, page) == links._page(urljoin(page, href.strip())), href


def test_fresh_links_reach_the_spider_once_per_crawl_but_pagination_every_time():
    links = SiteLinks("http://127.0.0.1:8100", "https://arabpress.com", max_length=60)
    first = links.fresh("http://127.0.0.1:8100/politics", read_links(parsel.Selector(text=PAGE).root))
    assert first.hrefs == ["http://127.0.0.1:8100/a-story",
                           "http://127.0.0.1:8100/relative-story",
                           "http://127.0.0.1:8100/politics?page=2"]
    assert first.next == ["http://127.0.0.1:8100/politics?page=2"]
    assert first.feeds == ["http://127.0.0.1:8100/feed.xml"]
    assert first.base is None
    other = PAGE.replace('href="relative-story"', 'href="https://arabpress.com/new-one"')
    other = other.replace("</body>", f'<a href="/{"x" * 60}">too long</a></body>')
    again = links.fresh("http://127.0.0.1:8100/politics", read_links(parsel.Selector(text=other).root))
    assert again.hrefs == ["http://127.0.0.1:8100/new-one"]  # the rest was reported already
    assert again.next == ["http://127.0.0.1:8100/politics?page=2"]
    assert again.feeds == []
    # A worker gets a copy that has reported nothing yet.
    import pickle

    copy = pickle.loads(pickle.dumps(links))
    assert copy.fresh("http://127.0.0.1:8100/x", read_links(parsel.Selector(text=PAGE).root)).feeds


def test_absolute_links_match_urljoin_on_awkward_hrefs():
    """Page.absolute joins root-relative and absolute hrefs once per origin (a cache); it must
    give what urljoin gives the page's own URL, tabs, empty hosts and dot segments included."""
    import random
    from urllib.parse import urljoin

    from pressarchive.extract.page import Page

    bases = ["https://arabpress.com/a/b/c?x=1#f", "http://127.0.0.1:8000/x/",
             "https://user@h.com:81/p", "https://arabpress.com", "HTTP://A.com/x"]
    parts = ["/", "a", "..", ".", "?", "#", "//", "http:", "https:", "http://", "https://",
             "x.y", "%2e", " ", ";p", "\t", "\n", "[::1]", ":80", "@"]
    rng = random.Random(7)
    cases = [(b, h) for b in bases for h in ("/a/../b", "http://", "https://h/x", "/\t/x")]
    cases += [(rng.choice(bases), "".join(rng.choice(parts) for _ in range(rng.randint(1, 6))))
              for _ in range(20_000)]
    for base, href in cases:
        page = Page.__new__(Page)  # just the URL: absolute() reads nothing else
        page.url = base
        try:
            expected = urljoin(base, href.strip()) if href.strip() else None
        except ValueError:
            expected = ValueError
        try:
            got = page.absolute(href)
        except ValueError:
            got = ValueError
        assert got == expected, (base, href)


def test_the_spiders_url_set_keeps_hashes_and_answers_like_a_set():
    from pressarchive.urls import UrlHashes

    asked = UrlHashes()
    urls = [f"http://127.0.0.1:8000/article-{n}" for n in range(1000)]
    for url in urls[::2]:
        asked.add(url)
    assert len(asked) == 500
    assert all(url in asked for url in urls[::2])
    assert not any(url in asked for url in urls[1::2])
    assert "http://127.0.0.1:8000/article-0/" not in asked


def test_local_and_public_urls_agree_with_rebasing_then_canonicalizing():
    """SiteLinks.local/public skip rebasing a URL already spelled on the target origin; the
    result must be what rebasing and canonicalizing give."""
    from pressarchive.urls import canonical_url, rebase

    def outcome(f, *args):
        try:
            return f(*args)
        except ValueError:  # a bad port, say: both ways must refuse it alike
            return ValueError

    for base, site in (("http://127.0.0.1:8100", "https://arabpress.com"),
                       ("https://arabpress.com", "https://arabpress.com"),
                       ("https://arabpress.com.mirror.example", "https://arabpress.com")):
        links = SiteLinks(base, site)
        for origin in (base, site, "https://ArabPress.com", "http://127.0.0.1:8100",
                       "https://arabpress.com.mirror.example", "https://elsewhere.org"):
            for rest in ("", "/", "/a-story/", "/x?utm_source=y#z", ".evil/x", ":443/b"):
                url = origin + rest
                assert outcome(links.local, url) == \
                    outcome(lambda u: canonical_url(rebase(u, site, base)), url), url
                assert outcome(links.public, url) == \
                    outcome(lambda u: canonical_url(rebase(u, base, site)), url), url


def test_hosts_read_off_plain_urls_are_what_urlsplit_reads():
    import random
    from urllib.parse import urlsplit

    from pressarchive.extract.links import _host

    rng = random.Random(1)
    parts = ["http://", "https://", "HTTP://", "x.com", "X.com", "a-b.c", ":8080", "user@", "/",
             "?q=1", "#f", "", "[::1]", "xn--p1ai", ".", "-", " "]
    checked = 0
    for _ in range(30_000):
        url = "".join(rng.choice(parts) for _ in range(rng.randint(1, 6)))
        try:
            want = urlsplit(url).hostname
        except ValueError:  # a bad port or bracket: urlsplit refuses, and so do the callers
            continue
        assert _host(url) == want, url
        checked += 1
    assert checked > 20_000
