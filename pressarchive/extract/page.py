"""A parsed page and the readers every extractor shares: structured data, meta, text, dates."""

from __future__ import annotations

import datetime as dt
import json
import re
from functools import cached_property, lru_cache
from typing import Any, Iterable
from urllib.parse import urljoin, urlsplit

import cssselect
import parsel
from charset_normalizer import from_bytes
from dateutil import parser as dateparser
from lxml import etree
from parsel.csstranslator import HTMLTranslator
from parsel.selector import create_root_node
from w3lib.encoding import html_to_unicode

from ..urls import join_from_origin, joins_from_origin

ARTICLE_TYPES = {
    "Article", "NewsArticle", "ReportageNews", "AnalysisNewsArticle", "OpinionNewsArticle",
    "BackgroundNewsArticle", "BlogPosting", "Report", "LiveBlogPosting",
}
_NON_ASCII = re.compile(rb"[^\x00-\x7f]+")
_WESTERN = {"latin-1", "latin1", "iso-8859-1", "iso8859-1", "cp1252", "windows-1252", "ascii",
            "us-ascii"}
_BR = "\ue000"  # stands for <br> while white space is folded, then becomes "\n"
_PARAGRAPH_BREAK = re.compile(r"[ \t]*\n(?:[ \t]*\n)+[ \t]*")
BLOCK_TAGS = {
    "address", "article", "aside", "blockquote", "center", "dd", "details", "div", "dl", "dt",
    "fieldset", "figcaption", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hr", "main", "nav", "p", "pre", "section", "summary", "table", "tbody", "thead", "tr",
}
LIST_TAGS = {"ul", "ol"}


def decode_html(body: bytes, content_type: str | None = None) -> str:
    """Bytes to text as a browser would: BOM, then the HTTP header, then ``<meta charset>``,
    then detection, then UTF-8."""

    def detect(data: bytes) -> str | None:
        try:
            data.decode("utf-8")
            return "utf-8"
        except UnicodeDecodeError:
            pass
        # Markup is ASCII in every candidate charset; only the runs of other bytes tell them
        # apart, and a mostly-English page drowns a few Arabic words unless they stand alone.
        runs = b" ".join(_NON_ASCII.findall(data[:500_000]))
        best = from_bytes(runs).best()
        return best.encoding if best else None

    encoding, text = html_to_unicode(content_type, body, auto_detect_fun=detect)
    if encoding.replace("_", "-").lower() in _WESTERN and _NON_ASCII.search(body):
        # The commonest misconfiguration: UTF-8 pages declared Latin-1 by a server default.
        # Real Latin-1 text with accents is almost never valid UTF-8, so this is safe.
        try:
            return body.decode("utf-8").removeprefix("\ufeff")
        except UnicodeDecodeError:
            pass
    return text


def fold(text: str) -> str:
    """Runs of white space as one space, none at the ends.

    Same result as ``re.sub(r"\\s+", " ", text).strip()`` (``\\s`` and ``str.split()`` agree
    on every code point), at a fraction of the cost: this runs for every paragraph and link.
    """
    return " ".join(text.split())


_CSS = HTMLTranslator()  # the translator parsel's Selector.css uses for HTML


@lru_cache(maxsize=256)  # the extractors' selectors are constants: each is compiled once
def compiled_css(css: str) -> etree.XPath:
    """``css`` translated to XPath exactly as parsel does it, compiled once.

    A parsel ``.css()`` call translates the selector again and wraps every match in a new
    Selector, which was most of the extractor's time; this XPath applied to an lxml element
    finds the same nodes (attributes for ``::attr()``) in the same order.
    """
    return etree.XPath(_CSS.css_to_xpath(css), smart_strings=False)


def select(node, css: str) -> list[Any]:
    """Every match of ``css`` in ``node`` (itself included), in document order."""
    return compiled_css(css)(node)


def text_of(element) -> str | None:
    """The lxml element's text, white space folded."""
    return fold(" ".join(element.itertext())) or None


def chrome_in(element, chrome: tuple[str, ...]) -> set[Any]:
    """The elements inside the lxml ``element`` that match any of the ``chrome`` CSS selectors
    (the element itself aside), for ``paragraphs`` to leave out.

    All the selectors run as one (a CSS group). A match inside another match is left out with
    it either way; the text that follows a match (its ``.tail``) stays.
    """
    simple = _simple_group(chrome)
    matches = simple.matches(element) if simple else select(element, ", ".join(chrome))
    return {match for match in matches if match is not element}


class _SimpleGroup:
    """A group of selectors that are each a tag, a class, or a tag with one class (``figure,
    .embed, div.modal``), matched by one walk over the elements in Python.

    On the few dozen elements of an article body this is several times cheaper than the
    XPath, whose test for each of twenty selectors runs on every element. The tests are
    cssselect's for HTML: tag names as lxml has them (lower case), class tokens separated by
    XML white space (what normalize-space() splits on)."""

    def __init__(self, tags: set[str], classes: set[str], tag_classes: set[tuple[str, str]]):
        self.tags, self.classes, self.tag_classes = tags, classes, tag_classes

    def matches(self, node) -> list[Any]:
        """The matching elements of ``node`` (itself included), in document order."""
        found = []
        for element in node.iter(etree.Element):
            tag = element.tag
            if tag in self.tags:
                found.append(element)
                continue
            value = element.get("class")
            if value:
                tokens = set(value.translate(_XML_SPACE).split(" "))
                if not tokens.isdisjoint(self.classes) or any(
                        (tag, token) in self.tag_classes for token in tokens):
                    found.append(element)
        return found


_XML_SPACE = str.maketrans("\t\n\r", "   ")


@lru_cache(maxsize=64)
def _simple_group(selectors: tuple[str, ...]) -> _SimpleGroup | None:
    """The group as a _SimpleGroup, or None when a selector is more than a tag, a class or a
    tag with one class (then the XPath does the work)."""
    tags: set[str] = set()
    classes: set[str] = set()
    tag_classes: set[tuple[str, str]] = set()
    try:
        parsed = cssselect.parse(", ".join(selectors))
    except cssselect.SelectorError:
        return None
    for selector in parsed:
        tree = selector.parsed_tree
        if selector.pseudo_element is not None:
            return None
        if isinstance(tree, cssselect.parser.Element) and tree.element and \
                tree.namespace is None:
            tags.add(tree.element.lower())
        elif isinstance(tree, cssselect.parser.Class) and \
                isinstance(tree.selector, cssselect.parser.Element) and \
                tree.selector.namespace is None:
            if tree.selector.element:
                tag_classes.add((tree.selector.element.lower(), tree.class_name))
            else:
                classes.add(tree.class_name)
        else:
            return None
    return _SimpleGroup(tags, classes, tag_classes)


def paragraphs(element, chrome: tuple[str, ...] = ()) -> list[str]:
    """The element's text as paragraphs, following docs/record.md; elements that match a
    ``chrome`` selector are left out, with what is in them, but not the text after them.

    The tree is read as it is, not changed: leaving chrome out here gives the text that a copy
    with the chrome removed would give, without the copy."""
    skip = chrome_in(element, chrome) if chrome else ()
    out: list[str] = []
    buf: list[str] = []

    def flush() -> None:
        if not buf:
            return
        raw = fold("".join(buf))
        buf.clear()
        if _BR not in raw:
            # No <br>: one paragraph, already folded and stripped (the common case).
            if raw:
                out.append(raw)
            return
        raw = raw.replace(" " + _BR, _BR).replace(_BR + " ", _BR)
        for part in _PARAGRAPH_BREAK.split(raw.replace(_BR, "\n")):
            part = "\n".join(line.strip() for line in part.strip("\n").split("\n"))
            if part.strip():
                out.append(part.strip())

    def walk(node) -> None:
        if node.text:
            buf.append(node.text)
        for child in node:
            if skip and child in skip:
                if child.tail:
                    buf.append(child.tail)
                continue
            tag = child.tag if isinstance(child.tag, str) else ""
            if tag == "br":
                buf.append(_BR)
            elif tag in LIST_TAGS:
                flush()
                lines = []
                items = [item for item in child if item.tag == "li"  # ./li
                         and not (skip and item in skip)]
                for n, item in enumerate(items, 1):
                    marker = f"{n}." if tag == "ol" else "-"
                    text = fold(" ".join(_itertext(item, skip) if skip else item.itertext()))
                    if text:
                        lines.append(f"{marker} {text}")
                if lines:
                    out.append("\n".join(lines))
            elif tag in BLOCK_TAGS or tag == "li":
                flush()
                walk(child)
                flush()
            elif tag and tag not in ("script", "style", "template"):
                walk(child)
            if child.tail:
                buf.append(child.tail)

    walk(element)
    flush()
    return out


def _itertext(element, skip) -> Iterable[str]:
    """lxml's ``element.itertext()``, leaving out the elements in ``skip`` (not their tails)."""
    if element.text:
        yield element.text
    for child in element:
        if isinstance(child.tag, str) and child not in skip:
            yield from _itertext(child, skip)
        if child.tail:
            yield child.tail


def parse_datetime(value: str | None) -> str | None:
    """An ISO 8601 string with offset; naive times are UTC, a bare date is midnight UTC."""
    if not value or not value.strip():
        return None
    value = value.strip()
    try:
        stamp = dateparser.isoparse(value)
    except (ValueError, OverflowError):
        try:
            stamp = dateparser.parse(value)
        except (ValueError, OverflowError):
            return None
    if not isinstance(stamp, dt.datetime):
        stamp = dt.datetime.combine(stamp, dt.time())
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.timezone.utc)
    try:  # the archive keeps UTC: a time at the calendar's ends with an offset has none
        stamp.astimezone(dt.timezone.utc)
    except OverflowError:
        return None
    return stamp.isoformat()


ARABIC_MONTHS = {
    "يناير": "January", "كانون الثاني": "January", "فبراير": "February", "شباط": "February",
    "مارس": "March", "آذار": "March", "أبريل": "April", "ابريل": "April", "نيسان": "April",
    "مايو": "May", "أيار": "May", "يونيو": "June", "حزيران": "June", "يوليو": "July",
    "تموز": "July", "أغسطس": "August", "اغسطس": "August", "آب": "August", "سبتمبر": "September",
    "أيلول": "September", "أكتوبر": "October", "اكتوبر": "October", "تشرين الأول": "October",
    "نوفمبر": "November", "تشرين الثاني": "November", "ديسمبر": "December",
    "كانون الأول": "December",
}
_ARABIC_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩", "0123456789")
# Longest names first, so that "كانون الثاني" is read before a shorter name inside it.
_ARABIC_MONTHS_LONGEST_FIRST = sorted(ARABIC_MONTHS.items(), key=lambda kv: -len(kv[0]))
_NOT_DATE_CHARS = re.compile(r"[^\w:,/ -]+")


def parse_day(text: str | None) -> str | None:
    """A displayed date (``Friday, Jun 20, 2025``, or in Arabic) as ``YYYY-MM-DD``."""
    if not text or not text.strip():
        return None
    # dateutil takes what the text leaves out (the year, say) from today's date, so today
    # is part of the cache key.
    return _parse_day(text, dt.date.today())


@lru_cache(maxsize=1024)  # a masthead shows the same date on every page fetched that day
def _parse_day(text: str, today: dt.date) -> str | None:
    """parse_day's work; ``today`` only keys the cache."""
    text = text.translate(_ARABIC_DIGITS)
    for arabic, english in _ARABIC_MONTHS_LONGEST_FIRST:
        text = text.replace(arabic, f" {english} ")
    text = _NOT_DATE_CHARS.sub(" ", text)  # weekday names in Arabic and stray punctuation
    try:
        return dateparser.parse(text, fuzzy=True).date().isoformat()
    except (ValueError, OverflowError):
        return None


# Whole-page queries, compiled once (see compiled_css).
_META_WITH_CONTENT = etree.XPath("//meta[@content]")
_JSONLD_TEXT = etree.XPath('//script[@type="application/ld+json"]/text()', smart_strings=False)
_HTML_LANG = etree.XPath("/html/@lang", smart_strings=False)
_BODY_CLASS = etree.XPath("//body/@class", smart_strings=False)
_LANG_SEPARATOR = re.compile(r"[-_]")
# What makes parsel.Selector read a text as XML, not HTML: an XML declaration at its start.
_XML_DECLARATION = re.compile(r"[\s\ufeff]*<\?xml\s")


class Page:
    """A page parsed once, with the structured data every extractor reads first.

    parsel parses the page; the readers query the lxml tree it gives (``root``) with
    compiled XPath, and whole-page CSS queries are answered once per page (``select``).

    An HTML page is parsed as ``parsel.Selector`` parses it (its ``create_root_node``: the
    same cleaning, the same libxml2 parser), but into plain lxml elements, not ``lxml.html``
    ones: those look up their Python class in Python each time an element is touched, and
    our readers touch every element of the article. None of them uses what ``lxml.html``
    adds. A document that declares itself XML is parsed as parsel would, as XML.
    """

    def __init__(self, html: str, url: str):
        self.html = html
        self.url = url
        if not _XML_DECLARATION.match(html):
            self.root = create_root_node(html, etree.HTMLParser, base_url=url)
        else:
            self.root = parsel.Selector(text=html, base_url=url).root
        self._selected: dict[str, list[Any]] = {}
        self._selected_in: dict[tuple[str, str], list[Any]] = {}

    def select(self, css: str) -> list[Any]:
        """Every match of ``css`` in the page; the same list each time it is asked for
        (callers change neither the list nor the tree)."""
        if css not in self._selected:
            self._selected[css] = select(self.root, css)
        return self._selected[css]

    def first(self, css: str) -> Any:
        """The first match of ``css`` in the page, or None."""
        found = self.select(css)
        return found[0] if found else None

    def select_in(self, scope: str, css: str) -> list[Any]:
        """Every match of ``css`` inside the first match of ``scope`` (the article element, say),
        or in the whole page when it has no such element; the same list each time it is asked
        for.

        Cheaper than ``select``: each query walks the scope, not the page (an article is about
        a third of its page's elements), and the scope is found once. Only the scope is looked
        into when there is one: a byline in a sidebar is not the article's."""
        key = (scope, css)
        found = self._selected_in.get(key)
        if found is None:
            outer = self.first(scope)
            found = select(outer, css) if outer is not None else self.select(css)
            self._selected_in[key] = found
        return found

    def first_in(self, scope: str, css: str) -> Any:
        """The first of ``select_in(scope, css)``, or None."""
        found = self.select_in(scope, css)
        return found[0] if found else None

    def css_text(self, css: str, scope: Any = None) -> str | None:
        """The folded text of the first match of ``css`` (within the lxml element ``scope``,
        if given), or None."""
        # Not ``scope or ...``: an lxml element is false when it has no children.
        node = self.first(css) if scope is None else next(iter(select(scope, css)), None)
        return text_of(node) if node is not None else None

    @cached_property
    def _meta_content(self) -> dict[str, str]:
        """``content`` of the first ``<meta>`` (with a ``content``) that has each
        ``property``, ``name`` or ``itemprop`` value."""
        found: dict[str, str] = {}
        for element in _META_WITH_CONTENT(self.root):
            content = element.get("content")
            for attribute in ("property", "name", "itemprop"):
                key = element.get(attribute)
                if key is not None:
                    found.setdefault(key, content)
        return found

    def meta(self, *keys: str) -> str | None:
        """The first of ``keys`` the page's ``<meta>`` tags give a non-blank value, stripped."""
        for key in keys:
            value = self._meta_content.get(key)
            if value and value.strip():
                return value.strip()
        return None

    @cached_property
    def _jsonld_objects(self) -> list[tuple[set[str], dict[str, Any]]]:
        """Every JSON-LD object on the page (``@graph`` and lists looked into), with its types;
        a block that is not valid JSON is passed over, as search engines do."""
        found = []
        for raw in _JSONLD_TEXT(self.root):
            try:
                data = json.loads(raw)
            except ValueError:
                continue
            for obj in _walk_jsonld(data):
                types = obj.get("@type")
                types = types if isinstance(types, list) else [types]
                found.append(({t for t in types if isinstance(t, str)}, obj))
        return found

    @cached_property
    def jsonld(self) -> dict[str, Any]:
        """The page's first JSON-LD object of an article type, or {}."""
        return next((obj for types, obj in self._jsonld_objects if types & ARTICLE_TYPES), {})

    @cached_property
    def jsonld_types(self) -> set[str]:
        return {t for types, _ in self._jsonld_objects for t in types}

    @cached_property
    def lang(self) -> str | None:
        value = next(iter(_HTML_LANG(self.root)), None) or self.meta("og:locale", "language")
        if not value:
            return None
        return _LANG_SEPARATOR.split(value.strip())[0].lower() or None

    @cached_property
    def body_classes(self) -> set[str]:
        # lxml puts the <body> under <html>: looked for there first, which is far cheaper
        # than the XPath's walk over the whole page (still the answer when it is not there).
        body = next((child for child in self.root if child.tag == "body"), None) \
            if self.root.tag == "html" else None
        value = body.get("class") if body is not None else next(iter(_BODY_CLASS(self.root)), None)
        return set((value or "").split())

    def absolute(self, href: str | None) -> str | None:
        href = href.strip() if href else None
        if not href:
            return None
        if joins_from_origin(href):  # the same from every page of the site: joined once
            return join_from_origin(self.origin, href)
        return urljoin(self.url, href)

    @cached_property
    def origin(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"


def _walk_jsonld(data: Any) -> Iterable[dict[str, Any]]:
    if isinstance(data, list):
        for item in data:
            yield from _walk_jsonld(item)
    elif isinstance(data, dict):
        yield data
        if "@graph" in data:
            yield from _walk_jsonld(data["@graph"])
