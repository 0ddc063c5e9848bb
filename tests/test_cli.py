"""`pressarchive extract` as a user runs it: a JSON record on stdout, or a reason and exit 1."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pytest

from conftest import ARTICLES, FIXTURES

SEED = ARTICLES / "arabpress-v1-seed"
SEED_URL = "https://arabpress.com/us-secretary-of-state-calls-china-russia-on-afghan-collapse"


def run(*args, input_bytes=None):
    return subprocess.run([sys.executable, "-m", "pressarchive.cli", *args], capture_output=True,
                          input=input_bytes, timeout=60)


def test_extract_prints_the_record_as_one_json_object():
    proc = run("extract", str(SEED / "page.html"), "--url", SEED_URL)
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)
    assert record["headline"] == "US Secretary Of State Calls China, Russia On Afghan Collapse"
    assert record["url"] == SEED_URL and record["site"] == "arabpress"
    assert record["published_at"] is None and record["page_date"] == "2025-06-20"


def test_extract_reads_standard_input():
    proc = run("extract", "-", "--url", SEED_URL, input_bytes=(SEED / "page.html").read_bytes())
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["site"] == "arabpress"


@pytest.mark.parametrize("page,reason", [
    ("site/arabpress/tag/iran.html", "not an article"),
    ("site/arabpress/search.html", "not an article"),
    ("site/arabpress/index.html", "not an article"),
    ("site/arabpress/video/watch-iran-missile-launch-footage.html", "not an article"),
    ("site/arabpress/empty.html", "empty page"),
    ("site/arabpress/truncated.html", "truncated"),
])
def test_extract_refuses_non_articles_with_one_line_and_exit_1(page, reason):
    proc = run("extract", str(FIXTURES / page), "--url", "https://arabpress.com/x")
    assert proc.returncode == 1
    assert proc.stdout == b""
    err = proc.stderr.decode()
    assert err.count("\n") == 1 and reason in err and "Traceback" not in err


def test_extract_of_a_missing_file_is_one_clear_line():
    proc = run("extract", "/nonexistent/page.html", "--url", SEED_URL)
    assert proc.returncode != 0 and proc.stdout == b""
    assert b"Traceback" not in proc.stderr and b"/nonexistent/page.html" in proc.stderr


def test_extract_finds_a_windows_1256_charset_from_the_meta_tag():
    case = ARTICLES / "arabpress-v1-windows-1256"
    if not case.exists():
        pytest.skip("fixture not present")
    meta = json.loads((case / "meta.json").read_text())
    proc = run("extract", str(case / "page.html"), "--url", meta["url"])
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)
    assert record["headline"] == json.loads((case / "expected.json").read_text())["headline"]
    assert any("\u0600" <= ch <= "\u06ff" for ch in record["headline"])


def test_extract_detects_the_charset_when_the_page_does_not_say(tmp_path):
    html = (ARTICLES / "arabpress-v1-seed" / "page.html").read_text("utf-8")
    html = html.replace('<meta charset="utf-8">', "").replace(
        "US negotiator Zalmay Khalilzad", "المفاوض الأمريكي زلماي خليل زاد US negotiator")
    page = tmp_path / "page.html"
    page.write_bytes(html.encode("cp1256", errors="ignore"))
    proc = run("extract", str(page), "--url", SEED_URL)
    assert proc.returncode == 0, proc.stderr
    assert "المفاوض الأمريكي زلماي خليل زاد" in json.loads(proc.stdout)["body"]


def test_fixtures_command_finds_no_difference_on_a_correct_case():
    proc = run("fixtures", "arabpress-v1-seed")
    assert proc.returncode == 0, proc.stdout
    assert b"0 fields differ" in proc.stderr


def test_every_command_has_an_example_in_its_help():
    from click.testing import CliRunner

    from pressarchive.cli import main

    for name in main.commands:
        result = CliRunner().invoke(main, [name, "--help"])
        assert result.exit_code == 0 and "Example:" in result.output, name


def test_the_crawl_command_prints_its_own_runs_and_says_when_none_was_recorded(tmp_path,
                                                                               monkeypatch):
    # A crawl stopped before its run was recorded (the archive locked when it starts, say)
    # prints no earlier run as if it were its own, says so, and exits 1.
    from click.testing import CliRunner

    import pressarchive.crawl
    from pressarchive.cli import main
    from pressarchive.storage import Archive, crawlstate

    db = tmp_path / "archive.sqlite"
    archive = Archive(f"sqlite:///{db}")
    with archive.transaction() as session:
        old = crawlstate.start_run(session, "arabpress", "arabpress", "incremental", {},
                                   dt.datetime(2025, 6, 20, 10))
    archive.close()
    ended = [{"finish_reason": "archive_unwritable"}]
    monkeypatch.setattr(pressarchive.crawl, "run_spiders", lambda jobs, **settings: ended)
    result = CliRunner().invoke(main, ["crawl", "arabpress", "--db", str(db)])
    assert result.exit_code == 1
    assert "arabpress: no run recorded (archive_unwritable)" in result.output
    assert f"run #{old} " not in result.output
    # Its own run is printed, found by the id the crawl's stats give, whatever came after.
    ended[:] = [{"finish_reason": "finished", "pressarchive/run_id": old}]
    result = CliRunner().invoke(main, ["crawl", "arabpress", "--db", str(db)])
    assert f"run #{old} arabpress" in result.output and "no run recorded" not in result.output


def test_commands_that_read_an_archive_refuse_a_stranger_s_file_in_one_line(tmp_path):
    bad = tmp_path / "bad.sqlite"
    bad.write_text("not a database")
    for args in (["runs", "--db", str(bad)],
                 ["runs", "--db", "postgresql://nobody@127.0.0.1:1/none"],
                 ["demo", "--db", str(tmp_path / "no-such-folder" / "demo.sqlite")]):
        proc = run(*args)
        assert proc.returncode == 1, (args, proc.stderr)
        lines = proc.stderr.decode().strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("pressarchive: "), (args, lines)


def test_the_crawl_command_reads_base_urls_for_its_sites_only(tmp_path, monkeypatch):
    from click.testing import CliRunner

    import pressarchive.crawl
    from pressarchive.cli import main

    jobs = []
    monkeypatch.setattr(pressarchive.crawl, "run_spiders",
                        lambda given, **settings: jobs.extend(given) or [])
    db = str(tmp_path / "archive.sqlite")
    two = "arabpress=http://127.0.0.1:1/,saudipress=http://127.0.0.1:2/?a=b"
    CliRunner().invoke(main, ["crawl", "arabpress", "saudipress", "--db", db, "--base-url", two])
    assert [(site, args["base_url"]) for site, args in jobs] == [
        ("arabpress", "http://127.0.0.1:1/"), ("saudipress", "http://127.0.0.1:2/?a=b")]
    # A stray comma names nothing: not "no base URL", which would crawl the real site.
    jobs.clear()
    CliRunner().invoke(main, ["crawl", "arabpress", "--db", db,
                              "--base-url", "http://127.0.0.1:1/,"])
    assert [args["base_url"] for _, args in jobs] == ["http://127.0.0.1:1/"]
    jobs.clear()
    result = CliRunner().invoke(main, ["crawl", "arabpress", "--db", db,
                                       "--base-url", "arabpress="])
    assert result.exit_code != 0 and not jobs and "no URL given" in result.output
    # A site that is not crawled: one line, not a crawl of the real arabpress.com.
    jobs.clear()
    result = CliRunner().invoke(main, ["crawl", "arabpress", "--db", db,
                                       "--base-url", "saudipress=http://127.0.0.1:2/"])
    assert result.exit_code != 0 and not jobs
    assert "saudipress is not among the sites crawled" in result.output


def test_the_crawl_command_takes_settings_as_scrapy_crawl_does(tmp_path):
    # What a scheduled run (cron, a systemd timer) calls can set what `scrapy crawl -s` can:
    # here the stats files a scheduler reads and a JOBDIR, each site's own ({site}); they
    # win over the options (LOG_LEVEL over --log-level). A setting not written NAME=VALUE,
    # the archive given so (it is --db's, checked before the crawl), a word for a number, or
    # one file or folder for several sites, is one line and exit 1, with no crawl, and the
    # stats file says the run did not start (not the last run's "finished").
    from pressarchive.sitegen import FamilyServer, SiteFamily

    db = tmp_path / "archive.sqlite"
    with FamilyServer(SiteFamily(40, seed=2)) as server:
        bases = ",".join(f"{site}={server.origins[site]}" for site in ("arabpress", "saudipress"))
        proc = run("crawl", "arabpress", "saudipress", "--db", str(db), "--base-url", bases,
                   "--log-level", "ERROR", "-s", f"STATS_FILE={tmp_path}/stats-{{site}}.json",
                   "--set", "LOG_LEVEL=INFO", "-s", f"JOBDIR={tmp_path}/job-{{site}}")
        assert proc.returncode == 0, proc.stderr.decode()[-2000:]
        assert b"] INFO: " in proc.stderr  # -s LOG_LEVEL won over --log-level
        for site in ("arabpress", "saudipress"):
            stats = json.loads((tmp_path / f"stats-{site}.json").read_text())
            assert stats["finish_reason"] == "finished"
            assert stats["pressarchive/stored/new_article"] > 0, (site, stats)
            assert (tmp_path / f"job-{site}").is_dir()
        stats_file = tmp_path / "stats-arabpress.json"
        stats = ["-s", f"STATS_FILE={stats_file}"]
        # Settings of ours (and a budget) given what they cannot be read as.
        unreadable = [(stats + ["-s", f"{name}={value}"], f"{name} must be {kind}, not {value!r}")
                      for name, value, kind in (
                          ("LASTMOD_AHEAD_REVISIT", "abc", "a number"),
                          ("CLOSESPIDER_PAGECOUNT", "1.5", "a whole number"),
                          ("CLOSESPIDER_TIMEOUT", "nan", "a number"),
                          ("FULL_RECHECK", "maybe", "1/0, True/False"))]
        for bad, says in [(["-s", "STATS_FILE"], "give a setting as NAME=VALUE"),
                          (["-s", "=1"], "give a setting as NAME=VALUE"),
                          (["-s", f"ARCHIVE_URL=sqlite:///{tmp_path / 'other.sqlite'}"],
                           "give the archive with --db"),
                          (stats + ["--since", "last week"], "--since must be a date"),
                          *unreadable,
                          # A mistake in -s itself still writes the stats file, the last
                          # STATS_FILE given, each site's own.
                          (["-s", f"STATS_FILE={tmp_path}/stats-{{site}}.json", "-s", "LOG_LEVEL"],
                           "give a setting as NAME=VALUE"),
                          (["arabpress", *stats], "named twice"),
                          (["saudipress", "-s", f"JOBDIR={tmp_path}/job"],
                           "with several sites, name {site} in it")]:
            sites = ["arabpress"] + [b for b in bad if b in ("saudipress", "arabpress")]
            rest = [b for b in bad if b not in ("saudipress", "arabpress")]
            base = bases if len(sites) > 1 else server.origins["arabpress"]
            proc = run("crawl", *sites, "--db", str(db), "--base-url", base, *rest)
            lines = proc.stderr.decode().strip().splitlines()
            assert proc.returncode == 1 and len(lines) == 1 and says in lines[0], (bad, lines)
            if any(b.startswith("STATS_FILE=") for b in rest):
                written = json.loads(stats_file.read_text())
                assert written["finish_reason"] == "not_started" and \
                    says in written["pressarchive/not_started"], (bad, written)
                stats_file.write_text('{"finish_reason": "finished"}')  # as a run left it
        # A stats file that cannot be written: one line more, no traceback.
        proc = run("crawl", "arabpress", "--db", str(db), "--since", "x",
                   "-s", f"STATS_FILE={tmp_path}/no-such-folder/stats.json")
        lines = proc.stderr.decode().strip().splitlines()
        assert proc.returncode == 1 and len(lines) == 2, lines
        assert "could not be written" in lines[0] and "--since must be a date" in lines[1]
    assert not (tmp_path / "other.sqlite").exists()


def test_failures_lists_the_urls_whose_last_fetches_failed(tmp_path):
    # What an operator reads after a run whose summary counted failures: each failing URL,
    # its runs in a row, last error, when, and what it was asked for as; latest first.
    from pressarchive.sitegen import FamilyServer, Faults, SiteFamily
    from pressarchive.storage import Archive, crawlstate

    from conftest import run_crawl

    family = SiteFamily(60, seed=6)
    paths = ["/" + family.article(i).url("arabpress").split(".com/", 1)[1]
             for i in family.ids("arabpress")[:2]]
    db = tmp_path / "archive.sqlite"
    faults = Faults(error_5xx=1.0, retry_factor=1.0, targets=(paths[0], "/feed.xml"),
                    faults_on_all=True)
    with FamilyServer(family, faults) as server:
        crawl = run_crawl("arabpress", db, tmp_path, base_url=server.origins["arabpress"])
    assert crawl.stats["finish_reason"] == "finished", crawl.log[-2000:]
    archive = Archive(f"sqlite:///{db}")  # and one given up: five runs in a row
    with archive.transaction() as session:
        for _ in range(5):
            crawlstate.note_failure(session, "arabpress", "https://arabpress.com/gone",
                                    "timeout", crawlstate.stored_time("2025-06-01T10:00:00Z"))
    archive.close()
    proc = run("failures", "--db", str(db), "--site", "arabpress")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.decode().splitlines()
    assert len(lines) == 3 and proc.stderr.decode().strip() == "3 failing URLs", (lines,
                                                                                  proc.stderr)
    words = [line.split() for line in lines]
    article = "https://arabpress.com" + paths[0]
    assert {(w[-1], w[1], w[3][:6], w[-3], w[-2]) for w in words[:2]} == {
        (article, "1", "http_5", "page", "retried"),
        ("https://arabpress.com/feed.xml", "1", "http_5", "feed", "retried")}
    # Given up: no count of runs (a 410 is recorded at the limit at once).
    assert words[2][-1] == "https://arabpress.com/gone" and words[2][1] == "timeout"
    assert "given up" in lines[2]
    # The columns line up: each row's URL starts at the same place.
    assert len({line.index("https://") for line in lines}) == 1, lines
    proc = run("failures", "--db", str(db), "--limit", "1")
    assert len(proc.stdout.decode().splitlines()) == 1
    assert proc.stderr.decode().strip() == "3 failing URLs, the latest 1 shown"
    proc = run("failures", "--db", str(db), "--site", "saudipress")
    assert proc.stdout == b"" and proc.stderr.decode().strip() == "0 failing URLs"
    proc = run("failures", "--db", str(db), "--site", "arabpres")
    assert proc.returncode == 1 and proc.stderr.decode().startswith(
        "pressarchive: unknown site arabpres")
    assert run("failures", "--db", str(db), "--limit", "0").returncode != 0
