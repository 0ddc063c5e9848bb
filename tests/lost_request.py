"""A duplicate filter for crawl tests that loses one request: the first request for the URL
path in the environment variable ``LOST_REQUEST`` is reported as seen before, so Scrapy drops
it unanswered, as it drops a real duplicate. Used as ``DUPEFILTER_CLASS=lost_request.LoseOne``
with the tests folder on ``PYTHONPATH``."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from scrapy.dupefilters import RFPDupeFilter


class LoseOne(RFPDupeFilter):
    lost = False

    def request_seen(self, request) -> bool:
        if not self.lost and urlsplit(request.url).path == os.environ["LOST_REQUEST"]:
            LoseOne.lost = True
            return True
        return super().request_seen(request)
