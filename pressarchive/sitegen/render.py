"""Renders a SiteFamily's pages (HTML in the reconstructed template, robots, sitemaps, feed)."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import random
import re
from dataclasses import dataclass, field
from email.utils import format_datetime
from html import escape
from urllib.parse import parse_qs, unquote, urlsplit

from . import words as W
from .model import UTC, Article, SiteFamily, hash_of, site_info

HTML = "text/html; charset=utf-8"
XML = "application/xml"
TEXT = "text/plain; charset=utf-8"
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Routes that end a redirect fault, or are one: never faulted themselves.
FAULT_FREE_PREFIXES = ("/r/", "/_/", "/loop/", "/article/", "/__")


@dataclass
class Page:
    status: int
    content_type: str
    body: bytes
    kind: str  # article, alias, private, home, section, tag, search, videos, video, robots, ...
    last_modified: dt.datetime | None = None
    location: str | None = None
    etag: str = field(init=False)

    def __post_init__(self) -> None:
        self.etag = '"' + hashlib.blake2b(self.body, digest_size=10).hexdigest() + '"'


def masthead(day: dt.date) -> str:
    """``Friday, Jun 20, 2025``, as the site prints the day of the visit."""
    return f"{DAYS[day.weekday()]}, {MONTHS[day.month - 1]} {day.day:02d}, {day.year}"


def _e(text: str) -> str:
    return escape(text, quote=True)


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), UTC)


def _head(site: str, title: str, og_type: str, canonical: str | None, lang: str = "en",
          pre: str = "", post: str = "") -> str:
    """The <head>, in the fixture's order: ``pre`` (description) before the canonical link,
    ``post`` (article:* meta, JSON-LD) after the Open Graph tags."""
    name = site_info(site)[0]
    canon = ""
    if canonical:
        canon = (f'  <link rel="canonical" href="{canonical}">\n')
    og_url = f'  <meta property="og:url" content="{canonical}">\n' if canonical else ""
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{lang}" dir="{"rtl" if lang == "ar" else "ltr"}">\n<head>\n'
        '  <meta charset="utf-8">\n'
        '  <meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"  <title>{_e(title)} | {_e(name)}</title>\n"
        f"{pre}{canon}"
        f'  <meta property="og:type" content="{og_type}">\n'
        f'  <meta property="og:site_name" content="{_e(name)}">\n'
        f'  <meta property="og:title" content="{_e(title)}">\n'
        f"{og_url}{post}"
        f'  <link rel="alternate" type="application/rss+xml" title="{_e(name)}" href="/feed.xml">\n'
        '  <link rel="stylesheet" href="/static/site.css">\n'
        "</head>\n"
    )


def _header(site: str, day: dt.date, body_class: str) -> str:
    name, tagline = site_info(site)
    nav = "".join(f'      <a href="/section/{s}">{s.title()}</a>\n' for s in W.SECTIONS)
    return (
        f'<body class="{body_class}">\n'
        '  <header class="site-header">\n'
        f'    <p class="site-name"><a href="/">{_e(name)}</a></p>\n'
        f'    <div class="site-tagline">{_e(tagline)}</div>\n'
        f'    <div class="masthead-date">{masthead(day)}</div>\n'
        "    <nav class=\"site-menu\" hidden>\n"
        f"{nav}"
        '      <a href="/videos">Videos</a>\n'
        "    </nav>\n"
        "  </header>\n"
        '  <main class="site-main">\n'
    )


NEWSLETTER = (
    '    <aside class="newsletter">\n'
    '      <div class="newsletter-title">Newsletter</div>\n'
    '      <form class="newsletter-form" action="/newsletter" method="post"><input type="email" '
    'name="email" placeholder="Your email"><input type="submit" value="Subscribe"></form>\n'
    "    </aside>\n"
)
END = (
    '  <div class="modal" id="share-modal" role="dialog"><button class="modal-close" '
    'type="button" aria-label="Close">×</button></div>\n'
    '  <script src="/static/site.js"></script>\n'
    "</body>\n</html>"
)


def _audio(site: str, src: str, indent: str = "    ") -> str:
    return (
        f'{indent}<div class="audio-player" data-src="{src}">\n'
        f'{indent}  <div class="audio-title">{_e(site_info(site)[0])}</div>\n'
        f'{indent}  <div class="audio-current">0:00</div>\n'
        f'{indent}  <div class="audio-duration">0:00</div>\n'
        f'{indent}  <button class="audio-close" type="button">Close</button>\n'
        f"{indent}</div>\n"
    )


def _share(url: str) -> str:
    return (
        '      <p class="share-bar"><a class="share share-x" '
        f'href="https://x.com/intent/post?url={url}" aria-label="Share on X"></a>'
        '<a class="share share-facebook" '
        f'href="https://www.facebook.com/sharer/sharer.php?u={url}" aria-label="Share on Facebook">'
        f'</a><a class="share share-whatsapp" href="https://wa.me/?text={url}" '
        'aria-label="Share on WhatsApp"></a></p>\n'
    )


def _iso(stamp: dt.datetime, riyadh: bool = False) -> str:
    if riyadh:  # some structured data states Riyadh time: the instant is the same
        return stamp.astimezone(dt.timezone(dt.timedelta(hours=3))).isoformat()
    return stamp.isoformat()


def _body_html(art: Article) -> str:
    out = []
    for kind, value in art.body:
        if kind == "ul":
            items = "".join(f"          <li>{_e(item)}</li>\n" for item in value)
            out.append(f"        <ul>\n{items}        </ul>\n")
        else:
            out.append(f"        <{kind}>{_e(value)}</{kind}>\n")
    return "".join(out)


def _article_head_extra(art: Article, canonical: str) -> tuple[str, str]:
    pre = f'  <meta name="description" content="{_e(art.summary)}">\n' if art.summary else ""
    post = []
    if art.date_kind == "meta":
        post.append(f'  <meta property="article:published_time" content="{_iso(art.published)}">\n')
        if art.modified:
            post.append('  <meta property="article:modified_time" '
                        f'content="{_iso(art.modified)}">\n')
        post.append(f'  <meta property="article:section" content="{art.section.title()}">\n')
        post.extend(f'  <meta property="article:tag" content="{t.title()}">\n' for t in art.tags)
    elif art.date_kind == "jsonld":
        data = {"@context": "https://schema.org", "@type": "NewsArticle",
                "mainEntityOfPage": {"@type": "WebPage", "@id": canonical},
                "headline": art.headline, "datePublished": _iso(art.published, True)}
        if art.summary:
            data["description"] = art.summary
        if art.modified:
            data["dateModified"] = _iso(art.modified, True)
        if art.authors:
            data["author"] = [{"@type": "Person", "name": a} for a in art.authors]
        data["articleSection"] = art.section.title()
        text = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
        post.append(f'  <script type="application/ld+json">{text}</script>\n')
    return pre, "".join(post)


def render_article(fam: SiteFamily, site: str, i: int, kind: str = "article") -> Page:
    art = fam.article(i, site)
    url = f"https://{site}.com/{art.slug}"
    pre, post = _article_head_extra(art, url)
    head = _head(site, art.headline, "article", url, art.language, pre, post)
    meta = ""
    if art.authors or art.date_kind == "time":
        bits = []
        if art.authors:
            bits.append(f'<span class="byline">By {_e(" and ".join(art.authors))}</span>')
        bits.append(f'<a class="article-section" href="/section/{art.section}">'
                    f"{art.section.title()}</a>")
        if art.date_kind == "time":
            p = art.published
            bits.append(f'<time class="published" datetime="{_iso(p)}">'
                        f"{MONTHS[p.month - 1]} {p.day}, {p.year}</time>")
        meta = f'      <div class="article-meta">{" ".join(bits)}</div>\n'
    summary = f'      <div class="article-summary">{_e(art.summary)}</div>\n' if art.summary else ""
    related = "".join(
        f'        <li class="related-item"><a href="/{fam.slug(j)}">{_e(fam.headline(j))}'
        "</a></li>\n"
        for j in fam.related(site, i))
    html = (
        f"{head}{_header(site, fam.today, 'page-article')}"
        '    <article class="article">\n'
        f'      <p class="title-bar">{_e(art.headline)}</p>\n'
        f'      <h1 class="article-title">{_e(art.headline)}</h1>\n'
        f"{meta}{_share(url)}{summary}"
        f'      <div class="article-body">\n{_body_html(art)}      </div>\n'
        "    </article>\n"
        f"{NEWSLETTER}"
        '    <section class="related">\n'
        '      <p class="related-heading">Related Articles</p>\n'
        f"{_audio(site, f'/audio/{art.slug}.mp3', '      ')}"
        f'      <ul class="related-list">\n{related}      </ul>\n'
        "    </section>\n"
        f"  </main>\n{END}"
    )
    return Page(200, HTML, html.encode(), kind, art.modified or art.published)


def _card_href(fam: SiteFamily, i: int, where: str) -> str:
    # A few links carry the same article under another spelling: the crawler must dedupe.
    slug = fam.slug(i)
    v = hash_of(fam.seed, i, where) % 100
    if v < 4:
        return f"/{slug}?utm_source={where}"
    if v < 7:
        return f"/{slug.upper()}"
    if v < 10:
        return f"/{slug}/"
    return f"/{slug}"


def _cards(fam: SiteFamily, ids: list[int], where: str) -> str:
    out = []
    for i in ids:
        summary = fam.summary(i)
        card_summary = f'        <p class="card-summary">{_e(summary)}</p>\n' if summary else ""
        out.append(
            '      <li class="article-card">\n'
            f'        <a class="card-link" href="{_card_href(fam, i, where)}">'
            '<h2 class="card-title">'
            f"{_e(fam.headline(i))}</h2></a>\n{card_summary}      </li>\n")
    return f'    <ul class="article-list">\n{"".join(out)}    </ul>\n'


def _listing(fam: SiteFamily, site: str, kind: str, body_class: str, title: str,
             canonical: str | None, main: str, footer: str = "") -> Page:
    html = (
        f"{_head(site, title, 'website', canonical)}{_header(site, fam.today, body_class)}"
        f'    <h1 class="listing-title">{_e(title)}</h1>\n{main}{NEWSLETTER}'
        f"{_audio(site, '/audio/latest.mp3')}  </main>\n{footer}{END}"
    )
    return Page(200, HTML, html.encode(), kind, _midnight(fam.today))


SEARCH_FORM = ('    <form class="search-form" action="/search" method="get" role="search">'
               '<input type="search" name="q" placeholder="Search"><input type="submit" '
               'value="Search"></form>\n')


def render_home(fam: SiteFamily, site: str) -> Page:
    ids = fam.newest(site, 30)
    tags = sorted({fam.tags_of(i)[0] for i in ids[:8]})
    trending = " ".join(f'<a class="tag-link" href="/tag/{t}">{t.title()}</a>' for t in tags)
    most_read = "".join(  # the same articles again, with tracking parameters
        f'      <li><a href="/{fam.slug(i)}?utm_source=most-read&amp;utm_medium=web">'
        f"{_e(fam.headline(i))}</a></li>\n" for i in ids[3:8])
    videos = "".join(f'<a href="/video/{v.slug}">{_e(v.title)}</a> ' for v in fam.videos(site))
    main = (
        f"{SEARCH_FORM}    <p class=\"trending\">Trending: {trending}</p>\n"
        f"{_cards(fam, ids, 'home')}"
        f'    <section class="most-read">\n      <p class="most-read-heading">Most read</p>\n'
        f"      <ul>\n{most_read}      </ul>\n    </section>\n"
        f'    <p class="video-links">{videos.strip()}</p>\n'
        '    <p class="more-link"><a href="/section/world">More world news</a></p>\n'
    )
    footer = ('  <footer class="site-footer" hidden>\n'
              '    <a href="/private/draft-cabinet-reshuffle">Drafts</a>\n  </footer>\n')
    return _listing(fam, site, "home", "page-listing", "Latest News", f"https://{site}.com/",
                    main, footer)


def _pagination(base: str, page: int, pages: int) -> str:
    def href(n: int) -> str:
        return base if n == 1 else f"{base}/page/{n}"

    bits = []
    if page > 1:
        bits.append(f'<a rel="prev" href="{href(page - 1)}">Previous</a>')
    for n in sorted({1, page - 1, page, page + 1, pages}):
        if 1 <= n <= pages:
            bits.append(f'<span class="current" aria-current="page">{n}</span>' if n == page
                        else f'<a href="{href(n)}">{n}</a>')
    if page < pages:
        bits.append(f'<a rel="next" href="{href(page + 1)}">Next</a>')
    return f'    <nav class="pagination">{" ".join(bits)}</nav>\n'


def render_section(fam: SiteFamily, site: str, section: str, page: int) -> Page | None:
    if section not in W.SECTIONS or not 1 <= page <= fam.pages(site, section):
        return None
    pages = fam.pages(site, section)
    base = f"/section/{section}"
    canonical = f"https://{site}.com{base}" + (f"/page/{page}" if page > 1 else "")
    main = (_cards(fam, fam.section_page(site, section, page), "section")
            + _pagination(base, page, pages))
    return _listing(fam, site, "section", "page-listing", section.title(), canonical, main)


def render_tag(fam: SiteFamily, site: str, tag: str) -> Page | None:
    ids = fam.tagged(site, tag)
    if not ids:
        return None
    return _listing(fam, site, "tag", "page-tag", tag.title(), f"https://{site}.com/tag/{tag}",
                    _cards(fam, ids, "tag"))


def render_search(fam: SiteFamily, site: str, query: str) -> Page:
    ids = fam.search(site, query)
    note = "" if ids else '    <p class="no-results">No results.</p>\n'
    return _listing(fam, site, "search", "page-search", f"Search: {query}", None,
                    f"{SEARCH_FORM}{note}{_cards(fam, ids, 'search')}")


def render_videos(fam: SiteFamily, site: str) -> Page:
    cards = "".join(
        '      <li class="article-card">\n'
        f'        <a class="card-link" href="/video/{v.slug}"><h2 class="card-title">{_e(v.title)}'
        "</h2></a>\n      </li>\n" for v in fam.videos(site))
    return _listing(fam, site, "videos", "page-listing", "Videos", f"https://{site}.com/videos",
                    f'    <ul class="article-list">\n{cards}    </ul>\n')


def render_video(fam: SiteFamily, site: str, slug: str) -> Page | None:
    video = next((v for v in fam.videos(site) if v.slug == slug), None)
    if video is None:
        return None
    url = f"https://{site}.com/video/{slug}"
    embed = f"https://www.youtube.com/embed/{slug[:11]}"
    data = json.dumps({"@context": "https://schema.org", "@type": "VideoObject",
                       "name": video.title, "description": video.caption,
                       "uploadDate": video.published.isoformat(), "embedUrl": embed})
    pre = f'  <meta name="description" content="{_e(video.caption)}">\n'
    post = (f'  <meta property="og:video" content="{embed}">\n'
            f'  <script type="application/ld+json">{data}</script>\n')
    html = (
        f"{_head(site, video.title, 'video.other', url, 'en', pre, post)}"
        f"{_header(site, fam.today, 'page-video')}"
        '    <div class="video-page">\n'
        f'      <p class="title-bar">{_e(video.title)}</p>\n'
        f'      <h1 class="video-title">{_e(video.title)}</h1>\n'
        f'      <div class="video-player"><iframe src="{embed}" title="{_e(video.title)}" '
        'width="640" height="360" allowfullscreen></iframe></div>\n'
        f'      <p class="video-caption">{_e(video.caption)}</p>\n'
        f"    </div>\n{NEWSLETTER}{_audio(site, '/audio/latest.mp3')}  </main>\n{END}"
    )
    return Page(200, HTML, html.encode(), "video", video.published)


def render_private(fam: SiteFamily, site: str, name: str) -> Page:
    rng = random.Random(hash_of(fam.seed, site, name))
    place, topic = rng.choice(W.PLACES), rng.choice(W.TOPICS)
    headline = f"DRAFT - Embargoed: {place} {topic} Plan Expected Before Summer Recess"
    url = f"https://{site}.com/private/{name}"
    paras = "".join(f"        <p>{_e(fam._paragraph(rng, False))}</p>\n" for _ in range(3))
    pre = ('  <meta name="description" content="Embargoed draft. Do not publish. Not for '
           'archiving.">\n')
    html = (
        f"{_head(site, headline, 'article', url, 'en', pre)}"
        f"{_header(site, fam.today, 'page-article')}"
        '    <article class="article">\n'
        f'      <p class="title-bar">{_e(headline)}</p>\n'
        f'      <h1 class="article-title">{_e(headline)}</h1>\n'
        '      <div class="article-summary">Embargoed draft. Do not publish.</div>\n'
        f'      <div class="article-body">\n{paras}      </div>\n'
        f"    </article>\n{NEWSLETTER}  </main>\n{END}"
    )
    return Page(200, HTML, html.encode(), "private", _midnight(fam.start))


def not_found(fam: SiteFamily, site: str, status: int = 404, kind: str = "not_found") -> Page:
    main = ('    <div class="not-found">\n      <p class="not-found-message">The page you are '
            'looking for does not exist or has been moved.</p>\n'
            '      <p><a href="/">Back to the home page</a></p>\n    </div>\n')
    html = (
        f"{_head(site, 'Page not found', 'website', None)}{_header(site, fam.today, 'page-404')}"
        f'    <h1 class="error-title">Page not found</h1>\n{main}  </main>\n{END}'
    )
    return Page(status, HTML, html.encode(), kind)


def render_robots(fam: SiteFamily, origin: str, crawl_delay: float | None,
                  months_of: str | None = None) -> Page:
    """robots.txt, naming the sitemap index; or, with ``months_of`` (a site), each of that
    site's monthly sitemaps instead, as a site without an index does."""
    delay = f"Crawl-delay: {crawl_delay:g}\n" if crawl_delay is not None else ""
    sitemaps = [f"{origin}/sitemaps/{month}.xml" for month in fam.months(months_of)] \
        if months_of else [f"{origin}/sitemap.xml"]
    text = (f"User-agent: *\nDisallow: /private/\n{delay}\n"
            + "".join(f"Sitemap: {url}\n" for url in sitemaps))
    return Page(200, TEXT, text.encode(), "robots", _midnight(fam.start))


def _sitemap(root: str, item: str, rows: list[tuple[str, dt.datetime]]) -> Page:
    """A sitemap index (root ``sitemapindex``, items ``sitemap``) or urlset (``urlset``,
    ``url``) of (loc, lastmod) rows; its own Last-Modified is the newest lastmod."""
    entries = "".join(f"  <{item}>\n    <loc>{loc}</loc>\n"
                      f"    <lastmod>{_iso(lastmod)}</lastmod>\n  </{item}>\n"
                      for loc, lastmod in rows)
    xml = ('<?xml version="1.0" encoding="UTF-8"?>\n'
           f'<{root} xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{entries}</{root}>\n')
    return Page(200, XML, xml.encode(), "sitemap", max((m for _, m in rows), default=None))


def restamp_sitemap(page: Page, when: dt.datetime) -> Page:
    """``page``, a sitemap, with every ``lastmod`` (and its own Last-Modified) ``when``: a
    sitemap generated on each request, as some sites make them, whose lastmods tell the
    time it was made, not when each page changed."""
    stamp = f"<lastmod>{_iso(when)}</lastmod>".encode()
    body = re.sub(rb"<lastmod>[^<]*</lastmod>", stamp, page.body)
    return Page(page.status, page.content_type, body, page.kind, when)


def local_lastmods(page: Page, hours: float) -> Page:
    """``page``, a sitemap, with every ``lastmod`` that has a time written as the local time
    of the zone ``hours`` east of UTC, with no offset (W3C Datetime asks for one; many sites
    leave it out)."""
    zone = dt.timezone(dt.timedelta(hours=hours))

    def local(match: re.Match) -> bytes:
        stamp = dt.datetime.fromisoformat(match[1].decode())
        if stamp.tzinfo is None or len(match[1]) == 10:
            return match[0]
        return b"<lastmod>%s</lastmod>" % stamp.astimezone(zone).replace(
            tzinfo=None).isoformat().encode()

    body = re.sub(rb"<lastmod>([^<]*)</lastmod>", local, page.body)
    return Page(page.status, page.content_type, body, page.kind, page.last_modified)


def gzip_sitemap(page: Page, index: bool, gzipped: bool) -> Page:
    """For a site whose sitemaps are gzip'd files: the index (``index``) naming each month's
    as ``.xml.gz``; a month's, asked for as ``.xml.gz`` (``gzipped``), gzip'd (the same bytes
    every time, so its ETag holds); any other as it is."""
    if index:
        body = page.body.replace(b".xml</loc>", b".xml.gz</loc>")
        return Page(page.status, page.content_type, body, page.kind, page.last_modified)
    if gzipped:
        return Page(page.status, "application/gzip", gzip.compress(page.body, mtime=0),
                    page.kind, page.last_modified)
    return page


def render_sitemap_index(fam: SiteFamily, site: str, origin: str) -> Page:
    return _sitemap("sitemapindex", "sitemap",
                    [(f"{origin}/sitemaps/{month}.xml", fam.month_lastmod(site, month))
                     for month in fam.months(site)])


def render_sitemap_month(fam: SiteFamily, site: str, origin: str, month: str) -> Page | None:
    ids = fam.month_ids(site, month)
    if not ids:
        return None
    return _sitemap("urlset", "url", [(f"{origin}/{fam.slug(i)}", fam.lastmod(i)) for i in ids])


def render_feed(fam: SiteFamily, site: str, origin: str) -> Page:
    name, tagline = site_info(site)
    ids = fam.newest(site, 50)
    items = []
    for i in ids:
        summary = fam.summary(i)
        desc = f"      <description>{escape(summary, False)}</description>\n" if summary else ""
        items.append(
            f"    <item>\n      <title>{escape(fam.headline(i), False)}</title>\n"
            f"      <link>{origin}/{fam.slug(i)}</link>\n"
            f'      <guid isPermaLink="false">{site}:{i}</guid>\n'
            f"      <pubDate>{format_datetime(fam.published(i))}</pubDate>\n{desc}    </item>\n")
    newest = fam.published(ids[0]) if ids else _midnight(fam.start)
    xml = ('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0">\n  <channel>\n'
           f"    <title>{escape(name, False)}</title>\n    <link>{origin}/</link>\n"
           f"    <description>{escape(tagline, False)}</description>\n"
           f"    <language>en</language>\n"
           f"    <lastBuildDate>{format_datetime(newest)}</lastBuildDate>\n"
           f'{"".join(items)}  </channel>\n</rss>\n')
    return Page(200, XML, xml.encode(), "feed", newest)


def route_key(target: str) -> tuple[str, str]:
    """(path, query) as the server routes them: decoded, lower-cased, no trailing slash.
    Upper-case and trailing-slash spellings of a page are the same page here."""
    parts = urlsplit(target)
    path = unquote(parts.path).lower()
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    return path, parts.query


def render_page(fam: SiteFamily, site: str, target: str, origin: str | None = None,
           crawl_delay: float | None = None) -> Page:
    """The page ``site`` serves for the request target ``target`` (path and query) today.
    ``origin`` is where the site is served (sitemaps, feeds and redirects point there)."""
    origin = origin or f"https://{site}.com"
    path, query = route_key(target)
    with fam.lock:
        page = _route(fam, site, path, query, origin, crawl_delay)
    return page or not_found(fam, site)


def _route(fam: SiteFamily, site: str, path: str, query: str, origin: str,
           crawl_delay: float | None) -> Page | None:
    parts = path.strip("/").split("/") if path != "/" else []
    qs = f"?{query}" if query else ""
    if not parts:
        return render_home(fam, site)
    head, n = parts[0], len(parts)
    rest = "/".join(parts[1:])
    if head == "r":  # second hop of a redirect chain: to the article's alias, or the page
        to = f"/article/{rest}" if n == 2 and fam.find(rest, site) is not None else f"/_/{rest}"
        return Page(302, HTML, b"", "redirect", location=f"{origin}{to}{qs}")
    if head == "_":  # end of a redirect chain for a page that is not an article
        return _route(fam, site, f"/{rest}", query, origin, crawl_delay)
    if head == "loop" and n >= 2 and parts[1] in ("a", "b"):
        other = "b" if parts[1] == "a" else "a"
        return Page(302, HTML, b"", "redirect",
                    location=f"{origin}/loop/{other}/{'/'.join(parts[2:])}{qs}")
    if n == 1:
        if head == "robots.txt":
            return render_robots(fam, origin, crawl_delay)
        if head == "sitemap.xml":
            return render_sitemap_index(fam, site, origin)
        if head == "feed.xml":
            return render_feed(fam, site, origin)
        if head == "search":
            return render_search(fam, site, " ".join(parse_qs(query).get("q", [""])))
        if head == "videos":
            return render_videos(fam, site)
        i = fam.find(head, site)
        if i is None and (i := fam.moved_from(head, site)) is not None:
            return Page(301, HTML, b"", "redirect", location=f"{origin}/{fam.slug(i)}{qs}")
        return render_article(fam, site, i) if i is not None else None
    if head == "section" and (n == 2 or (n == 4 and parts[2] == "page" and parts[3].isdigit())):
        return render_section(fam, site, parts[1], int(parts[3]) if n == 4 else 1)
    if head == "tag" and n == 2:
        return render_tag(fam, site, parts[1])
    if head == "video" and n == 2:
        return render_video(fam, site, parts[1])
    if head == "sitemaps" and n == 2 and parts[1].endswith(".xml"):
        return render_sitemap_month(fam, site, origin, parts[1][:-4])
    if head == "private":
        return render_private(fam, site, "/".join(parts[1:]))
    if head == "article" and n == 2:
        i = fam.find(parts[1], site)
        return render_article(fam, site, i, "alias") if i is not None else None
    return None
