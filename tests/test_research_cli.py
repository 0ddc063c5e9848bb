"""The researchers' commands as a user runs them: output, and one clear line for mistakes."""

from __future__ import annotations

import json
import sqlite3

import pytest

from research_helpers import assert_one_line_error, build, cli, rec


@pytest.fixture
def db(tmp_path):
    archive = build(tmp_path, [
        rec("budget", "الْحُكُومَةُ تُعْلِنُ الميزانية", "قالت الحكومة إن الميزانية جاهزة.",
            published_at="2021-08-16T14:05:00+00:00", section="اقتصاد"),
        rec("budget", "الْحُكُومَةُ تُعْلِنُ الميزانية", "قالت الحكومة إن الميزانية جاهزة تماماً.",
            fetched_at="2025-06-21T09:00:00+00:00", published_at="2021-08-16T14:05:00+00:00"),
        rec("oil", "Oil prices and the government " + "very long headline " * 10,
            "The government said = oil.", fetched_at="2025-06-22T09:00:00+00:00"),
    ])
    archive.close()
    return tmp_path / "a.sqlite"


def test_search_prints_a_table(db):
    proc = cli("search", "الحكومة", "--db", str(db), "--snippets")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["ID", "DATE", "SITE", "HEADLINE"]
    assert lines[1].split()[:3] == ["#1", "2021-08-16", "arabpress"]
    assert "[الحكومة]" in lines[2]


def test_search_table_truncates_and_marks_first_seen_dates(db):
    proc = cli("search", "oil", "--db", str(db))
    row = proc.stdout.splitlines()[1]
    assert "2025-06-22*" in row and row.endswith("…") and len(row) <= 100
    assert "first saw" in proc.stderr


def test_search_json_lines(db):
    proc = cli("search", "government", "OR", "الحكومة", "--json", "--db", f"sqlite:///{db}")
    hits = [json.loads(line) for line in proc.stdout.splitlines()]
    assert {h["article_id"] for h in hits} == {1, 2}
    by_id = {h["article_id"]: h for h in hits}
    assert by_id[1]["versions"] == 2 and by_id[1]["date_source"] == "published"
    assert by_id[2]["date_source"] == "first_seen"


def test_db_comes_from_the_environment(db, monkeypatch):
    import os
    import subprocess
    import sys

    env = {**os.environ, "ARCHIVE_URL": f"sqlite:///{db}"}
    proc = subprocess.run([sys.executable, "-m", "pressarchive.cli", "search", "oil", "--json"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert json.loads(proc.stdout)["article_id"] == 2


def test_an_archive_path_in_the_environment_is_a_sqlite_file(db, monkeypatch):
    """$ARCHIVE_URL (or --db) may be a plain path: the crawl and every command read it so."""
    from pressarchive.storage import archive_url

    monkeypatch.setenv("ARCHIVE_URL", str(db))
    assert archive_url() == f"sqlite:///{db.resolve()}"
    monkeypatch.setenv("HOME", str(db.parent))
    assert archive_url("~/a.sqlite") == f"sqlite:///{db.resolve()}"


def test_sites_may_be_given_comma_separated_or_repeated(db):
    for args in (["--site", "arabpress,saudipress"], ["--site", "arabpress", "--site", "x"]):
        proc = cli("search", "government", "OR", "الحكومة", "--json", "--db", str(db), *args)
        assert proc.returncode == 0, proc.stderr
        assert {json.loads(line)["article_id"] for line in proc.stdout.splitlines()} == {1, 2}


def test_show_prints_the_article_with_its_diff(db):
    proc = cli("show", "https://arabpress.com/budget?utm_source=x", "--db", str(db))
    assert proc.returncode == 0, proc.stderr
    assert "Article #1" in proc.stdout and "{+جاهزة تماماً.+}" in proc.stdout
    data = json.loads(cli("show", "1", "--json", "--db", str(db)).stdout)
    assert len(data["versions"]) == 2


def test_export_and_its_manifest(db, tmp_path):
    out = tmp_path / "snap.csv"
    proc = cli("export", str(out), "--bom", "--site", "arabpress", "--db", str(db))
    assert proc.returncode == 0, proc.stderr
    assert "wrote 2 records" in proc.stderr
    manifest = json.loads((tmp_path / "snap.csv.manifest.json").read_text())
    assert manifest["command"] == ["pressarchive", "export", str(out), "--bom", "--site",
                                   "arabpress", "--db", str(db)]
    assert manifest["filters"] == {"site": "arabpress"} and manifest["records"] == 2
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    assert "'= oil." not in out.read_text("utf-8-sig")  # the body starts with "The"


def test_export_to_standard_output(db):
    proc = cli("export", "-", "--db", str(db), "--query", "oil")
    assert [json.loads(line)["url"] for line in proc.stdout.splitlines()] == \
        ["https://arabpress.com/oil"]


def test_stats_and_plot(db, tmp_path):
    proc = cli("stats", "--db", str(db), "--json")
    assert json.loads(proc.stdout)["articles"] == 2
    text = cli("stats", "--db", str(db)).stdout
    assert "2 articles, 3 versions, 2 appearances" in text and "published_at" in text
    pytest.importorskip("matplotlib")
    proc = cli("stats", "--db", str(db), "--plot", str(tmp_path / "d.png"))
    assert proc.returncode == 0 and (tmp_path / "d.png").read_bytes().startswith(b"\x89PNG")


def test_reindex(db):
    proc = cli("reindex", "--db", str(db))
    assert proc.returncode == 0 and "indexed 3 versions" in proc.stderr
    proc = cli("search", "ميزانيه", "--json", "--db", str(db))  # with its article: الميزانية
    assert json.loads(proc.stdout)["article_id"] == 1


@pytest.mark.parametrize("args, words", [
    (["search", '"unbalanced'], ["unbalanced double quotes"]),
    (["search", "a", "NOT"], ["malformed search query"]),
    (["search", "(oil"], ["unbalanced parentheses"]),
    (["search", "oil", "--since", "yesterday"], ["not a date"]),
    (["search", "oil", "--until", "9999-12"], ["date out of range"]),
    (["export", "-", "--since", "9999-12-31T23:00:00-05:00"], ["date out of range"]),
    (["search", "oil", "--since", "2022", "--until", "2021"], ["--until is before --since"]),
    (["show", "12345"], ["no article with id 12345"]),
    (["show", "https://arabpress.com/nope"], ["no article seen at"]),
    (["export", "/nonexistent-dir/out.csv"], ["cannot write /nonexistent-dir/out.csv"]),
    (["export", "out.xlsx"], ["cannot tell the format"]),
    (["export", "-", "--query", "x NOT"], ["malformed search query"]),
    (["stats", "--plot", "/nonexistent-dir/p.png"], ["cannot write"]),
])
def test_user_mistakes_are_one_line_and_non_zero(db, args, words):
    assert_one_line_error(cli(*args, "--db", str(db)), *words)


def test_unwritable_export_leaves_no_file(db, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "file").write_text("x")
    assert_one_line_error(cli("export", str(tmp_path / "out" / "file" / "x.json"),
                              "--db", str(db)), "cannot write")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["file"]


def test_reading_leaves_no_wal_files_behind(db):
    cli("search", "x", "--db", str(db))
    assert sorted(p.name for p in db.parent.iterdir()) == ["a.sqlite"]


@pytest.mark.parametrize("command", [["search", "x"], ["show", "1"], ["export", "o.json"],
                                     ["stats"], ["reindex"], ["serve"]])
def test_a_missing_archive_is_reported_not_created(tmp_path, command):
    missing = tmp_path / "missing.sqlite"
    assert_one_line_error(cli(*command, "--db", str(missing), cwd=tmp_path), "no archive at")
    assert not missing.exists() and not (tmp_path / "o.json").exists()


def test_a_file_that_is_no_archive_is_left_alone(tmp_path):
    other = tmp_path / "other.sqlite"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE notes (x)")
    con.close()
    before = other.read_bytes()
    assert_one_line_error(cli("search", "x", "--db", str(other)), "not a pressarchive archive")
    assert other.read_bytes() == before
    text = tmp_path / "notes.txt"
    text.write_text("hello " * 100)
    assert_one_line_error(cli("stats", "--db", str(text)), "cannot read")


def test_an_archive_from_a_newer_pressarchive_is_refused_in_one_line(db):
    con = sqlite3.connect(db)
    con.execute("UPDATE alembic_version SET version_num = '0099'")
    con.commit()
    con.close()
    assert_one_line_error(cli("search", "x", "--db", str(db)), "newer pressarchive")
