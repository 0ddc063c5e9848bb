"""`pressarchive serve`: Datasette on 127.0.0.1 over the archive, queried through its JSON API."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest

from research_helpers import ROOT, build, rec

pytest.importorskip("datasette")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, timeout: float = 10) -> dict | list:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read().decode("utf-8"))


@pytest.fixture
def server(tmp_path):
    archive = build(tmp_path, [
        rec("budget", "الْحُكُومَةُ تُعْلِنُ الميزانية", "قالت الحكومة إن الميزانية جاهزة."),
        rec("budget", "الْحُكُومَةُ تُعْلِنُ الميزانية", "نص معدل.", site="arabpress",
            fetched_at="2025-06-21T09:00:00+00:00"),
        rec("budget", "الْحُكُومَةُ تُعْلِنُ الميزانية", "نص معدل.", site="saudipress"),
        rec("oil", "Oil prices", "Crude rose."),
    ], name="press.sqlite")
    archive.close()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "ARCHIVE_URL"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pressarchive.cli", "serve", "--db",
         str(tmp_path / "press.sqlite"), "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                get(f"{base}/-/versions.json", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"serve did not start: {proc.communicate()[1]}")
                time.sleep(0.3)
        yield base
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_serve_searches_versions_with_normalization(server):
    q = urllib.parse.quote("الحكومة")  # no harakat; the headline has them
    rows = get(f"{server}/press/versions.json?_search={q}&_shape=array")
    assert {r["article_id"] for r in rows} == {1}
    assert len(rows) == 2  # both versions of the article
    assert get(f"{server}/press/search_index.json?_search=crude&_shape=array")[0]["rowid"] == 3


def test_serve_canned_queries(server):
    q = urllib.parse.quote("حكومة")
    hits = get(f"{server}/press/search.json?q={q}&_shape=array")
    assert [h["article_id"] for h in hits] == [1, 1]
    multi = get(f"{server}/press/multi_site_articles.json?_shape=array")
    assert [(m["article_id"], m["sites"]) for m in multi] == [(1, "arabpress, saudipress")]
    changed = get(f"{server}/press/changed_articles.json?_shape=array")
    assert [(c["article_id"], c["versions"]) for c in changed] == [(1, 2)]
    latest = get(f"{server}/press/latest_versions.json?_shape=array")
    assert sorted((r["article_id"], r["version_id"]) for r in latest) == [(1, 2), (2, 3)]


def test_serve_refuses_a_busy_port(tmp_path):
    archive = build(tmp_path, [rec("x", "X", "x.")])
    archive.close()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = subprocess.run([sys.executable, "-m", "pressarchive.cli", "serve", "--db",
                               str(tmp_path / "a.sqlite"), "--port", str(port)],
                              capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and proc.stderr.startswith("pressarchive: cannot listen")
