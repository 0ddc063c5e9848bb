"""An archive made by an older pressarchive (schema 0001) upgrades in place and is searchable."""

from __future__ import annotations

import shutil
import sqlite3

from conftest import FIXTURES
from pressarchive.record import body_key
from pressarchive.research.search import search
from pressarchive.research.show import show
from pressarchive.storage import Archive
from pressarchive.storage.archive import SCHEMA_HEAD
from research_helpers import rec

OLD = FIXTURES / "archives" / "schema-0001.sqlite"


def test_the_stored_archive_is_at_schema_0001():
    con = sqlite3.connect(f"file:{OLD}?mode=ro", uri=True)
    assert con.execute("SELECT version_num FROM alembic_version").fetchall() == [("0001",)]
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "search_index" not in tables and "pages" not in tables
    con.close()


def test_an_0001_archive_upgrades_in_place_and_keeps_its_data(tmp_path):
    stored = OLD.read_bytes()
    path = tmp_path / "old.sqlite"
    shutil.copy(OLD, path)
    before = sqlite3.connect(path)
    rows_before = {t: before.execute(f"SELECT * FROM {t} ORDER BY id").fetchall()
                   for t in ("articles", "versions", "appearances")}
    columns = {t: ", ".join(r[1] for r in before.execute(f"PRAGMA table_info({t})"))
               for t in rows_before}
    before.close()

    archive = Archive(f"sqlite:///{path}")
    with archive.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() \
            == SCHEMA_HEAD
        for table, rows in rows_before.items():  # the columns there were, as they were
            assert conn.exec_driver_sql(
                f"SELECT {columns[table]} FROM {table} ORDER BY id").fetchall() == rows
        # Migration 0009 gave every version the key of its body.
        keys = conn.exec_driver_sql("SELECT body, body_key FROM versions").fetchall()
        assert len(keys) == 4 and all(key == body_key(body) for body, key in keys)
        assert conn.exec_driver_sql("SELECT count(*) FROM search_index").scalar() == 4
    assert archive.counts() == {"articles": 3, "versions": 4, "appearances": 4}

    # The backfilled index is normalized: no harakat, tatweel or Arabic-Indic digits needed.
    (hit,) = search(archive, "الحكومة المصرية")
    assert hit.article_id == 1 and hit.version_id == 2 and hit.latest
    assert hit.sites == ["arabpress", "saudipress"] and hit.date_source == "published"
    assert [h.article_id for h in search(archive, "ميزانيه 2021")] == [1]
    assert [h.article_id for h in search(archive, "البرلمان")] == [1]   # only in version 2
    assert [h.article_id for h in search(archive, "opec")] == [2]
    assert search(archive, "opec")[0].date_source == "first_seen"
    assert [h.article_id for h in search(archive, "مياه", since="2021-08-18")] == [3]
    assert [c["op"] for c in show(archive, 1)["versions"][1]["diff"]] == ["added"]

    # The upgraded archive goes on archiving, and indexes what it adds.
    saved = archive.save(rec("new-story", "خبر جديد عن الحُكومة", "نص الخبر."))
    assert {h.article_id for h in search(archive, "الحكومه")} == {1, saved.article_id}
    archive.close()
    assert OLD.read_bytes() == stored  # the copy was upgraded, the stored fixture untouched
