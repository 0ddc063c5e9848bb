"""What a spider hands to the pipelines: a fetched page, not yet read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class FetchedPage:
    url: str  # the page's public URL (a local mirror's URL is mapped back to the site's)
    final_url: str  # the URL actually fetched, after redirects
    status: int
    headers: dict[str, str]
    body: bytes
    fetched_at: str  # ISO 8601 with offset
    site: str
    record: Any = field(default=None, repr=False)  # the Record, once the extract pipeline ran

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    def __repr__(self) -> str:  # keeps Scrapy's log lines short: no body bytes
        return f"<FetchedPage {self.status} {self.url} {len(self.body)} bytes>"
