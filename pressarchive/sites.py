"""Site profiles of the Arab Press family: names, public origins and the template they use."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Site:
    slug: str
    name: str
    origin: str  # public origin, e.g. https://arabpress.com
    family: str = "arabpress"

    @property
    def host(self) -> str:
        return urlsplit(self.origin).hostname or ""


SITES: dict[str, Site] = {
    site.slug: site
    for site in (
        Site("arabpress", "Arab Press", "https://arabpress.com"),
        Site("saudipress", "Saudi Press", "https://saudipress.com"),
    )
}


def site_for_url(url: str) -> Site | None:
    """The profile whose host serves ``url`` (``www.`` or not), or None."""
    host = (urlsplit(url).hostname or "").lower().removeprefix("www.")
    return next((s for s in SITES.values() if s.host == host), None)


def get_site(slug: str) -> Site:
    try:
        return SITES[slug]
    except KeyError:
        raise ValueError(f"unknown site {slug!r}; known: {', '.join(sorted(SITES))}") from None
