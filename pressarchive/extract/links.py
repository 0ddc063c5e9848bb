"""The links a page offers a crawler, as written: every ``<a href>``, the ``rel=next`` ones,
the feeds it names, and its ``<base href>``. Resolving and filtering them is the spider's job
(it knows the site and what it has asked for); reading them is done where the page is parsed
anyway, so that a crawl parses each page once."""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml.etree import XPath

FEED_TYPES = ("application/rss+xml", "application/atom+xml")

_HREFS = XPath("//a/@href", smart_strings=False)
_NEXT = XPath("//a[@rel='next']/@href | //link[@rel='next']/@href", smart_strings=False)
_FEEDS = XPath("//link[@rel='alternate'][@type=$a or @type=$b]/@href", smart_strings=False)
_BASE = XPath("//base/@href", smart_strings=False)


@dataclass
class PageLinks:
    base: str | None = None  # the page's <base href>, if it has one
    hrefs: list[str] = field(default_factory=list)  # distinct, in page order
    next: list[str] = field(default_factory=list)  # pagination: rel=next
    feeds: list[str] = field(default_factory=list)  # RSS/Atom feeds the page links to


def read_links(root) -> PageLinks:
    """The links of the page whose lxml tree is ``root``."""
    base = _BASE(root)
    return PageLinks(
        base=base[0].strip() if base else None,
        hrefs=list(dict.fromkeys(href.strip() for href in _HREFS(root))),
        next=[href.strip() for href in _NEXT(root)],
        feeds=[href.strip() for href in _FEEDS(root, a=FEED_TYPES[0], b=FEED_TYPES[1])])
