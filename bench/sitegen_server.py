"""Benchmark: render time per page of the generated site, and article pages served per second
by ``pressarchive serve-generated`` (its own process, as in a crawl benchmark) to one
keep-alive client and to 8 concurrent ones. Prints figures; asserts nothing.

"cold" = each page's first request since the day changed (rendered), "warm" = served again
from the server's page cache. Each phase is bounded by --seconds and --requests.

Usage: python bench/sitegen_server.py [--articles 20000] [--seconds 5] [--requests 20000]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pressarchive.sitegen import SiteFamily, render_page  # noqa: E402


class Client:
    """A minimal HTTP/1.1 keep-alive client: http.client would be the bottleneck."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def get(self, path: str) -> tuple[int, int]:
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        while b"\r\n\r\n" not in self.buf:
            self._recv()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        while len(self.buf) < length:
            self._recv()
        self.buf = self.buf[length:]
        return status, length

    def _recv(self) -> None:
        data = self.sock.recv(1 << 16)
        if not data:
            raise ConnectionError("server closed the connection")
        self.buf += data

    def post(self, path: str) -> None:
        self.sock.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n".encode())
        self.get_response()

    def get_response(self) -> None:
        while b"\r\n\r\n" not in self.buf:
            self._recv()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        length = int(next(line[15:] for line in head.split(b"\r\n")
                          if line[:15].lower() == b"content-length:"))
        while len(self.buf) < length:
            self._recv()
        self.buf = self.buf[length:]


def bench_render(articles: int, count: int) -> None:
    fam = SiteFamily(articles, seed=7)
    ids = list(fam.ids("arabpress"))[-count:]
    start = time.perf_counter()
    sizes = [len(render_page(fam, "arabpress", "/" + fam.slug(i)).body) for i in ids]
    per_article = (time.perf_counter() - start) / len(ids)
    print(f"render, {articles} articles: article page {per_article * 1e3:.3f} ms "
          f"(mean {statistics.mean(sizes) / 1024:.1f} KiB, {len(ids)} distinct pages)")
    months = fam.months("arabpress")
    for label, path in [("home", "/"), ("section page 3", "/section/world/page/3"),
                        ("tag", "/tag/riyadh"), ("feed", "/feed.xml"),
                        ("sitemap index", "/sitemap.xml"),
                        ("monthly sitemap", f"/sitemaps/{months[len(months) // 2]}.xml")]:
        start = time.perf_counter()
        page = render_page(fam, "arabpress", path, "http://127.0.0.1:1")
        took = time.perf_counter() - start
        print(f"  {label:<16} {took * 1e3:7.2f} ms  {len(page.body) / 1024:7.1f} KiB")


def run_phase(port: int, paths: list[str], clients: int, seconds: float,
              limit: int) -> tuple[int, float]:
    done = [0] * clients
    deadline = time.perf_counter() + seconds
    per_client = limit // clients

    def work(k: int) -> None:
        client = Client(port)
        n = 0
        while n < per_client and time.perf_counter() < deadline:
            status, _ = client.get(paths[(k + n * clients) % len(paths)])
            assert status == 200, status
            n += 1
        done[k] = n

    threads = [threading.Thread(target=work, args=(k,)) for k in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done), time.perf_counter() - start


def bench_server(articles: int, seconds: float, limit: int) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "pressarchive.cli", "serve-generated",
                             "--articles", str(articles), "--seed", "7"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        origins = dict(proc.stdout.readline().split() for _ in range(2))
        port = int(origins["arabpress"].rsplit(":", 1)[1])
        fam = SiteFamily(articles, seed=7)  # the same family as the server's: same slugs
        admin = Client(port)
        for clients in (1, 8):
            admin.post("/__advance__?days=1")  # a new day: the server's page cache is empty
            fam.advance(1)
            paths = ["/" + fam.slug(i) for i in reversed(fam.ids("arabpress"))]
            n, took = run_phase(port, paths, clients, seconds, min(limit, len(paths)))
            print(f"server, {clients} keep-alive client(s), cold article pages: "
                  f"{n / took:7.0f} req/s ({n} requests in {took:.2f} s)")
            warm = paths[:min(len(paths), 1000)]
            run_phase(port, warm, clients, 2.0, len(warm))  # fill the cache
            n, took = run_phase(port, warm, clients, seconds, limit)
            print(f"server, {clients} keep-alive client(s), warm article pages: "
                  f"{n / took:7.0f} req/s ({n} requests in {took:.2f} s)")
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--requests", type=int, default=20_000)
    args = parser.parse_args()
    bench_render(args.articles, min(2000, args.articles))
    if args.articles != 100_000:
        bench_render(100_000, 2000)
    bench_server(args.articles, args.seconds, args.requests)


if __name__ == "__main__":
    main()
