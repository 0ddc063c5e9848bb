"""An archive rebuilt from the WARC records its crawls kept (``pressarchive reextract
--into``): every page read again, in the order it was fetched, by today's extractor, into a new
archive; the source only read."""

from __future__ import annotations

import dataclasses
import shutil
import sqlite3
import subprocess
import sys

import pytest

from conftest import ROOT, run_crawl
from conftest import archive_content as content, recorded_runs as runs_of
from pressarchive import ingest, reextract
from pressarchive.sitegen import FamilyServer, SiteFamily
from pressarchive.storage import Archive

SITES = ("arabpress", "saudipress")


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pressarchive.cli", *args], cwd=ROOT,
                          capture_output=True, text=True)


def crawl_days(db, warc, tmp, days: int = 2, articles: int = 100) -> list:
    """Both sister sites crawled with WARC kept (sister copies), the first again at once
    (304s), then a day's advance (new articles, edits) before the next round."""
    family = SiteFamily(articles, seed=9)
    runs = []
    with FamilyServer(family) as server:
        for day in range(days):
            if day:
                family.advance(1)
            for site in (*SITES, SITES[0]) if day == 0 else SITES:
                runs.append(run_crawl(site, db, tmp, base_url=server.origins[site],
                                      settings={"WARC_DIR": str(warc)}))
    for run in runs:
        assert run.returncode == 0, run.log[-3000:]
    return runs


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("rebuild")
    db, warc = tmp / "archive.sqlite", tmp / "warc"
    runs = crawl_days(db, warc, tmp)
    return {"db": db, "url": f"sqlite:///{db}", "warc": warc, "runs": runs, "tmp": tmp}


def test_a_rebuild_from_the_warc_records_gives_the_archive_the_crawls_made(crawled, tmp_path):
    before = content(crawled["url"])
    assert before["versions"] and len(before["versions"]) > len(before["articles"])  # edits
    assert len(before["appearances"]) > len(before["articles"])  # sister copies
    assert any(c[4] == 304 for c in before["captures"])  # the rerun's 304s
    target = tmp_path / "rebuilt.sqlite"
    proc = cli("reextract", "--db", str(crawled["db"]), "--warc-dir", str(crawled["warc"]),
               "--into", str(target))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    rebuilt = content(f"sqlite:///{target}")
    for table in ("articles", "versions", "appearances", "captures", "pages"):
        assert rebuilt[table] == before[table], table
    assert content(crawled["url"]) == before  # the source only read
    # a run a site, recorded as the rebuild's, adding what the crawls added
    runs = runs_of(f"sqlite:///{target}")
    assert [(r.site, r.mode, r.finish_reason) for r in runs] == [
        (site, "reextract", "finished") for site in sorted(SITES)]
    crawls = runs_of(crawled["url"])
    for name in ("new", "appeared", "changed", "unchanged"):
        assert sum(getattr(r, name) for r in runs) == sum(getattr(r, name) for r in crawls), name
    assert sum(r.pages_fetched for r in runs) == len(before["captures"])
    assert {r.settings["reextracted_from"] for r in runs} == {crawled["url"]}
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 2 and all(" reextract " in line and ": finished;" in line
                                   for line in lines)
    assert proc.stderr.strip().splitlines()[-1] == (
        f"{len(before['captures'])} pages read again from WARC into sqlite:///{target}: "
        f"{len(before['articles'])} articles, "
        f"{len(before['appearances']) - len(before['articles'])} more appearances, "
        f"{len(before['versions']) - len(before['articles'])} more versions; 0 unreadable")


def test_a_rebuild_reads_every_page_with_todays_extractor(crawled, tmp_path, monkeypatch):
    from pressarchive.extract import extract as real_extract

    def louder(*args, **kwargs):  # an extractor that now reads a kicker into the headline
        record = real_extract(*args, **kwargs)
        return dataclasses.replace(record, headline="Update: " + record.headline,
                                   fingerprint="")

    monkeypatch.setattr(ingest, "extract", louder)
    before = content(crawled["url"])
    source, target = Archive(crawled["url"]), Archive(f"sqlite:///{tmp_path / 'new.sqlite'}")
    try:
        rebuilt = reextract.rebuild(source, crawled["warc"], target)
    finally:
        source.close()
        target.close()
    assert rebuilt.complete and not rebuilt.unreadable
    after = content(target.url)
    assert len(after["versions"]) == len(before["versions"])
    assert sorted((v[0], v[2]) for v in after["versions"]) == sorted(
        (v[0], "Update: " + v[2]) for v in before["versions"])
    assert after["articles"] == before["articles"]
    # every new version is linked to the record it was read from
    assert len({c[8] for c in after["captures"] if c[8]}) == len(after["versions"])


def test_a_rebuild_goes_only_into_a_new_archive_and_says_why_in_one_line(crawled, tmp_path):
    args = ("reextract", "--db", str(crawled["db"]), "--warc-dir", str(crawled["warc"]))
    copy = tmp_path / "copy.sqlite"
    shutil.copy(crawled["db"], copy)
    held = copy.read_bytes()
    stranger = tmp_path / "notes.sqlite"
    con = sqlite3.connect(stranger)
    con.execute("CREATE TABLE notes (line TEXT)")
    con.commit()
    con.close()
    for into, says in ((str(crawled["db"]), "must be another one than the source"),
                       (str(copy), "is not empty: a rebuild goes into a new archive"),
                       (str(stranger), "is not a pressarchive archive"),
                       (str(tmp_path / "no" / "such.sqlite"), "no folder")):
        proc = cli(*args, "--into", into)
        assert proc.returncode == 1, (into, proc.stderr)
        assert says in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert copy.read_bytes() == held
    con = sqlite3.connect(stranger)
    assert [r[0] for r in con.execute("SELECT name FROM sqlite_master")] == ["notes"]
    con.close()


def test_a_record_that_cannot_be_read_is_counted_and_the_rebuild_goes_on(crawled, tmp_path):
    warc = tmp_path / "warc"
    shutil.copytree(crawled["warc"], warc)
    before = content(crawled["url"])
    # the first day's first file, cut after its first few records
    file = min(c[5] for c in before["captures"])
    offsets = sorted(c[6] for c in before["captures"] if c[5] == file)
    (warc / file).write_bytes((warc / file).read_bytes()[:offsets[3]])
    lost = len(offsets) - 3
    target = tmp_path / "rebuilt.sqlite"
    proc = cli("reextract", "--db", str(crawled["db"]), "--warc-dir", str(warc),
               "--into", str(target), "--show", "2")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr + proc.stdout
    unreadable = [line for line in proc.stdout.splitlines() if line.startswith("unreadable")]
    assert len(unreadable) == min(2, lost) and all(file in line for line in unreadable)
    assert proc.stderr.strip().splitlines()[-1].endswith(f"; {lost} unreadable")
    runs = runs_of(f"sqlite:///{target}")
    assert sum(r.errors.get("unreadable", 0) for r in runs) == lost
    assert sum(r.failed for r in runs) == lost
    assert all(r.finish_reason == "finished" for r in runs)
    rebuilt = content(f"sqlite:///{target}")
    assert len(rebuilt["captures"]) == len(before["captures"]) - lost
    assert not {c[5:7] for c in rebuilt["captures"]} & {(file, o) for o in offsets[3:]}


def test_two_rebuilds_into_one_new_archive_one_is_refused_and_the_other_is_whole(crawled,
                                                                                 tmp_path):
    """Both ran, and the second's every page failed over the first's crawl state (a soak's
    find): the emptiness check and the runs' start are now one transaction."""
    target = tmp_path / "one.sqlite"
    args = [sys.executable, "-m", "pressarchive.cli", "reextract", "--db", str(crawled["db"]),
            "--warc-dir", str(crawled["warc"]), "--into", str(target)]
    procs = [subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    done = [(proc.wait(120), proc.stderr.read()) for proc in procs]
    assert sorted(code for code, _ in done) == [0, 1], done
    refused = next(err for code, err in done if code == 1)
    assert "is not empty" in refused and "Traceback" not in refused, refused
    assert content(f"sqlite:///{target}") == content(crawled["url"])
    assert [(r.mode, r.finish_reason) for r in runs_of(f"sqlite:///{target}")] == [
        ("reextract", "finished")] * 2
    con = sqlite3.connect(target)
    assert con.execute("SELECT count(*) FROM pages WHERE failures > 0").fetchone() == (0,)
    con.close()


def test_a_rebuild_stopped_midway_records_its_runs_as_ended(crawled, tmp_path, monkeypatch):
    """Ctrl-C (or a target that cannot be written) left the runs "running" for good (a
    soak's find): they end, reason shutdown, with what they did."""
    real = reextract._page_of
    read = []

    def then_stopped(row, warc_dir):
        if len(read) == 100:
            raise KeyboardInterrupt
        read.append(row)
        return real(row, warc_dir)

    monkeypatch.setattr(reextract, "_page_of", then_stopped)
    source = Archive(crawled["url"])
    target = Archive(f"sqlite:///{tmp_path / 'part.sqlite'}")
    try:
        with pytest.raises(KeyboardInterrupt):
            reextract.rebuild(source, crawled["warc"], target)
    finally:
        source.close()
        target.close()
    runs = runs_of(target.url)
    assert {r.finish_reason for r in runs} == {"shutdown"}
    assert all(r.finished_at is not None for r in runs)
    assert sum(r.pages_fetched for r in runs) == 101  # the hundred read, and the one stopped on
    assert sum(r.new + r.appeared + r.changed + r.unchanged for r in runs) > 0


def test_a_page_reached_through_redirects_is_rebuilt_under_the_url_asked_for(tmp_path):
    """The crawl state keeps a redirected page under the URL asked for; a rebuild put it under
    the last hop's, and the next crawl asked for such pages in full (a soak: 500 requests
    against 97). Captures keep the URL asked for (migration 0013)."""
    from pressarchive.sitegen import Faults

    db, warc = tmp_path / "archive.sqlite", tmp_path / "warc"
    family = SiteFamily(60, seed=5)
    faults = Faults(redirect_chain=0.3, retry_factor=1)
    with FamilyServer(family, faults) as server:
        for _ in range(2):
            run = run_crawl("arabpress", db, tmp_path, base_url=server.origins["arabpress"],
                            settings={"WARC_DIR": str(warc)})
            assert run.returncode == 0, run.log[-3000:]
            family.advance(1)
    before = content(f"sqlite:///{db}")
    redirected = [c for c in before["captures"] if c[2]]
    assert redirected and all(c[2] != c[1] for c in redirected)
    target = tmp_path / "rebuilt.sqlite"
    proc = cli("reextract", "--db", str(db), "--warc-dir", str(warc), "--into", str(target))
    assert proc.returncode == 0, proc.stderr
    rebuilt = content(f"sqlite:///{target}")
    for table in ("articles", "versions", "appearances", "captures", "pages"):
        assert rebuilt[table] == before[table], table
    asked = {c[2] for c in redirected}
    assert asked <= {p[1] for p in rebuilt["pages"]}
