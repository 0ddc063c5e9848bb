"""STATS_FILE: the crawl's stats as JSON, with the CPU the crawl process spent while the spider
was open (what bench/crawl_scale.py divides by the pages to find a crawl's ceiling)."""

import json
import time

from pressarchive.crawl import StatsFile


class _Stats:
    def get_stats(self):
        return {"response_received_count": 3}


class _Signals:
    def __init__(self):
        self.connected = []

    def connect(self, receiver, signal):
        self.connected.append((receiver, signal))


class _Crawler:
    def __init__(self):
        self.stats, self.signals = _Stats(), _Signals()


def _burn(seconds: float) -> None:
    """Spends ``seconds`` of this process's CPU time."""
    until = time.process_time() + seconds
    while time.process_time() < until:
        sum(range(1000))


def test_the_file_gives_the_cpu_spent_between_opening_and_closing(tmp_path):
    path = tmp_path / "stats.json"
    ext = StatsFile(str(path), _Crawler())
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
    ext = StatsFile(str(path), _Crawler())
    ext.spider_closed(spider=None, reason="shutdown")
    ext.engine_stopped()
    assert "crawl_cpu_seconds" not in json.loads(path.read_text())


def test_a_run_closed_as_it_opened_writes_its_file_when_the_spider_closes(tmp_path):
    # already_running, archive_unwritable: the engine never starts, so never stops; the file
    # is written once the spider has closed (after the run record, connected last).
    path = tmp_path / "stats.json"
    crawler = _Crawler()
    ext = StatsFile(str(path), crawler)
    ext.spider_opened(spider=None)
    assert crawler.signals.connected[-1][0] == ext.closed_unstarted
    ext.spider_closed(spider=None, reason="already_running")
    ext.closed_unstarted(spider=None, reason="already_running")
    assert json.loads(path.read_text())["finish_reason"] == "already_running"
    path.unlink()
    ext.started()  # a run that ran: written when the engine stops, not before
    ext.closed_unstarted(spider=None, reason="finished")
    assert not path.exists()
