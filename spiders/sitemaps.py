"""Reading the body of a sitemap or a feed: ungzipped if need be, in each form sitemaps.org
allows (XML, RSS or Atom, a text file of URLs), and whether it is whole.

A sitemap cut short (a transfer that stopped early without HTTP saying so, a gzip'd file cut
on disk) reads as a shorter sitemap: lxml recovers what comes before the cut, and Scrapy's
``gunzip`` returns what it could ungzip. Remembered with its validators as if whole, it was
answered 304 by the next runs, and the entries past the cut were never read while it stayed
unchanged (a month's sitemap, for good). ``SitemapBody.cut`` says so instead.
"""

from __future__ import annotations

import re
import zlib
from typing import Iterator, NamedTuple
from urllib.parse import urlsplit

from scrapy.http import Response
from scrapy.utils.gz import gzip_magic_number

# Output asked of zlib at a time, so that DOWNLOAD_MAXSIZE is checked as a body grows.
_GZIP_CHUNK = 1 << 20
# What may follow the root element's end tag: blanks, comments (Yoast SEO signs its sitemaps
# with one), processing instructions. Looked for in the body's last 4 KiB.
_EPILOGUE = rb"(?:\s|<!--.*?-->|<\?.*?\?>)*\Z"
_TAIL = 4096


class UnreadableBody(Exception):
    """A gzip'd sitemap or feed that cannot be ungzipped: ``kind`` says why, the failure's
    kind ("gzip_too_large", "bad_gzip")."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class SitemapBody(NamedTuple):
    """A response's body as read (``data``) and whether it is known to be cut short
    (``cut``): its gzip stream stops before its end, or Scrapy flagged the response
    ``dataloss`` (a body shorter than its Content-Length, let through with
    DOWNLOAD_FAIL_ON_DATALOSS off). An XML body is also judged by its end
    (``ends_whole``), which tells where HTTP cannot: a transfer closed early with no
    Content-Length."""

    data: bytes
    cut: bool


def read_body(response: Response, max_size: int = 0) -> SitemapBody:
    """The response's body, ungzipped if it is gzip'd (a ``.xml.gz`` served as a file, with no
    Content-Encoding); UnreadableBody if that fails."""
    flagged = "dataloss" in response.flags
    if not gzip_magic_number(response):
        return SitemapBody(response.body, flagged)
    data, whole = ungzip(response.body, max_size)
    return SitemapBody(data, flagged or not whole)


def ungzip(data: bytes, max_size: int = 0) -> tuple[bytes, bool]:
    """``data`` ungzipped, each of its members in turn, and whether the last one is whole
    (False: the stream stops before its end). UnreadableBody("gzip_too_large") past
    ``max_size`` bytes (0: no limit), UnreadableBody("bad_gzip") for a corrupt stream or a
    checksum that does not match. Bytes after the last member that start no other (zero
    padding, say) are ignored, as gzip(1) ignores them."""
    out = bytearray()
    while True:
        stream = zlib.decompressobj(wbits=31)  # a gzip header and trailer
        pending = data
        try:
            while not stream.eof:
                part = stream.decompress(pending, _GZIP_CHUNK)
                pending = stream.unconsumed_tail
                if not part and not pending:
                    break  # the input is spent and the stream not ended: cut short
                out += part
                if max_size and len(out) > max_size:
                    raise UnreadableBody("gzip_too_large", f"larger than DOWNLOAD_MAXSIZE "
                                         f"({max_size} bytes) once ungzipped")
        except zlib.error as exc:
            raise UnreadableBody("bad_gzip", f"cannot be ungzipped: {exc}") from None
        if not stream.eof:
            return bytes(out), False
        data = stream.unused_data
        if not data.startswith(b"\x1f\x8b"):
            return bytes(out), True


def ends_whole(body: bytes, root: str) -> bool:
    """Whether an XML body ends with the end tag of its root element (``root``, its local
    name), with nothing after it but blanks, comments and processing instructions. A body cut
    short does not, however much of it lxml, recovering, reads (its error log does not
    always say: a body that stops at a ``<`` logs only a missing name). Encodings other than
    ASCII's supersets (UTF-16) read as cut: the safe side, such a sitemap is read in full
    every run."""
    end = rb"</(?:[^\s<>/:]+:)?" + re.escape(root.encode()) + rb"\s*>" + _EPILOGUE
    return re.search(end, body[-_TAIL:], re.S) is not None


def whole_entries(entries: Iterator[dict], cut: bool) -> Iterator[dict]:
    """A sitemap's entries with a ``loc``; of one cut short, all but the last, whose ``loc``
    (or ``lastmod``) may stop at the cut: a URL of the site that does not exist, asked for
    and failed by every run until given up."""
    held = None
    for entry in entries:
        if not entry.get("loc"):
            continue
        if held is not None:
            yield held
        held = entry
    if held is not None and not cut:
        yield held


class TextSitemap:
    """A sitemap as a text file (sitemaps.org): one absolute URL a line, in UTF-8, nothing
    else, every one on the site. Read as a ``urlset`` whose entries have no ``lastmod``."""

    type = "urlset"

    def __init__(self, urls: list[str]) -> None:
        self.urls = urls

    @classmethod
    def read(cls, body: SitemapBody, hosts: set[str | None]) -> TextSitemap | None:
        """The body as a text sitemap; None unless every line is an http(s) URL on one of
        ``hosts`` (the site's): an HTML or plain-text maintenance page is none, nor is one
        that only names a status page elsewhere (a review's find: taken for a sitemap, its
        validators were kept as the sitemap's, and a 304 hid the month's edits). Of a body
        cut short, the last line is left out (it may stop mid-URL)."""
        data = body.data[:body.data.rfind(b"\n") + 1] if body.cut else body.data
        try:
            urls = data.decode("utf-8-sig").split()
        except UnicodeDecodeError:
            return None
        try:
            if urls and all(url.startswith(("https://", "http://"))
                            and urlsplit(url).hostname in hosts for url in urls):
                return cls(urls)
        except ValueError:  # a malformed URL (a bad port, say)
            pass
        return None

    def __iter__(self) -> Iterator[dict[str, str]]:
        return ({"loc": url} for url in self.urls)
