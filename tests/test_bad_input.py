"""Bad input during a real crawl: each page gives a clear log line and a counted drop (or a
correct record), nothing crashes, and what the archive already held is untouched."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3

import pytest

from pressarchive.extract import extract
from pressarchive.localsite import serving
from pressarchive.storage import Archive

from conftest import ARTICLES, FIXTURES, run_crawl

SEED = ARTICLES / "arabpress-v1-seed"
ARABIC = ARTICLES / "arabpress-v1-arabic-rtl"


def _uncanonical(html: str) -> str:
    """The page without rel=canonical/og:url, so that its record keeps the URL it was fetched at."""
    return re.sub(r'<link rel="canonical"[^>]*>|<meta property="og:url"[^>]*>', "", html)


def _big_article(size: int) -> bytes:
    html = (SEED / "page.html").read_text("utf-8")
    paragraph = "A paragraph that goes on and on to make a very large page. " * 20
    filler = "<br><br>".join([paragraph] * (size // len(paragraph) + 1))
    return html.replace('<div class="article-body">', '<div class="article-body">' + filler,
                        1).encode()


@pytest.fixture(scope="module")
def bad_crawl(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bad")
    root = tmp / "site"
    root.mkdir()
    site = FIXTURES / "site" / "arabpress"
    (root / "malformed.html").write_text(_uncanonical((site / "broken.html").read_text("utf-8")))
    shutil.copy(site / "truncated.html", root / "truncated.html")
    shutil.copy(site / "files" / "report.pdf", root / "report.pdf")
    shutil.copy(site / "files" / "photo.jpg", root / "photo.jpg")
    (root / "empty.html").write_bytes(b"")
    (root / "big.html").write_bytes(_big_article(10 * 1024 * 1024))
    arabic = _uncanonical((ARABIC / "page.html").read_text("utf-8"))
    (root / "wrong-charset.html").write_text(arabic.replace('<meta charset="utf-8">', ""), "utf-8")
    no_charset = arabic.replace('<meta charset="utf-8">', "").encode("cp1256")
    (root / "no-charset.html").write_bytes(no_charset)
    (root / "pdf-as-html.html").write_bytes((site / "files" / "report.pdf").read_bytes())

    db = tmp / "archive.sqlite"
    meta = json.loads((SEED / "meta.json").read_text())
    seed = extract((SEED / "page.html").read_bytes(), meta["url"], meta["fetched_at"])
    archive = Archive(f"sqlite:///{db}")
    archive.save(seed)
    before = list(archive.records())
    archive.close()

    headers = {"/wrong-charset": {"Content-Type": "text/html; charset=iso-8859-1"}}
    pages = ["malformed", "truncated", "report.pdf", "photo.jpg", "empty", "big",
             "wrong-charset", "no-charset", "pdf-as-html"]
    with serving("arabpress", root, headers=headers) as server:
        result = run_crawl("arabpress", db, tmp, base_url=server.origin,
                           urls=[f"{server.origin}/{p}" for p in pages])
    archive = Archive(f"sqlite:///{db}")
    after = list(archive.records())
    archive.close()
    return {"result": result, "db": db, "before": before, "after": after, "seed": seed}


def test_the_crawl_survives_every_bad_page(bad_crawl):
    result = bad_crawl["result"]
    assert result.returncode == 0, result.log[-3000:]
    assert result.stats["finish_reason"] == "finished"
    assert "Traceback" not in result.log


@pytest.mark.parametrize("key,count,line", [
    ("not_html", 2, "Dropped: not an HTML page (application/pdf)"),
    ("empty", 1, "Dropped: empty page"),
    ("truncated", 1, "Dropped: truncated HTML"),
    ("too_large", 1, "Dropped: page too large"),
])
def test_each_bad_page_is_a_counted_drop_with_its_reason(bad_crawl, key, count, line):
    result = bad_crawl["result"]
    assert result.stats.get(f"pressarchive/dropped/{key}") == count
    if line:
        assert line in result.log


def test_a_pdf_served_as_html_is_not_an_article(bad_crawl):
    assert bad_crawl["result"].stats.get("pressarchive/not_article") == 1


def test_malformed_html_is_recovered(bad_crawl):
    urls = {r["url"]: r for r in bad_crawl["after"]}
    record = urls["https://arabpress.com/malformed"]
    assert record["headline"] == "Red Sea Desalination Plant Begins Supplying Three Coastal Towns"
    assert len(record["body"].split("\n\n")) == 5


def test_wrong_and_missing_charsets_still_give_correct_text(bad_crawl):
    expected = json.loads((ARABIC / "expected.json").read_text())
    urls = {r["url"]: r for r in bad_crawl["after"]}
    for page in ("wrong-charset", "no-charset"):
        record = urls[f"https://arabpress.com/{page}"]
        assert record["headline"] == expected["headline"], page
        assert record["body"] == expected["body"], page


def test_what_the_archive_held_is_untouched(bad_crawl):
    before = bad_crawl["before"]
    after = [r for r in bad_crawl["after"] if r["url"] == bad_crawl["seed"].url]
    assert after == before
    stored = {r["url"] for r in bad_crawl["after"]}
    assert stored == {bad_crawl["seed"].url, "https://arabpress.com/malformed",
                      "https://arabpress.com/wrong-charset", "https://arabpress.com/no-charset"}
    con = sqlite3.connect(bad_crawl["db"])
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert con.execute("PRAGMA foreign_key_check").fetchall() == []
