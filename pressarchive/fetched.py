"""What a spider hands to the pipelines: a fetched page, not yet read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from .lastmods import last_modified as read_last_modified
from .storage.crawlstate import Fetch, stored_time


@dataclass
class FetchedPage:
    url: str  # the page's public URL (a local mirror's URL is mapped back to the site's)
    final_url: str  # the URL actually fetched, after redirects
    status: int
    headers: dict[str, str]
    body: bytes
    fetched_at: str  # ISO 8601 with offset
    site: str
    requested_url: str = ""  # the public URL asked for, before redirects: the crawl state's key
    lastmod: str | None = None  # the sitemap's lastmod for it, when a sitemap led here
    sitemap: str | None = None  # that sitemap (public URL), with the lastmod
    # The page is older than the lastmod its sitemap gave it: the crawl state is to keep no
    # lastmod for it, not even an earlier one (see FamilySpider._unvouched).
    forget_lastmod: bool = False
    # Its sitemap's lastmods are one time for all, the time it was made (lastmods.stamped):
    # the crawl state starts the page on its revisits at once (crawlstate.Fetch.stamped).
    stamped: bool = False
    # Asked for conditionally (If-Modified-Since or If-None-Match): a 200 to it with an edit
    # shows the site's validators at work (crawlstate.note_validators).
    conditional: bool = False
    follow: bool = False  # whether the crawl wants the page's links (read where it is parsed)
    # The crawl waits on this page's links to go on (the front page, a listing's next page):
    # the archive pipeline sends its batch at once instead of waiting for the batch to fill.
    waited_on: bool = False
    # Where the response is kept as WARC (a pressarchive.warc.Capture), when the crawl keeps
    # them (WARC_DIR): the archive links the page to it (the captures table).
    warc: Any = None
    record: Any = field(default=None, repr=False)  # the Record, once the page was extracted
    # The failure the archive recorded the page as (a soft 404: an archived article's URL
    # answering a page with none), set by the archive pipeline: a failure to retry, which
    # settles its sitemap entry as a failed fetch does (FamilySpider.page_unsettled).
    failed_as: str | None = None
    # Where the page's links go back to the spider: called by the archive pipeline with the
    # new links the ingester found (a PageLinks), or None. It stays in the crawl process.
    follow_links: Callable[[Any], None] | None = field(default=None, repr=False, compare=False)

    def __getstate__(self) -> dict:  # pickled for the ingest worker: without the callback
        return {**self.__dict__, "follow_links": None}

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)

    @property
    def content_type(self) -> str:
        return self.header("Content-Type") or ""

    @property
    def last_modified(self) -> str | None:
        """Its ``Last-Modified`` as the crawl state records it (``lastmods.last_modified``:
        none if unreadable, its ``Date`` if later), read here, in the ingest worker, not in
        the crawl process for every page."""
        return read_last_modified(self.header("Last-Modified"), self.header("Date"))

    def __repr__(self) -> str:  # keeps Scrapy's log lines short: no body bytes
        return f"<FetchedPage {self.status} {self.url} {len(self.body)} bytes>"


@dataclass
class FetchFailure:
    """A URL that could not be fetched even after retries (or will not be: a 404)."""

    url: str  # public URL asked for
    site: str
    kind: str  # e.g. http_503, timeout, connection, truncated, dns, redirect_loop
    message: str
    failed_at: str
    retry: bool = True  # whether a later run should try it again
    role: str | None = None  # "sitemap" or "feed": what it was asked for as (None: a page)


def fetch_of(page: FetchedPage) -> Fetch:
    """The crawl-state entry for a fetched page: its URL as asked for, validators, lastmod."""
    return Fetch(site=page.site, url=page.requested_url or page.url,
                 fetched_at=stored_time(page.fetched_at), status=page.status,
                 etag=page.header("ETag"), last_modified=page.last_modified,
                 lastmod=page.lastmod, sitemap=page.sitemap, forget_lastmod=page.forget_lastmod,
                 conditional=page.conditional, stamped=page.stamped)
