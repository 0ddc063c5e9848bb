"""When the archive pipeline sends a partial batch to the ingester: after a gap with no new
item (INGEST_GAP), by its deadline (INGEST_LINGER) in any case, at once when full. Driven by a
fake clock, with an executor that records the batches it is given."""

from __future__ import annotations

import concurrent.futures

import pytest
from scrapy.utils.test import get_crawler
from twisted.internet import defer
from twisted.internet.task import Clock

from pipelines.archive import ArchivePipeline
from pressarchive import ingest
from pressarchive.fetched import FetchedPage


class FakeReactor(Clock):
    def callFromThread(self, f, *args):  # noqa: N802 - Twisted's name
        f(*args)


class Recorder(concurrent.futures.Executor):
    def __init__(self, clock: Clock):
        self.clock, self.batches = clock, []

    def submit(self, fn, items):
        self.batches.append((round(self.clock.seconds(), 3), len(items)))
        future: concurrent.futures.Future = concurrent.futures.Future()
        future.set_result([ingest.Outcome(ingest.STORED, "new_article")] * len(items))
        return future


@pytest.fixture
def pipeline():
    crawler = get_crawler(settings_dict={"ARCHIVE_URL": "sqlite://", "INGEST_BATCH": 50,
                                         "INGEST_GAP": 0.02, "INGEST_LINGER": 0.25})
    crawler.stats.open_spider()
    pipe = ArchivePipeline.from_crawler(crawler)
    pipe.reactor = FakeReactor()
    pipe.executor = Recorder(pipe.reactor)
    return pipe


def _arrive(pipe: ArchivePipeline, n: int = 1, item=None) -> list[defer.Deferred]:
    """What ``_ingested`` does with an item, without awaiting it."""
    waiting = []
    for _ in range(n):
        done: defer.Deferred = defer.Deferred()
        pipe._join(object() if item is None else item, done)
        waiting.append(done)
    return waiting


def test_a_lone_item_goes_after_the_gap_not_the_deadline(pipeline):
    (done,) = _arrive(pipeline)
    pipeline.reactor.advance(0.019)
    assert pipeline.executor.batches == []
    pipeline.reactor.advance(0.002)
    assert pipeline.executor.batches == [(0.021, 1)]
    assert done.called  # its outcome was delivered


def test_a_steady_stream_is_sent_by_the_deadline(pipeline):
    for _ in range(30):  # one item every 10 ms: never a 20 ms gap
        _arrive(pipeline)
        pipeline.reactor.advance(0.01)
    # The first batch went at its deadline, 0.25 s after its first item: the 25 that came
    # at 0.00-0.24 s.
    assert pipeline.executor.batches[0] == (0.25, 25)
    pipeline.reactor.advance(0.05)
    assert sum(n for _, n in pipeline.executor.batches) == 30
    assert pipeline.crawler.stats.get_value("pressarchive/ingest_items") == 30


def test_a_full_batch_goes_at_once_and_a_gap_ends_the_rest(pipeline):
    _arrive(pipeline, 120)
    assert pipeline.executor.batches == [(0.0, 50), (0.0, 50)]
    pipeline.reactor.advance(0.02)
    assert pipeline.executor.batches[-1] == (0.02, 20)
    assert pipeline.crawler.stats.get_value("pressarchive/ingest_batches") == 3


def test_a_page_the_crawl_waits_on_takes_its_batch_along_at_once(pipeline):
    """A listing's next page (FetchedPage.waited_on): its links are what the crawl goes on
    from, so its batch goes now, with the items already waiting, not when it fills."""
    _arrive(pipeline, 7)
    assert pipeline.executor.batches == []
    _arrive(pipeline, 1, item=_page(waited_on=True))
    assert pipeline.executor.batches == [(0.0, 8)]
    _arrive(pipeline, 3, item=_page(waited_on=False))  # an ordinary page waits for company
    assert pipeline.executor.batches == [(0.0, 8)]
    pipeline.reactor.advance(0.02)
    assert pipeline.executor.batches == [(0.0, 8), (0.02, 3)]


def _page(waited_on: bool) -> FetchedPage:
    return FetchedPage(url="https://arabpress.com/x", final_url="https://arabpress.com/x",
                       status=200, headers={}, body=b"", fetched_at="2025-06-20T10:00:00+00:00",
                       site="arabpress", follow=True, waited_on=waited_on)


def test_waiters_of_both_kinds_get_their_outcome_or_error():
    """Items wait on asyncio futures under Scrapy's asyncio reactor, on Deferreds under
    another; both are settled alike, and a future whose task was cancelled is left alone."""
    import asyncio

    from pipelines.archive import IngestError, _settle

    loop = asyncio.new_event_loop()
    try:
        given, failed, cancelled = (loop.create_future() for _ in range(3))
        cancelled.cancel()
        _settle(given, "outcome")
        _settle(failed, error=IngestError("gone"))
        _settle(cancelled, "late")  # no InvalidStateError
        assert given.result() == "outcome"
        assert isinstance(failed.exception(), IngestError)
        assert cancelled.cancelled()
    finally:
        loop.close()
    results = []
    d_given, d_failed = defer.Deferred(), defer.Deferred()
    d_given.addCallback(results.append)
    d_failed.addErrback(lambda f: results.append(f.type))
    _settle(d_given, "outcome")
    _settle(d_failed, error=IngestError("gone"))
    assert results == ["outcome", IngestError]


class FakeEngine:
    """What ``ArchivePipeline._alone`` reads of Scrapy's engine: what is being downloaded,
    what waits to be, and the responses the scraper holds (queued, and being scraped)."""

    def __init__(self, downloading=(), scheduled=0, queued=(), scraping=()):
        self.downloader = type("Downloader", (), {"active": set(downloading)})()
        self.scheduler = type("Scheduler", (), {
            "has_pending_requests": lambda _self: scheduled > 0})()
        slot = type("Slot", (), {"queue": list(queued), "active": set(scraping)})()
        self.scraper = type("Scraper", (), {"slot": slot})()


def test_a_partial_batch_goes_at_once_when_nothing_else_can_come(pipeline):
    # The one response being scraped is the one whose item arrives: nothing is downloading,
    # nothing is scheduled, so only this page's links can bring more, and they wait on it.
    pipeline.engine = FakeEngine(scraping=["page"])
    (done,) = _arrive(pipeline)
    assert pipeline.executor.batches == [(0.0, 1)]
    assert done.called


@pytest.mark.parametrize("engine", [
    FakeEngine(downloading=["next"], scraping=["page"]),  # a page on its way
    FakeEngine(scheduled=1, scraping=["page"]),  # a request waiting for its turn
    FakeEngine(queued=["next"], scraping=["page"]),  # a response waiting for the spider
    FakeEngine(scraping=["page", "sitemap"]),  # another response being scraped
], ids=["downloading", "scheduled", "queued", "scraping"])
def test_a_partial_batch_waits_for_company_that_can_come(pipeline, engine):
    pipeline.engine = engine
    _arrive(pipeline)
    assert pipeline.executor.batches == []
    pipeline.reactor.advance(0.021)
    assert pipeline.executor.batches == [(0.021, 1)]


class Holder(Recorder):
    """An ingester that answers only when told (a batch in flight meanwhile)."""

    def __init__(self, clock: Clock):
        super().__init__(clock)
        self.futures: list[concurrent.futures.Future] = []

    def submit(self, fn, items):
        self.batches.append((round(self.clock.seconds(), 3), len(items)))
        future: concurrent.futures.Future = concurrent.futures.Future()
        future.items = len(items)
        self.futures.append(future)
        return future

    def answer(self) -> None:
        for future in self.futures:
            future.set_result([ingest.Outcome(ingest.STORED, "new_article")] * future.items)
        self.futures = []


def test_items_whose_batch_is_in_flight_are_not_company(pipeline):
    """Two responses are being scraped: one item already went to the ingester (its response
    stays with the scraper until the outcome comes back), the other arrives now. Nothing else
    can come, so it goes at once; once both outcomes are back, nothing is counted in flight."""
    pipeline.executor = Holder(pipeline.reactor)
    pipeline.engine = FakeEngine(scraping=["first"])
    _arrive(pipeline)
    assert pipeline.executor.batches == [(0.0, 1)] and pipeline.in_flight == 1
    pipeline.engine = FakeEngine(scraping=["first", "second"])
    _arrive(pipeline)
    assert pipeline.executor.batches == [(0.0, 1), (0.0, 1)] and pipeline.in_flight == 2
    pipeline.executor.answer()
    assert pipeline.in_flight == 0
