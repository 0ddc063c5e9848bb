"""Search: Arabic-aware normalization, ranking, filters and safe query handling, on SQLite
(FTS5, bm25) and on PostgreSQL (tsvector, ts_rank): every test that searches an archive runs
on both."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from pressarchive.research.normalize import normalize
from pressarchive.research.query import QueryError, parse
from pressarchive.research.search import search
from pressarchive.storage import Archive
from research_helpers import build as build_sqlite, rec


@pytest.fixture(params=["sqlite", "postgresql"])
def build(request, tmp_path):
    """``build(tmp_path, records)``: the records saved into a new archive, on SQLite, and (the
    test's second run) on PostgreSQL, in a database of the test's own."""
    made = []

    def make(_tmp_path, records, name="a.sqlite"):
        assert not made, "one archive a test"
        if request.param == "sqlite":
            archive = build_sqlite(tmp_path, records, name)
        else:
            archive = Archive(request.getfixturevalue("postgres_url"))
            for record in records:
                archive.save(record)
        made.append(archive)
        return archive

    yield make
    for archive in made:
        archive.close()


@pytest.mark.parametrize("raw, normalized", [
    ("الْحُكُومَةُ", "الحكومه"),                 # harakat and taa marbuta
    ("مــــصر", "مصر"),                           # tatweel
    ("أحمد إبراهيم آمال ٱلقدس", "احمد ابراهيم امال القدس"),  # alef forms
    ("مسؤول رئيس", "مسوول رييس"),                # hamza carriers
    ("مصطفى", "مصطفي"),                          # alef maqsura
    ("رحمٰن", "رحمن"),                            # superscript alef
    ("الرَّحِيمِ ۝ ذَٰلِكَ ۖ", "الرحيم  ذلك "),   # Quranic marks U+06D6–U+06ED
    ("٢٠٢١ و ۱۲", "2021 و 12"),                  # Arabic-Indic and Eastern Arabic-Indic digits
    ("Café ÉCOLE Straße", "cafe ecole strasse"),  # Latin case and accents
    ("ﻻ", "لا"),                                  # presentation forms
])
def test_normalize(raw, normalized):
    assert normalize(raw) == normalized


def test_ascii_text_normalizes_as_it_would_beside_arabic():
    """normalize() takes a shortcut for ASCII text; the same text with an Arabic letter after
    it goes the long way, and must give the same up to that letter (taa marbuta -> heh)."""
    import random
    import string

    rng = random.Random(5)
    samples = [chr(c) for c in range(128)] + [
        "".join(rng.choice(string.printable) for _ in range(rng.randint(1, 40)))
        for _ in range(2000)]
    for ascii_text in samples:
        assert normalize(ascii_text + "\u0629") == normalize(ascii_text) + "\u0647"


def test_normalize_is_idempotent_and_empty_safe():
    text_ = "الْحُكُومَةُ المـصرية ٢٠٢١ Café"
    assert normalize(normalize(text_)) == normalize(text_)
    assert normalize(None) == normalize("") == ""


@pytest.fixture
def arabic(build, tmp_path):
    archive = build(tmp_path, [
        rec("budget", "الْحُكُومَةُ الْمِصْرِيَّةُ تُعْلِنُ مِيزَانِيَّةَ ٢٠٢١",
            "قَالَ الْمَسْؤُولُ إِنَّ الْمِيزَانِيَّةَ سَتُرَكِّزُ عَلَى التَّعْلِيمِ.",
            summary="مـــيزانية جديدة"),
        rec("forms", "إعلان آخر عن الاقتصاد", "رئيس الوزراء مصطفى يتحدث في القاهرة عام ۱۴۴۲."),
        rec("english", "Egypt's café owners", "Owners of cafés in Cairo met on Monday."),
    ])
    yield archive
    archive.close()


def slugs(hits):
    return [h.url.rsplit("/", 1)[1] for h in hits]


@pytest.mark.parametrize("query, slug", [
    ("الحكومة المصرية", "budget"),      # no harakat finds text with them
    ("الحكومه", "budget"),              # taa marbuta written as haa
    ("ميزانيه", "budget"),              # text has tatweel in the summary
    ("الحـــكومة", "budget"),           # tatweel in the query
    ("2021", "budget"),                 # ASCII finds Arabic-Indic digits
    ("٢٠٢١", "budget"),                 # and Arabic-Indic finds them too
    ("المسوول", "budget"),              # hamza on waw
    ("أعلان", "forms"),                 # alef with hamza above finds alef with hamza below
    ("اعلان", "forms"),
    ("آخر", "forms"),
    ("رئيس", "forms"), ("رييس", "forms"),  # hamza on yeh
    ("مصطفي", "forms"),                 # yeh for alef maqsura
    ("1442", "forms"),                  # Eastern Arabic-Indic digits
    ("CAFE", "english"), ("cafés", "english"),
])
def test_arabic_aware_search(arabic, query, slug):
    assert slugs(search(arabic, query)) == [slug]


@pytest.mark.parametrize("query, found", [
    ("حكومة", {"article", "joined", "bare"}),  # with article and joined prepositions
    ("الحكومة", {"article", "joined", "bare"}),
    ("مصر", {"joined"}),                    # بمصر
    ('"حكومة"', {"bare"}),                  # quoted: that form only
    ("الله", {"allah"}),                    # not "the" + لله
])
def test_arabic_words_are_found_with_their_article_and_joined_prepositions(build, tmp_path,
                                                                           query,
                                                                           found):
    archive = build(tmp_path, [
        rec("article", "الحكومة تجتمع", "نص."),
        rec("joined", "اجتماع للحكومة بمصر", "نص آخر."),
        rec("bare", "حكومة جديدة", "نص ثالث."),
        rec("allah", "بسم الله", "نص رابع."),
    ])
    assert set(slugs(search(archive, query))) == found
    archive.close()


def test_a_hit_says_where_it_matched_in_the_published_spelling(arabic):
    (hit,) = search(arabic, "التعليم")
    assert "[التَّعْلِيمِ.]" in hit.snippet  # the text as published, harakat and all


def test_bm25_ranks_headline_hits_first_then_frequency(build, tmp_path):
    filler = " ".join(f"word{i}" for i in range(40))
    archive = build(tmp_path, [
        rec("once", "Nothing here", f"{filler} pipeline {filler}"),
        rec("thrice", "Nothing here either", f"pipeline {filler} pipeline {filler} pipeline"),
        rec("headline", "Pipeline deal signed", f"{filler} {filler}"),
        rec("none", "Unrelated", filler),
    ])
    hits = search(archive, "pipeline")
    assert slugs(hits) == ["headline", "thrice", "once"]
    assert hits[0].score > hits[1].score > hits[2].score > 0
    archive.close()


def test_one_row_per_article_shown_in_its_latest_matching_version(build, tmp_path):
    archive = build(tmp_path, [
        rec("story", "Flood in Jeddah", "First report of the flood."),
        rec("story", "Flood in Jeddah", "Updated report of the flood.",
            fetched_at="2025-06-21T09:00:00+00:00"),
        rec("edited", "Storm warning", "A cyclone may reach the coast."),
        rec("edited", "Storm warning", "The storm turned away from the coast.",
            fetched_at="2025-06-21T09:00:00+00:00"),
    ])
    (hit,) = search(archive, "flood")
    assert hit.versions == 2 and hit.latest and "Updated" in hit.snippet
    (old,) = search(archive, "cyclone")  # only the first version said it
    assert old.versions == 2 and not old.latest and "cyclone" in old.snippet
    archive.close()


@pytest.fixture
def dated(build, tmp_path):
    archive = build(tmp_path, [
        rec("stated", "Election results", "Votes counted.", section="Politics",
            published_at="2021-08-16T14:05:00+00:00", fetched_at="2025-01-10T09:00:00+00:00"),
        rec("undated", "Election observers", "Observers arrived.",
            fetched_at="2021-08-20T09:00:00+00:00", section="World"),
        rec("sister", "Election turnout", "Turnout was high.", site="saudipress",
            published_at="2021-09-01T00:00:00+03:00", fetched_at="2021-09-01T10:00:00+00:00"),
    ])
    yield archive
    archive.close()


def test_dates_use_published_else_first_seen_and_say_which(dated):
    hits = {h.url.rsplit("/", 1)[1]: h for h in search(dated, "election")}
    assert hits["stated"].date == "2021-08-16T14:05:00+00:00"
    assert hits["stated"].date_source == "published"
    assert hits["undated"].date == "2021-08-20T09:00:00+00:00"
    assert hits["undated"].date_source == "first_seen"


@pytest.mark.parametrize("filters, expected", [
    ({"since": "2021-08-17"}, {"undated", "sister"}),
    ({"until": "2021-08-16"}, {"stated"}),           # a whole day, inclusive
    # A whole month; "sister" too: 2021-09-01T00:00+03:00 is still August in UTC.
    ({"until": "2021-08"}, {"stated", "undated", "sister"}),
    ({"since": "2021-08-20", "until": "2021-08-20"}, {"undated"}),  # first seen that day
    ({"since": "2025-01-01"}, set()),  # "stated" was first seen in 2025 but published 2021
    # 2021-09-01T00:00+03:00 is 2021-08-31 21:00 UTC: filters compare in UTC.
    ({"since": "2021-08-31T21:00:00Z", "until": "2021-08-31"}, {"sister"}),
    ({"site": "saudipress"}, {"sister"}),
    ({"site": ["saudipress", "arabpress"]}, {"stated", "undated", "sister"}),
    ({"section": "politics"}, {"stated"}),          # case-insensitive
])
def test_filters(dated, filters, expected):
    assert set(slugs(search(dated, "election", **filters))) == expected


def test_site_filter_finds_low_ranked_articles_beyond_the_first_batch(build, tmp_path):
    strong = [rec(f"strong-{i}", f"Drought report {i}", "Drought drought drought.")
              for i in range(150)]
    weak = [rec(f"weak-{i}", f"Weak story {i}", f"{'filler ' * 60} drought", site="saudipress")
            for i in range(3)]
    archive = build(tmp_path, strong + weak)
    hits = search(archive, "drought", site="saudipress", limit=5)
    assert sorted(slugs(hits)) == ["weak-0", "weak-1", "weak-2"]
    assert len(search(archive, "drought", limit=100)) == 100
    archive.close()


@pytest.mark.parametrize("query, expected", [
    ('"الحكومة المصرية"', ["budget"]),           # phrase
    ('"المصرية الحكومة"', []),                   # phrase order matters
    ("الحكومة OR cafe", ["budget", "english"]),
    ("caf*", ["english"]),                       # prefix
    ("headline: التعليم", []),                   # column filter: only in the body
    ("body: التعليم", ["budget"]),
    ("(cairo OR القاهرة) NOT owners", ["forms"]),
    ("NEAR(owners cairo, 3)", ["english"]),
    ("NEAR(owners cairo, 1)", []),                # "Owners of cafés in Cairo": 3 between
    ("NEAR(cairo owners, 3)", ["english"]),       # either order
    ('"owners of" + cafes', ["english"]),         # + joins phrases
    ('"owners of" + cairo', []),
    ('"of cafes in cai"*', ["english"]),          # a phrase's last word as a prefix
    ("headline: caf*", ["english"]),              # column filter and prefix
    ("headline: (monday OR القاهرة)", []),        # a filter over a group
    ("headline: monday OR القاهرة", ["forms"]),   # ...or over the next phrase only
    ("cairo AND owners NOT monday OR التعليم", ["budget"]),  # NOT, then AND, then OR
])
def test_fts_operators(arabic, query, expected):
    assert sorted(slugs(search(arabic, query))) == expected


@pytest.mark.parametrize("query", [
    "C++ -- %_ ; :", "it's", "10:30", "a.b.c", "x' OR '1'='1", "café-owners",
    "and or not near", "SELECT * FROM versions", "50% off!", "#hashtag @user",
])
def test_plain_text_never_reaches_fts_syntax(arabic, query):
    search(arabic, query)  # no error, whatever it finds


@pytest.mark.parametrize("query", ["'); DROP TABLE versions; --", 'x" OR "1"="1" --'])
def test_queries_are_parameters_not_sql(arabic, query):
    try:
        search(arabic, query)
    except QueryError:
        pass  # read as FTS syntax and refused: fine, as long as nothing ran
    with arabic.session() as session:
        assert session.scalar(text("SELECT count(*) FROM versions")) == 3


@pytest.mark.parametrize("query, words", [
    ('"unbalanced', "unbalanced double quotes"),
    ("(a OR b", "unbalanced parentheses"),
    ("a OR b)", "unbalanced parentheses"),
    ("a NOT", "malformed search query"),
    ("OR", "nothing to search for"),
    ("AND cafe", "malformed search query"),
    ("*", "'*' must follow a word"),
    ("   ", "empty search query"),
    ("- ،", "nothing to search for"),
    ('""', "empty phrase"),
])
def test_malformed_queries_raise_query_error(arabic, query, words):
    with pytest.raises(QueryError) as info:
        search(arabic, query)
    message = str(info.value)
    assert words in message and "\n" not in message


def test_query_policy():
    assert parse("oil  prices").fts == '"oil" "prices"'
    assert not parse("oil prices").advanced
    assert parse('say "hi"').fts == '"say" "hi"'
    assert parse("oil*").fts == '"oil"*'
    assert parse('"x" OR y').advanced  # quotes switch to FTS syntax
    assert parse('"x" OR y').fts == '"x" OR "y"'
    assert parse("Headline: Oil").fts == 'headline: "oil"'
    assert parse("حكومة*").terms == [("حكومه", True)]


def test_very_common_words_are_ranked_window_by_window_newest_first(build, tmp_path,
                                                                   monkeypatch):
    from pressarchive.research import search as search_module

    # Older articles say "harvest" more often (rank higher), newer ones once.
    archive = build(tmp_path, [rec(f"old-{i}", f"Old {i}", "harvest " * 5 + "filler " * 20,
                                   site="saudipress") for i in range(6)]
                    + [rec(f"new-{i}", f"New {i}", "harvest " + "filler " * 20)
                       for i in range(6)])
    exhaustive = search(archive, "harvest", exhaustive=True)
    assert exhaustive.ranked_all and exhaustive.matched == 12
    assert [s.split("-")[0] for s in slugs(exhaustive)] == ["old"] * 6 + ["new"] * 6
    monkeypatch.setattr(search_module, "WINDOWS", dict.fromkeys(search_module.WINDOWS, 5))
    windowed = search(archive, "harvest")
    assert not windowed.ranked_all and windowed.matched == 12
    # Versions 1-6 are old-0..5, 7-12 new-0..5. Windows of 5 from the newest: new-1..5;
    # then old-2..5 (ranked first within it) and new-0; then old-0 and old-1.
    got = slugs(windowed)
    assert set(got[:5]) == {f"new-{i}" for i in range(1, 6)}
    assert set(got[5:9]) == {f"old-{i}" for i in range(2, 6)} and got[9] == "new-0"
    assert set(got[10:]) == {"old-0", "old-1"}
    # A filter that nothing in the newest window passes reads on into older windows.
    assert set(slugs(search(archive, "harvest", site="saudipress", limit=3))) <= \
        {f"old-{i}" for i in range(2, 6)}
    archive.close()
