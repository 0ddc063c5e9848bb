"""The meta refresh check reads a page's bytes, not its text: the same redirects as Scrapy's
MetaRefreshMiddleware, without decoding the pages that have none."""

from __future__ import annotations

import pytest
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware
from scrapy.http import HtmlResponse, Request, TextResponse
from scrapy.utils.test import get_crawler

from spiders.middlewares import NoRefererMetaRefreshMiddleware

URL = "https://arabpress.com/page"
REFRESH = '<meta http-equiv="refresh" content="0; url=/moved">'
ARABIC = "نص عربي طويل " * 40  # 2 bytes a letter in UTF-8
HEAD = "<!doctype html><html><head><title>t</title>"


class CountingResponse(HtmlResponse):
    """An HtmlResponse that counts how often its whole text is read."""

    decoded = 0

    @property
    def text(self) -> str:
        type(self).decoded += 1
        return TextResponse.text.fget(self)


def pages() -> list[tuple[str, bytes, str | None]]:
    """(name, body, charset in the Content-Type header or None) for pages with and without a
    refresh, where a refresh sits at the edges of the 4,096 characters Scrapy looks at."""
    filler = "<p>" + "x" * 100 + "</p>"
    cases = {
        "none": HEAD + "</head><body>" + filler * 50 + "</body></html>",
        "refresh": HEAD + REFRESH + "</head><body>" + filler * 50 + "</body></html>",
        "in_script": HEAD + f"<script>var s = '{REFRESH}';</script></head><body></body></html>",
        "in_noscript": HEAD + f"<noscript>{REFRESH}</noscript></head><body></body></html>",
        "late": HEAD + "</head><body>" + filler * 60 + REFRESH + "</body></html>",
        "after_arabic": HEAD + f"<title>{ARABIC}</title>" + REFRESH + "</head></html>",
        # Within 4,096 characters, past 4,096 bytes (in UTF-8; 7,300 in UTF-16).
        "after_more_arabic": HEAD + f"<title>{ARABIC * 7}</title>" + REFRESH + "</head></html>",
        # Past 4,096 characters but within the bytes read: seen there, left to Scrapy.
        "beyond_arabic": HEAD + f"<title>{ARABIC * 9}</title>" + REFRESH + "</head></html>",
        "other_meta": HEAD + '<meta name="refresh" content="0; url=/x"><meta http-equiv='
                             '"Content-Type" content="text/html"></head></html>',
        "delayed": HEAD + '<meta http-equiv="Refresh" content="5;URL=\'/later\'"></head></html>',
    }
    out = []
    for name, text in cases.items():
        out.append((f"{name}-utf8", text.encode("utf-8"), "utf-8"))
        out.append((f"{name}-declared", text.replace(
            "<head>", '<head><meta charset="utf-8">', 1).encode("utf-8"), None))
        out.append((f"{name}-utf16", text.encode("utf-16"), "utf-16"))
    return out


@pytest.fixture(scope="module")
def middlewares():
    crawler = get_crawler(settings_dict={"METAREFRESH_MAXDELAY": 3})
    scrapy_s = MetaRefreshMiddleware(crawler.settings)
    scrapy_s.crawler = crawler
    ours = NoRefererMetaRefreshMiddleware.from_crawler(crawler)
    return scrapy_s, ours


def outcome(result) -> str:
    return result.url if isinstance(result, Request) else "response"


@pytest.mark.parametrize("name,body,charset", pages(), ids=[case[0] for case in pages()])
def test_the_same_redirects_as_scrapy_s_check(middlewares, name, body, charset):
    scrapy_s, ours = middlewares
    headers = {"Content-Type": f"text/html; charset={charset}" if charset else "text/html"}

    def response(cls=HtmlResponse):
        return cls(URL, body=body, headers=headers, request=Request(URL))

    theirs = outcome(scrapy_s.process_response(Request(URL), response()))
    CountingResponse.decoded = 0
    mine = outcome(ours.process_response(Request(URL), response(CountingResponse)))
    assert mine == theirs
    # The cases are what they say: a refresh in the first 4,096 characters is followed, none
    # elsewhere (in a script: as METAREFRESH_IGNORE_TAGS says, Scrapy's default follows it)...
    kind = name.rsplit("-", 1)[0]
    if kind in ("refresh", "after_arabic", "after_more_arabic"):
        assert theirs == "https://arabpress.com/moved"
    elif kind in ("none", "late", "beyond_arabic", "other_meta", "delayed"):
        assert theirs == "response"
    # ...and a page with no refresh in its bytes is never decoded whole.
    if kind in ("none", "other_meta") and not name.endswith("utf16"):
        assert CountingResponse.decoded == 0


def test_pages_that_are_no_html_and_redirects_it_should_not_follow_are_left_alone(middlewares):
    _, ours = middlewares
    body = (HEAD + REFRESH + "</head></html>").encode()
    xml = TextResponse(URL, body=body, headers={"Content-Type": "text/xml"},
                       request=Request(URL))
    assert ours.process_response(Request(URL), xml) is xml
    html = HtmlResponse(URL, body=body, headers={"Content-Type": "text/html"},
                        request=Request(URL))
    assert ours.process_response(Request(URL, meta={"dont_redirect": True}), html) is html
    assert ours.process_response(Request(URL, method="HEAD"), html) is html
    assert outcome(ours.process_response(Request(URL), html)) == "https://arabpress.com/moved"
