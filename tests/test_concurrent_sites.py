"""Sister sites crawled at the same time into one archive (two scheduled jobs that start in the
same minute) make the archive that the same crawls one after the other make: each shared
article once, with an appearance on each site, and nothing half-written. The sister copies are
worded apart (``sister_variants``), so no unique key meets two of them: only the writer lock
(``hold_writer_lock``), taken at each write transaction's start, keeps them one article: the
second writer's look-ups see the first's commit. Before it was taken that early, batches
were raced and redone one record at a time, and a record raced twice failed a run."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor

from pressarchive.sitegen import FamilyServer, SiteFamily

from conftest import run_crawl

SITES = ("arabpress", "saudipress")


def articles_by_appearances(db) -> set[frozenset[tuple[str, str, int]]]:
    """Each article as the set of its appearances (site, URL) and its count of versions: the
    archive's content, free of the row ids and times that differ from run to run."""
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        versions = dict(con.execute(
            "SELECT article_id, COUNT(*) FROM versions GROUP BY article_id").fetchall())
        groups: dict[int, set] = {}
        for article, site, url in con.execute("SELECT article_id, site, url FROM appearances"):
            groups.setdefault(article, set()).add((site, url, versions[article]))
        # Every article has an appearance, and no appearance names a missing article.
        assert set(groups) == set(versions)
        return {frozenset(group) for group in groups.values()}
    finally:
        con.close()


def test_sister_sites_crawled_at_once_make_the_archive_crawled_in_turn(tmp_path):
    family = SiteFamily(400, seed=11, shared=0.5, sister_variants=True)
    together, in_turn = tmp_path / "together.sqlite", tmp_path / "in_turn.sqlite"
    for site in SITES:
        (tmp_path / site).mkdir()
    with FamilyServer(family) as server:
        with ThreadPoolExecutor(max_workers=2) as pool:
            runs = list(pool.map(
                lambda site: run_crawl(site, together, tmp_path / site,
                                       base_url=server.origins[site]), SITES))
        for site in SITES:
            done = run_crawl(site, in_turn, tmp_path / site, base_url=server.origins[site])
            assert done.returncode == 0, done.log[-2000:]
    for run in runs:
        assert run.returncode == 0, run.log[-2000:]
        assert run.stats["finish_reason"] == "finished"
        assert not run.stats.get("pressarchive/unsaved")
        assert not run.stats.get("pressarchive/ingest_errors")
        assert "not saved as one" not in run.log  # no batch was raced
    # The two runs did overlap: each started before the other ended.
    con = sqlite3.connect(together)
    (first_end, second_start), = con.execute(
        "SELECT MIN(finished_at), MAX(started_at) FROM crawl_runs").fetchall()
    con.close()
    assert second_start < first_end
    # Shared articles were stored by whichever run came first and joined by the other.
    joined = sum(run.stats.get("pressarchive/stored/new_appearance", 0) for run in runs)
    assert joined > 50
    archive = articles_by_appearances(together)
    assert archive == articles_by_appearances(in_turn)
    assert len(archive) == family.count
    shared = [group for group in archive if len({site for site, _, _ in group}) == 2]
    assert len(shared) == joined
