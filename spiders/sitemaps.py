"""Reading the body of a sitemap or a feed: ungzipped if need be, in each form sitemaps.org
allows (XML, RSS or Atom, a text file of URLs), and whether it is whole.

A sitemap cut short (a transfer that stopped early without HTTP saying so, a gzip'd file cut
on disk) reads as a shorter sitemap: lxml recovers what comes before the cut, and Scrapy's
``gunzip`` returns what it could ungzip. Remembered with its validators as if whole, it was
answered 304 by the next runs, and the entries past the cut were never read while it stayed
unchanged (a month's sitemap, for good). ``SitemapBody.cut`` says so instead.
"""

from __future__ import annotations

import functools
import re
import zlib
from typing import Iterator, NamedTuple
from urllib.parse import urlsplit

from scrapy.http import Response
from scrapy.utils.gz import gzip_magic_number

# Output asked of zlib at a time, so that DOWNLOAD_MAXSIZE is checked as a body grows, and
# input given at a time, so that a body of many members is not copied once a member.
_GZIP_CHUNK = 1 << 20
_GZIP_INPUT = 1 << 16


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
    DOWNLOAD_FAIL_ON_DATALOSS off). That is what tells for a text sitemap; an XML body is
    judged by its root element's end tag alone (``ends_whole``), which tells where HTTP
    cannot (a transfer closed early with no Content-Length) and needs neither."""

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
    view, taken = memoryview(data), 0  # how much of data zlib has been given
    try:
        while True:
            stream = zlib.decompressobj(wbits=31)  # a gzip header and trailer
            while not stream.eof:
                if stream.unconsumed_tail:  # what the last output's limit left over
                    piece = stream.unconsumed_tail
                else:
                    piece = view[taken:taken + _GZIP_INPUT]
                    taken += len(piece)
                part = stream.decompress(piece, _GZIP_CHUNK)
                if not part and not piece:
                    break  # the input is spent and the stream not ended: cut short
                out += part
                if max_size and len(out) > max_size:
                    raise UnreadableBody("gzip_too_large", f"larger than DOWNLOAD_MAXSIZE "
                                         f"({max_size} bytes) once ungzipped")
            if not stream.eof:
                return bytes(out), False
            taken -= len(stream.unused_data)  # given, but past this member's end
            if not data.startswith(b"\x1f\x8b", taken):
                return bytes(out), True
    except zlib.error as exc:
        raise UnreadableBody("bad_gzip", f"cannot be ungzipped: {exc}") from None


def ends_whole(body: bytes, root: str) -> bool:
    """Whether an XML body holds the end of its root element (``root``, its local name): its
    end tag, or the root written empty (``<urlset/>``). Once the root is closed every entry
    is whole, whatever follows it (a PHP notice, a host's script, NUL bytes: whole sitemaps
    all, which a test of the body's very end took for cut every run). A body cut short does
    not hold it, however much of it lxml, recovering, reads (its error log does not always
    say: a body that stops at a ``<`` logs only a missing name). UTF-16 with a byte-order
    mark is judged decoded."""
    if body[:2] in (b"\xff\xfe", b"\xfe\xff"):
        body = body.decode("utf-16", errors="replace").encode()
    end = _root_end(root)
    # Near the end first, where it nearly always is (a 10 MB sitemap read whole: 35 ms).
    return bool(end.search(body, max(0, len(body) - _GZIP_INPUT)) or end.search(body))


@functools.lru_cache(maxsize=16)
def _root_end(root: str) -> re.Pattern[bytes]:
    name = rb"(?:[^\s<>/:]+:)?" + re.escape(root.encode())
    return re.compile(rb"</" + name + rb"\s*>|<" + name + rb"(?:\s[^<>]*)?/>")


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
