"""The extractor's shortcut for groups of simple selectors (page chrome) must find exactly
what parsel's XPath finds: the same elements, in the same order."""

from __future__ import annotations

import random

import parsel
import pytest

from pressarchive.extract.arabpress import ArabPressV1
from pressarchive.extract.page import _simple_group, compiled_css, decode_html, select, without
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


def test_without_gives_what_removing_the_xpath_matches_gives():
    import copy

    from pressarchive.extract.page import drop

    for html in pages():
        root = parsel.Selector(text=html).root
        for node in root.iter("div"):
            expected = copy.deepcopy(node)
            for match in select(expected, ", ".join(ArabPressV1.BODY_CHROME)):
                if match is not expected:
                    drop(match)
            got = without(node, ArabPressV1.BODY_CHROME)
            assert parsel.Selector(root=got).get() == parsel.Selector(root=expected).get()


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
