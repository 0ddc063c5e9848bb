"""A parsed page and the readers every extractor shares: structured data, meta, text, dates."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from functools import cached_property
from typing import Any, Iterable
from urllib.parse import urljoin

import parsel
from charset_normalizer import from_bytes
from dateutil import parser as dateparser
from w3lib.encoding import html_to_unicode

ARTICLE_TYPES = {
    "Article", "NewsArticle", "ReportageNews", "AnalysisNewsArticle", "OpinionNewsArticle",
    "BackgroundNewsArticle", "BlogPosting", "Report", "LiveBlogPosting",
}
_FOLD = re.compile(r"\s+")
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
    return _FOLD.sub(" ", text).strip()


def text_of(selector: parsel.Selector) -> str | None:
    """The element's text, white space folded (lxml's itertext: no per-node selectors)."""
    return fold(" ".join(selector.root.itertext())) or None


def drop(element) -> None:
    """Remove ``element`` but keep the text that follows it (lxml keeps it in ``.tail``)."""
    parent = element.getparent()
    if parent is None:
        return
    if element.tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    parent.remove(element)


def without(selector: parsel.Selector, chrome: Iterable[str]) -> Any:
    """A copy of the selector's element with every ``chrome`` CSS match removed."""
    root = copy.deepcopy(selector.root)
    copy_sel = parsel.Selector(root=root, type="html")
    for css in chrome:
        for match in copy_sel.css(css):
            if match.root is not root:
                drop(match.root)
    return root


def paragraphs(element) -> list[str]:
    """The element's text as paragraphs, following docs/record.md."""
    out: list[str] = []
    buf: list[str] = []

    def flush() -> None:
        raw = fold("".join(buf)).replace(" " + _BR, _BR).replace(_BR + " ", _BR)
        buf.clear()
        for part in _PARAGRAPH_BREAK.split(raw.replace(_BR, "\n")):
            part = "\n".join(line.strip() for line in part.strip("\n").split("\n"))
            if part.strip():
                out.append(part.strip())

    def walk(node) -> None:
        if node.text:
            buf.append(node.text)
        for child in node:
            tag = child.tag if isinstance(child.tag, str) else ""
            if tag == "br":
                buf.append(_BR)
            elif tag in LIST_TAGS:
                flush()
                lines = []
                for n, item in enumerate(child.xpath("./li"), 1):
                    marker = f"{n}." if tag == "ol" else "-"
                    text = fold(" ".join(item.itertext()))
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


def parse_day(text: str | None) -> str | None:
    """A displayed date (``Friday, Jun 20, 2025``, or in Arabic) as ``YYYY-MM-DD``."""
    if not text or not text.strip():
        return None
    text = text.translate(_ARABIC_DIGITS)
    for arabic, english in sorted(ARABIC_MONTHS.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(arabic, f" {english} ")
    text = re.sub(r"[^\w:,/ -]+", " ", text)  # weekday names in Arabic and stray punctuation
    try:
        return dateparser.parse(text, fuzzy=True).date().isoformat()
    except (ValueError, OverflowError):
        return None


class Page:
    """A page parsed once, with the structured data every extractor reads first."""

    def __init__(self, html: str, url: str):
        self.html = html
        self.url = url
        self.sel = parsel.Selector(text=html, base_url=url)

    def css_text(self, css: str, scope: parsel.Selector | None = None) -> str | None:
        """The folded text of the first match of ``css``, or None."""
        node = (scope or self.sel).css(css)
        return text_of(node[0]) if node else None

    def meta(self, *keys: str) -> str | None:
        for key in keys:
            value = self.sel.xpath(
                "//meta[@property=$k or @name=$k or @itemprop=$k]/@content", k=key
            ).get()
            if value and value.strip():
                return value.strip()
        return None

    @cached_property
    def _jsonld_objects(self) -> list[tuple[set[str], dict[str, Any]]]:
        """Every JSON-LD object on the page (``@graph`` and lists looked into), with its types;
        a block that is not valid JSON is passed over, as search engines do."""
        found = []
        for raw in self.sel.xpath('//script[@type="application/ld+json"]/text()').getall():
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
        value = self.sel.xpath("/html/@lang").get() or self.meta("og:locale", "language")
        if not value:
            return None
        return re.split(r"[-_]", value.strip())[0].lower() or None

    @property
    def body_classes(self) -> set[str]:
        return set((self.sel.xpath("//body/@class").get() or "").split())

    def absolute(self, href: str | None) -> str | None:
        return urljoin(self.url, href.strip()) if href and href.strip() else None


def _walk_jsonld(data: Any) -> Iterable[dict[str, Any]]:
    if isinstance(data, list):
        for item in data:
            yield from _walk_jsonld(item)
    elif isinstance(data, dict):
        yield data
        if "@graph" in data:
            yield from _walk_jsonld(data["@graph"])
