"""Exports: JSON, JSON Lines and CSV that read back to the same records, safe in
spreadsheets, streamed, written atomically, with a manifest that checks out."""

from __future__ import annotations

import csv
import hashlib
import inspect
import io
import json
import tracemalloc

import pytest
from sqlalchemy import event

from pressarchive.record import RECORD_FIELDS
from pressarchive.research import export as export_module
from pressarchive.research.export import FIELDS, ExportError, export, iter_records
from pressarchive.storage.archive import SCHEMA_HEAD
from pressarchive.research.filters import Filters
from research_helpers import build, rec

JSON_FIELDS = ("related", "authors", "images", "sources")


@pytest.fixture
def archive(tmp_path):
    archive = build(tmp_path, [
        rec("budget", "الْحُكُومَةُ تُعْلِنُ الميزانية", "فقرة أولى.\n\nفقرة ثانية.",
            summary="ملخص", published_at="2021-08-16T14:05:00+00:00", section="اقتصاد",
            authors=["سارة"], language="ar", sources={"published_at": "jsonld"},
            images=[{"url": "https://arabpress.com/i.jpg", "caption": "صورة"}],
            related=[{"title": "خبر", "url": "https://arabpress.com/x"}]),
        rec("budget", "الْحُكُومَةُ تُعْلِنُ الميزانية", "فقرة أولى.\n\nفقرة ثانية.",
            summary="ملخص", site="saudipress", fetched_at="2025-06-21T09:00:00+00:00"),
        rec("oil", "Oil, \"prices\" and commas", "Line one\nline two.\n\nPara, two.",
            fetched_at="2025-06-22T09:00:00+00:00", language="en"),
    ])
    yield archive
    archive.close()


def expected(archive):
    return [{k: v for k, v in r.items() if k != "_date"} for r in iter_records(archive)]


def read_csv(path, encoding="utf-8"):
    with open(path, newline="", encoding=encoding) as f:
        rows = list(csv.DictReader(f))
    out = []
    for row in rows:
        record = {k: (None if v == "" else v) for k, v in row.items()}
        for name in JSON_FIELDS:
            record[name] = json.loads(row[name])
        for name in ("article_id", "version_id", "times_seen"):
            record[name] = int(row[name])
        out.append(record)
    return out


def test_records_carry_the_contract_fields_and_article_id(archive):
    records = expected(archive)
    assert len(records) == 3  # one per appearance
    assert set(RECORD_FIELDS) | {"article_id"} <= set(records[0])
    assert records[0]["article_id"] == records[1]["article_id"]
    assert {r["site"] for r in records[:2]} == {"arabpress", "saudipress"}
    legacy = {(r["site"], r["url"]): r for r in archive.records()}
    for record in records:  # the same record the archive itself reads back
        assert {k: record[k] for k in RECORD_FIELDS} == \
            {k: legacy[(record["site"], record["url"])][k] for k in RECORD_FIELDS}


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv"])
def test_exports_read_back_to_the_same_records(archive, tmp_path, fmt):
    out = tmp_path / f"snapshot.{fmt}"
    manifest = export(archive, out)
    if fmt == "json":
        back = json.loads(out.read_text("utf-8"))
    elif fmt == "jsonl":
        back = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    else:
        back = read_csv(out)
    assert back == expected(archive)
    assert manifest["records"] == 3 and manifest["articles"] == 2 and manifest["format"] == fmt


def test_an_empty_export_is_still_valid(archive, tmp_path):
    for fmt in ("json", "jsonl", "csv"):
        out = tmp_path / f"empty.{fmt}"
        export(archive, out, filters=Filters.make(site="nosuchsite"))
        if fmt == "json":
            assert json.loads(out.read_text()) == []
        elif fmt == "csv":
            assert out.read_text().splitlines() == [",".join(FIELDS)]
        else:
            assert out.read_text() == ""


def test_manifest_describes_and_checks_the_snapshot(archive, tmp_path):
    out = tmp_path / "snap.jsonl"
    manifest = export(archive, out, filters=Filters.make(site="arabpress", since="2021"),
                      query="الحكومة", command=["pressarchive", "export", "snap.jsonl"])
    on_disk = json.loads((tmp_path / "snap.jsonl.manifest.json").read_text("utf-8"))
    assert on_disk == manifest
    data = out.read_bytes()
    assert manifest["sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["bytes"] == len(data)
    assert manifest["records"] == 1
    assert manifest["filters"] == {"site": "arabpress", "since": "2021", "query": "الحكومة"}
    assert manifest["command"] == ["pressarchive", "export", "snap.jsonl"]
    assert manifest["schema_revision"] == SCHEMA_HEAD
    from pressarchive import __version__
    from pressarchive.extract import EXTRACTOR_VERSION
    assert manifest["extractor_version"] == EXTRACTOR_VERSION
    assert manifest["pressarchive_version"] == __version__
    assert manifest["date_range"]["first"] == manifest["date_range"]["last"] == \
        "2021-08-16T14:05:00+00:00"
    assert manifest["created_at"].endswith("+00:00")


def test_a_manifest_names_no_database_password(archive, tmp_path):
    # The command line as given, but for the password of a database URL in it.
    manifest = export(archive, tmp_path / "snap.csv", command=[
        "pressarchive", "export", "snap.csv", "--db", "postgresql://reader:s3cret@db/archive",
        "--db=postgresql+psycopg://reader:s3cret@db:5432/archive", "--site", "arabpress",
        "--db", "postgresql://db/archive?application_name=x&password=s3cret"])
    assert manifest["command"] == [
        "pressarchive", "export", "snap.csv", "--db", "postgresql://reader:***@db/archive",
        "--db=postgresql+psycopg://reader:***@db:5432/archive", "--site", "arabpress",
        "--db", "postgresql://db/archive?application_name=x&password=***"]
    assert "s3cret" not in (tmp_path / "snap.csv.manifest.json").read_text("utf-8")


def test_filters_and_query_select_records(archive, tmp_path):
    def urls(**kw):
        return [r["url"] for r in iter_records(archive, Filters.make(**{
            k: v for k, v in kw.items() if k != "query"}), kw.get("query"))]

    assert urls(site="saudipress") == ["https://saudipress.com/budget"]
    assert urls(until="2021-12-31") == ["https://arabpress.com/budget",
                                       "https://saudipress.com/budget"]
    assert urls(since="2025-06-22") == ["https://arabpress.com/oil"]  # first seen: no date
    assert urls(query="commas") == ["https://arabpress.com/oil"]
    assert urls(query="الحكومه", site="arabpress") == ["https://arabpress.com/budget"]


def test_csv_cells_that_spreadsheets_would_run_are_neutralized(tmp_path):
    archive = build(tmp_path, [rec("evil", "=HYPERLINK(\"http://x\",\"click\")", "-2+3",
                                   summary="+SUM(A1:A9)", section="@cmd",
                                   authors=["=1+1"], language="\ten")])
    out = tmp_path / "evil.csv"
    export(archive, out)
    (row,) = csv.DictReader(io.StringIO(out.read_text("utf-8")))
    assert row["headline"] == "'=HYPERLINK(\"http://x\",\"click\")"
    assert row["body"] == "'-2+3" and row["summary"] == "'+SUM(A1:A9)"
    assert row["section"] == "'@cmd" and row["language"] == "'\ten"
    assert json.loads(row["authors"]) == ["=1+1"]  # a JSON cell starts with [ : inert
    assert row["url"] == "https://arabpress.com/evil"
    archive.close()


def test_bom_only_when_asked(archive, tmp_path):
    export(archive, tmp_path / "plain.csv")
    export(archive, tmp_path / "excel.csv", bom=True)
    assert not (tmp_path / "plain.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    data = (tmp_path / "excel.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbfarticle_id,")
    assert read_csv(tmp_path / "excel.csv", encoding="utf-8-sig") == expected(archive)
    with pytest.raises(ExportError, match="CSV only"):
        export(archive, tmp_path / "x.json", bom=True)


@pytest.mark.parametrize("target", ["missing-dir/out.csv", "a-file/out.csv", "."])
def test_unwritable_output_raises_and_leaves_nothing(archive, tmp_path, target):
    (tmp_path / "a-file").write_text("not a folder")
    before = set(tmp_path.rglob("*"))
    with pytest.raises(ExportError, match="cannot write"):
        export(archive, tmp_path / target, fmt="csv")
    assert set(tmp_path.rglob("*")) == before


def test_a_failure_midway_leaves_no_partial_file(archive, tmp_path, monkeypatch):
    real = export_module._record
    calls = []

    def failing(row):
        calls.append(row)
        if len(calls) == 2:
            raise RuntimeError("disk on fire")
        return real(row)

    monkeypatch.setattr(export_module, "_record", failing)
    with pytest.raises(RuntimeError):
        export(archive, tmp_path / "half.jsonl")
    assert list(tmp_path.glob("half*")) == [] and list(tmp_path.glob(".half*")) == []


def test_export_streams_with_flat_memory(tmp_path):
    body = " ".join(["The ministry said the plan would cost more than expected."] * 70)
    archive = build(tmp_path, [rec(f"s{i}", f"Headline {i}", f"{i} {body}")
                               for i in range(2000)])
    options = []
    event.listen(archive.engine, "before_cursor_execute",
                 lambda conn, cursor, stmt, params, context, many:
                 options.append(dict(context.execution_options)))
    records = iter_records(archive)
    assert inspect.isgenerator(records)  # nothing is read until asked for
    assert options == []
    first = next(records)
    assert first["url"] == "https://arabpress.com/s0"
    assert options[-1].get("stream_results") and options[-1].get("yield_per")
    records.close()

    tracemalloc.start()
    count = sum(1 for _ in iter_records(archive))
    streamed = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    tracemalloc.start()
    held = list(iter_records(archive))
    materialized = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert count == len(held) == 2000
    # 2,000 records of ~4 KB held at once take ~12 MB; streamed, a batch at a time.
    assert streamed < materialized / 3, (streamed, materialized)

    out = tmp_path / "big.jsonl"
    tracemalloc.start()
    manifest = export(archive, out)
    exported = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert manifest["records"] == 2000 and exported < materialized / 3
    archive.close()
