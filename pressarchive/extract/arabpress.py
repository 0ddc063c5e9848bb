"""The Arab Press family template (arabpress.com, saudipress.com), one class per version.

Selectors are our reconstruction (docs/template.md): the real HTML has never been seen here.
When the site changes its template, add a class with the date it took effect; the old one
keeps reading old pages, chosen by fetch date.
"""

from __future__ import annotations

import datetime as dt

from .page import Page, paragraphs, parse_datetime, parse_day, select, text_of
from .template import Template


class ArabPressV1(Template):
    name = "arabpress-v1"
    family = "arabpress"
    valid_from = dt.date(2000, 1, 1)

    ARTICLE = "article.article"
    HEADLINE = "h1.article-title"
    SUMMARY = "div.article-summary"
    BODY = "div.article-body"
    MASTHEAD_DATE = "header.site-header .masthead-date"
    RELATED_LINKS = "section.related ul.related-list a"
    BYLINE = ".article-meta .byline"
    SECTION = ".article-meta a.article-section"
    TIME = "article.article .article-meta time[datetime]"
    FIGURES = "div.article-body figure"
    AFTER_ARTICLE = "aside.newsletter, section.related, div.modal"
    NOT_ARTICLE_BODY_CLASSES = {"page-listing", "page-tag", "page-search", "page-video",
                                "page-home", "page-section"}
    # Page chrome that the template sometimes lets into the body.
    BODY_CHROME = (
        "figure", ".read-also", ".embed", ".embed-post", ".twitter-tweet", ".instagram-media",
        "iframe", "video", "audio", ".audio-player", ".share-bar", ".newsletter", ".ad-slot",
        ".related", ".modal", "script", "style", "noscript", "form", "button",
    )

    # The article's own parts (headline, meta, summary, body, figures) are looked for inside
    # ARTICLE (Page.select_in), the page's chrome (masthead, related list, what follows the
    # article) in the whole page.

    def _part(self, page: Page, css: str) -> list:
        return page.select_in(self.ARTICLE, css)

    def _text(self, page: Page, css: str) -> str | None:
        node = page.first_in(self.ARTICLE, css)
        return text_of(node) if node is not None else None

    def fits(self, page: Page) -> bool:
        return bool(self._part(page, self.BODY)) and bool(self._part(page, self.HEADLINE))

    def is_complete(self, page: Page) -> bool:
        # Sloppy pages may lack </body></html>; a page that stops before the chrome that
        # always follows the article was cut off.
        return bool(page.select(self.AFTER_ARTICLE)) or super().is_complete(page)

    def is_listing(self, page: Page) -> bool:
        return bool(page.body_classes & self.NOT_ARTICLE_BODY_CLASSES)

    def headline(self, page: Page) -> str | None:
        return self._text(page, self.HEADLINE)

    def summary(self, page: Page) -> str | None:
        node = page.first_in(self.ARTICLE, self.SUMMARY)
        if node is None:
            return None
        return "\n\n".join(paragraphs(node, self.BODY_CHROME)) or None

    def body(self, page: Page) -> str | None:
        node = page.first_in(self.ARTICLE, self.BODY)
        if node is None:
            return None
        return "\n\n".join(paragraphs(node, self.BODY_CHROME))

    def page_date(self, page: Page) -> str | None:
        return parse_day(page.css_text(self.MASTHEAD_DATE))

    def published_at(self, page: Page) -> str | None:
        return parse_datetime(page.first_in(self.ARTICLE, self.TIME + "::attr(datetime)"))

    def related(self, page: Page) -> list[dict[str, str]]:
        return [
            {"title": title, "url": href}
            for link in page.select(self.RELATED_LINKS)
            if (title := text_of(link))
            and (href := page.absolute(link.get("href")))
        ]

    def authors(self, page: Page) -> list[str]:
        byline = self._text(page, self.BYLINE)
        if not byline:
            return []
        byline = byline.removeprefix("By ").removeprefix("by ").strip()
        return [name.strip() for name in byline.replace(" and ", ",").split(",") if name.strip()]

    def section(self, page: Page) -> str | None:
        return self._text(page, self.SECTION)

    def figures(self, page: Page) -> list[dict[str, str | None]]:
        out = []
        for fig in self._part(page, self.FIGURES):
            src = next(iter(select(fig, "img::attr(src), img::attr(data-src)")), None)
            if src:
                out.append({"url": page.absolute(src), "caption": page.css_text("figcaption", fig)})
        return out


VERSIONS = [ArabPressV1()]
