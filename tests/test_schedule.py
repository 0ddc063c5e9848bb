"""The scheduled-run command that README.md shows, run as written against the local copy."""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys

from pressarchive.sitegen import FamilyServer, Faults, SiteFamily

from conftest import ROOT, run_crawl


def readme_command() -> list[str]:
    text = (ROOT / "README.md").read_text("utf-8")
    block = re.search(r"```sh\n(pressarchive crawl [^\n]+)\n```", text)
    assert block, "README.md shows no scheduled-run command"
    return shlex.split(block.group(1))


def test_readme_schedule_command_runs_and_a_rerun_adds_nothing(local_sites, tmp_path):
    cmd = readme_command()
    assert cmd[:2] == ["pressarchive", "crawl"]
    db_at = cmd.index("--db") + 1
    cmd[db_at] = str(tmp_path / "archive.sqlite")
    for site, server in local_sites.items():
        cmd += ["--base-url", f"{site}={server.origin}"]
    runs = []
    for _ in range(2):
        proc = subprocess.run([sys.executable, "-m", "pressarchive.cli", *cmd[1:]], cwd=ROOT,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        runs.append([line for line in proc.stdout.splitlines() if line.startswith("run #")])
    first, second = runs
    assert [line.split()[2] for line in first] == ["arabpress", "saudipress"]
    # Both sites crawl at once, so the shared article is "new" on whichever got there first.
    counts = [re.search(r"(\d+) new, (\d+) at new URLs", line).groups() for line in first]
    assert sum(int(n) + int(a) for n, a in counts) == 17 + 2
    assert sum(int(n) for n, _ in counts) == 17 + 1
    assert all("finished" in line for line in first)
    assert all(" 0 new, 0 at new URLs, 0 changed" in line for line in second), second


def crawl_command(db, origin: str) -> subprocess.CompletedProcess:
    """The scheduled-run command for arabpress at ``origin``."""
    return subprocess.run([sys.executable, "-m", "pressarchive.cli", "crawl", "arabpress",
                           "--db", str(db), "--base-url", origin],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)


def summary_of(proc: subprocess.CompletedProcess) -> str:
    lines = [line for line in proc.stdout.splitlines() if line.startswith("run #")]
    assert len(lines) == 1, proc.stdout + proc.stderr[-2000:]
    return lines[0]


def test_a_site_out_of_reach_makes_the_scheduled_command_fail(tmp_path):
    # A port nothing listens on: every request is refused, however often it is retried.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = crawl_command(tmp_path / "archive.sqlite", f"http://127.0.0.1:{port}")
    assert proc.returncode == 1, proc.stderr[-2000:]
    # robots.txt out of reach counts as disallowing everything (RFC 9309): nothing is asked.
    assert ": robots_unavailable; 0 pages fetched" in summary_of(proc)
    assert "robots.txt of arabpress could not be read (" in proc.stderr


def test_a_robots_txt_answering_5xx_stops_the_run_before_any_other_request(tmp_path):
    family = SiteFamily(100, seed=8)
    db = tmp_path / "archive.sqlite"
    down = Faults(seed=1, error_5xx=1.0, retry_factor=1.0, faults_on_all=True,
                  targets=("/robots.txt",))
    with FamilyServer(family, faults=down) as server:
        proc = crawl_command(db, server.origins["arabpress"])
        # A list of pages to fetch (scrapy crawl -a urls=...) is held to the same rule.
        page = family.article(family.ids("arabpress")[0]).url("arabpress")
        listed = run_crawl("arabpress", tmp_path / "listed.sqlite", tmp_path,
                           base_url=server.origins["arabpress"], urls=[page])
        asked = server.requests["by_kind"]
    assert listed.stats["finish_reason"] == "robots_unavailable", listed.log[-2000:]
    assert listed.returncode == 1  # scrapy crawl too: the run did not finish
    assert proc.returncode == 1, proc.stderr[-2000:]
    # The page fetched is robots.txt's last answer.
    assert ": robots_unavailable; 1 pages fetched, 0 new," in summary_of(proc)
    assert "(HTTP 50" in proc.stderr
    assert set(asked) == {"robots"}, asked  # retried, and nothing else asked for
    with FamilyServer(family) as server:  # robots.txt answers again: the next run goes on
        again = crawl_command(db, server.origins["arabpress"])
    assert again.returncode == 0 and ": finished; " in summary_of(again)


def test_a_site_that_answers_nothing_but_errors_makes_the_command_fail(tmp_path):
    # robots.txt is there, but the home page and the sitemap index fail every time.
    broken = Faults(seed=1, error_5xx=1.0, retry_factor=1.0, faults_on_all=True,
                    targets=("/", "/sitemap.xml"))
    with FamilyServer(SiteFamily(100, seed=9), faults=broken) as server:
        proc = crawl_command(tmp_path / "archive.sqlite", server.origins["arabpress"])
        # scrapy crawl as well, though Scrapy's own finish reason is "finished".
        scrapy_run = run_crawl("arabpress", tmp_path / "scrapy.sqlite", tmp_path,
                               base_url=server.origins["arabpress"])
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert ": site_unreadable; " in summary_of(proc) and "0 new" in summary_of(proc)
    assert "no page of arabpress could be read (2 failed)" in proc.stderr
    assert scrapy_run.stats["pressarchive/run_reason"] == "site_unreadable"
    assert scrapy_run.returncode == 1, scrapy_run.log[-2000:]


def test_a_quiet_run_with_a_lingering_failure_is_no_alarm(tmp_path):
    # Nothing new since the last run, and one page that fails every time. The pages that are
    # not articles send no validators, so they are read again (200) each run, while every known
    # article they and the feed lead to is settled by its sitemap's 304: the run reads no
    # article page at all (this family's listings link to no other spelling of a known
    # article's URL, which would be asked for conditionally). It finished all the same, and
    # the command says so: a rule that counted articles only would have called it a failure.
    family = SiteFamily(60, seed=15)
    db = tmp_path / "archive.sqlite"
    page = "/" + family.article(family.ids("arabpress")[0]).url("arabpress").split("/", 3)[3]
    lingering = Faults(seed=1, error_5xx=1.0, retry_factor=1.0, targets=(page,))
    with FamilyServer(family, faults=lingering, hub_validators=False) as server:
        first = crawl_command(db, server.origins["arabpress"])
        quiet = crawl_command(db, server.origins["arabpress"])
    assert first.returncode == 0 and ": finished; " in summary_of(first), first.stderr[-2000:]
    assert quiet.returncode == 0, quiet.stderr[-2000:]
    assert ": finished; " in summary_of(quiet) and "1 failed" in summary_of(quiet)
    assert " 0 new, 0 at new URLs, 0 changed, 0 unchanged, 0 not modified," \
        in summary_of(quiet), summary_of(quiet)


def test_an_archive_that_cannot_be_opened_is_one_line_and_exit_1_before_any_request(tmp_path):
    # A folder that is not there, a file that is not a database: both commands say so in one
    # line, exit 1, ask the site for nothing, and leave the file as it was.
    stranger = tmp_path / "notes.sqlite"
    stranger.write_text("not a database")
    family = SiteFamily(50, seed=8)
    with FamilyServer(family) as server:
        origin = server.origins["arabpress"]
        for db, why in ((tmp_path / "missing" / "a.sqlite", "unable to open database file"),
                        (stranger, "file is not a database")):
            direct = run_crawl("arabpress", db, tmp_path, base_url=origin)
            scheduled = crawl_command(db, origin)
            for proc, err in ((direct, direct.log), (scheduled, scheduled.stderr)):
                assert proc.returncode == 1, err[-2000:]
                assert "Traceback" not in err, err[-2000:]
                said = [line for line in err.splitlines() if "cannot be opened" in line]
                assert said == [f"pressarchive: the archive at sqlite:///{db} cannot be opened: "
                                f"{why}"], err[-2000:]
            # STATS_FILE says so too: the last run's file, left, said "finished" (a review).
            assert direct.stats["finish_reason"] == "not_started"
            assert why in direct.stats["pressarchive/not_started"]
        assert server.requests["total"] == 0
    assert stranger.read_text() == "not a database"
    assert not (tmp_path / "missing").exists()


def test_a_spider_name_mistyped_touches_no_archive(tmp_path):
    # The usage error is told before the archive is opened: no archive is made (or migrated).
    db = tmp_path / "a.sqlite"
    proc = subprocess.run([sys.executable, "-m", "scrapy", "crawl", "arabpres", "-s",
                           f"ARCHIVE_URL=sqlite:///{db}"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120,
                          env={**os.environ,
                               "SCRAPY_SETTINGS_MODULE": "pressarchive.settings"})
    assert proc.returncode != 0 and "Spider not found: arabpres" in proc.stderr
    assert not db.exists()


def test_scrapy_crawl_refuses_a_bad_date_window_or_setting_in_one_line(tmp_path):
    for extra in (["-a", "since=2021-08"], ["-s", "INGEST_SCHEDULING=bogus"],
                  ["-s", "LASTMOD_AHEAD_REVISIT=abc"], ["-s", "INGEST_BATCH=many"]):
        proc = subprocess.run(
            [sys.executable, "-m", "scrapy", "crawl", "arabpress", *extra,
             "-s", f"ARCHIVE_URL=sqlite:///{tmp_path / 'archive.sqlite'}"],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
            env={**os.environ, "SCRAPY_SETTINGS_MODULE": "pressarchive.settings"})
        assert proc.returncode == 1, proc.stderr[-2000:]
        assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
        assert any(line.startswith("pressarchive: ") and ("since must be a date" in line
                                                          or "INGEST_SCHEDULING" in line
                                                          or "must be a" in line)
                   for line in proc.stderr.splitlines()), proc.stderr[-2000:]
    assert not (tmp_path / "archive.sqlite").exists()  # refused before the archive is opened
