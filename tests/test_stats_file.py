"""STATS_FILE: the crawl's stats as JSON, with the CPU the crawl process spent while the spider
was open (what bench/crawl_scale.py divides by the pages to find a crawl's ceiling)."""

import json
import time

from pressarchive.crawl import StatsFile


class _Stats:
    def get_stats(self):
        return {"response_received_count": 3}


def _burn(seconds: float) -> None:
    """Spends ``seconds`` of this process's CPU time."""
    until = time.process_time() + seconds
    while time.process_time() < until:
        sum(range(1000))


def test_the_file_gives_the_cpu_spent_between_opening_and_closing(tmp_path):
    path = tmp_path / "stats.json"
    ext = StatsFile(str(path), _Stats())
    _burn(0.3)  # before the spider opens: start-up, not the crawl
    ext.spider_opened(spider=None)
    _burn(0.1)
    ext.spider_closed(spider=None, reason="finished")
    _burn(0.3)  # the other extensions closing: not the crawl either
    ext.engine_stopped()  # written now, with what they added to the stats
    data = json.loads(path.read_text())
    assert data["response_received_count"] == 3 and data["finish_reason"] == "finished"
    assert 0.1 <= data["crawl_cpu_seconds"] < 0.3


def test_no_cpu_figure_without_an_opening(tmp_path):
    path = tmp_path / "stats.json"
    ext = StatsFile(str(path), _Stats())
    ext.spider_closed(spider=None, reason="shutdown")
    ext.engine_stopped()
    assert "crawl_cpu_seconds" not in json.loads(path.read_text())
