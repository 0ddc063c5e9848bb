"""The ingester: a batch per transaction, the same archive as one record at a time, and one
bad item costs only itself."""

from __future__ import annotations

import copy
import sqlite3

import pytest
from sqlalchemy import select

from pressarchive import ingest
from pressarchive.fetched import FetchedPage, FetchFailure
from pressarchive.ingest import Ingester
from pressarchive.sitegen import SiteFamily, render_page
from pressarchive.storage import Archive, crawlstate
from pressarchive.storage.models import Article

FETCHED_AT = "2025-06-20T10:00:00+00:00"


def fetched(family: SiteFamily, i: int, site: str = "arabpress") -> FetchedPage:
    url = family.article(i).url(site)
    page = render_page(family, site, url.split(".com", 1)[1])
    return FetchedPage(url=url, final_url=url, requested_url=url, status=page.status,
                       headers={"Content-Type": page.content_type, "ETag": page.etag},
                       body=page.body, fetched_at=FETCHED_AT, site=site)


@pytest.fixture(scope="module")
def pages():
    family = SiteFamily(400, seed=5)
    own = [i for i in range(family.count) if "arabpress" in family.sites_of(i)][:120]
    shared = next(i for i in own if "saudipress" in family.sites_of(i))
    items = [fetched(family, i) for i in own]
    # The same page fetched twice in one batch, and a sister site's copy of an article.
    return items[:60] + [copy.deepcopy(items[3]), fetched(family, shared, "saudipress")] \
        + items[60:]


def ingest_all(tmp_path, name, items, batch, **kwargs):
    ingester = Ingester(Archive(f"sqlite:///{tmp_path / name}"), **kwargs)
    outcomes = []
    for start in range(0, len(items), batch):
        outcomes += ingester.ingest(copy.deepcopy(items[start:start + batch]))
    ingester.archive.close()
    return outcomes, tmp_path / name


def content(db) -> dict:
    """The archive's rows without their ids (which depend on the order of inserts)."""
    con = sqlite3.connect(db)
    queries = {
        "appearances": "SELECT a.site, a.url, a.first_seen, a.last_seen, a.times_seen, "
                       "a.page_date, a.related, v.fingerprint, ar.slug FROM appearances a "
                       "JOIN versions v ON v.id = a.version_id "
                       "JOIN articles ar ON ar.id = a.article_id ORDER BY 1, 2",
        "versions": "SELECT v.fingerprint, v.headline, v.summary, v.body, v.published_at, "
                    "v.sources, v.first_url, v.first_seen, ar.slug FROM versions v "
                    "JOIN articles ar ON ar.id = v.article_id ORDER BY 1",
        "pages": "SELECT p.site, p.url, p.last_fetched, p.etag, p.failures, ar.slug "
                 "FROM pages p LEFT JOIN articles ar ON ar.id = p.article_id ORDER BY 1, 2",
        "articles": "SELECT slug, first_seen, last_seen FROM articles ORDER BY 1",
        "search": "SELECT count(*) FROM search_index",
    }
    out = {name: con.execute(sql).fetchall() for name, sql in queries.items()}
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    return out


def test_a_batch_writes_what_one_at_a_time_writes(tmp_path, pages):
    one, db_one = ingest_all(tmp_path, "one.sqlite", pages, batch=1)
    many, db_many = ingest_all(tmp_path, "many.sqlite", pages, batch=50)
    assert [(o.kind, o.key) for o in many] == [(o.kind, o.key) for o in one]
    keys = [o.key for o in many]
    assert keys.count("unchanged") == 1 and keys.count("new_appearance") == 1
    assert content(db_many) == content(db_one)
    assert len(content(db_many)["appearances"]) == len(pages) - 1


def batched_against_one_at_a_time(tmp_path, monkeypatch, items, batch=40):
    """``items`` ingested twice: in batches, and (the reference) every record through
    save_in, one at a time. Both runs' outcomes and archives must agree; returns the batched
    run's outcomes and archive, and the URLs ``_save_known`` wrote."""
    from pressarchive.storage.archive import Archive as RealArchive, _Plan

    with monkeypatch.context() as patch:
        patch.setattr(RealArchive, "_batchable", lambda self, session, entries: _Plan())
        one, db_one = ingest_all(tmp_path, "one.sqlite", items, batch=1)
    batched = []
    real = RealArchive._save_known

    def counting(self, session, entries, known):
        batched.extend(record.url for record, _ in entries)
        return real(self, session, entries, known)

    with monkeypatch.context() as patch:
        patch.setattr(RealArchive, "_save_known", counting)
        many, db_many = ingest_all(tmp_path, "many.sqlite", items, batch=batch)
    assert [(o.kind, o.key) for o in many] == [(o.kind, o.key) for o in one]
    assert content(db_many) == content(db_one)
    return many, db_many, batched


def test_a_sister_site_after_the_first_is_written_a_batch_at_a_time(tmp_path, monkeypatch):
    """The second site of a family: most of its shared articles are copies of versions the
    archive holds. A batch writes them together with the same rows and outcomes as one at a
    time, articles' first and last seen times included (a copy fetched before the first
    site's moves first_seen back, one fetched after moves last_seen on)."""
    family = SiteFamily(400, seed=5)
    shared = [i for i in range(family.count) if len(family.sites_of(i)) == 2][:60]
    first = [fetched(family, i) for i in shared]
    copies = [fetched(family, i, "saudipress") for i in shared]
    for n, page in enumerate(copies):
        page.fetched_at = "2025-06-21T08:00:00+00:00" if n % 3 else "2025-06-19T08:00:00+00:00"
    # A copy fetched twice in one batch is saved one at a time.
    items = first + copies[:8] + [copy.deepcopy(copies[7])] + copies[8:]
    many, db, batched = batched_against_one_at_a_time(tmp_path, monkeypatch, items)
    assert [o.key for o in many[60:]] == ["new_appearance"] * 8 + ["unchanged"] \
        + ["new_appearance"] * 52
    # Every copy but the one fetched twice went through the batch path.
    assert sorted(batched) == sorted(p.url for n, p in enumerate(copies) if n != 7)
    rows = content(db)["articles"]
    assert {first_seen[:10] for _, first_seen, _ in rows} == {"2025-06-19", "2025-06-20"}
    assert {last_seen[:10] for _, _, last_seen in rows} == {"2025-06-20", "2025-06-21"}
    # A version's first sighting is the earliest fetch of it, on whichever site: a copy
    # fetched before the first site's page moves it back, with its URL (it stayed later
    # than its article's first sighting, as two processes ingesting out of order left it).
    earlier = {p.url for n, p in enumerate(copies) if n % 3 == 0}
    versions = content(db)["versions"]
    moved = {first_url for *_, first_url, first_seen, _ in versions
             if first_seen.startswith("2025-06-19")}
    assert moved == earlier and len(moved) > 10
    assert {first_seen[:10] for *_, first_seen, _ in versions} == {"2025-06-19", "2025-06-20"}


def test_a_full_recheck_is_written_a_batch_at_a_time(tmp_path, monkeypatch, pages):
    """Every page fetched again, unchanged (FULL_RECHECK): appearances seen once more, a
    batch at a time, with the same rows as one at a time. A fetch newer than the last moves
    last_seen on and shows its related list; an older one (another crawler's, late) only
    moves first_seen back and counts."""
    again = copy.deepcopy(pages[:60])
    for n, page in enumerate(again):
        page.fetched_at = "2025-06-25T08:00:00+00:00" if n % 4 else "2025-06-18T08:00:00+00:00"
        page.body = page.body.replace(b'class="related-item"><a href="/',
                                      b'class="related-item"><a href="/moved-', 1)
    many, db, batched = batched_against_one_at_a_time(tmp_path, monkeypatch,
                                                      pages[:60] + again)
    assert [o.key for o in many] == ["new_article"] * 60 + ["unchanged"] * 60
    assert sorted(batched) == sorted(page.url for page in again)
    rows = content(db)["appearances"]
    assert {times_seen for *_, times_seen, _, _, _, _ in rows} == {2}
    assert {(first[:10], last[:10], "/moved-" in related) for _, _, first, last, _, _, related,
            *_ in rows} == {("2025-06-20", "2025-06-25", True), ("2025-06-18", "2025-06-20", False)}


def test_one_bad_record_costs_only_itself(tmp_path, pages, monkeypatch):
    real = ingest.extract

    def extract(body, url, *args, **kwargs):
        record = real(body, url, *args, **kwargs)
        if url == pages[7].url:
            record.related = [object()]  # cannot be stored as JSON: the batch's insert fails
        return record

    monkeypatch.setattr(ingest, "extract", extract)
    outcomes, db = ingest_all(tmp_path, "bad.sqlite", pages[:20], batch=20)
    assert outcomes[7].kind == ingest.ERROR and "not JSON serializable" in outcomes[7].message
    assert all(o.kind == ingest.STORED for i, o in enumerate(outcomes) if i != 7)
    urls = {row[1] for row in content(db)["appearances"]}
    assert pages[7].url not in urls and len(urls) == 19
    # Its fetch is not recorded, its failure is: the next run asks for the page again.
    con = sqlite3.connect(db)
    assert con.execute("SELECT failures, last_error, last_fetched, article_id FROM pages "
                       "WHERE url = ?", (pages[7].url,)).fetchone() == (
        1, "ingest_error: StatementError: (builtins.TypeError) Object of type object is not JSON "
        "serializable", None, None)
    assert con.execute("SELECT count(*) FROM pages WHERE failures > 0").fetchone() == (1,)
    con.close()


def test_a_bug_in_extraction_is_that_page_s_error(tmp_path, pages, monkeypatch):
    real = ingest.extract

    def extract(body, url, *args, **kwargs):
        if url == pages[2].url:
            raise RuntimeError("extractor bug")
        return real(body, url, *args, **kwargs)

    monkeypatch.setattr(ingest, "extract", extract)
    outcomes, db = ingest_all(tmp_path, "bug.sqlite", pages[:10], batch=10)
    assert outcomes[2].kind == ingest.ERROR and "RuntimeError: extractor bug" in outcomes[2].message
    assert [o.kind for o in outcomes].count(ingest.STORED) == 9
    # Noted as a failure in the batch's own transaction, as a failed fetch would be.
    con = sqlite3.connect(db)
    (url, failures, error, when), = con.execute(
        "SELECT url, failures, last_error, last_failed FROM pages WHERE failures > 0").fetchall()
    assert (url, failures, error) == (pages[2].url, 1, "ingest_error: RuntimeError: extractor bug")
    assert when.startswith(crawlstate.stored_time(pages[2].fetched_at).isoformat(" "))
    con.close()


def test_a_lost_page_is_still_reported_when_its_failure_cannot_be_noted(tmp_path, pages,
                                                                      monkeypatch):
    real = ingest.extract

    def extract(body, url, *args, **kwargs):
        if url == pages[2].url:
            raise RuntimeError("extractor bug")
        return real(body, url, *args, **kwargs)

    def note_failure(*args, **kwargs):
        raise RuntimeError("noting fails too")

    monkeypatch.setattr(ingest, "extract", extract)
    monkeypatch.setattr(ingest.crawlstate, "note_failure", note_failure)
    outcomes, db = ingest_all(tmp_path, "bug.sqlite", pages[:10], batch=10)
    # The batch failed on noting it, and was done again one page at a time: the others are
    # stored, the lost page keeps its own error (not the noting's), and nothing of it is written.
    assert outcomes[2].kind == ingest.ERROR and "RuntimeError: extractor bug" in outcomes[2].message
    assert [o.kind for o in outcomes].count(ingest.STORED) == 9
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*) FROM pages WHERE url = ?", (pages[2].url,)).fetchone() \
        == (0,)
    con.close()


def test_failures_304s_and_drops_in_the_same_batch(tmp_path, pages):
    archive = Archive(f"sqlite:///{tmp_path / 'mixed.sqlite'}")
    ingester = Ingester(archive, max_bytes=50_000)
    first = ingester.ingest([copy.deepcopy(pages[0]), copy.deepcopy(pages[1])])
    assert [o.key for o in first] == ["new_article", "new_article"]
    not_modified = copy.deepcopy(pages[0])
    not_modified.status, not_modified.body = 304, b""
    too_large = copy.deepcopy(pages[2])
    too_large.body += b" " * 60_000
    pdf = copy.deepcopy(pages[3])
    pdf.headers["Content-Type"] = "application/pdf"
    failure = FetchFailure(url=pages[4].url, site="arabpress", kind="timeout", message="slow",
                           failed_at=FETCHED_AT)
    home = render_page(SiteFamily(400, seed=5), "arabpress", "/")
    listing = FetchedPage(url="https://arabpress.com/", final_url="https://arabpress.com/",
                          requested_url="https://arabpress.com/", status=200,
                          headers={"Content-Type": home.content_type, "ETag": home.etag},
                          body=home.body, fetched_at=FETCHED_AT, site="arabpress")
    outcomes = ingester.ingest([not_modified, too_large, pdf, failure, copy.deepcopy(pages[5]),
                                listing])
    assert [(o.kind, o.key) for o in outcomes] == [
        (ingest.NOT_MODIFIED, ""), (ingest.DROPPED, "too_large"), (ingest.DROPPED, "not_html"),
        (ingest.FAILED, "timeout"), (ingest.STORED, "new_article"), (ingest.NOT_ARTICLE, "")]
    con = sqlite3.connect(tmp_path / "mixed.sqlite")
    assert con.execute("SELECT failures, last_error FROM pages WHERE url = ?",
                       (pages[4].url,)).fetchone() == (1, "timeout")
    assert con.execute("SELECT count(*) FROM appearances").fetchone()[0] == 3
    # The listing's fetch is remembered, with its validator, for a conditional request.
    assert con.execute("SELECT etag, article_id, last_status FROM pages WHERE url = ?",
                       ("https://arabpress.com/",)).fetchone() == (home.etag, None, 200)
    con.close()


def test_304s_noted_a_batch_at_a_time_as_one_at_a_time(tmp_path, pages):
    # A batch's 304s are noted a statement per table (an unchanged rerun of a site whose
    # sitemaps say nothing is thousands of them): the same crawl state and last-seen times
    # as one at a time, an earlier answer moving no last-seen time back, an unknown URL
    # leaving no row, and a failure count cleared.
    later, earlier = "2025-06-21T10:00:00+00:00", "2025-06-19T10:00:00+00:00"
    sitemap = "https://arabpress.com/sitemaps/2025-06.xml"

    def answer(page, when, lastmod=None):
        out = copy.deepcopy(page)
        out.status, out.body, out.fetched_at = 304, b"", when
        out.lastmod, out.sitemap = lastmod, sitemap if lastmod else None
        return out

    states = []
    for mode in ("batch", "alone"):
        db = tmp_path / f"{mode}.sqlite"
        ingester = Ingester(Archive(f"sqlite:///{db}"))
        ingester.ingest(copy.deepcopy(pages[:4]))
        ingester.ingest([FetchFailure(url=pages[2].url, site="arabpress", kind="timeout",
                                      message="slow", failed_at=FETCHED_AT)])
        unknown = answer(pages[4], later)
        answers = [answer(pages[0], earlier, "2025-06-20"), answer(pages[1], later),
                   answer(pages[2], later), answer(pages[3], earlier), unknown,
                   answer(pages[0], later)]  # the same page again, later, no lastmod
        if mode == "batch":
            outcomes = ingester.ingest(answers)
        else:
            outcomes = [ingester._write_alone(item, ingester._read(item)[1]) for item in answers]
        assert [o.kind for o in outcomes] == [ingest.NOT_MODIFIED] * 6
        ingester.archive.close()
        con = sqlite3.connect(db)
        states.append((content(db), con.execute(
            "SELECT url, lastmod, sitemap, last_fetched, failures, last_error FROM pages "
            "ORDER BY url").fetchall()))
        con.close()
    assert states[0] == states[1]
    rows, by_url = states[0][0], {row[0]: row[1:] for row in states[0][1]}
    assert pages[4].url not in by_url
    assert by_url[pages[0].url][:3] == ("2025-06-20", sitemap, "2025-06-21 10:00:00.000000")
    assert by_url[pages[1].url][:2] == (None, None)
    assert by_url[pages[2].url][3:] == (0, None)  # the timeout before it, forgotten
    seen = {row[1]: row[3] for row in rows["appearances"]}
    assert seen[pages[0].url].startswith("2025-06-21 10:00")
    assert seen[pages[3].url].startswith("2025-06-20 10:00")  # not moved back


def test_receipts_unless_records_are_wanted(tmp_path, pages):
    with_records, _ = ingest_all(tmp_path, "r.sqlite", pages[:3], batch=3, records=True)
    receipts, _ = ingest_all(tmp_path, "n.sqlite", pages[:3], batch=3, records=False)
    assert with_records[0].record["body"] and with_records[0].record["url"] == pages[0].url
    assert set(receipts[0].record) == {"url", "site", "stored", "article_id", "version_id"}
    assert receipts[0].record["stored"] == "new_article"


def test_a_writing_transaction_holds_the_write_lock_before_its_look_ups(tmp_path):
    """Another writer waits from the transaction's start, not its first write: a batch's
    look-ups cannot be overtaken by another crawler's commit (two sister crawls at once
    raced so, and a record raced twice was lost to an ingest error)."""
    db = tmp_path / "locked.sqlite"
    archive = Archive(f"sqlite:///{db}")
    other = sqlite3.connect(db, timeout=0.1, isolation_level=None)
    try:
        with archive.transaction() as session:
            session.execute(select(Article.id)).all()  # a look-up, nothing written
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # once it has committed
        other.execute("ROLLBACK")
    finally:
        other.close()
        archive.close()


def test_a_batch_raced_by_another_writer_is_saved_one_at_a_time(tmp_path, pages, monkeypatch):
    """On a database whose writers did not take turns from their transaction's start (the
    archive's writer lock left out here), another crawler stores one of the batch's
    articles between the batch's look-up and its inserts: the batch is rolled back and
    redone record by record, with nothing doubled."""
    from pressarchive.storage import archive as archive_module
    from pressarchive.storage.archive import Archive as RealArchive

    monkeypatch.setattr(archive_module, "hold_writer_lock", lambda bind: None)

    db = tmp_path / "raced.sqlite"
    other = Ingester(Archive(f"sqlite:///{db}"))
    ingester = Ingester(Archive(f"sqlite:///{db}"))
    real_batchable = RealArchive._batchable

    def batchable_then_race(self, session, entries):
        found = real_batchable(self, session, entries)
        if not getattr(self, "raced", False):
            self.raced = True
            other.ingest([copy.deepcopy(pages[4])])  # the other crawler commits first
        return found

    monkeypatch.setattr(RealArchive, "_batchable", batchable_then_race)
    outcomes = ingester.ingest(copy.deepcopy(pages[:8]))
    assert [o.key for o in outcomes] == ["new_article"] * 4 + ["unchanged"] + ["new_article"] * 3
    rows = content(db)
    assert len(rows["appearances"]) == len(rows["versions"]) == 8


def test_a_date_stated_past_the_calendar_s_end_is_no_date(tmp_path):
    # A page stating a time that has no UTC equivalent (a CMS's "no date", 9999-12-31 at
    # 23:00 five hours west of UTC) is stored without that date, not an error of the page.
    import re

    family = SiteFamily(20, seed=0)
    item = fetched(family, family.ids("arabpress")[0])
    body, n = re.subn(rb'(article:published_time" content=")[^"]*"',
                      rb'\g<1>9999-12-31T23:00:00-05:00"', item.body)
    assert n == 1
    item.body = body
    (outcome,) = Ingester(Archive(f"sqlite:///{tmp_path / 'a.sqlite'}")).ingest([item])
    assert (outcome.kind, outcome.key) == (ingest.STORED, "new_article"), outcome.message
    con = sqlite3.connect(tmp_path / "a.sqlite")
    assert con.execute("SELECT published_at, published_utc FROM versions").fetchall() == [
        (None, None)]
    con.close()
