"""Page to record: a pure function of (html, url, fetched_at), with no Scrapy in sight.

Each field is read from structured data first (JSON-LD, ``article:*`` meta, ``<time>``), then
the site template's selectors, then the page's structure, and the record says which gave it.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Callable, Iterable
from urllib.parse import urlsplit

from ..record import Record
from ..sites import Site, get_site, site_for_url
from ..urls import canonical_url
from . import arabpress
from .generic import GENERIC
from .page import Page, decode_html, fold, parse_datetime
from .template import Template, choose

EXTRACTOR_VERSION = "1"
TEMPLATES: dict[str, list[Template]] = {"arabpress": arabpress.VERSIONS}
_ARABIC = re.compile(r"[\u0600-\u06FF]")
_LATIN = re.compile(r"[A-Za-z]")


class ExtractError(Exception):
    """A page that gives no record; ``key`` names the reason in crawl stats."""

    key = "error"

    def __init__(self, message: str, key: str | None = None):
        super().__init__(message)
        if key:
            self.key = key


class NotAnArticle(ExtractError):
    key = "not_article"


class InvalidArticle(ExtractError):
    key = "invalid"


def read_page(html: str | bytes, url: str, content_type: str | None = None) -> Page:
    """The page parsed (bytes decoded by their declared or detected charset); raises
    NotAnArticle for an empty one. ``extract`` takes the result, so a caller that reads more
    from the page (its links) parses it once."""
    if isinstance(html, bytes):
        html = decode_html(html, content_type)
    if not html.strip():
        raise NotAnArticle("empty page", key="empty")
    return Page(html, url)


def extract(
    html: str | bytes | Page,
    url: str,
    fetched_at: str | dt.datetime | None = None,
    *,
    site: str | None = None,
    content_type: str | None = None,
) -> Record:
    """The record of the article page ``html`` (text, bytes, or a page ``read_page`` parsed)
    found at (public) ``url``.

    Raises NotAnArticle for listings, tag, search and video pages, InvalidArticle for pages
    that look like articles but cannot be trusted (truncated).
    """
    page = html if isinstance(html, Page) else read_page(html, url, content_type)
    profile = get_site(site) if site else site_for_url(url)
    fetched = _fetched_at(fetched_at)
    template = _template_for(page, profile, fetched)
    if not template.is_complete(page):
        raise InvalidArticle("truncated HTML: the page stops before the article ends",
                             key="truncated")
    tmpl_source = "template" if template is not GENERIC else "structure"
    ld = page.jsonld

    headline, headline_src = _first(
        (lambda: fold(ld.get("headline") or "") or None, "jsonld"),
        (lambda: _strip_site_name(page.meta("og:title"), profile), "meta"),
        (lambda: template.headline(page), tmpl_source),
        (lambda: GENERIC.headline(page), "structure"),
    )
    body, body_src = _first(
        (lambda: _text_body(ld.get("articleBody")), "jsonld"),
        (lambda: template.body(page), tmpl_source),
        (lambda: GENERIC.body(page), "structure"),
    )
    published, published_src = _first(
        (lambda: parse_datetime(_str(ld.get("datePublished"))), "jsonld"),
        (lambda: parse_datetime(page.meta("article:published_time", "datePublished")), "meta"),
        (lambda: template.published_at(page), "time"),
    )
    modified, _ = _first(
        (lambda: parse_datetime(_str(ld.get("dateModified"))), "jsonld"),
        (lambda: parse_datetime(page.meta("article:modified_time", "og:updated_time",
                                          "dateModified")), "meta"),
    )
    summary = template.summary(page) if template is not GENERIC else (
        fold(_str(ld.get("description")) or "") or page.meta("og:description", "description"))
    record = Record(
        url=_canonical(page, profile),
        site=profile.slug if profile else _host(url),
        headline=headline or "",
        summary=summary or None,
        body=body or "",
        related=_related(template.related(page)),
        published_at=published,
        modified_at=modified,
        page_date=template.page_date(page),
        language=page.lang or _guess_language(body or headline or ""),
        authors=_authors(ld) or _split_names(page.meta("author")) or template.authors(page),
        section=_section(ld) or page.meta("article:section") or template.section(page),
        images=_images(page, ld, template.figures(page)),
        sources={"headline": headline_src, "body": body_src, "published_at": published_src,
                 "extractor": template.name},
        fetched_at=fetched.isoformat(),
    )
    return record


def validate(record: Record) -> None:
    """Raise InvalidArticle unless the record has what every article has."""
    if not record.headline.strip():
        raise InvalidArticle("no headline", key="no_headline")
    if not record.body.strip():
        raise InvalidArticle("empty body", key="empty_body")


def _template_for(page: Page, profile: Site | None, fetched: dt.datetime) -> Template:
    """The template version in effect when the page was fetched, or the generic extractor;
    raises NotAnArticle for pages that are not articles, InvalidArticle for one cut short
    before anything tells."""
    versions = TEMPLATES.get(profile.family, []) if profile else []
    template = choose(versions, fetched.date())
    if page.jsonld:
        return template if template and template.fits(page) else GENERIC
    og_type = (page.meta("og:type") or "").lower()
    if og_type and og_type != "article":
        raise NotAnArticle(f"not an article (og:type {og_type})")
    if page.jsonld_types & {"VideoObject", "CollectionPage", "SearchResultsPage", "WebSite"}:
        raise NotAnArticle("not an article (JSON-LD " + ", ".join(sorted(page.jsonld_types)) + ")")
    if template and template.is_listing(page):
        raise NotAnArticle("not an article (listing, tag, search or video page)")
    if template and template.fits(page):
        return template
    if GENERIC.fits(page):
        return GENERIC
    if _starts_as_html(page) and not GENERIC.is_complete(page):
        # An article cut short before its text (a transfer closed early) looks like a page
        # with none: taken for one, it was kept as a page that is no article, with the whole
        # page's validators, and every later 304 left the article out (a helper's soak). Not
        # what is no HTML at all (a PDF served as text/html): that has no end to reach.
        raise InvalidArticle("truncated HTML: the page stops before any article text",
                             key="truncated")
    raise NotAnArticle("not an article (no article text found)")


def _starts_as_html(page: Page) -> bool:
    """Whether the page's source opens as an HTML document (a doctype, ``<html>`` or
    ``<head>`` in its first kilobyte)."""
    head = page.html[:1024].lower()
    return "<!doctype html" in head or "<html" in head or "<head" in head


def _first(*candidates: tuple[Callable[[], Any], str]) -> tuple[Any, str | None]:
    for get, source in candidates:
        value = get()
        if value:
            return value, source
    return None, None


def _fetched_at(value: str | dt.datetime | None) -> dt.datetime:
    if value is None:
        return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def _str(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, str) else None


def _text_body(value: Any) -> str | None:
    text = _str(value)
    if not text:
        return None
    paragraphs = [fold(p) for p in re.split(r"\n\s*\n", text)]
    return "\n\n".join(p for p in paragraphs if p) or None


def _strip_site_name(title: str | None, profile: Site | None) -> str | None:
    if not title:
        return None
    title = fold(title)
    if profile:
        for sep in (" | ", " - ", " – ", " — "):
            title = title.removesuffix(sep + profile.name)
    return title or None


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").removeprefix("www.")


def _canonical(page: Page, profile: Site | None) -> str:
    """rel=canonical, else og:url, else the fetched URL: the first that stays on this site."""
    own_host = profile.host if profile else _host(page.url)
    for candidate in (page.first('link[rel~="canonical"]::attr(href)'),
                      page.meta("og:url")):
        href = page.absolute(candidate)
        if href and _host(href) == own_host:
            return canonical_url(href)
    return canonical_url(page.url)


def _related(links: Iterable[dict[str, str]]) -> list[dict[str, str]]:
    seen: set[str] = set()
    out = []
    for link in links:
        url = canonical_url(link["url"])
        if url not in seen:
            seen.add(url)
            out.append({"title": link["title"], "url": url})
    return out


def _names(value: Any) -> list[str]:
    if isinstance(value, list):
        return [name for item in value for name in _names(item)]
    if isinstance(value, dict):
        return _names(value.get("name"))
    if isinstance(value, str) and value.strip():
        return [fold(value)]
    return []


def _authors(ld: dict[str, Any]) -> list[str]:
    return _names(ld.get("author"))


def _split_names(value: str | None) -> list[str]:
    return [fold(n) for n in value.split(",") if n.strip()] if value else []


def _section(ld: dict[str, Any]) -> str | None:
    return _str(ld.get("articleSection"))


def _images(page: Page, ld: dict[str, Any], figures: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Lead images from JSON-LD and og:image, then the body's figures; one entry per URL,
    a figure's caption filling in a lead image's."""
    lead = [url for item in _as_list(ld.get("image")) if (url := _image_url(item))]
    if page.meta("og:image"):
        lead.append(page.meta("og:image"))
    images: dict[str, dict[str, Any]] = {}
    for url in lead:
        url = page.absolute(url)
        if url and url not in images:
            images[url] = {"url": url, "caption": None}
    for fig in figures:
        entry = images.setdefault(fig["url"], {"url": fig["url"], "caption": None})
        entry["caption"] = entry["caption"] or fig["caption"]
    return list(images.values())


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value else []


def _image_url(item: Any) -> str | None:
    if isinstance(item, dict):
        return _str(item.get("url") or item.get("contentUrl"))
    return _str(item)


def _guess_language(text: str) -> str | None:
    arabic, latin = len(_ARABIC.findall(text)), len(_LATIN.findall(text))
    if not arabic and not latin:
        return None
    return "ar" if arabic > latin else "en"
