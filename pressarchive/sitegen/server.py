"""Serves a SiteFamily over HTTP/1.1 on 127.0.0.1, one port per site, with injectable faults.

One asyncio event loop in a background thread runs every listener; the HTTP is a minimal
keep-alive implementation over asyncio streams (http.server parses each request through the
email package and, with a thread per connection, cannot keep up with a crawl benchmark).
Rendered pages are cached until the family's day changes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import socket
import struct
import threading
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass, fields
from email.utils import format_datetime, formatdate, parsedate_to_datetime
from typing import Callable
from urllib.parse import parse_qs, urlsplit

from .model import SiteFamily, hash_of
from .render import (FAULT_FREE_PREFIXES, Page, gzip_sitemap, local_lastmods, not_found,
                     render_page, render_robots, restamp_sitemap, route_key)

REASONS = {200: "OK", 301: "Moved Permanently", 302: "Found", 304: "Not Modified",
           400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
           429: "Too Many Requests",
           431: "Request Header Fields Too Large", 500: "Internal Server Error",
           502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}
ERROR_BODY = (b"<!DOCTYPE html>\n<html><body><h1>Server error</h1>"
              b"<p>Please try again later.</p></body></html>")
OFFSITE = "https://evil.example.net"
HUBS = frozenset({"home", "section", "tag", "search", "videos", "video"})


@dataclass
class Faults:
    """Per-request fault probabilities. The draw for a request is a hash of (seed, site,
    request target, attempt number of that target), so it is reproducible, and attempt n is
    faulted with probability ``p * retry_factor ** (n - 1)``: a retry usually succeeds.
    Faults hit article pages only (not robots, sitemaps, feeds, listings, or the hops of a
    redirect fault) unless ``faults_on_all``; with ``targets`` (paths as the server routes
    them, such as ``/sitemaps/2024-05.xml``: lower case, no trailing slash), only those pages,
    however their URL is spelled. When probabilities add up to more than 1, the kinds listed
    first win."""

    seed: int = 0
    error_5xx: float = 0.0  # 500, 502 or 504
    error_503_retry_after: float = 0.0  # 503 with Retry-After: 1
    error_429: float = 0.0  # 429 with Retry-After: 1
    slow: float = 0.0  # answer after slow_seconds
    slow_seconds: float = 2.0
    timeout: float = 0.0  # say nothing for timeout_seconds, then close
    timeout_seconds: float = 5.0
    reset: float = 0.0  # half the response, then a TCP reset
    truncated: float = 0.0  # Content-Length of the whole body, half of it sent, then close
    soft_404: float = 0.0  # 200 with a "Page not found" page
    redirect_chain: float = 0.0  # 301 -> 302 -> the article (at /article/<slug>)
    redirect_loop: float = 0.0  # 302 /loop/a/... <-> /loop/b/... forever
    offsite_redirect: float = 0.0  # 302 to https://evil.example.net/...
    # 200 with the first half of the body, its Content-Length and ETag saying so: a file cut
    # on disk, or a cache holding a partial copy; nothing at the HTTP level tells.
    cut_file: float = 0.0
    retry_factor: float = 0.1
    faults_on_all: bool = False
    targets: tuple[str, ...] = ()  # when given, the only pages (routed paths) faults hit

    # New kinds go last: a draw picks the same kind as before for every kind listed before.
    KINDS = ("error_5xx", "error_503_retry_after", "error_429", "slow", "timeout", "reset",
             "truncated", "soft_404", "redirect_chain", "redirect_loop", "offsite_redirect",
             "cut_file")

    def __post_init__(self) -> None:
        for name in (*self.KINDS, "retry_factor"):
            if not 0.0 <= float(getattr(self, name)) <= 1.0:
                raise ValueError(f"fault {name} must be a probability within [0, 1]")
        if self.slow_seconds < 0 or self.timeout_seconds < 0:
            raise ValueError("slow_seconds and timeout_seconds must not be negative")

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def choose(self, site: str, target: str, attempt: int) -> str | None:
        """The fault for this attempt at ``target`` on ``site``, or None."""
        u = (hash_of(self.seed, site, target, attempt) >> 11) / float(1 << 53)
        scale = self.retry_factor ** (attempt - 1)
        total = 0.0
        for kind in self.KINDS:
            total += getattr(self, kind) * scale
            if u < total:
                return kind
        return None


class _Request:
    __slots__ = ("method", "target", "version", "headers")

    def __init__(self, head: bytes):
        lines = head.decode("latin-1").split("\r\n")
        self.method, self.target, self.version = lines[0].split(" ")
        if not self.target.startswith("/"):  # absolute-form, as a proxy would send it
            parts = urlsplit(self.target)
            self.target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                self.headers[name.strip().lower()] = value.strip()

    @property
    def keep_alive(self) -> bool:
        conn = self.headers.get("connection", "").lower()
        return conn != "close" if self.version == "HTTP/1.1" else conn == "keep-alive"


class FamilyServer:
    """Every site of ``family`` on its own 127.0.0.1 port, in a background thread.

    ``port_base``: site k listens on port_base + k (default: ephemeral ports).
    ``crawl_delay``: written into robots.txt when set.
    ``keep_order``: also keep ``order``, every (site, kind of page, target) asked for, in the
    order the requests arrived (for tests of crawl order; off, it costs nothing).
    ``hub_validators``: False sends no ``ETag`` or ``Last-Modified`` with the pages that are
    not articles (the home page, listings, tags, search, video pages), which are then never
    answered 304, as on a news site whose front pages and related lists change by the hour.
    ``robots``: False answers ``/robots.txt`` with a 404, as on a site that has none.
    ``sitemap_index``: False names each monthly sitemap in robots.txt instead of the index.
    ``lastmods_at``: a clock (a function giving an aware time); every sitemap is then made
    anew for each request, each ``lastmod`` in it the clock's time, as on a site whose
    sitemaps tell when they were generated, not when each page changed.
    ``article_last_modified``: every article is sent with this ``Last-Modified``, whatever its
    edits, as by a server that sends the time it started (and answers 304 by it).
    ``lastmod_zone``: hours east of UTC; every sitemap ``lastmod`` is then written as that
    zone's local time with no offset (``2025-06-18T13:00:00``), as many sites write them.
    ``gzip_sitemaps``: the index names each month's sitemap as a gzip'd file
    (``/sitemaps/2025-06.xml.gz``, served as one, with no Content-Encoding); the plain
    ``.xml`` is still served.
    """

    def __init__(self, family: SiteFamily, faults: Faults | None = None, *,
                 port_base: int | None = None, crawl_delay: float | None = None,
                 cache_pages: int = 2048, keep_order: bool = False,
                 hub_validators: bool = True, robots: bool = True,
                 sitemap_index: bool = True,
                 lastmods_at: Callable[[], dt.datetime] | None = None,
                 article_last_modified: dt.datetime | None = None,
                 lastmod_zone: float | None = None, gzip_sitemaps: bool = False):
        self.family, self.faults, self.crawl_delay = family, faults, crawl_delay
        self._lastmod_zone, self._gzip_sitemaps = lastmod_zone, gzip_sitemaps
        self._robots, self._sitemap_index = robots, sitemap_index
        self._hub_validators = hub_validators
        self._lastmods_at = lastmods_at
        self._article_last_modified = article_last_modified
        self._keep_order = keep_order
        self.origins: dict[str, str] = {}
        self._port_base, self._cache_pages = port_base, cache_pages
        self._cache: OrderedDict[tuple, tuple[Page, bytes]] = OrderedDict()
        self._cache_version = family.version
        self._attempts: Counter[tuple[str, str]] = Counter()
        self._date = (0, b"")
        self.reset_counters()
        self._loop = asyncio.new_event_loop()
        self._servers: list[asyncio.base_events.Server] = []
        self._error: BaseException | None = None
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="sitegen-server",
                                        daemon=True)
        self._thread.start()
        ready.wait()
        if self._error is not None:
            self._thread.join()
            raise self._error

    # -- lifecycle ---------------------------------------------------------------------------
    def _run(self, ready: threading.Event) -> None:
        loop = self._loop
        asyncio.set_event_loop(loop)
        try:
            for k, site in enumerate(self.family.sites):
                port = 0 if self._port_base is None else self._port_base + k
                server = loop.run_until_complete(asyncio.start_server(
                    lambda r, w, site=site: self._connection(site, r, w), "127.0.0.1", port,
                    backlog=512))
                self._servers.append(server)
                self.origins[site] = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        except OSError as exc:
            self._error = exc
        ready.set()
        if self._error is None:
            loop.run_forever()
        for server in self._servers:
            server.close()
        tasks = asyncio.all_tasks(loop)
        for task in tasks:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        loop.close()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def __enter__(self) -> "FamilyServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- counters ----------------------------------------------------------------------------
    @property
    def requests(self) -> dict:
        """Counts since the last reset: total, by_status, by_kind, by_site, by_fault, and
        by_header (how many requests carried each header, by lower-case name)."""
        return {k: (v if isinstance(v, int) else dict(v)) for k, v in self._counts.items()}

    def reset_counters(self) -> None:
        """Zero the request counts (not the per-URL attempt numbers that decide faults)."""
        self._counts = {"total": 0, "by_status": Counter(), "by_kind": Counter(),
                        "by_site": Counter(), "by_fault": Counter(), "by_header": Counter()}
        self.order: list[tuple[str, str, str]] = []

    def attempts(self, site: str, target: str) -> int:
        """How many times ``target`` (path and query, as requested) was asked of ``site``."""
        return self._attempts[(site, target)]

    def _count(self, site: str, kind: str, status: int | None, fault: str | None = None) -> None:
        c = self._counts
        c["total"] += 1
        c["by_site"][site] += 1
        c["by_kind"][kind] += 1
        if status is not None:
            c["by_status"][status] += 1
        if fault:
            c["by_fault"][fault] += 1

    # -- HTTP --------------------------------------------------------------------------------
    async def _connection(self, site: str, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                except asyncio.LimitOverrunError:
                    writer.write(self._head(431, None, b"", keep=False))
                    return
                try:
                    req = _Request(head)
                    length = int(req.headers.get("content-length", "0"))
                except ValueError:
                    writer.write(self._head(400, None, b"", keep=False))
                    return
                self._counts["by_header"].update(req.headers.keys())
                if length:
                    await reader.readexactly(length)  # admin POSTs: the body is not used
                keep = await self._respond(site, req, writer)
                if writer.transport.get_write_buffer_size() > 1 << 18:
                    await writer.drain()
                if not keep:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        except asyncio.CancelledError:
            # Only stop() cancels; ending quietly spares Python 3.11's stream callback a
            # spurious "exception was never retrieved" traceback.
            return
        finally:
            if not writer.transport.is_closing():
                writer.close()

    def _http_date(self) -> bytes:
        now = int(time.time())
        if self._date[0] != now:
            self._date = (now, formatdate(now, usegmt=True).encode())
        return self._date[1]

    def _head(self, status: int, page_head: bytes | None, extra: bytes, keep: bool,
              length: int = 0) -> bytes:
        """Status line and headers. ``page_head`` is a cached page's own headers (type,
        length, validators); ``extra`` more header lines."""
        lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Unknown')}\r\n".encode(),
                 b"Date: ", self._http_date(), b"\r\nServer: pressarchive-sitegen\r\n"]
        if page_head is not None:
            lines.append(page_head)
        elif status != 304:
            lines.append(f"Content-Type: text/html; charset=utf-8\r\nContent-Length: {length}\r\n"
                         .encode())
        lines.append(extra)
        lines.append(b"\r\n" if keep else b"Connection: close\r\n\r\n")
        return b"".join(lines)

    def _page(self, site: str, target: str) -> tuple[Page, bytes, bytes]:
        fam = self.family
        if fam.version != self._cache_version:
            self._cache.clear()
            self._cache_version = fam.version
        path, query = route_key(target)
        keeps_query = path == "/search" or path.startswith(("/r/", "/_/", "/loop/"))
        key = (site, path, query if keeps_query else "")
        hit = self._cache.get(key)
        if hit is not None and not (self._lastmods_at and hit[0].kind == "sitemap"):
            self._cache.move_to_end(key)
            return hit
        gzipped = self._gzip_sitemaps and path.startswith("/sitemaps/") \
            and path.endswith(".xml.gz")
        page = render_page(fam, site, path[:-3] if gzipped else target, self.origins[site],
                           self.crawl_delay)
        if page.kind == "robots" and not self._robots:
            page = not_found(fam, site, 404, "robots")
        elif page.kind == "robots" and not self._sitemap_index:
            with fam.lock:
                page = render_robots(fam, self.origins[site], self.crawl_delay, months_of=site)
        elif page.kind == "article" and page.status == 200 and self._article_last_modified:
            page = Page(page.status, page.content_type, page.body, page.kind,
                        self._article_last_modified)
        elif page.kind == "sitemap" and page.status == 200:
            if self._lastmods_at:
                page = restamp_sitemap(page, self._lastmods_at())
            if self._lastmod_zone is not None:
                page = local_lastmods(page, self._lastmod_zone)
            if self._gzip_sitemaps:
                page = gzip_sitemap(page, path == "/sitemap.xml", gzipped)
        validators = b""  # ETag and Last-Modified: sent with the page and with its 304s
        if page.status == 200 and (self._hub_validators or page.kind not in HUBS):
            validators = (f"ETag: {page.etag}\r\n" + (
                f"Last-Modified: {format_datetime(page.last_modified, True)}\r\n"
                if page.last_modified else "")).encode()
        head = (f"Content-Type: {page.content_type}\r\nContent-Length: {len(page.body)}\r\n"
                .encode() + validators)
        if page.location:
            head += f"Location: {page.location}\r\n".encode()
        entry = (page, head, validators)
        self._cache[key] = entry
        if len(self._cache) > self._cache_pages:
            self._cache.popitem(last=False)
        return entry

    async def _respond(self, site: str, req: _Request, writer: asyncio.StreamWriter) -> bool:
        keep = req.keep_alive
        if req.target.startswith("/__"):
            return self._admin(site, req, writer, keep)
        if req.method not in ("GET", "HEAD"):
            self._count(site, "other", 405)
            writer.write(self._head(405, None, b"Allow: GET, HEAD\r\n", keep))
            return keep
        page, page_head, validators = self._page(site, req.target)
        if self._keep_order:
            self.order.append((site, page.kind, req.target))
        fault = None
        faults = self.faults
        if faults is not None and (faults.faults_on_all or page.kind == "article") \
                and not req.target.lower().startswith(FAULT_FREE_PREFIXES) \
                and (not faults.targets or route_key(req.target)[0] in faults.targets):
            key = (site, req.target)
            self._attempts[key] += 1
            fault = faults.choose(site, req.target, self._attempts[key])
        if fault is not None:
            done, keep = await self._fault(site, fault, req, page, page_head, writer, keep)
            if done:
                return keep
        status, body = page.status, page.body
        if status == 200 and validators and self._not_modified(req, page):
            status, page_head = 304, validators
        self._count(site, page.kind, status, fault)
        head = self._head(status, page_head, b"", keep)
        writer.write(head if status == 304 or req.method == "HEAD" else head + body)
        return keep

    @staticmethod
    def _not_modified(req: _Request, page: Page) -> bool:
        inm = req.headers.get("if-none-match")
        if inm is not None:  # RFC 9110: If-None-Match wins over If-Modified-Since
            tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
            return "*" in tags or page.etag in tags
        ims = req.headers.get("if-modified-since")
        if ims and page.last_modified:
            try:
                since = parsedate_to_datetime(ims)
            except (TypeError, ValueError):
                return False
            modified = int(page.last_modified.timestamp())
            return since.tzinfo is not None and modified <= since.timestamp()
        return False

    async def _fault(self, site: str, fault: str, req: _Request, page: Page, page_head: bytes,
                     writer: asyncio.StreamWriter, keep: bool) -> tuple[bool, bool]:
        """Apply ``fault``; (True, keep-alive) when it answered the request itself."""
        f, origin, target = self.faults, self.origins[site], req.target
        if fault == "slow":
            await asyncio.sleep(f.slow_seconds)
            return False, keep
        if fault == "timeout":
            self._count(site, page.kind, None, fault)
            await asyncio.sleep(f.timeout_seconds)
            return True, False
        if fault in ("reset", "truncated"):
            self._count(site, page.kind, page.status, fault)
            half = page.body[:len(page.body) // 2]
            writer.write(self._head(page.status, page_head, b"", True) + half)
            await writer.drain()
            if fault == "reset":
                await asyncio.sleep(0.01)  # let the half response arrive before the RST
                sock = writer.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()
            return True, False
        if fault == "cut_file":
            cut = Page(page.status, page.content_type, page.body[:len(page.body) // 2],
                       page.kind, page.last_modified)
            self._count(site, page.kind, cut.status, fault)
            head = (f"Content-Type: {cut.content_type}\r\nContent-Length: {len(cut.body)}\r\n"
                    f"ETag: {cut.etag}\r\n").encode()
            writer.write(self._head(cut.status, head, b"", keep)
                         + (b"" if req.method == "HEAD" else cut.body))
            return True, keep
        if fault == "soft_404":
            soft = not_found(self.family, site, 200, page.kind)
            self._count(site, page.kind, 200, fault)
            body = b"" if req.method == "HEAD" else soft.body
            writer.write(self._head(200, None, b"", keep, len(soft.body)) + body)
            return True, keep
        status, extra = {
            "error_5xx": ((500, 502, 504)[hash_of(f.seed, target) % 3], b""),
            "error_503_retry_after": (503, b"Retry-After: 1\r\n"),
            "error_429": (429, b"Retry-After: 1\r\n"),
            "redirect_chain": (301, f"Location: {origin}/r{target}\r\n".encode()),
            "redirect_loop": (302, f"Location: {origin}/loop/a{target}\r\n".encode()),
            "offsite_redirect": (302, f"Location: {OFFSITE}{target}\r\n".encode()),
        }[fault]
        body = ERROR_BODY if status >= 500 or status == 429 else b""
        self._count(site, page.kind, status, fault)
        writer.write(self._head(status, None, extra, keep, len(body))
                     + (b"" if req.method == "HEAD" else body))
        return True, keep

    def _admin(self, site: str, req: _Request, writer: asyncio.StreamWriter, keep: bool) -> bool:
        path, _, query = req.target.partition("?")
        fam = self.family
        if path == "/__advance__" and req.method == "POST":
            try:
                days = int(parse_qs(query).get("days", ["1"])[0])
                result = {"advanced": fam.advance(days), **fam.state()}
                status = 200
            except (ValueError, OverflowError) as exc:  # a bad count; a full family
                result, status = {"error": str(exc)}, 400
        elif path == "/__state__" and req.method in ("GET", "HEAD"):
            result, status = fam.state(), 200
        else:
            result, status = {"error": "unknown admin endpoint"}, 404
        body = json.dumps(result).encode()
        self._count(site, "admin", status)
        head = (f"HTTP/1.1 {status} {REASONS[status]}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n" + ("" if keep else "Connection: close\r\n")
                + "\r\n").encode()
        writer.write(head + (b"" if req.method == "HEAD" else body))
        return keep

