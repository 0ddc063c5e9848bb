"""Canonical URLs: one spelling per page, whatever link or redirect led to it."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterable
from urllib.parse import urljoin, urlsplit, urlunsplit

from w3lib.url import canonicalize_url, url_query_cleaner

# Parameters that say how a reader arrived, not which page they read.
TRACKING_PARAMS = (
    "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "utm_id",
    "fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "igshid", "ref_src",
)


# A URL with no query, fragment, escape, character that needs quoting or "." / ".." segment,
# and a lower-case scheme and host: w3lib's cleaning and canonicalization give it back
# unchanged (tests/test_urls.py checks this on many URLs), and the rest of canonicalization
# is a matter of its port and trailing slash. The groups: scheme://host, port, path.
_PLAIN = re.compile(r"(https?://[a-z0-9.-]+)(?::([0-9]{1,5}))?(?!.*/\.\.?(?:/|\Z))"
                    r"(/[A-Za-z0-9._~/-]*)?\Z")


@lru_cache(maxsize=8192)  # a crawl meets the same links (menus, related lists) again and again
def canonical_url(url: str) -> str:
    """Lower-case scheme and host, sorted query without tracking parameters, no fragment,
    no trailing slash (but the root keeps its ``/``), no default port."""
    url = url.strip()
    plain = _PLAIN.match(url)
    if plain:  # most links: string work only (what _canonical gives, tests/test_urls.py)
        origin, port, path = plain.groups()
        path = (path or "").rstrip("/") or "/"
        if port is None or int(port) in (80, 443):
            return origin + path
        if int(port) <= 65535:
            return f"{origin}:{int(port)}{path}"
    return _canonical(url)


def _canonical(url: str) -> str:
    """canonical_url's general way, for any URL."""
    if not _PLAIN.match(url):
        url = url_query_cleaner(url, TRACKING_PARAMS, remove=True, keep_fragments=False)
        url = canonicalize_url(url, keep_fragments=False)
    parts = urlsplit(url)
    path = parts.path.rstrip("/") or "/"
    host = (parts.hostname or "").lower()
    netloc = host if parts.port in (None, 80, 443) else f"{host}:{parts.port}"
    return urlunsplit((parts.scheme.lower(), netloc, path, parts.query, ""))


def slug_key(url: str) -> str:
    """The last path segment, which the family's sites share for the same article."""
    return urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1].lower()


# A path from the root ("/a", not "//host") or an absolute http(s) URL with a host; no tab or
# newline inside, which URL parsing drops (and "/\t/x" would then be "//x").
_FROM_ORIGIN = re.compile(r"(?:/(?!/)|https?://[^/?#\t\r\n])[^\t\r\n]*")


def joins_from_origin(href: str) -> bool:
    """Whether ``href`` (stripped) resolves the same against any page of one origin, so that
    ``join_from_origin`` may stand in for ``urljoin(page_url, href)``."""
    return _FROM_ORIGIN.fullmatch(href) is not None


@lru_cache(maxsize=16384)  # menus and related lists link the same URLs from every page
def join_from_origin(origin: str, href: str) -> str:
    """``urljoin`` of an href for which ``joins_from_origin`` holds, against any URL of
    ``origin`` (``scheme://host[:port]``), once per crawl."""
    return urljoin(origin, href)


def spelled_under(url: str, origin: str) -> bool:
    """Whether ``url`` starts with ``origin`` (``scheme://host[:port]``, as spelled) and goes
    on with its path, if any: a URL of that origin with no parsing."""
    return url.startswith(origin) and url[len(origin):len(origin) + 1] in ("/", "")


def rebase(url: str, old_origin: str, new_origin: str) -> str:
    """``url`` moved from one origin to another (a local mirror to the public site, say)."""
    if spelled_under(url, old_origin):
        # Spelled as the origin is (the usual case): a prefix swap, no parsing.
        return _bare_origin(new_origin) + url[len(old_origin):]
    old, new = _split_origin(old_origin), _split_origin(new_origin)
    parts = urlsplit(url)
    if (parts.scheme, parts.netloc.lower()) != (old.scheme, old.netloc.lower()):
        return url
    return urlunsplit((new.scheme, new.netloc, parts.path, parts.query, parts.fragment))


@lru_cache(maxsize=64)
def _split_origin(origin: str):
    return urlsplit(origin)


@lru_cache(maxsize=64)
def _bare_origin(origin: str) -> str:
    parts = urlsplit(origin)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


class UrlHashes:
    """A set of URLs kept as their hashes: a few dozen bytes a URL instead of the URL, for the
    sets a crawl keeps of every page (a 50,000-article crawl asks for 35,000). Two URLs with
    the same 64-bit hash would be taken for one; at these sizes that is a one in 10^10 chance,
    and it would cost one page this run, which the next run fetches."""

    __slots__ = ("_hashes",)

    def __init__(self, urls: Iterable[str] = ()) -> None:
        self._hashes: set[int] = {hash(url) for url in urls}

    def __contains__(self, url: object) -> bool:
        return hash(url) in self._hashes

    def add(self, url: str) -> None:
        self._hashes.add(hash(url))

    def discard(self, url: str) -> None:
        self._hashes.discard(hash(url))

    def __len__(self) -> int:
        return len(self._hashes)
