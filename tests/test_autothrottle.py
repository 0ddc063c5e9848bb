"""AutoThrottle: Scrapy's, with a 304 Not Modified allowed to shorten the delay as a 200 does;
errors and redirects keep Scrapy's rule (they may only lengthen it)."""

import pytest
from scrapy.extensions.throttle import AutoThrottle as ScrapyAutoThrottle
from scrapy.http import Response
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.project import get_project_settings
from scrapy.utils.test import get_crawler

from pressarchive.crawl import AutoThrottle


class Slot:
    def __init__(self, delay: float):
        self.delay = delay


def _throttle(cls):
    crawler = get_crawler(settings_dict={"AUTOTHROTTLE_ENABLED": True,
                                         "AUTOTHROTTLE_TARGET_CONCURRENCY": 2.0})
    ext = build_from_crawler(cls, crawler)
    ext.mindelay, ext.maxdelay = 0.0, 30.0  # what it reads from the settings as a crawl opens
    return ext


def _delay_after(cls, status: int, latency: float, delay: float = 0.010) -> float:
    slot = Slot(delay)
    _throttle(cls)._adjust_delay(slot, latency, Response("http://example.com/", status=status))
    return slot.delay


@pytest.mark.parametrize("status", [200, 304])
def test_a_quick_200_or_304_shortens_the_delay(status):
    # latency 2 ms, two requests in the site's hands: the delay moves from 10 ms half-way
    # towards 1 ms.
    assert _delay_after(AutoThrottle, status, 0.002) == pytest.approx(0.0055)


def test_scrapys_own_rule_keeps_the_delay_on_a_304():
    assert _delay_after(ScrapyAutoThrottle, 304, 0.002) == 0.010


@pytest.mark.parametrize("status", [301, 404, 429, 500, 503])
def test_errors_and_redirects_never_shorten_it(status):
    assert _delay_after(AutoThrottle, status, 0.002) == 0.010


@pytest.mark.parametrize("status", [304, 503])
def test_a_slow_answer_lengthens_it_whatever_its_status(status):
    assert _delay_after(AutoThrottle, status, 0.100) == pytest.approx(0.050)


def test_the_project_runs_ours_in_place_of_scrapys():
    from scrapy.utils.conf import build_component_list

    settings = get_project_settings()
    enabled = build_component_list(settings.getwithbase("EXTENSIONS"))
    assert "pressarchive.crawl.AutoThrottle" in enabled
    assert "scrapy.extensions.throttle.AutoThrottle" not in enabled
