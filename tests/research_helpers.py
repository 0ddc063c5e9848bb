"""Helpers for the researchers' tests: records, archives built in tmp, the CLI as run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pressarchive.record import Record
from pressarchive.storage import Archive

ROOT = Path(__file__).resolve().parent.parent


def rec(slug: str, headline: str = "A headline", body: str = "Some body text.", *,
        site: str = "arabpress", fetched_at: str = "2025-06-20T09:00:00+00:00",
        **fields) -> Record:
    host = {"arabpress": "arabpress.com", "saudipress": "saudipress.com"}[site]
    return Record(url=f"https://{host}/{slug}", site=site, headline=headline, body=body,
                  fetched_at=fetched_at, page_date=fetched_at[:10], **fields)


def build(tmp_path: Path, records: list[Record], name: str = "a.sqlite") -> Archive:
    archive = Archive(f"sqlite:///{tmp_path / name}")
    for record in records:
        archive.save(record)
    return archive


def cli(*args: str, cwd: Path | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    """`pressarchive ARGS` in its own process, as a user runs it."""
    env = {k: v for k, v in os.environ.items() if k != "ARCHIVE_URL"}
    return subprocess.run([sys.executable, "-m", "pressarchive.cli", *args], cwd=cwd or ROOT,
                          env=env, capture_output=True, text=True, timeout=timeout)


def assert_one_line_error(proc: subprocess.CompletedProcess, *words: str) -> None:
    """Exit non-zero with one line on stderr naming the problem, and no traceback."""
    assert proc.returncode != 0, proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert lines[0].startswith("pressarchive: "), lines[0]
    for word in words:
        assert word in lines[0], lines[0]
