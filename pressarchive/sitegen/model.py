"""The deterministic site model: articles of a sister-site family, their listings, and time.

Nothing is generated up front. Cheap per-article facts (sites, section, language, date kind,
publication time, headline) come from a 64-bit hash of (seed, id); the text (summary, authors,
body) from ``random.Random(seed * 1_000_003 + id)`` when the article is asked for. Ids are in
publication order, so "newest first" is "highest id first". A slug decodes back to its id: the
first four words of every headline encode the id (a keyed permutation of its mixed-radix
digits), so finding an article by URL needs neither an index nor the other articles.
"""

from __future__ import annotations

import bisect
import datetime as dt
import random
import threading
import zlib
from array import array
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Iterable, NamedTuple

from . import words as W

UTC = dt.timezone.utc
M64 = (1 << 64) - 1
RADICES = (len(W.PLACES), len(W.ACTORS), len(W.VERBS), len(W.TOPICS))
CAPACITY = RADICES[0] * RADICES[1] * RADICES[2] * RADICES[3]
SITE_INFO = {
    "arabpress": ("Arab Press", "بالشعب و للشعب"),
    "saudipress": ("Saudi Press", "Saudi Arabia and the world"),
}
# Which digit each Feistel step moves. Ids next to each other differ in digit 0 only, so it is
# moved again last: otherwise consecutive articles would name consecutive places.
FEISTEL = (0, 1, 2, 3, 0)
_EN = [{w.lower(): i for i, w in enumerate(lst)} for lst in (W.PLACES, W.ACTORS, W.VERBS, W.TOPICS)]
_AR = [{t: i for i, (_, t) in enumerate(lst)}
       for lst in (W.AR_PLACES, W.AR_ACTORS, W.AR_VERBS, W.AR_TOPICS)]
_TAGS = {w.lower(): (0, i) for i, w in enumerate(W.PLACES)} | {
    w.lower(): (3, i) for i, w in enumerate(W.TOPICS)}


def mix(x: int) -> int:
    """splitmix64's finaliser: a well-spread 64-bit hash of an integer, in ~0.3 µs."""
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def hash_of(*parts: int | str) -> int:
    h = 0x5EED
    for part in parts:
        if isinstance(part, str):
            part = zlib.crc32(part.encode())
        h = mix(h ^ (part & M64))
    return h


def site_info(site: str) -> tuple[str, str]:
    """(display name, tagline) of a site slug."""
    return SITE_INFO.get(site, (site.replace("-", " ").title(), "News from the region"))


class Edit(NamedTuple):
    day: dt.date
    kind: str  # "headline" or "body"
    at: dt.datetime


class Video(NamedTuple):
    slug: str
    title: str
    caption: str
    published: dt.datetime


@dataclass(frozen=True)
class Article:
    id: int
    slug: str
    headline: str
    summary: str | None
    body: tuple  # blocks: ("p", text) | ("h2", text) | ("ul", (item, ...))
    section: str
    authors: tuple[str, ...]
    published: dt.datetime
    modified: dt.datetime | None
    language: str
    date_kind: str | None  # which machine-readable date the page carries, if any
    sites: tuple[str, ...]
    home: str
    tags: tuple[str, ...]

    @property
    def body_text(self) -> str:
        """The body as docs/record.md writes it: what the extractor should return."""
        out = []
        for kind, value in self.body:
            out.append("\n".join(f"- {item}" for item in value) if kind == "ul" else value)
        return "\n\n".join(out)

    @property
    def published_at(self) -> str | None:
        """The publication time a reader of the page can know (None when no date is on it)."""
        return self.published.isoformat() if self.date_kind else None

    def url(self, site: str | None = None) -> str:
        return f"https://{site or self.home}.com/{self.slug}"


class SiteFamily:
    """A family of sister news sites with ``articles`` articles; see the module docstring."""

    def __init__(self, articles: int, seed: int = 0,
                 sites: Iterable[str] = ("arabpress", "saudipress"), shared: float = 0.3,
                 start: dt.date = dt.date(2025, 6, 20), per_page: int = 20,
                 span_days: int = 730, sister_variants: bool = False):
        sites = tuple(sites)
        if not 1 <= articles <= CAPACITY // 2:
            raise ValueError(f"articles must be between 1 and {CAPACITY // 2}, not {articles}")
        if not sites or len(set(sites)) != len(sites):
            raise ValueError("sites must be distinct and at least one")
        if not 0.0 <= shared <= 1.0 or per_page < 1 or span_days < 1:
            raise ValueError("shared must be within [0, 1], per_page and span_days positive")
        self.size, self.seed, self.sites, self.shared = articles, seed, sites, shared
        # Whether a shared article's copy on a sister site (not its home) ends with a line of
        # that site's own: the same story (slug and headline) with another body, as sister
        # sites often publish it (docs/schema.md, how records are matched, rule 3).
        self.sister_variants = sister_variants
        self.start, self.per_page, self.today = start, per_page, start
        self.count = articles
        self.version = 0  # bumped by advance(): anything rendered before is stale
        self.lock = threading.RLock()
        self._key = hash_of(seed, "sitegen")
        self._rounds = [hash_of(self._key, "round", i) for i in range(len(FEISTEL))]
        self._digits: dict[int, list[int]] = {}
        self._shared_cut = int(shared * 65536)
        self._t0 = int(dt.datetime.combine(start, dt.time(), UTC).timestamp()) - span_days * 86400
        self._spacing = span_days * 86400 / articles
        self._days: list[tuple[int, int, int]] = []  # (first id, count, midnight ts) per advance
        self._edits: dict[int, list[Edit]] = {}
        # Articles moved to the slug of their edited headline (``move``): the headline tail
        # their slug spells now, and the slugs each had before, which answer with a 301.
        self._moved: dict[int, tuple[int | None, list[str]]] = {}
        self._index: dict[tuple[str, str | None], array] | None = None
        self._indexed = 0
        self._cache: OrderedDict[tuple[int, int], Article] = OrderedDict()

    # -- cheap per-article facts -------------------------------------------------------------
    def _h1(self, i: int) -> int:
        return mix(self._key + 2 * i)

    def _h2(self, i: int) -> int:
        return mix(self._key + 2 * i + 1)

    def sites_of(self, i: int) -> tuple[str, ...]:
        h = self._h1(i)
        if (h & 0xFFFF) < self._shared_cut:
            return self.sites
        return (self.sites[((h >> 16) & 0xFF) % len(self.sites)],)

    def home_of(self, i: int) -> str:
        sites = self.sites_of(i)
        return sites[0] if len(sites) == 1 else sites[((self._h1(i) >> 16) & 0xFF) % len(sites)]

    def section_of(self, i: int) -> str:
        return W.SECTIONS[((self._h1(i) >> 24) & 0xFF) % len(W.SECTIONS)]

    def language_of(self, i: int) -> str:
        return "ar" if ((self._h1(i) >> 32) & 0xFFFF) < 13107 else "en"  # ~20 %

    def date_kind_of(self, i: int) -> str | None:
        u = (self._h1(i) >> 48) & 0xFF  # 25 % JSON-LD, 25 % meta, 20 % <time>, 30 % none
        return "jsonld" if u < 64 else "meta" if u < 128 else "time" if u < 179 else None

    def digits_of(self, i: int) -> list[int]:
        """The four headline-slot indexes that spell article ``i``'s slug."""
        d = self._digits.get(i)
        if d is None:
            if len(self._digits) > 100_000:  # bounded: a page needs the digits of ~12 ids
                self._digits.clear()
            d, x = [], i
            for r in RADICES:
                d.append(x % r)
                x //= r
            for step, k in enumerate(FEISTEL):
                d[k] = (d[k] + self._offset(step, k, d)) % RADICES[k]
            self._digits[i] = d
        return d

    def _offset(self, step: int, k: int, d: list[int]) -> int:
        # Feistel-like: each digit moves by a hash of the others, so the step is invertible.
        others = d[(k + 1) % 4] + 97 * d[(k + 2) % 4] + 9409 * d[(k + 3) % 4]
        return mix(self._rounds[step] + others) % RADICES[k]

    def _id_of_digits(self, d: list[int]) -> int:
        d = list(d)
        for step in reversed(range(len(FEISTEL))):
            k = FEISTEL[step]
            d[k] = (d[k] - self._offset(step, k, d)) % RADICES[k]
        i, scale = 0, 1
        for digit, r in zip(d, RADICES):
            i += digit * scale
            scale *= r
        return i

    def _tail_of(self, i: int) -> int | None:
        tail = None if ((self._h2(i) >> 24) & 0xFF) >= 200 else (self._h2(i) >> 16) & 0xF
        for edit in self._edits.get(i, ()):
            if edit.kind == "headline":
                choices = [t for t in range(len(W.TAILS)) if t != tail]
                tail = choices[hash_of(self._key, i, edit.day.toordinal()) % len(choices)]
        return tail

    def headline(self, i: int) -> str:
        """The article's current headline (an edit may have changed it; its slug stays)."""
        p, a, v, t = self.digits_of(i)
        tail = self._tail_of(i)
        if self.language_of(i) == "ar":
            text = (f"{W.AR_VERBS[v][0]} {W.AR_ACTORS[a][0]} {W.AR_TOPICS[t][0]} "
                    f"في {W.AR_PLACES[p][0]}")
            return text if tail is None else f"{text} {W.AR_TAILS[tail][0]}"
        text = f"{W.PLACES[p]} {W.ACTORS[a]} {W.VERBS[v]} {W.TOPICS[t]}"
        return text if tail is None else f"{text} {W.TAILS[tail]}"

    def slug(self, i: int) -> str:
        """The article's slug: the one its first headline spells, or, once it has been moved
        (``move``), the one its current headline spells."""
        p, a, v, t = self.digits_of(i)
        h2 = self._h2(i)
        tail = None if ((h2 >> 24) & 0xFF) >= 200 else (h2 >> 16) & 0xF  # the original one
        if i in self._moved:
            tail = self._moved[i][0]
        if self.language_of(i) == "ar":
            parts = [W.AR_VERBS[v][1], W.AR_ACTORS[a][1], W.AR_TOPICS[t][1], "fi",
                     W.AR_PLACES[p][1]]
            if tail is not None:
                parts.append(W.AR_TAILS[tail][1])
        else:
            parts = [W.PLACES[p], W.ACTORS[a], W.VERBS[v], W.TOPICS[t]]
            if tail is not None:
                parts.append(W.TAILS[tail])
        slug = "-".join(parts).lower().replace(" ", "-")
        if ((self._h1(i) >> 56) & 0xFF) < 13 and self.sites_of(i) == ("saudipress",):
            n = h2 >> 32  # ~5 % of saudipress-only articles carry a random prefix (zmznmz-...)
            slug = "".join(W.PREFIX_LETTERS[(n // 26 ** k) % 26] for k in range(6)) + "-" + slug
        return slug

    def tags_of(self, i: int) -> tuple[str, ...]:
        p, _, _, t = self.digits_of(i)
        return (W.PLACES[p].lower(), W.TOPICS[t].lower())

    def find(self, slug: str, site: str | None = None) -> int | None:
        """The id of the article with this slug (on ``site``), or None."""
        tokens = slug.lower().split("-")
        for skip in (0, 1):
            tok = tokens[skip:]
            candidates = []
            if len(tok) >= 4 and all(tok[k] in _EN[k] for k in range(4)):
                candidates.append([_EN[k][tok[k]] for k in range(4)])
            if len(tok) >= 5 and tok[3] == "fi" and tok[4] in _AR[0] and tok[1] in _AR[1] \
                    and tok[0] in _AR[2] and tok[2] in _AR[3]:
                candidates.append([_AR[0][tok[4]], _AR[1][tok[1]], _AR[2][tok[0]], _AR[3][tok[2]]])
            for digits in candidates:
                i = self._id_of_digits(digits)
                if i < self.count and self.slug(i) == slug.lower() and (
                        site is None or site in self.sites_of(i)):
                    return i
        return None

    def moved_from(self, slug: str, site: str | None = None) -> int | None:
        """The id of the article that had this slug before it was moved (``move``), or
        None."""
        for i, (_, before) in self._moved.items():
            if slug.lower() in before and (site is None or site in self.sites_of(i)):
                return i
        return None

    def move(self, i: int, at: dt.datetime | None = None) -> None:
        """Edit article ``i``'s headline today (as ``edit``) and move it to the slug its new
        headline spells, as a newsroom's system does when a headline is rewritten: its old
        URL answers with a 301 to the new one, and the sitemaps, listings and its canonical
        link name the new one. Its body and publication time stay; a later headline edit
        (``advance``) keeps the new slug, as an edit does any slug."""
        with self.lock:
            before = self.slug(i)
            self.edit(i, "headline", at)
            self._moved[i] = (self._tail_of(i), self._moved.get(i, (None, []))[1] + [before])

    def published(self, i: int) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.published_ts(i), UTC)

    def published_ts(self, i: int) -> int:
        frac = 0.05 + 0.9 * (self._h2(i) & 0xFFFF) / 65536  # keeps ids in publication order
        if i < self.size:
            return self._t0 + int((i + frac) * self._spacing)
        k = bisect.bisect_right(self._days, (i, 1 << 62, 0)) - 1
        first, n, midnight = self._days[k]
        return midnight + int((i - first + frac) * 86400 / n)

    def modified(self, i: int) -> dt.datetime | None:
        edits = self._edits.get(i)
        return edits[-1].at if edits else None

    def edits(self) -> dict[int, tuple[Edit, ...]]:
        """Every edit made so far, by article id, oldest first."""
        with self.lock:
            return {i: tuple(e) for i, e in self._edits.items()}

    def lastmod(self, i: int) -> dt.datetime:
        return self.modified(i) or self.published(i)

    # -- the text ----------------------------------------------------------------------------
    def _rng(self, i: int) -> random.Random:
        return random.Random(self.seed * 1_000_003 + i)

    @staticmethod
    def _sentence(rng: random.Random, vocab: list[str], lo: int, hi: int, ar: bool) -> str:
        # Runs of consecutive source words read better than a bag of words, and cost less.
        # (rng.random() scaled, not randrange: a third of the time, the same determinism.)
        rand = rng.random
        n, out, last = lo + int(rand() * (hi - lo + 1)), [], len(vocab) - 6
        while len(out) < n:
            at = int(rand() * last)
            out.extend(vocab[at:at + min(6, n - len(out))])
        text = " ".join(out)
        return (text if ar else text[0].upper() + text[1:]) + "."

    def _paragraph(self, rng: random.Random, ar: bool) -> str:
        vocab = W.AR_WORDS if ar else W.EN_WORDS
        return " ".join(self._sentence(rng, vocab, 8, 22, ar)
                        for _ in range(1 + int(rng.random() * 4)))

    def _summary(self, rng: random.Random, ar: bool) -> str | None:
        # Always the first draws, so a listing can read the summary without the body.
        present = rng.random() >= 0.15
        text = self._sentence(rng, W.AR_WORDS if ar else W.EN_WORDS, 15, 30, ar)
        return text if present else None

    def summary(self, i: int) -> str | None:
        with self.lock:
            cached = self._cache.get((i, len(self._edits.get(i, ()))))
        if cached:
            return cached.summary
        return self._summary(self._rng(i), self.language_of(i) == "ar")

    def article(self, i: int, site: str | None = None) -> Article:
        """Article ``i`` as it reads today (with every edit made so far); ``site``: as that
        site carries it (a sister copy's own closing line, with ``sister_variants``)."""
        art = self._article(i)
        if self.sister_variants and site is not None and site != art.home \
                and site in art.sites:
            name = site_info(site)[0]
            line = (f"نشر هذا التقرير على موقع {name}." if art.language == "ar"
                    else f"This report was published on {name}.")
            art = replace(art, body=art.body + (("p", line),))
        return art

    def _article(self, i: int) -> Article:
        with self.lock:
            if not 0 <= i < self.count:
                raise KeyError(i)
            edits = self._edits.get(i, [])
            key = (i, len(edits))
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
            art = self._build(i, edits)
            self._cache[key] = art
            if len(self._cache) > 4096:
                self._cache.popitem(last=False)
            return art

    def _build(self, i: int, edits: list[Edit]) -> Article:
        ar = self.language_of(i) == "ar"
        rng = self._rng(i)
        summary = self._summary(rng, ar)
        u = rng.random()
        names = W.AR_NAMES if ar else W.EN_NAMES
        authors = tuple(rng.sample(names, 0 if u < 0.2 else 1 if u < 0.85 else 2))
        n = 2 + int(38 * rng.random() ** 2)  # 2 to 40 blocks, most articles short
        blocks: list[tuple] = []
        for k in range(n):
            u = rng.random()
            if 2 <= k < n - 1 and u < 0.07 and blocks[-1][0] == "p":
                blocks.append(("h2", rng.choice(W.AR_SUBHEADS if ar else W.EN_SUBHEADS)))
            elif k >= 1 and u > 0.94:
                vocab = W.AR_WORDS if ar else W.EN_WORDS
                items = tuple(" ".join(rng.choices(vocab, k=rng.randint(3, 8)))
                              for _ in range(rng.randint(3, 6)))
                blocks.append(("ul", items))
            else:
                blocks.append(("p", self._paragraph(rng, ar)))
        for n, edit in enumerate(edits):
            if edit.kind == "body":
                # A second body edit of the same day rewrites too (seeded apart: by the day
                # alone it rewrote the same paragraph the same way, and changed nothing).
                again = sum(e.kind == "body" and e.day == edit.day for e in edits[:n])
                erng = random.Random(hash_of(self._key, i, edit.day.toordinal(), "body",
                                             *((again,) if again else ())))
                paras = [k for k, b in enumerate(blocks) if b[0] == "p"]
                blocks[erng.choice(paras)] = ("p", self._paragraph(erng, ar))
        return Article(
            id=i, slug=self.slug(i), headline=self.headline(i), summary=summary,
            body=tuple(blocks), section=self.section_of(i), authors=authors,
            published=self.published(i), modified=edits[-1].at if edits else None,
            language="ar" if ar else "en", date_kind=self.date_kind_of(i),
            sites=self.sites_of(i), home=self.home_of(i), tags=self.tags_of(i))

    # -- listings ----------------------------------------------------------------------------
    def _ensure_index(self) -> dict[tuple[str, str | None], array]:
        # Built on the first listing or sitemap (~0.2 s for 100k articles), then extended.
        with self.lock:
            if self._index is None:
                self._index = {(s, sec): array("l") for s in self.sites
                               for sec in [None, *W.SECTIONS]}
            index, key, cut, nsec = self._index, self._key, self._shared_cut, len(W.SECTIONS)
            lists = [(index[(s, None)], [index[(s, sec)] for sec in W.SECTIONS])
                     for s in self.sites]
            for i in range(self._indexed, self.count):
                h = mix(key + 2 * i)  # inlined sites_of() and section_of(): 100k in ~0.1 s
                sec = ((h >> 24) & 0xFF) % nsec
                if (h & 0xFFFF) < cut:
                    for every, by_section in lists:
                        every.append(i)
                        by_section[sec].append(i)
                else:
                    every, by_section = lists[((h >> 16) & 0xFF) % len(lists)]
                    every.append(i)
                    by_section[sec].append(i)
            self._indexed = self.count
            return self._index

    def ids(self, site: str, section: str | None = None) -> array:
        """Every id on ``site`` (in ``section``), oldest first."""
        return self._ensure_index()[(site, section)]

    def newest(self, site: str, n: int, section: str | None = None, skip: int = 0) -> list[int]:
        ids = self.ids(site, section)
        end = len(ids) - skip
        return list(reversed(ids[max(0, end - n):max(0, end)]))

    def pages(self, site: str, section: str) -> int:
        return max(1, -(-len(self.ids(site, section)) // self.per_page))

    def section_page(self, site: str, section: str, page: int) -> list[int]:
        return self.newest(site, self.per_page, section, skip=(page - 1) * self.per_page)

    def tagged(self, site: str, tag: str, n: int = 20, scan: int = 5000) -> list[int]:
        """The newest articles of ``site`` tagged ``tag`` (a place or topic), among the last
        ``scan`` published: tag pages are a window on recent news, as on most sites."""
        slot = _TAGS.get(tag.lower())
        if slot is None:
            return []
        ids = self.ids(site)
        out = []
        for i in reversed(ids[max(0, len(ids) - scan):]):
            if self.digits_of(i)[slot[0]] == slot[1]:
                out.append(i)
                if len(out) == n:
                    break
        return out

    def search(self, site: str, query: str, n: int = 20, scan: int = 3000) -> list[int]:
        terms = [t for t in query.lower().split() if t]
        if not terms:
            return []
        ids = self.ids(site)
        out = []
        for i in reversed(ids[max(0, len(ids) - scan):]):
            words = set(self.headline(i).lower().split())
            if all(t in words for t in terms):
                out.append(i)
                if len(out) == n:
                    break
        return out

    def related(self, site: str, i: int, n: int = 10) -> list[int]:
        """``n`` other articles of ``site``, a function of (seed, id, today, site): the list
        changes every day, as on the real site."""
        rng = random.Random(hash_of(self._key, i, self.today.toordinal(), site))
        out: list[int] = []
        for _ in range(n * 20):  # bounded: a tiny site may have fewer than n others
            recent = rng.random() < 0.7
            lo = max(0, self.count - 500) if recent else 0
            j = rng.randrange(lo, self.count)
            if j != i and j not in out and site in self.sites_of(j):
                out.append(j)
                if len(out) == n:
                    break
        return out

    def months(self, site: str) -> list[str]:
        """``yyyy-mm`` of every month with at least one article on ``site``, oldest first."""
        ids = self.ids(site)
        if not ids:
            return []
        first, last = self.published(ids[0]), self.published(ids[-1])
        out, y, m = [], first.year, first.month
        while (y, m) <= (last.year, last.month):
            if self.month_ids(site, f"{y:04d}-{m:02d}"):
                out.append(f"{y:04d}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out

    def month_ids(self, site: str, month: str) -> array:
        try:
            y, m = (int(x) for x in month.split("-"))
            lo = dt.datetime(y, m, 1, tzinfo=UTC)
            hi = dt.datetime(y + (m == 12), m % 12 + 1, 1, tzinfo=UTC)
        except ValueError:
            return array("l")
        ids = self.ids(site)
        a = bisect.bisect_left(ids, lo.timestamp(), key=self.published_ts)
        b = bisect.bisect_left(ids, hi.timestamp(), key=self.published_ts)
        return ids[a:b]

    def month_lastmod(self, site: str, month: str) -> dt.datetime | None:
        ids = self.month_ids(site, month)
        if not ids:
            return None
        best = self.published(ids[-1])
        lo, hi = ids[0], ids[-1]
        for i, edits in self._edits.items():
            if lo <= i <= hi and site in self.sites_of(i):
                best = max(best, edits[-1].at)
        return best

    def videos(self, site: str) -> list[Video]:
        out = []
        for k in range(2):
            h = hash_of(self._key, site, "video", k)
            place, topic = W.PLACES[h % RADICES[0]], W.TOPICS[(h >> 8) % RADICES[3]]
            title = f"Watch: {place} {topic} Footage"
            caption = f"Footage from {place} shows the scene as {topic.lower()} dominate the news."
            when = dt.datetime.combine(self.start - dt.timedelta(days=1 + k), dt.time(6), UTC)
            slug = "-".join(title.replace(":", "").lower().split())
            out.append(Video(slug, title, caption, when))
        return out

    # -- time --------------------------------------------------------------------------------
    def _plan_day(self, day: dt.date, count: int) -> tuple[int, list[tuple[int, str, dt.datetime]]]:
        u = (hash_of(self._key, day.toordinal(), "new") & 0xFFFF) / 65536
        n_new = max(3, round(self.size * 0.005 * (0.75 + 0.5 * u)))
        n_edit = min(count, max(2, round(self.size * 0.002)))
        rng = random.Random(hash_of(self._key, day.toordinal(), "edits"))
        midnight = dt.datetime.combine(day, dt.time(), UTC)
        edits = [(i, "headline" if rng.random() < 0.3 else "body",
                  midnight + dt.timedelta(seconds=rng.randrange(86400)))
                 for i in sorted(rng.sample(range(count), n_edit))]
        return n_new, edits

    def plan_advance(self, days: int = 1) -> dict[str, list[int]]:
        """What ``advance(days)`` will do, without doing it: {"new": ids, "edited": ids}."""
        with self.lock:
            return self._advance(days, apply=False)

    def advance(self, days: int = 1) -> dict[str, list[int]]:
        """Move ``today`` forward: new articles appear, a few old ones are edited, every page's
        masthead and related list change. Returns {"new": ids, "edited": ids}; an article
        both added and edited in the span counts as new only."""
        if days < 1:
            raise ValueError("days must be at least 1")
        with self.lock:
            return self._advance(days, apply=True)

    def edit(self, i: int, kind: str = "body", at: dt.datetime | None = None) -> None:
        """Edit article ``i`` today, as ``advance`` edits a few: its ``kind`` ("body": a
        paragraph rewritten; "headline") changes, and its lastmod becomes ``at`` (by default a
        minute after the family's latest edit or the article's lastmod, and not before today:
        each edit the latest, as a site's clock would have it). For a test that needs one
        given article edited, its other URLs and sitemap with it; the day's other pages
        stay."""
        if kind not in ("body", "headline"):
            raise ValueError(f"an edit is of the body or the headline, not {kind!r}")
        with self.lock:
            if not 0 <= i < self.count:
                raise ValueError(f"no article {i} (the family has {self.count})")
            if at is None:
                at = max([self.lastmod(i), dt.datetime.combine(self.today, dt.time(), UTC)]
                         + [edits[-1].at for edits in self._edits.values()]
                         ) + dt.timedelta(minutes=1)
            self._edits.setdefault(i, []).append(Edit(self.today, kind, at))
            self.version += 1

    def _advance(self, days: int, apply: bool) -> dict[str, list[int]]:
        count, day, new, edited = self.count, self.today, [], set()
        days_added, edits_added = [], []  # applied only once every day fits: all or nothing
        for _ in range(days):
            day += dt.timedelta(days=1)
            n_new, edits = self._plan_day(day, count)
            if count + n_new > CAPACITY:
                raise OverflowError("the family is full: no slug left for a new article")
            days_added.append((count, n_new, int(dt.datetime.combine(
                day, dt.time(), UTC).timestamp())))
            edits_added += [(i, Edit(day, kind, at)) for i, kind, at in edits]
            new.extend(range(count, count + n_new))
            edited.update(i for i, _, _ in edits)
            count += n_new
        if apply:
            self._days.extend(days_added)
            for i, edit in edits_added:
                self._edits.setdefault(i, []).append(edit)
            self.today, self.count = day, count
            self.version += 1
        return {"new": new, "edited": sorted(edited - set(new))}

    def expected_counts_after_advance(self, days: int = 1) -> dict[str, dict[str, int]]:
        """Per site, how many articles ``advance(days)`` adds and how many it changes."""
        plan = self.plan_advance(days)
        return {site: {key: sum(site in self.sites_of(i) for i in plan[key])
                       for key in ("new", "edited")} for site in self.sites}

    def state(self) -> dict:
        return {"today": self.today.isoformat(), "articles": self.count, "seed": self.seed,
                "sites": list(self.sites), "version": self.version}
