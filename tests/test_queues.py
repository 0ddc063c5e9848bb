"""The scheduler's disk queue (spiders.queues): the newest requests in memory, older ones on
disk, LIFO throughout, nothing lost on close or to pickle."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from scrapy import Request

from spiders import queues
from spiders.family import ArabPressSpider


@pytest.fixture
def spider():
    return ArabPressSpider()


@pytest.fixture
def small_top(monkeypatch):
    monkeypatch.setattr(queues, "MEMORY_TOP", 3)


def _queue(spider, path):
    return queues.LifoDiskQueue(SimpleNamespace(spider=spider), str(path))


def _request(spider, n: int, **kwargs) -> Request:
    return Request(f"http://127.0.0.1/{n}", callback=spider.parse_page,
                   errback=spider.on_error, meta={"n": n}, **kwargs)


def test_lifo_across_memory_and_disk(spider, small_top, tmp_path):
    q = _queue(spider, tmp_path / "q")
    for n in range(10):
        q.push(_request(spider, n))
    assert len(q) == 10
    assert len(q.top) == 3  # the other 7 went to disk
    popped = [q.pop() for _ in range(10)]
    assert [r.meta["n"] for r in popped] == list(range(9, -1, -1))
    assert all(r.callback == spider.parse_page and r.errback == spider.on_error for r in popped)
    assert q.pop() is None and len(q) == 0
    q.close()


def test_pushes_between_pops_stay_lifo(spider, small_top, tmp_path):
    q = _queue(spider, tmp_path / "q")
    for n in range(6):
        q.push(_request(spider, n))
    assert q.peek().meta["n"] == 5
    assert [q.pop().meta["n"] for _ in range(4)] == [5, 4, 3, 2]  # the last from disk
    q.push(_request(spider, 6))
    assert [q.pop().meta["n"] for _ in range(3)] == [6, 1, 0]
    q.close()


def test_close_writes_the_memory_part_to_disk(spider, small_top, tmp_path):
    path = tmp_path / "q"
    q = _queue(spider, path)
    for n in range(5):
        q.push(_request(spider, n))
    q.close()
    again = _queue(spider, path)  # a kept JOBDIR, next run
    assert len(again) == 5
    assert [again.pop().meta["n"] for _ in range(5)] == [4, 3, 2, 1, 0]
    again.close()


def test_a_request_pickle_refuses_is_kept_not_lost(spider, small_top, tmp_path):
    q = _queue(spider, tmp_path / "q")
    odd = _request(spider, 0)
    odd.meta["handle"] = lambda: None  # cannot be pickled
    q.push(odd)
    for n in range(1, 6):
        q.push(_request(spider, n))
    assert len(q) == 6 and q.unwritable == [odd]
    assert [q.pop().meta["n"] for _ in range(6)] == [5, 4, 3, 2, 1, 0]


def test_foreign_callbacks_go_through_scrapy_at_once(spider, tmp_path):
    q = _queue(spider, tmp_path / "q")
    with pytest.raises(ValueError):  # Scrapy refuses it now; the scheduler keeps it in memory
        q.push(Request("http://127.0.0.1/x", callback=lambda response: None))
    assert len(q) == 0
    q.close()


def test_how_many_stay_in_memory_is_a_setting(spider, tmp_path):
    from scrapy.settings import Settings

    crawler = SimpleNamespace(spider=spider, settings=Settings({"DISK_QUEUE_MEMORY": 2}))
    q = queues.LifoDiskQueue(crawler, str(tmp_path / "q"))
    for n in range(5):
        q.push(_request(spider, n))
    assert len(q.top) == 2 and len(q) == 5
    assert [q.pop().meta["n"] for _ in range(5)] == [4, 3, 2, 1, 0]
    q.close()


# A run that makes its queue folder, says where, and waits to be killed.
MAKES_A_QUEUE = """
import sys, time
from spiders.queues import temporary_jobdir
print(temporary_jobdir(sys.argv[1]), flush=True)
time.sleep(60)
"""


def test_queue_folders_of_killed_runs_are_removed_and_live_ones_kept(tmp_path):
    import os
    import signal
    import subprocess
    import sys

    from conftest import ROOT

    killed = subprocess.Popen([sys.executable, "-c", MAKES_A_QUEUE, str(tmp_path)], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True)
    alive = subprocess.Popen([sys.executable, "-c", MAKES_A_QUEUE, str(tmp_path)], cwd=ROOT,
                             stdout=subprocess.PIPE, text=True)
    try:
        killed_dir, alive_dir = killed.stdout.readline().strip(), alive.stdout.readline().strip()
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait()
        (tmp_path / "pressarchive-queue-unlocked").mkdir()  # an older version's: no lock file
        mine = queues.temporary_jobdir(str(tmp_path))  # sweeps first
        left = {p.name for p in tmp_path.iterdir()}
        assert os.path.basename(killed_dir) not in left
        assert {os.path.basename(alive_dir), os.path.basename(mine),
                "pressarchive-queue-unlocked"} <= left
        assert queues.sweep_queues(str(tmp_path)) == 0  # nothing else is over
        queues.remove_jobdir(mine)
        assert not os.path.exists(mine) and mine not in queues._held
    finally:
        alive.kill()
        alive.wait()
    assert queues.sweep_queues(str(tmp_path)) == 1  # the second run is over now
    assert {p.name for p in tmp_path.iterdir()} == {"pressarchive-queue-unlocked"}


def test_the_sweep_opens_no_planted_lock_and_a_forked_worker_holds_none(tmp_path):
    import os
    import time

    # A shared TMPDIR: a folder whose lock is a symlink (to anything) is not opened, not removed.
    target = tmp_path / "elsewhere"
    target.write_text("untouched")
    planted = tmp_path / "pressarchive-queue-planted"
    planted.mkdir()
    (planted / ".lock").symlink_to(target)
    assert queues.sweep_queues(str(tmp_path)) == 0
    assert planted.exists() and target.read_text() == "untouched"
    # The ingest worker is forked after the run made its folder: it keeps no copy of the lock,
    # so once the run itself is gone (its lock let go here), the folder is swept at once.
    mine = queues.temporary_jobdir(str(tmp_path))
    ready, started = os.pipe()
    child = os.fork()
    if child == 0:  # the worker, started (the fork's hooks have run) and still running
        os.write(started, b"!")
        time.sleep(30)
        os._exit(0)
    try:
        assert os.read(ready, 1) == b"!"
        # The run ends without removing its folder (kill -9): its lock is let go.
        queues.release_lock(queues._held.pop(mine))
        assert queues.sweep_queues(str(tmp_path)) == 1 and not os.path.exists(mine)
    finally:
        os.kill(child, 9)
        os.waitpid(child, 0)
        os.close(ready)
        os.close(started)
