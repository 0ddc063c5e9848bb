"""Retry-After is waited for only when a retry follows."""

import asyncio

import scrapy
from scrapy.http import Request, Response
from scrapy.utils.test import get_crawler

from spiders import middlewares
from spiders.middlewares import RetryAfterMiddleware


class _Spider(scrapy.Spider):
    name = "retry-after"


def middleware(**settings):
    crawler = get_crawler(_Spider, {"RETRY_TIMES": 2, **settings})
    crawler.spider = crawler._create_spider()
    return RetryAfterMiddleware.from_crawler(crawler), crawler


def answer(request, status=503, wait="5"):
    return Response(request.url, status=status, headers={"Retry-After": wait}, request=request)


def test_waits_then_retries_and_does_not_wait_when_no_retry_follows(monkeypatch):
    slept = []

    async def sleep(seconds):
        slept.append(seconds)

    monkeypatch.setattr(middlewares.asyncio, "sleep", sleep)
    mw, crawler = middleware()
    first = Request("http://127.0.0.1/a")
    retry = asyncio.run(mw.process_response(first, answer(first)))
    assert isinstance(retry, Request) and slept == [5.0]
    spent = Request("http://127.0.0.1/b", meta={"retry_times": 2})  # no retries left
    assert isinstance(asyncio.run(mw.process_response(spent, answer(spent))), Response)
    unwanted = Request("http://127.0.0.1/c", meta={"dont_retry": True})
    assert isinstance(asyncio.run(mw.process_response(unwanted, answer(unwanted))), Response)
    too_long = Request("http://127.0.0.1/d")
    assert asyncio.run(mw.process_response(too_long, answer(too_long, wait="600"))).status == 503
    assert slept == [5.0]
    assert crawler.stats.get_value("pressarchive/retry_after_waits") == 1
