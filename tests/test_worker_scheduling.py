"""The ingest worker's Linux scheduling policy (INGEST_SCHEDULING), as a crawl runs it: a batch
process by default, idle or normal when asked, and a clear error for anything else."""

from __future__ import annotations

import os

import pytest
from scrapy.utils.test import get_crawler

from pipelines.archive import ArchivePipeline

from conftest import run_crawl

linux_policies = pytest.mark.skipif(not hasattr(os, "SCHED_BATCH"),
                                    reason="the Linux scheduling policies are not here")


@linux_policies
@pytest.mark.parametrize("setting, expected", [(None, "batch"), ("idle", "idle"),
                                               ("normal", "normal")])
def test_the_worker_runs_under_the_policy_asked_for(tmp_path, local_sites, setting, expected):
    settings = {"INGEST_SCHEDULING": setting} if setting else {}
    result = run_crawl("arabpress", tmp_path / "archive.sqlite", tmp_path,
                       base_url=local_sites["arabpress"].origin, settings=settings)
    assert result.returncode == 0, result.stderr[-2000:]
    # Read from the worker itself, as the OS has it, when the crawl ends.
    assert result.stats["pressarchive/ingest_scheduling"] == expected
    assert result.stats["item_scraped_count"] > 0


def test_without_a_worker_no_policy_is_reported(tmp_path, local_sites):
    # Ingestion in the crawl process: there is no worker to put under a policy.
    result = run_crawl("arabpress", tmp_path / "archive.sqlite", tmp_path,
                       base_url=local_sites["arabpress"].origin,
                       settings={"INGEST_PROCESS": "False"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "pressarchive/ingest_scheduling" not in result.stats
    assert result.stats["item_scraped_count"] > 0


@pytest.mark.parametrize("value", ["fast", "realtime", "batch please"])
def test_an_unknown_policy_is_refused_in_one_line(value):
    crawler = get_crawler(settings_dict={"ARCHIVE_URL": "sqlite://", "INGEST_SCHEDULING": value})
    with pytest.raises(ValueError) as refused:
        ArchivePipeline.from_crawler(crawler)
    assert str(refused.value) == (f"INGEST_SCHEDULING must be one of normal, batch, idle, "
                                  f"not {value!r}")


@linux_policies
def test_a_refused_policy_is_a_warning_and_the_worker_runs_as_it_is(monkeypatch, caplog):
    from pressarchive import ingest

    def refuse(pid, policy, param):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "sched_setscheduler", refuse)
    with caplog.at_level("WARNING", logger="pressarchive"):
        ingest._schedule_as("batch")  # no exception: the worker goes on as forked
    assert "keeps the normal scheduling policy" in caplog.text
    assert "Operation not permitted" in caplog.text
    assert ingest.scheduling_in_effect() == "normal"  # this test process was left alone
