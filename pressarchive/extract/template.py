"""What a site template answers; the generic extractor answers the same from page structure."""

from __future__ import annotations

import datetime as dt

from .page import Page


class Template:
    """One version of one site family's page template. Each field is one small method;
    a method returns None (or an empty list) when the template does not say."""

    name = "template"
    family = ""
    valid_from = dt.date.min

    def fits(self, page: Page) -> bool:
        raise NotImplementedError

    def is_listing(self, page: Page) -> bool:
        return False

    def is_complete(self, page: Page) -> bool:
        """False when the page was cut off (a truncated body must not pass for an article)."""
        return reaches_end(page.html)

    def headline(self, page: Page) -> str | None:
        return None

    def summary(self, page: Page) -> str | None:
        return None

    def body(self, page: Page) -> str | None:
        return None

    def page_date(self, page: Page) -> str | None:
        return None

    def published_at(self, page: Page) -> str | None:
        return None

    def related(self, page: Page) -> list[dict[str, str]]:
        return []

    def authors(self, page: Page) -> list[str]:
        return []

    def section(self, page: Page) -> str | None:
        return None

    def figures(self, page: Page) -> list[dict[str, str | None]]:
        return []


def choose(versions: list[Template], fetched_on: dt.date) -> Template | None:
    """The newest version in effect on ``fetched_on``."""
    in_effect = [v for v in versions if v.valid_from <= fetched_on]
    return max(in_effect, key=lambda v: v.valid_from, default=None)


def reaches_end(html: str) -> bool:
    """Whether an HTML source reaches its end: ``</body>`` or ``</html>`` in its last 2 KiB
    (a page cut short stops before them)."""
    tail = html[-2048:].lower()
    return "</html>" in tail or "</body>" in tail
