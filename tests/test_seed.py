"""The seed page: our reconstruction renders as the real page did, and its traps are avoided."""

from __future__ import annotations

from pathlib import Path

import pytest

from pressarchive.extract import extract
from visible_text import visible_text

from conftest import ARTICLES, ROOT

SEED_TEXT = ROOT.parent / "shared" / "seed" / "000_67f60314aeda1df5.txt"
SEED = ARTICLES / "arabpress-v1-seed"


def seed_record():
    import json

    meta = json.loads((SEED / "meta.json").read_text())
    return extract((SEED / "page.html").read_bytes(), meta["url"], meta["fetched_at"],
                   site=meta["site"])


@pytest.mark.skipif(not SEED_TEXT.exists(), reason="shared/seed is not beside this checkout")
def test_seed_page_renders_as_the_real_page_line_for_line():
    rendered = visible_text((SEED / "page.html").read_text("utf-8")).split("\n")
    real = SEED_TEXT.read_text("utf-8").rstrip("\n").split("\n")
    assert rendered == real


def test_masthead_date_is_not_publication_date():
    record = seed_record()
    assert record.page_date == "2025-06-20"
    assert record.published_at is None
    assert record.sources["published_at"] is None


def test_summary_is_its_own_field_not_the_first_paragraph():
    record = seed_record()
    assert record.summary.startswith("The State Department said US Secretary of State")
    assert record.body.startswith("US Secretary of State Antony Blinken on Monday")
    assert record.summary not in record.body.split("\n\n")


def test_no_chrome_in_the_seed_body():
    body = seed_record().body
    for chrome in ("Newsletter", "Related Articles", "0:00", "Close", "×", "Arab Press",
                   "Friday, Jun 20, 2025", "16 Billion Login Credentials"):
        assert chrome not in body
    assert len(body.split("\n\n")) == 9


def test_related_headlines_are_kept_apart_from_the_article():
    record = seed_record()
    assert len(record.related) == 50
    assert record.related[0] == {
        "title": "16 Billion Login Credentials Leaked in Unprecedented Cybersecurity Breach",
        "url": "https://arabpress.com/16-billion-login-credentials-leaked-in-unprecedented-"
               "cybersecurity-breach",
    }


def test_fingerprint_ignores_masthead_date_and_related_list():
    html = (SEED / "page.html").read_text("utf-8")
    changed = html.replace("Friday, Jun 20, 2025", "Saturday, Nov 08, 2025").replace(
        "16 Billion Login Credentials", "Something Else Entirely")
    url = "https://arabpress.com/us-secretary-of-state-calls-china-russia-on-afghan-collapse"
    a = extract(html, url, "2025-06-20T09:00:00+00:00")
    b = extract(changed, url, "2025-11-08T09:00:00+00:00")
    assert a.page_date != b.page_date and a.related != b.related
    assert a.fingerprint == b.fingerprint


def test_fingerprint_changes_with_the_body():
    html = (SEED / "page.html").read_text("utf-8")
    url = "https://arabpress.com/us-secretary-of-state-calls-china-russia-on-afghan-collapse"
    edited = html.replace("frequent US adversaries", "frequent U.S. adversaries")
    assert extract(html, url).fingerprint != extract(edited, url).fingerprint


def test_extract_is_a_pure_function_of_its_inputs():
    assert seed_record().to_dict() == seed_record().to_dict()


def test_extraction_and_storage_code_import_nothing_from_scrapy():
    import re

    import pressarchive

    pkg = Path(pressarchive.__file__).parent
    imports = re.compile(r"^\s*(from|import)\s+scrapy\b", re.M)
    for module in [*(pkg / "extract").glob("*.py"), *(pkg / "storage").glob("*.py"),
                   pkg / "record.py", pkg / "urls.py", pkg / "sites.py", pkg / "fetched.py",
                   pkg / "ingest.py"]:
        assert not imports.search(module.read_text("utf-8")), module
