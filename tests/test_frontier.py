"""One site's crawl shared by several processes through a frontier in Redis (scrapy-redis;
pressarchive.frontier), for real: Redis on 127.0.0.1:6379 (PRESSARCHIVE_TEST_REDIS names
another), the archive on PostgreSQL (conftest's postgres_url), the site generated and served
on loopback. A lead and its helpers archive what one crawl archives, each page fetched once;
a helper killed mid-crawl loses nothing that the next run does not fetch; a second lead is
turned away without touching the frontier; a helper with no lead waits, then stops."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
import redis
from sqlalchemy import select

from conftest import ROOT, archive_content, recorded_runs as runs, run_crawl
from pressarchive.sitegen import FamilyServer, SiteFamily
from pressarchive.storage import Archive
from pressarchive.storage.models import Appearance

REDIS = os.environ.get("PRESSARCHIVE_TEST_REDIS", "redis://127.0.0.1:6379/0")


@pytest.fixture
def frontier():
    """The Redis URL and a key of this test's own; its keys removed after."""
    server = redis.Redis.from_url(REDIS)
    try:
        server.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {REDIS} cannot be reached ({exc}); these tests run on it")
    prefix = f"pressarchive-test-{uuid.uuid4().hex[:10]}"
    yield REDIS, prefix + ":%(spider)s"
    for key in server.scan_iter(prefix + ":*"):
        server.delete(key)


class Crawl:
    """``pressarchive crawl arabpress`` in a process of its own, started at once."""

    def __init__(self, tmp: Path, db: str, base_url: str, *options: str, **settings):
        self.stats_file = tmp / f"stats-{uuid.uuid4().hex[:8]}.json"
        cmd = [sys.executable, "-m", "pressarchive.cli", "crawl", "arabpress", "--db", db,
               "--base-url", base_url, "--log-level", "INFO", *options,
               "-s", f"STATS_FILE={self.stats_file}"]
        for key, value in settings.items():
            cmd += ["-s", f"{key}={value}"]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True,
                                     env={**os.environ, "TMPDIR": str(tmp)})

    def wait(self, timeout: float = 300) -> "Crawl":
        try:
            self.out, self.log = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()  # not left running after the test
            self.out, self.log = self.proc.communicate()
            raise AssertionError(f"the crawl did not end in {timeout} s: {self.log[-3000:]}")
        self.returncode = self.proc.returncode
        self.stats = json.loads(self.stats_file.read_text()) if self.stats_file.exists() \
            else {}
        return self


def held(url: str) -> dict[str, set]:
    """What an archive holds, by value, without the times of a crawl: articles, versions,
    appearances."""
    got = archive_content(url)
    return {"articles": {a[0] for a in got["articles"]},
            "versions": {(v[0], v[1], v[2], v[4]) for v in got["versions"]},
            "appearances": {a[:4] for a in got["appearances"]}}


@pytest.fixture(scope="module")
def site():
    """A generated family served on loopback, and what one crawl of arabpress archives from
    it (in SQLite), with the paths it asked for and how many responses it took."""
    import tempfile

    family = SiteFamily(800, seed=11)
    with FamilyServer(family, keep_order=True) as server, tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "alone.sqlite"
        server.reset_counters()
        alone = run_crawl("arabpress", db, Path(tmp), base_url=server.origins["arabpress"])
        assert alone.returncode == 0, alone.log[-3000:]
        yield {"server": server, "base": server.origins["arabpress"],
               "held": held(f"sqlite:///{db}"), "paths": {t for _, _, t in server.order},
               "responses": alone.stats["response_received_count"]}


def test_a_lead_and_two_helpers_archive_what_one_crawl_does_each_page_fetched_once(
        site, frontier, postgres_url, tmp_path):
    url, key = frontier
    shared = ("--frontier", url)
    site["server"].reset_counters()
    helpers = [Crawl(tmp_path, postgres_url, site["base"], *shared, "--helper",
                     FRONTIER_KEY=key) for _ in range(2)]
    time.sleep(1)  # started first: they wait for the lead
    lead = Crawl(tmp_path, postgres_url, site["base"], *shared, FRONTIER_KEY=key).wait()
    for crawl in helpers:
        crawl.wait()
    for crawl in (lead, *helpers):
        assert crawl.returncode == 0, crawl.log[-3000:]
        assert "Traceback" not in crawl.log and " ERROR" not in crawl.log, crawl.log[-3000:]
    assert held(postgres_url) == site["held"]
    # Every page asked for once, by one of them (robots.txt by each); all the one crawl
    # asked for among them. (A helper does not know what the lead's pages showed it, so a
    # listing's pagination may go on a page or two further, and a link's upper-case
    # spelling be asked for: a few more requests, never one page twice.)
    asked = Counter(path for _, _, path in site["server"].order)
    assert asked.pop("/robots.txt") == 3
    assert set(asked.values()) == {1}
    assert set(asked) >= site["paths"] - {"/robots.txt"}
    assert len(asked) <= 1.05 * len(site["paths"])
    fetched = [c.stats["response_received_count"] for c in (lead, *helpers)]
    assert sum(fetched) == sum(asked.values()) + 3
    assert all(n > 1 for n in fetched[1:]), fetched  # each helper had work from the queue
    assert [c.stats["pressarchive/frontier_role"] for c in (lead, *helpers)] == \
        ["lead", "helper", "helper"]
    recorded = runs(postgres_url)
    assert sorted((r.mode, r.finish_reason) for r in recorded) == [
        ("helper", "finished"), ("helper", "finished"), ("incremental", "finished")]
    assert sorted(r.pages_fetched for r in recorded) == sorted(fetched)
    assert all(r.settings["frontier"] == url for r in recorded)
    server = redis.Redis.from_url(url)
    base = key % {"spider": "arabpress"}
    assert not server.exists(f"{base}:lead") and not server.zcard(f"{base}:requests")


def test_a_helper_killed_mid_crawl_loses_nothing_the_next_run_does_not_fetch(
        site, frontier, postgres_url, tmp_path):
    url, key = frontier
    helper = Crawl(tmp_path, postgres_url, site["base"], "--frontier", url, "--helper",
                   FRONTIER_KEY=key, CONCURRENT_REQUESTS_PER_DOMAIN=2, FRONTIER_LEAD_TTL=3)
    time.sleep(1)
    lead = Crawl(tmp_path, postgres_url, site["base"], "--frontier", url, FRONTIER_KEY=key,
                 CONCURRENT_REQUESTS_PER_DOMAIN=2, FRONTIER_LEAD_TTL=3)
    under_way(postgres_url)  # killed once the crawl is well under way
    assert helper.proc.poll() is None and lead.proc.poll() is None
    os.kill(helper.proc.pid, signal.SIGKILL)
    helper.proc.wait()
    assert lead.wait().returncode == 0, lead.log[-3000:]
    after_kill = held(postgres_url)
    helpers_gone(url, key)  # the killed helper's "at work" key expires (FRONTIER_LEAD_TTL)
    # the next run (a lead alone) fetches what the killed helper had taken and not archived
    again = Crawl(tmp_path, postgres_url, site["base"], "--frontier", url,
                  FRONTIER_KEY=key).wait()
    assert again.returncode == 0, again.log[-3000:]
    assert held(postgres_url) == site["held"]
    assert after_kill["articles"] <= site["held"]["articles"]
    recorded = runs(postgres_url)
    assert [r.mode for r in recorded].count("helper") == 1
    assert [r.finish_reason for r in recorded if r.mode == "helper"] == ["interrupted"]


def under_way(url: str, appearances: int = 150, within: float = 120) -> None:
    """Wait until the archive at ``url`` holds more than ``appearances`` appearances."""
    archive = Archive(url)
    deadline = time.monotonic() + within
    try:
        while time.monotonic() < deadline:
            with archive.session() as session:
                if len(session.scalars(select(Appearance.id)).all()) > appearances:
                    return
            time.sleep(0.05)
    finally:
        archive.close()
    raise AssertionError(f"the crawl did not get {appearances} appearances in {within} s")


def helpers_gone(url: str, key: str, within: float = 30) -> None:
    server = redis.Redis.from_url(url)
    deadline = time.monotonic() + within
    while list(server.scan_iter(match=key % {"spider": "arabpress"} + ":helper:*")):
        assert time.monotonic() < deadline, "a helper's key outlived its TTL"
        time.sleep(0.2)


def test_a_lead_does_not_start_while_helpers_of_a_killed_one_are_at_work(
        site, frontier, postgres_url, tmp_path):
    """A lead killed, its helpers go on with its queue; a new lead started meanwhile would
    empty that queue under them, and they, remembering what the old run asked for, would
    leave pages of the new one unasked (a soak: 18 of 1,929 missing from a "finished" run).
    It stops instead (frontier_busy, exit 1); once they are done, the next lead archives all."""
    url, key = frontier
    shared = ("--frontier", url)
    # slow enough that the helpers are still at work when the new lead opens (at 0.01 s a
    # request, on a fast day, they had emptied the queue by then)
    slow = {"FRONTIER_KEY": key, "FRONTIER_LEAD_TTL": 3, "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
            "DOWNLOAD_DELAY": 0.04}
    site["server"].reset_counters()
    lead = Crawl(tmp_path, postgres_url, site["base"], *shared, **slow)
    helpers = [Crawl(tmp_path, postgres_url, site["base"], *shared, "--helper", **slow)
               for _ in range(2)]
    server = redis.Redis.from_url(url)
    base = key % {"spider": "arabpress"}
    deadline = time.monotonic() + 60
    while len(list(server.scan_iter(match=base + ":helper:*"))) < 2:
        assert time.monotonic() < deadline and lead.proc.poll() is None
        time.sleep(0.05)
    os.kill(lead.proc.pid, signal.SIGKILL)
    lead.proc.wait()
    again = Crawl(tmp_path, postgres_url, site["base"], *shared, **slow).wait()
    assert again.returncode == 1, again.log[-3000:]
    assert "helpers of an earlier run of arabpress are still at work" in again.log
    assert again.stats["finish_reason"] == "frontier_busy"
    # turned away, it took nothing from the queue, nor fetched anything (robots.txt unread)
    assert not again.stats.get("scheduler/dequeued/redis")
    assert not again.stats.get("downloader/request_count")
    assert server.zcard(base + ":requests")  # the old queue left to its helpers
    for helper in helpers:
        assert helper.wait().returncode == 0, helper.log[-3000:]
    helpers_gone(url, key)
    last = Crawl(tmp_path, postgres_url, site["base"], *shared, FRONTIER_KEY=key).wait()
    assert last.returncode == 0, last.log[-3000:]
    assert held(postgres_url) == site["held"]
    # robots.txt obeyed by every process, helpers joining a full queue included (a helper
    # took from it before its own robots.txt was read, and a lead turned away fetched what
    # it took: a CI run archived a disallowed page)
    assert site["paths"] and not [path for _, _, path in site["server"].order
                                  if path.startswith("/private/")]


@pytest.fixture
def own_redis(tmp_path):
    """A Redis server of this test's own on a free port (the machine's redis-server), which
    the test may stop; its URL and a function that starts it again, empty."""
    import shutil
    import socket as sockets

    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not on PATH; this test stops a Redis of its own")
    with sockets.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    procs = []

    def start():
        procs.append(subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL))
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis(port=port).ping()
                return procs[-1]
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "the test's redis-server did not start"
                time.sleep(0.05)

    start()
    yield f"redis://127.0.0.1:{port}/0", procs, start
    for proc in procs:
        proc.kill()
        proc.wait()


def test_redis_gone_mid_crawl_ends_the_lead_and_its_helper_and_the_next_run_completes(
        site, own_redis, postgres_url, tmp_path):
    """Redis stopped mid-crawl: scrapy-redis's errors left Scrapy's engine failing on its next
    request for good, a crawl that never ended. The lead and its helper each end their run at
    once, reason frontier_unreachable, exit 1, what they fetched archived; with Redis back
    (empty: it keeps nothing on disk), the next run archives the rest."""
    url, procs, start = own_redis
    slow = {"CONCURRENT_REQUESTS_PER_DOMAIN": 2, "FRONTIER_LEAD_TTL": 3}
    helper = Crawl(tmp_path, postgres_url, site["base"], "--frontier", url, "--helper", **slow)
    time.sleep(1)
    lead = Crawl(tmp_path, postgres_url, site["base"], "--frontier", url, **slow)
    under_way(postgres_url)  # stopped once the crawl is well under way
    assert helper.proc.poll() is None and lead.proc.poll() is None
    procs[-1].kill()
    procs[-1].wait()
    stopped = time.monotonic()
    for crawl in (lead, helper):
        crawl.wait(timeout=60)
        assert crawl.returncode == 1, crawl.log[-3000:]
        assert crawl.stats["finish_reason"] == "frontier_unreachable", crawl.log[-3000:]
        assert "went out of reach mid-crawl" in crawl.log
        assert "Traceback" not in crawl.log, crawl.log[-3000:]
    assert time.monotonic() - stopped < 30
    partial = held(postgres_url)
    assert partial["articles"] < site["held"]["articles"]
    recorded = runs(postgres_url)
    assert sorted((r.mode, r.finish_reason) for r in recorded) == [
        ("helper", "frontier_unreachable"), ("incremental", "frontier_unreachable")]
    assert sum(r.pages_fetched for r in recorded) > 150
    start()
    again = Crawl(tmp_path, postgres_url, site["base"], "--frontier", url).wait()
    assert again.returncode == 0, again.log[-3000:]
    assert held(postgres_url) == site["held"]


def test_a_second_lead_is_turned_away_and_leaves_the_frontier_alone(site, frontier,
                                                                    postgres_url, tmp_path):
    url, key = frontier
    # slowed down (about 15 s), to be still going when the second starts
    first = Crawl(tmp_path, postgres_url, site["base"], "--frontier", url, FRONTIER_KEY=key,
                  CONCURRENT_REQUESTS_PER_DOMAIN=1, DOWNLOAD_DELAY=0.025)
    deadline = time.monotonic() + 60
    while not runs(postgres_url) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    second = Crawl(tmp_path, postgres_url, site["base"], "--frontier", url,
                   FRONTIER_KEY=key).wait()
    assert second.returncode == 1
    assert "already_running" in second.out
    assert not second.stats.get("scheduler/dequeued/redis")
    assert not second.stats.get("downloader/request_count")
    assert first.proc.poll() is None  # still going when it was turned away
    assert first.wait().returncode == 0, first.log[-3000:]
    assert held(postgres_url) == site["held"]
    assert first.stats["response_received_count"] == site["responses"]


def test_a_helper_with_no_lead_waits_then_stops_and_mistakes_are_one_line(
        site, frontier, tmp_path):
    url, key = frontier
    db = f"sqlite:///{tmp_path / 'a.sqlite'}"
    started = time.monotonic()
    alone = Crawl(tmp_path, db, site["base"], "--frontier", url, "--helper", FRONTIER_KEY=key,
                  FRONTIER_HELPER_WAIT=1).wait(timeout=60)
    assert alone.returncode == 0, alone.log[-3000:]
    assert time.monotonic() - started < 50
    assert alone.stats["response_received_count"] == 1  # its robots.txt
    assert "no lead crawl of arabpress came to the frontier in 1 s" in alone.log
    for options, says in (
            (("--helper",), "FRONTIER_HELPER needs FRONTIER_URL"),
            (("--frontier", "redis://127.0.0.1:1/0"), "cannot be reached"),
            (("--frontier", url, "--since", "2025-01-01"), "no FRONTIER_URL with since")):
        proc = subprocess.run([sys.executable, "-m", "pressarchive.cli", "crawl", "arabpress",
                               "--db", db, "--base-url", site["base"], *options],
                              cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 1, (options, proc.stderr)
        assert says in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_a_lead_that_cannot_empty_its_frontier_stops_rather_than_fetch_nothing(frontier):
    """Redis gone between the crawl's check and the lead's opening: the last run's
    fingerprints, left in place, would have every URL asked for already. The lead stops,
    reason frontier_unreachable."""
    from scrapy.exceptions import CloseSpider
    from scrapy.settings import Settings

    from pressarchive.frontier import Frontier

    url, key = frontier
    crawler = type("Crawler", (), {})()
    crawler.settings = Settings({"FRONTIER_URL": url, "FRONTIER_KEY": key})
    crawler.stats = type("Stats", (), {"values": {},
                                       "set_value": lambda self, k, v: self.values.update({k: v}),
                                       "get_value": lambda self, k: self.values.get(k)})()
    lead = Frontier(crawler)

    def gone(*keys):
        raise redis.ConnectionError("Connection refused")

    lead.server.delete = gone
    with pytest.raises(CloseSpider) as closed:
        lead.spider_opened(type("Spider", (), {"name": "arabpress"})())
    assert closed.value.reason == "frontier_unreachable"
    assert not lead.leading and lead.beat is None


def test_the_shared_duplicate_filter_takes_the_crawls_own_fingerprints(frontier):
    """Two spellings of a page that a crawl alone takes for one (a tracking parameter, a
    trailing slash: the archive's canonical URL) are one in the shared filter too; scrapy-
    redis's own fingerprints kept them apart."""
    from scrapy import Request
    from scrapy.settings import Settings

    from pressarchive.crawl import UrlFingerprinter
    from pressarchive.frontier_queue import DupeFilter

    url, key = frontier
    settings = Settings({"REDIS_URL": url, "SCHEDULER_DUPEFILTER_KEY": key + ":dupefilter"})
    spider = type("Spider", (), {"name": "arabpress", "settings": settings})()
    spider.crawler = type("Crawler", (), {"request_fingerprinter": UrlFingerprinter()})()
    seen = DupeFilter.from_spider(spider)
    assert seen.key == key % {"spider": "arabpress"} + ":dupefilter"
    assert not seen.request_seen(Request("http://127.0.0.1:8000/some-story"))
    assert seen.request_seen(Request("http://127.0.0.1:8000/some-story/?utm_source=feed"))
    assert not seen.request_seen(Request("http://127.0.0.1:8000/another-story"))


def test_a_lead_that_stops_early_stops_its_helpers(frontier, postgres_url, tmp_path):
    """A page budget (or Ctrl-C) stops the lead before its end: it empties the shared queue as
    it begins to close, and its helpers stop once what they hold is done, instead of crawling
    the whole site on (a soak: a budget of 100, and the helpers fetched 2,024 pages). A budget
    counts each process's own pages: the helpers' share comes on top of the lead's."""
    url, key = frontier
    shared = ("--frontier", url)
    family = SiteFamily(3000, seed=12)
    articles = sum(1 for i in range(family.count) if "arabpress" in family.sites_of(i))
    with FamilyServer(family) as server:
        base = server.origins["arabpress"]
        helper = Crawl(tmp_path, postgres_url, base, *shared, "--helper", FRONTIER_KEY=key,
                       CONCURRENT_REQUESTS_PER_DOMAIN=2)
        time.sleep(1)
        lead = Crawl(tmp_path, postgres_url, base, *shared, "--budget", "60",
                     FRONTIER_KEY=key, CONCURRENT_REQUESTS_PER_DOMAIN=2).wait()
        helper.wait()
    assert lead.returncode == 0 and helper.returncode == 0, helper.log[-3000:]
    assert lead.stats["finish_reason"] == "closespider_pagecount"
    assert "stopped before its end (it is closing): the shared queue is emptied" in lead.log
    fetched = lead.stats["response_received_count"] + helper.stats["response_received_count"]
    assert fetched < articles / 3, (fetched, articles)  # without: the whole site, and more