"""Pages the site template does not fit: the generic extractor reads them by structure, and
template versions are chosen by the date a page was fetched."""

from __future__ import annotations

import datetime as dt

import pytest

from pressarchive.extract import NotAnArticle, extract
from pressarchive.extract.template import Template, choose

PLAIN_ARTICLE = """<!DOCTYPE html><html lang="en"><head><title>Port Strike Ends | Gulf Daily</title>
<meta property="article:published_time" content="2024-05-02T10:00:00+04:00"></head>
<body><nav><a href="/">Home</a> <a href="/world">World</a></nav>
<div class="share-buttons"><a href="#">Share this story on social media today</a></div>
<main><article><h1>Port Strike Ends After Two Weeks</h1>
<p class="byline">By Rana Saleh</p>
<div class="content">
<p>Dock workers at the main container port returned to work on Thursday after a two-week strike
over pay and shift patterns ended with an agreement brokered by the labour ministry.</p>
<p>The deal raises basic pay by eight percent and limits night shifts to four a week, union
officials said, adding that members had approved it by a wide margin.</p>
<aside class="related-stories"><p>Related: Shipping rates climb as strike drags on, and other
stories you may have missed this week in the region and beyond.</p></aside>
<p>Shipping lines had diverted several vessels to neighbouring ports during the stoppage.</p>
</div></article></main>
<footer><p>Copyright Gulf Daily. All rights reserved. Contact us for licensing.</p></footer>
</body></html>"""


def test_a_page_outside_the_template_is_read_by_its_structure():
    record = extract(PLAIN_ARTICLE, "https://arabpress.com/port-strike-ends",
                     "2024-05-03T08:00:00+00:00")
    assert record.sources == {"headline": "structure", "body": "structure",
                              "published_at": "meta", "extractor": "generic"}
    assert record.headline == "Port Strike Ends After Two Weeks"
    paragraphs = record.body.split("\n\n")
    assert len(paragraphs) == 3
    assert paragraphs[0].startswith("Dock workers at the main container port")
    assert paragraphs[2] == "Shipping lines had diverted several vessels to neighbouring ports " \
                            "during the stoppage."
    for chrome in ("Related:", "Copyright", "Share this story", "Home"):
        assert chrome not in record.body
    assert record.published_at == "2024-05-02T10:00:00+04:00"
    assert record.page_date is None  # no masthead outside the template


def test_a_page_with_no_article_text_is_not_an_article():
    html = "<html><body><h1>Contact us</h1><p>Write to us.</p></body></html>"
    with pytest.raises(NotAnArticle):
        extract(html, "https://arabpress.com/contact")


class _Version(Template):
    def __init__(self, name: str, valid_from: dt.date):
        self.name, self.valid_from = name, valid_from


def test_template_versions_are_chosen_by_fetch_date():
    v1, v2 = _Version("v1", dt.date(2000, 1, 1)), _Version("v2", dt.date(2025, 3, 1))
    assert choose([v1, v2], dt.date(2025, 2, 28)) is v1
    assert choose([v1, v2], dt.date(2025, 3, 1)) is v2
    assert choose([v2, v1], dt.date(2026, 1, 1)) is v2
    assert choose([v2], dt.date(2020, 1, 1)) is None
