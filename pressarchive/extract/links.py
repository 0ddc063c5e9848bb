"""The links a page offers a crawler: read where the page is parsed anyway (so that a crawl
parses each page once), then resolved for one site by a ``SiteLinks``.

``read_links`` gives them as written: every ``<a href>``, the ``rel=next`` and ``rel=prev`` ones
(pagination), the feeds the page names, and its ``<base href>``. ``SiteLinks.fresh`` turns those
into the pages of the site being crawled, as canonical URLs of the copy being crawled, each
reported once per crawl: the spider then has only the few links it has not heard of to decide
about."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from pressarchive.urls import UrlHashes, canonical_url, joins_from_origin, rebase, spelled_under

FEED_TYPES = ("application/rss+xml", "application/atom+xml")
NOWHERE = ("#", "javascript:", "mailto:", "tel:")
PREV = ("prev", "previous")  # HTML's rel keyword and its old synonym
_UNSEEN = object()
# An absolute URL whose host is plain (lower case, no port, no user): its host is read off it.
_PLAIN_HOST = re.compile(r"https?://([a-z0-9.-]+)(?=[/?#]|\Z)")


@dataclass
class PageLinks:
    base: str | None = None  # the page's <base href>, if it has one
    hrefs: list[str] = field(default_factory=list)  # distinct, in page order
    next: list[str] = field(default_factory=list)  # pagination: rel=next
    prev: list[str] = field(default_factory=list)  # pagination: rel=prev (or previous)
    feeds: list[str] = field(default_factory=list)  # RSS/Atom feeds the page links to


def _host(url: str) -> str | None:
    """``urlsplit(url).hostname``, without parsing the URL when its host is plain. Links to
    other sites (share buttons) carry the page's own URL, so no cache helps with them."""
    plain = _PLAIN_HOST.match(url)
    return plain.group(1) if plain else urlsplit(url).hostname


def read_links(root) -> PageLinks:
    """The links of the page whose lxml tree is ``root``, as written: what four whole-page
    XPath queries would give (tests/test_links.py holds the two together), found in one pass
    over the ``<a>``, ``<link>`` and ``<base>`` elements (lxml picks those out itself)."""
    base = None
    hrefs: dict[str, None] = {}
    following, preceding, feeds = [], [], []
    for element in root.iter("a", "link", "base"):
        href = element.get("href")
        if href is None:
            continue
        href, tag, rel = href.strip(), element.tag, element.get("rel")
        if tag == "a":
            hrefs[href] = None
            if rel == "next":
                following.append(href)
            elif rel in PREV:
                preceding.append(href)
        elif tag == "link":
            if rel == "next":
                following.append(href)
            elif rel in PREV:
                preceding.append(href)
            elif rel == "alternate" and element.get("type") in FEED_TYPES:
                feeds.append(href)
        elif base is None:
            base = href
    return PageLinks(base=base, hrefs=list(hrefs), next=following, prev=preceding, feeds=feeds)


class SiteLinks:
    """Where links lead on one site, crawled at ``base_url`` (the site itself, or a copy of it
    on 127.0.0.1): a link to a page of the site, on the copy or on the public site, becomes
    the copy's canonical URL; anything else (other sites, assets, fragments, ``mailto:``…)
    leads nowhere. Picklable: the ingest worker gets the spider's, and resolves there.

    ``fresh`` also remembers what it has reported, so that each link reaches the spider once
    per crawl, wherever it appears (menus and related lists repeat on every page)."""

    def __init__(self, base_url: str, site_origin: str, max_length: int = 2083,
                 asset_suffixes: frozenset[str] = frozenset()):
        self.base_url = base_url.rstrip("/")
        self.site_origin = site_origin
        self.max_length = max_length  # Scrapy's URLLENGTH_LIMIT: longer URLs are not asked for
        # File suffixes of what is not a page (".jpg", ".pdf"…): links to them lead nowhere.
        self.asset_suffixes = asset_suffixes
        # Same origin as the copy being crawled: host *and* port.
        self.origin = urlsplit(self.base_url).netloc.lower()
        # Hosts whose links may lead to the copy (the public site's are rebased onto it).
        self.hosts = {urlsplit(self.base_url).hostname, urlsplit(site_origin).hostname}
        self._from_root: dict[str, str | None] = {}  # hrefs that resolve alike on every page
        self._feeds: dict[str, str] = {}  # the same for feed links (no host filter)
        self._reported = UrlHashes()  # the URLs ``fresh`` has given

    def __getstate__(self) -> dict:  # what a worker needs: not what this process has seen
        return {**self.__dict__, "_from_root": {}, "_feeds": {}, "_reported": UrlHashes()}

    def local(self, url: str) -> str:
        """A public URL of the site moved onto the copy being crawled, canonical."""
        if spelled_under(url, self.base_url):  # already on the copy (sitemaps of a copy, say)
            return canonical_url(url)
        return canonical_url(rebase(url, self.site_origin, self.base_url))

    def public(self, url: str) -> str:
        """A URL of the copy as the public site's, canonical: what the archive keeps."""
        if spelled_under(url, self.site_origin):  # already the site's own
            return canonical_url(url)
        return canonical_url(rebase(url, self.base_url, self.site_origin))

    def resolve(self, href: str, page_url: str, base: str | None = None) -> str | None:
        """The page of this site an href on ``page_url`` leads to, as a local canonical URL;
        None for other sites, assets, fragments and javascript:/mailto:/tel: links. ``base``
        is the page's ``<base href>``, when it has one."""
        href = href.strip()
        if base is None:
            # Menus and related lists: the same hrefs on every page, resolved once.
            found = self._from_root.get(href, _UNSEEN)
            if found is not _UNSEEN:
                return found
        try:
            if base is None and joins_from_origin(href):
                if href.startswith(("http://", "https://")) and _host(href) not in self.hosts:
                    return None  # another site (share buttons...): not worth remembering
                return self._remember(href, self._page(urljoin(self.base_url, href)))
            if not href or href.startswith(NOWHERE):
                return None
            return self._page(urljoin(base or page_url, href))
        except ValueError:  # a malformed link (a bad port, say) leads nowhere
            return None

    def _remember(self, href: str, url: str | None) -> str | None:
        if len(self._from_root) >= 16384:
            self._from_root.clear()
        self._from_root[href] = url
        return url

    def _feed(self, href: str, page_url: str, base: str | None) -> str:
        """A feed's local URL (any host: the offsite middleware judges those)."""
        if base is None and joins_from_origin(href):
            if href not in self._feeds:  # every page names the same feeds
                if len(self._feeds) >= 1024:
                    self._feeds.clear()
                self._feeds[href] = self.local(urljoin(self.base_url, href))
            return self._feeds[href]
        return self.local(urljoin(base or page_url, href))

    def _page(self, url: str) -> str | None:
        if _host(url) not in self.hosts:
            return None  # share buttons and the like: not worth canonicalizing
        url = self.local(url)
        parts = urlsplit(url)
        if parts.netloc != self.origin or len(url) > self.max_length or (
                os.path.splitext(parts.path)[1].lower() in self.asset_suffixes):
            return None
        return url

    def fresh(self, page_url: str, links: PageLinks) -> PageLinks:
        """The links of the page at ``page_url`` (local) resolved, without those reported
        before: ``hrefs`` and ``feeds`` as local canonical URLs never given before, ``next``
        and ``prev`` (pagination) every time, since the spider may pass one by on one page
        and want it from another. ``base`` is left out: the URLs are absolute."""
        base = urljoin(page_url, links.base) if links.base else None
        hrefs = [url for href in links.hrefs
                 if (url := self.resolve(href, page_url, base)) is not None and self._new(url)]
        feeds = [url for href in links.feeds if self._new(url := self._feed(href, page_url, base))]
        following = [url for href in links.next
                     if (url := self.resolve(href, page_url, base)) is not None]
        preceding = [url for href in links.prev
                     if (url := self.resolve(href, page_url, base)) is not None]
        return PageLinks(hrefs=hrefs, next=list(dict.fromkeys(following)),
                         prev=list(dict.fromkeys(preceding)), feeds=feeds)

    def _new(self, url: str) -> bool:
        if url in self._reported:
            return False
        self._reported.add(url)
        return True
