"""The scheduled-run command that README.md shows, run as written against the local copy."""

from __future__ import annotations

import re
import shlex
import socket
import subprocess
import sys

from conftest import ROOT


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


def test_a_site_out_of_reach_makes_the_scheduled_command_fail(tmp_path):
    # A port nothing listens on: every request is refused, however often it is retried.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.run([sys.executable, "-m", "pressarchive.cli", "crawl", "arabpress",
                           "--db", str(tmp_path / "archive.sqlite"),
                           "--base-url", f"http://127.0.0.1:{port}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr[-2000:]
    summary = [line for line in proc.stdout.splitlines() if line.startswith("run #")]
    assert len(summary) == 1 and "finished; 0 pages fetched" in summary[0], summary
    assert "arabpress: no page could be fetched (" in proc.stderr
