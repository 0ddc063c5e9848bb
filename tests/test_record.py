"""The record's text forms: the fast paths must give what the plain definitions give."""

import random
import re
import sys
import unicodedata

from pressarchive.record import OTHER_SPACES, normalize_text
from pressarchive.research.normalize import _TABLE, normalize


def test_other_spaces_are_pythons_white_space_but_newline_and_space():
    every = {chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()}
    assert set(OTHER_SPACES) == every - {" ", "\n"}


def plain_normalize_text(text: str) -> str:
    """normalize_text as docs/record.md defines it: NFC, runs of spaces folded, lines stripped."""
    text = unicodedata.normalize("NFC", text)
    return "\n".join(re.sub(r"[^\S\n]+", " ", line).strip() for line in text.split("\n")).strip()


def plain_normalize(text: str) -> str:
    """The search normalization done the plain way: the table, NFKD, marks out, the table."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKD", text.translate(_TABLE))
    text = re.sub("[\u064b-\u065f\u0670\u06d6-\u06ed\u0640\u0300-\u036f]+", "", text)
    return text.translate(_TABLE).casefold()


def random_texts(n: int):
    rng = random.Random(3)
    pieces = ["a", "word", " ", "  ", "\n", "\n\n", "\t", "\xa0", "\u3000", "\r", "\u2028",
              "\u0623", "\u0629", "\u0649", "\u0664", "\u06f7", "\u064e", "\u0640", "e\u0301",
              "\ufefb", "\ufe94", "É", "ß", "كتاب", "Straße", "\x1f", "\x85"]
    for _ in range(n):
        yield "".join(rng.choice(pieces) for _ in range(rng.randint(0, 30)))


def test_normalize_text_matches_its_definition():
    for text in random_texts(20_000):
        assert normalize_text(text) == plain_normalize_text(text), repr(text)


def test_search_normalization_matches_the_plain_way():
    for text in random_texts(20_000):
        assert normalize(text) == plain_normalize(text), repr(text)
