"""Serves the bundled local copy of the site family over HTTP on 127.0.0.1.

No machine here reaches the real sites, so crawls, tests and the demo run against this copy:
one static tree per site (``tests/fixtures/site/<site>/``), each on its own port. A tree's
``routes.json`` maps URL paths to fixture files elsewhere under ``tests/fixtures/`` (the article
fixtures), and ``{{origin}}`` in robots.txt, sitemaps and feeds becomes the served origin.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator
from urllib.parse import unquote, urlsplit

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
SUBSTITUTED = {".xml", ".txt"}


class SiteServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path, host: str = "127.0.0.1", port: int = 0,
                 headers: dict[str, dict[str, str]] | None = None):
        self.root = Path(root)
        self.headers = headers or {}  # per path: header overrides (a wrong charset, say)
        self.requested: list[str] = []  # every path asked for, in order
        self.fixtures = self.root.parent.parent
        routes = self.root / "routes.json"
        self.routes = json.loads(routes.read_text("utf-8")) if routes.exists() else {}
        super().__init__((host, port), SiteHandler)

    @property
    def origin(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def resolve(self, path: str) -> Path | None:
        path = unquote(path)
        if path in self.routes:
            file = self.fixtures / self.routes[path]
            return file if file.is_file() else None
        rel = path.strip("/")
        if ".." in rel.split("/"):
            return None
        candidates = ["index.html"] if not rel else [rel, rel + ".html", rel + "/index.html"]
        for candidate in candidates:
            file = self.root / candidate
            if file.is_file():
                return file
        return None


class SiteHandler(BaseHTTPRequestHandler):
    server: SiteServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802
        self._answer(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(send_body=False)

    def _answer(self, send_body: bool) -> None:
        path = urlsplit(self.path).path
        self.server.requested.append(path)
        file = self.server.resolve(path)
        if file is None:
            body, ctype, status = b"<html><body><h1>Not found</h1></body></html>", "text/html", 404
        else:
            body, status = file.read_bytes(), 200
            if file.suffix in SUBSTITUTED:
                body = body.replace(b"{{origin}}", self.server.origin.encode())
            # No charset for HTML: the page's own <meta charset> decides, as on the real site.
            ctype = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        headers = {"Content-Type": ctype, "Content-Length": str(len(body)),
                   **self.server.headers.get(path, {})}
        if status == 200:
            etag = '"%s"' % hashlib.sha1(body).hexdigest()[:16]
            headers["ETag"] = etag
            if self.headers.get("If-None-Match") == etag:
                status, body = 304, b""
                del headers["Content-Length"]  # a 304 has no body, and no length of its own
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        pass  # the crawler logs every fetch already


@contextmanager
def serving(site: str, root: Path | None = None, port: int = 0,
            headers: dict[str, dict[str, str]] | None = None) -> Iterator[SiteServer]:
    """Serve one site's tree in a background thread for the duration of the block."""
    server = SiteServer(root or FIXTURES / "site" / site, port=port, headers=headers)
    thread = threading.Thread(target=server.serve_forever, name=f"site-{site}", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def site_roots() -> dict[str, Path]:
    """The bundled copies, by site slug."""
    base = FIXTURES / "site"
    if not base.is_dir():
        raise FileNotFoundError(
            f"the bundled site copy is not at {base}: run from a checkout (pip install -e .)")
    return {p.name: p for p in sorted(base.iterdir()) if p.is_dir()}
