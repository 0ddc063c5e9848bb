"""Search queries: what the user typed, made safe for FTS5 (SQLite) and for PostgreSQL's
tsquery; and snippets that show the hits."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from .normalize import normalize

COLUMNS = ("headline", "summary", "body")  # the index's columns, usable as "headline: word"
OPERATORS = ("AND", "OR", "NOT", "NEAR")
# Anything here switches a query from plain words to FTS5 syntax (see HELP).
_ADVANCED = re.compile(r'["()*^]|\b(?:AND|OR|NOT|NEAR)\b|(?i:\b(?:%s)\s*:)' % "|".join(COLUMNS))
_TOKEN = re.compile(r"""\s*(?:
    (?P<phrase>"[^"]*")
  | (?P<punct>[()*^,+])
  | (?P<column>(?i:%s)\s*:)
  | (?P<word>[^\s"()*^,+]+)
)""" % "|".join(COLUMNS), re.X)
# Arabic letters only (normalized text has no marks or variant letters left).
_ARABIC = re.compile(r"^[\u0621-\u064a]+$")
# The definite article, and the one-letter conjunctions and prepositions most often written
# joined to a word, with or without it: و ب ل (ل + ال is written لل). The rarer ف and ك
# are left out: each form is one more phrase for every match to be scored against.
_ARTICLE_FORMS = ("ال", "وال", "بال", "لل", "و", "ب", "ل")
# Tokens as FTS5's unicode61 tokenizer cuts them: runs of letters and digits.
_WORD = re.compile(r"[^\W_]+")

HELP = """\
Words are searched as words, in any order, all of them required; case, Arabic diacritics,
tatweel, alef/hamza/yeh/taa-marbuta forms and Arabic-Indic digits do not matter, and an
Arabic word is found with or without the article and a joined و ب ل (حكومة finds
الحكومة and للحكومة, مصر finds بمصر); quote a word to find only that form.
A query that contains double quotes, parentheses, `*`, `^`, a column prefix (headline:,
summary:, body:) or one of the upper-case operators AND OR NOT NEAR is read as FTS5 syntax:
"exact phrase", word* (prefix), a OR b, a NOT b, NEAR(a b, 10), headline: word.
On a PostgreSQL archive `^` and NEAR over more than two phrases are refused."""


class QueryError(ValueError):
    """A search query that cannot be run; the message is one line for the user."""


@dataclass
class Query:
    text: str                   # as the user typed it
    fts: str                    # the FTS5 expression run (SQLite)
    advanced: bool              # read as FTS5 syntax rather than plain words
    terms: list[tuple[str, bool]] = field(default_factory=list)  # (normalized, is prefix)
    tsquery: str | None = None  # plain words: the same search for PostgreSQL's to_tsquery
    items: list = field(default_factory=list)  # FTS5 syntax: its tokens, read (_advanced)

    def postgres(self) -> str:
        """The search as PostgreSQL's ``to_tsquery`` text (``_PostgresQuery``); QueryError
        for what it cannot say (``^``, NEAR over three phrases) or a malformed query."""
        if self.tsquery is None:
            self.tsquery = _PostgresQuery(self.items, self.text).read()
        return self.tsquery


def words(normalized: str) -> list[str]:
    """A normalized text's words, as both indexes cut it (FTS5's unicode61 tokenizer:
    runs of letters and digits)."""
    return _WORD.findall(normalized)


def _tsquery(groups: list[list[str]]) -> str:
    """The ``to_tsquery`` text of plain words: every group required, any form of a group;
    a form of several words (``covid-19``) those words in a row, as FTS5 reads the quoted
    form. Words are letters and digits only, so quoting them is safe."""
    def form(term: str) -> str:
        return " <-> ".join(f"'{w}'" for w in words(term))

    return " & ".join("(" + " | ".join(form(t) for t in group) + ")" for group in groups)


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def parse(text: str) -> Query:
    """The FTS5 expression for a query; plain words are quoted, so never read as syntax."""
    if text is None or not text.strip():
        raise QueryError("empty search query")
    if _ADVANCED.search(text):
        return _advanced(text)
    terms = [t for t in (normalize(w) for w in text.split()) if _WORD.search(t)]
    if not terms:
        raise QueryError(f"nothing to search for in {text!r}")
    groups = [arabic_forms(t) for t in terms]
    # FTS5 has no implicit AND between parenthesized groups: spell it out when there are any.
    fts = (" AND " if any(len(g) > 1 for g in groups) else " ").join(
        _quote(g[0]) if len(g) == 1 else "(" + " OR ".join(map(_quote, g)) + ")"
        for g in groups)
    return Query(text, fts, False, [(w, False) for g in groups for t in g
                                    for w in words(t)], _tsquery(groups))


def arabic_forms(term: str) -> list[str]:
    """A normalized Arabic word with and without the definite article and the one-letter
    words written joined to it: حكومه also finds الحكومه, والحكومه, للحكومه; مصر finds بمصر;
    الحكومه also finds حكومه. Words of other scripts are left as they are."""
    if not _ARABIC.match(term):
        return [term]
    # Short words are left alone: ال in الله, التي, الذي is no article, and في or من
    # with an article is no word.
    if term.startswith("ال"):
        if len(term) < 5:
            return [term]
        base = term[2:]
    else:
        base = term
    if len(base) < 3:
        return [term]
    return list(dict.fromkeys([term, base, *(p + base for p in _ARTICLE_FORMS)]))


def _advanced(text: str) -> Query:
    if text.count('"') % 2:
        raise QueryError(f"unbalanced double quotes in {text!r}")
    depth = 0
    for char in text.replace('""', ""):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            break
    if depth:
        raise QueryError(f"unbalanced parentheses in {text!r}")
    out: list[str] = []
    items: list = []  # what ``out`` says, read: for _PostgresQuery
    terms: list[tuple[str, bool]] = []
    position, last = 0, ""
    for match in _TOKEN.finditer(text):
        if match.start() != position:  # only white space is ever skipped
            break
        position = match.end()
        kind, token = match.lastgroup, match.group(match.lastgroup)
        if kind == "word" and token in OPERATORS:
            out.append(token)
            items.append(("op", token))
        elif kind == "word" and token.isdigit() and last == ",":  # NEAR(a b, 10)
            out.append(token)
            items.append(("number", int(token)))
        elif kind in ("word", "phrase"):
            term = normalize(token.strip('"') if kind == "phrase" else token)
            if not _WORD.search(term):
                if kind == "phrase":
                    raise QueryError(f"empty phrase in {text!r}")
                continue  # a lone dash or comma: nothing to match
            out.append(_quote(term))
            said = words(term)
            items.append(("phrase", said, False))
            terms.extend((w, False) for w in said)
        elif kind == "column":
            out.append(token.rstrip(": \t").lower() + ":")
            items.append(("column", out[-1][:-1]))
        elif token == "*":
            if not out or not out[-1].endswith('"'):
                raise QueryError(f"'*' must follow a word (prefix search: word*) in {text!r}")
            out[-1] += "*"
            items[-1] = ("phrase", items[-1][1], True)
            if terms:
                terms[-1] = (terms[-1][0], True)
        else:
            out.append(token)
            items.append(("punct", token))
        last = token
    if position != len(text.rstrip()) and text[position:].strip():
        raise QueryError(f"cannot read the query from {text[position:].strip()[:20]!r}")
    if not terms:
        raise QueryError(f"nothing to search for in {text!r}")
    return Query(text, " ".join(out).replace("( ", "(").replace(" )", ")"), True, terms,
                 items=items)


# A column filter as PostgreSQL's index marks the column's words (index.PG_CREATE).
_WEIGHTS = {"headline": "A", "summary": "B", "body": "C"}
NEAR_DEFAULT = 10  # FTS5's distance when NEAR names none


class _PostgresQuery:
    """FTS5's query syntax, as ``_advanced`` read it, said in PostgreSQL's tsquery: a phrase
    is its words in a row (``<->``), ``word*`` a prefix (``:*``), a column filter restricts
    the words under it to that column's weight (``:A``), ``a + b`` is one phrase, AND and
    implicit AND ``&``, OR ``|``, ``a NOT b`` ``a & !b``, and ``NEAR(a b, N)`` the two
    phrases at most N words apart, in either order. Precedence is FTS5's: NOT, then AND,
    then OR. ``^`` (a column's first word) and NEAR over three or more phrases have no
    tsquery and are refused, in one line."""

    def __init__(self, items: list, text: str):
        self.items, self.text, self.at = items, text, 0

    def read(self) -> str:
        out = self._or(None)
        if self._peek() is not None:
            self._fail(f"unexpected {self._shown(self._peek())}")
        return out

    # -- the grammar -------------------------------------------------------------------------

    def _or(self, weight: str | None) -> str:
        parts = [self._and(weight)]
        while self._peek() == ("op", "OR"):
            self._take()
            parts.append(self._and(weight))
        return parts[0] if len(parts) == 1 else "(" + " | ".join(parts) + ")"

    def _and(self, weight: str | None) -> str:
        parts = [self._not(weight)]
        while (item := self._peek()) is not None:
            if item == ("op", "AND"):
                self._take()
            elif not self._starts_operand(item):
                break
            parts.append(self._not(weight))
        return parts[0] if len(parts) == 1 else "(" + " & ".join(parts) + ")"

    def _not(self, weight: str | None) -> str:
        left = self._operand(weight)
        while self._peek() == ("op", "NOT"):
            self._take()
            left = f"({left} & !{self._operand(weight)})"
        return left

    @staticmethod
    def _starts_operand(item) -> bool:
        return item[0] in ("phrase", "column") or item in (
            ("punct", "("), ("op", "NEAR"), ("punct", "^"))

    def _operand(self, weight: str | None) -> str:
        item = self._take()
        if item is None:
            self._fail("it ends where a word was expected")
        if item[0] == "column":  # applies to what follows: a phrase, a group, a NEAR
            return self._operand(_WEIGHTS[item[1]])
        if item == ("punct", "("):
            inner = self._or(weight)
            if self._take() != ("punct", ")"):
                self._fail("a parenthesis is not closed where it should be")
            return inner
        if item == ("op", "NEAR"):
            return self._near(weight)
        if item == ("punct", "^"):
            raise QueryError(f"{self.text!r}: '^' (a column's first word) is read on SQLite "
                             "archives only")
        if item[0] == "phrase":
            return self._phrase(item, weight)
        self._fail(f"unexpected {self._shown(item)}")

    def _phrase(self, item, weight: str | None) -> str:
        """A phrase, and those joined to it by ``+``."""
        found = list(item[1])
        prefix = item[2]
        while self._peek() == ("punct", "+"):
            self._take()
            following = self._take()
            if following is None or following[0] != "phrase" or prefix:
                self._fail("'+' must join two phrases")
            found += following[1]
            prefix = following[2]
        marks = weight or ""
        lexemes = [f"'{w}'" + (":" + marks if marks else "") for w in found]
        if prefix:
            lexemes[-1] = f"'{found[-1]}':*{marks}"
        return lexemes[0] if len(lexemes) == 1 else "(" + " <-> ".join(lexemes) + ")"

    def _near(self, weight: str | None) -> str:
        if self._take() != ("punct", "("):
            self._fail("NEAR must be followed by a parenthesis")
        phrases: list[str] = []
        distance = NEAR_DEFAULT
        while (item := self._take()) is not None and item != ("punct", ")"):
            if item[0] == "phrase":
                phrases.append(self._phrase(item, weight))
            elif item == ("punct", ",") and self._peek() is not None \
                    and self._peek()[0] == "number":
                distance = self._take()[1]
            else:
                self._fail(f"NEAR holds phrases only, not {self._shown(item)}")
        if item is None or not phrases:
            self._fail("NEAR needs phrases in its parentheses")
        if len(phrases) > 2:
            raise QueryError(f"{self.text!r}: NEAR over more than two phrases is read on "
                             "SQLite archives only")
        if len(phrases) == 1:
            return phrases[0]
        first, second = phrases
        # "a <k> b": b's first word k words after a's last, k - 1 words between them.
        return "(" + " | ".join(f"{one} <{k}> {other}" for one, other in (
            (first, second), (second, first)) for k in range(1, distance + 2)) + ")"

    # -- reading -------------------------------------------------------------------------------

    def _peek(self):
        return self.items[self.at] if self.at < len(self.items) else None

    def _take(self):
        item = self._peek()
        self.at += 1
        return item

    @staticmethod
    def _shown(item) -> str:
        if item[0] == "phrase":
            return repr(" ".join(item[1]))
        return repr(str(item[1]))

    def _fail(self, why: str):
        raise QueryError(f"malformed search query {self.text!r} ({why}); see "
                         "`pressarchive search --help`")


class _Terms:
    """The query's terms as one pattern over normalized text: whole words, or word starts
    for prefix terms."""

    def __init__(self, terms: list[tuple[str, bool]]):
        # Longest first, so that an alternation prefers the whole of a longer term.
        exact = sorted({t for t, prefix in terms if not prefix}, key=len, reverse=True)
        prefixes = sorted({t for t, prefix in terms if prefix}, key=len, reverse=True)
        parts = []
        if exact:
            parts.append(r"(?<![^\W_])(?:%s)(?![^\W_])" % "|".join(map(re.escape, exact)))
        if prefixes:
            parts.append(r"(?<![^\W_])(?:%s)" % "|".join(map(re.escape, prefixes)))
        self.pattern = re.compile("|".join(parts) or r"(?!)")


_TOKEN_START = re.compile(r"\S+")


def snippet(texts: list[str | None], terms: list[tuple[str, bool]], *, words: int = 30,
            mark: tuple[str, str] = ("[", "]")) -> str:
    """About ``words`` words of the first paragraph that holds a hit, the hits marked, in
    the text as published (not normalized); else the opening words."""
    pattern = _Terms(terms).pattern
    paragraphs = [p for t in texts if t for p in t.split("\n\n") if p.strip()]
    for paragraph in paragraphs:
        normalized = normalize(paragraph)
        found = [m.start() for m in pattern.finditer(normalized)]
        if not found:
            continue
        tokens = paragraph.split()
        starts = [m.start() for m in _TOKEN_START.finditer(normalized)]
        if len(starts) == len(tokens):
            # Normalizing keeps the white space, so the n-th word is the n-th word.
            hits = {bisect.bisect_right(starts, at) - 1 for at in found}
        else:  # a word of marks only vanished: fold word by word
            hits = {i for i, tok in enumerate(tokens) if pattern.search(normalize(tok))}
        if not hits:
            return _clip(tokens, 0, words)
        start = max(0, min(min(hits) - words // 3, len(tokens) - words))
        marked = [f"{mark[0]}{tok}{mark[1]}" if i in hits else tok
                  for i, tok in enumerate(tokens)]
        return _clip(marked, start, words)
    return _clip(paragraphs[0].split(), 0, words) if paragraphs else ""


def _clip(tokens: list[str], start: int, count: int) -> str:
    text = " ".join(tokens[start:start + count])
    return ("… " if start > 0 else "") + text + (" …" if start + count < len(tokens) else "")
