"""The fallback extractor: reads a page by its structure when no site template fits it."""

from __future__ import annotations

from collections import defaultdict

from lxml import etree

from .page import Page, fold, paragraphs, parse_datetime
from .template import Template

CHROME = (
    "script", "style", "noscript", "nav", "aside", "footer", "form", "figure", "iframe",
    "button", "[hidden]", "[class*=share]", "[class*=related]", "[class*=newsletter]",
    "[class*=audio]", "[class*=modal]", "[class*=read-also]", "[class*=advert]", "[class*=ad-]",
    "[class*=comment]", "[class*=embed]",
)
MIN_BODY_CHARS = 200
_BODY_PARAGRAPHS = etree.XPath("//body//p")


class Generic(Template):
    name = "generic"

    def fits(self, page: Page) -> bool:
        return self._body_node(page) is not None

    def _body_node(self, page: Page):
        """The element whose own <p> children hold the most text: the article's container."""
        if "_generic_body" in page.__dict__:
            return page.__dict__["_generic_body"]
        scores: dict = defaultdict(int)
        for p in _BODY_PARAGRAPHS(page.root):
            parent = p.getparent()
            scores[parent] += len(fold(" ".join(p.itertext())))
        best = max(scores.items(), key=lambda kv: kv[1], default=(None, 0))
        node = best[0] if best[1] >= MIN_BODY_CHARS else None
        page.__dict__["_generic_body"] = node
        return node

    def headline(self, page: Page) -> str | None:
        heading = page.css_text("h1")
        if heading:
            return heading
        title = page.css_text("title")
        return title.rsplit(" | ", 1)[0].rsplit(" - ", 1)[0].strip() if title else None

    def body(self, page: Page) -> str | None:
        node = self._body_node(page)
        if node is None:
            return None
        return "\n\n".join(paragraphs(node, CHROME)) or None

    def published_at(self, page: Page) -> str | None:
        return parse_datetime(page.first("article time[datetime]::attr(datetime)"))

    def authors(self, page: Page) -> list[str]:
        byline = page.css_text("[rel=author]") or page.css_text("[class*=byline]")
        return [byline.removeprefix("By ").strip()] if byline else []


GENERIC = Generic()
