"""The extractor's shortcut for groups of simple selectors (page chrome) must find exactly
what parsel's XPath finds: the same elements, in the same order."""

from __future__ import annotations

import random

import parsel
import pytest

from pressarchive.extract.arabpress import ArabPressV1
from pressarchive.extract.page import _simple_group, compiled_css, decode_html, paragraphs, select
from pressarchive.sitegen import SiteFamily
from pressarchive.sitegen import render

from conftest import article_cases

GROUPS = [ArabPressV1.BODY_CHROME, ("aside.newsletter", "section.related", "div.modal"),
          ("p", ".x", "DIV.y", "span.x"), ("figure",)]


def pages():
    for case in article_cases():
        yield decode_html((case.path / "page.html").read_bytes())
    family = SiteFamily(40, seed=9)
    for i in range(0, 40, 4):
        yield render.render_article(family, "arabpress", i).body.decode()
    rng = random.Random(5)
    tags, classes = ["div", "p", "span", "figure", "section", "ul", "li"], ["x", "y", "x-y", ""]
    for _ in range(40):  # odd class attributes: tabs, newlines, repeats, non-XML spaces
        spaces = [" ", "\t", "\n", "  ", "\xa0", "\r"]
        parts = []
        for _ in range(rng.randint(5, 40)):
            cls = rng.choice(spaces).join(rng.choice(classes) for _ in range(rng.randint(0, 3)))
            parts.append(f'<{rng.choice(tags)} class="{rng.choice(spaces)}{cls}">t<!-- c -->')
        yield "<html><body>" + "".join(parts) + "</body></html>"


@pytest.mark.parametrize("group", GROUPS, ids=lambda g: ",".join(g)[:30])
def test_simple_groups_match_what_the_xpath_matches(group):
    simple = _simple_group(group)
    assert simple is not None
    xpath = compiled_css(", ".join(group))
    checked = 0
    for html in pages():
        root = parsel.Selector(text=html).root
        for node in [root, *root.iter("div", "article", "body")]:
            assert simple.matches(node) == xpath(node)
            checked += 1
    assert checked > 500


def test_selectors_beyond_tags_and_classes_are_left_to_the_xpath():
    for group in [("*",), ("a b",), ("a > b",), ("#x",), ("[href]",), ("a::attr(href)",), ("a.b.c",),
                  ("p:first-child",), ("ns|p",)]:
        assert _simple_group(group) is None, group


def _drop(element) -> None:
    """Remove ``element`` from its tree but keep the text that follows it (its ``.tail``)."""
    parent = element.getparent()
    if element.tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    parent.remove(element)


@pytest.mark.parametrize("chrome", [ArabPressV1.BODY_CHROME, ("a b", "figure")],
                         ids=["simple group", "xpath"])
def test_paragraphs_leave_out_chrome_as_removing_it_from_a_copy_would(chrome):
    """paragraphs(node, chrome) reads the tree as it is; the reference removes every XPath
    match from a copy first (a match's tail kept), then reads that. Same text, and the tree
    itself is left as it was."""
    import copy

    compared = differed = 0
    for html in pages():
        root = parsel.Selector(text=html).root
        for node in root.iter("div"):
            before = parsel.Selector(root=node).get()
            expected = copy.deepcopy(node)
            for match in select(expected, ", ".join(chrome)):
                if match is not expected:
                    _drop(match)
            got = paragraphs(node, chrome)
            assert got == paragraphs(expected)
            assert parsel.Selector(root=node).get() == before
            compared += 1
            differed += got != paragraphs(node)
    assert compared > 100 and differed > 10  # chrome was there to leave out


def test_a_page_is_parsed_into_the_tree_parsel_gives():
    """Page parses with parsel's own create_root_node into plain lxml elements: the same tree
    as parsel.Selector's, node for node, and an XML-declared document still as XML."""
    from lxml import etree

    from pressarchive.extract.page import Page

    xml = '<?xml version="1.0"?>\n<html><body><p class="a">x</p></body></html>'
    checked = 0
    for html in [*pages(), xml, " \ufeff<?xml version='1.0'?><a><b/></a>", "  ", "\x00<p>a</p>",
                 "<html><body><p>no class</p></body></html>"]:
        page = Page(html, "https://arabpress.com/x")
        ours, parsels = page.root, parsel.Selector(text=html).root
        assert etree.tostring(ours) == etree.tostring(parsels)
        # body classes off <html>'s <body> child: what the whole-page XPath reads
        assert page.body_classes == set((parsels.xpath("string(//body/@class)") or "").split())
        assert ours.getroottree().docinfo.URL == "https://arabpress.com/x"
        assert type(ours) is (type(parsels) if html.lstrip(" \ufeff").startswith("<?xml")
                              else etree._Element)
        checked += 1
    assert checked > 50


ARTICLE_PAGE = """<html lang="en"><head><title>Port reopens | Arab Press</title></head>
<body class="page-article">
{before}
<main class="site-main">
{open}
  <h1 class="article-title">Port reopens</h1>
  <div class="article-meta"><span class="byline">By Lina Haddad</span>
    <a class="article-section" href="/section/economy">Economy</a></div>
  <div class="article-body"><p>The port reopened on Monday after a week of strikes.</p></div>
{close}
<section class="related"><ul class="related-list"><li><a href="/x">X</a></li></ul></section>
</main></body></html>"""
SIDEBAR = """<aside class="sidebar"><div class="article-meta"><span class="byline">By Sidebar
Columnist</span><a class="article-section" href="/section/opinion">Opinion</a></div>
<div class="article-body"><p>Another column's teaser.</p></div></aside>"""


def test_the_articles_parts_are_read_inside_the_article_element():
    """With an article element, its parts come from inside it, even when the page has the
    same classes earlier (a sidebar's byline and teaser); without one, from the whole page."""
    from pressarchive.extract import extract

    inside = extract(ARTICLE_PAGE.format(before=SIDEBAR, open='<article class="article">',
                                         close="</article>"),
                     "https://arabpress.com/port-reopens", "2025-06-20T10:00:00+00:00")
    assert inside.authors == ["Lina Haddad"]
    assert inside.section == "Economy"
    assert inside.body == "The port reopened on Monday after a week of strikes."
    assert inside.sources["extractor"] == "arabpress-v1"

    loose = extract(ARTICLE_PAGE.format(before="", open="", close=""),
                    "https://arabpress.com/port-reopens", "2025-06-20T10:00:00+00:00")
    assert (loose.authors, loose.section, loose.headline) == (["Lina Haddad"], "Economy",
                                                              "Port reopens")
    assert loose.body == inside.body
