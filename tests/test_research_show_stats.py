"""`show` (an article, its appearances, versions and diffs, its dates' sources) and `stats`."""

from __future__ import annotations

import pytest

from pressarchive.research.filters import Filters
from pressarchive.research.show import NotFound, render, show
from pressarchive.research.stats import stats
from research_helpers import build, rec

BODY = "The council met on Monday.\n\nIt approved the budget of 12 million.\n\nOthers objected."


@pytest.fixture
def archive(tmp_path):
    archive = build(tmp_path, [
        rec("council", "Council approves budget", BODY, summary="A vote at last.",
            published_at="2021-08-16T14:05:00+00:00", sources={"published_at": "jsonld",
                                                               "extractor": "arabpress-v1"},
            section="Local", authors=["Amal"], fetched_at="2025-06-20T09:00:00+00:00",
            related=[{"title": "R", "url": "https://arabpress.com/r"}]),
        rec("council", "Council approves budget",
            BODY.replace("12 million", "15 million").replace("Others objected.",
                                                             "Two members objected.")
            + "\n\nThe mayor welcomed the vote.", summary="A vote at last.",
            published_at="2021-08-16T14:05:00+00:00", section="Politics",
            fetched_at="2025-06-21T09:00:00+00:00"),
        rec("council", "Council approves budget", BODY, site="saudipress",
            summary="A vote at last.", fetched_at="2025-06-22T10:00:00+00:00",
            related=[{"title": "S", "url": "https://saudipress.com/s"}]),
        rec("weather", "Heat wave", "It is hot.", fetched_at="2025-06-22T09:00:00+00:00",
            images=[{"url": "https://arabpress.com/sun.jpg", "caption": None}]),
    ])
    yield archive
    archive.close()


def test_show_by_id_lists_appearances_versions_and_a_diff(archive):
    view = show(archive, 1)
    assert view["article"]["id"] == 1
    assert [(a["site"], a["url"]) for a in view["appearances"]] == [
        ("arabpress", "https://arabpress.com/council"),
        ("saudipress", "https://saudipress.com/council")]
    first, second = view["versions"]
    assert "diff" not in first
    changes = {c["where"]: c for c in second["diff"]}
    assert changes["¶2"]["op"] == "changed"
    assert ["-", "12"] in changes["¶2"]["words"] and ["+", "15"] in changes["¶2"]["words"]
    assert changes["¶4"] == {"op": "added", "where": "¶4", "new": "The mayor welcomed the vote."}
    assert {"field": "section", "old": "Local", "new": "Politics"} in second["changes"]
    assert "-¶2: It approved the budget of 12 million." in second["unified_diff"]
    assert "+¶2: It approved the budget of 15 million." in second["unified_diff"]


def test_show_says_where_each_date_came_from(archive):
    dates = show(archive, 1)["dates"]
    published = [d for d in dates if d["date"] == "published_at"]
    assert published[0]["value"] == "2021-08-16T14:05:00+00:00"
    assert published[0]["source"] == "the page (jsonld)"
    seen = [d for d in dates if d["date"] == "first_seen"]
    assert [d["value"] for d in seen] == ["2025-06-20T09:00:00+00:00",
                                          "2025-06-21T09:00:00+00:00"]
    assert any(d["date"] == "page_date" and "not a publication date" in d["source"]
               for d in dates)
    undated = show(archive, 2)["dates"]
    assert undated[0]["value"] is None and undated[0]["source"] == "not stated by the page"


def test_rendered_article_reads_as_text_with_word_diffs(archive):
    text = render(show(archive, "#1"))
    assert "Article #1" in text and "Two members objected." in text
    assert "[-12-]" in text and "{+15+}" in text
    assert "+ ¶4: The mayor welcomed the vote." in text
    assert "section: 'Local' -> 'Politics'" in text
    assert "Two members" not in render(show(archive, 1), full=False).split("Versions")[0]


@pytest.mark.parametrize("ref", [
    "https://arabpress.com/council", "https://arabpress.com/council/",
    "https://ARABPRESS.com/council?utm_source=x#top", "arabpress.com/council",
    "http://saudipress.com/council", " 1 ",
])
def test_show_finds_an_article_by_any_url_it_was_seen_at(archive, ref):
    assert show(archive, ref)["article"]["id"] == 1


@pytest.mark.parametrize("ref, message", [
    ("99", "no article with id 99"),
    ("https://arabpress.com/nothing", "no article seen at https://arabpress.com/nothing"),
    ("", "give an article id or URL"),
])
def test_show_unknown_article(archive, ref, message):
    with pytest.raises(NotFound, match=message):
        show(archive, ref)


def test_stats_counts(archive):
    s = stats(archive)
    assert (s["articles"], s["versions"], s["appearances"]) == (2, 3, 3)
    assert s["changed_articles"] == 1 and s["multi_site_articles"] == 1
    assert s["by_site"] == {"arabpress": {"articles": 2, "appearances": 2},
                            "saudipress": {"articles": 1, "appearances": 1}}
    assert s["by_day_published"] == {"2021-08-16": 1}
    assert s["by_day_first_seen"] == {"2025-06-20": 1, "2025-06-22": 1}
    assert s["by_section"] == {"(none)": 1, "Politics": 1}  # the latest version's section
    cov = s["coverage"]
    assert cov["published_at"] == {"articles": 1, "share": 0.5}
    assert cov["summary"]["articles"] == 1 and cov["images"]["articles"] == 1
    assert cov["related"]["articles"] == 1 and cov["authors"]["articles"] == 0
    assert cov["modified_at"]["share"] == 0.0
    assert s["date_source"] == {"published": 1, "first_seen": 1}


def test_stats_with_filters(archive):
    s = stats(archive, Filters.make(site="saudipress"))
    assert s["articles"] == 1 and s["by_site"] == {"saudipress": {"articles": 1,
                                                                  "appearances": 1}}
    assert stats(archive, Filters.make(since="2025-01-01"))["articles"] == 1  # the undated one
    assert stats(archive, Filters.make(section="politics"))["articles"] == 1


def test_stats_plot_writes_a_png(archive, tmp_path):
    pytest.importorskip("matplotlib")
    from pressarchive.research.stats import plot

    plot(stats(archive), tmp_path / "days.png")
    assert (tmp_path / "days.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
