"""One article in full: its appearances, its versions with the differences between them, and
where each of its dates came from."""

from __future__ import annotations

import difflib
import re
from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..sites import site_for_url
from ..storage.crawlstate import iso_time as iso
from ..storage.models import Appearance, Article, Version, WarcCapture
from ..urls import canonical_url

# Fields that can differ between versions besides the text, compared for "what changed".
_FIELDS = ("published_at", "modified_at", "section", "authors", "language", "images")


class NotFound(LookupError):
    """No article answers to the ID or URL given; the message is one line for the user."""


def find(session: Session, ref: str | int) -> Article:
    """The article with this id (``42`` or ``#42``) or seen at this URL (any site's, in any
    spelling that canonicalizes to the stored one)."""
    text = str(ref).strip()
    if text.lstrip("#").isdigit():
        article = session.get(Article, int(text.lstrip("#")))
        if article is None:
            raise NotFound(f"no article with id {text.lstrip('#')}")
        return article
    if not text:
        raise NotFound("give an article id or URL")
    url = text if "://" in text else "https://" + text
    try:
        url = canonical_url(url)
    except ValueError:
        raise NotFound(f"not an article id or URL: {text!r}") from None
    # The archive may hold the page under the other scheme (a local mirror is plain http).
    other = ("http://" + url[8:]) if url.startswith("https://") else ("https://" + url[7:])
    # A URL of a known site is looked up by (site, url), the appearances' unique index.
    site = site_for_url(url)
    at_site = [Appearance.site == site.slug] if site else []
    article_id = session.scalar(select(Appearance.article_id).where(
        *at_site, Appearance.url.in_((url, other))).limit(1))
    if article_id is None:  # a version first seen there whose appearance moved on since
        article_id = session.scalar(select(Version.article_id)
                                    .where(Version.first_url.in_((url, other))).limit(1))
    if article_id is None:
        raise NotFound(f"no article seen at {url}")
    return session.get(Article, article_id)


def show(archive: Any, ref: str | int) -> dict[str, Any]:
    """Everything the archive knows about one article, as plain data (JSON-ready)."""
    with archive.session() as session:
        article = find(session, ref)
        versions = list(article.versions)
        view = {
            "article": {"id": article.id, "slug": article.slug,
                        "first_seen": iso(article.first_seen), "last_seen": iso(article.last_seen)},
            "appearances": [_appearance(a) for a in article.appearances],
            "versions": [],
        }
        kept = _captures(session, [version.id for version in versions])
        previous = None
        for version in versions:
            entry = _version(version)
            entry["captures"] = kept.get(version.id, [])
            if previous is not None:
                entry["changes"] = field_changes(previous, version)
                entry["diff"] = diff_texts(paragraphs(previous), paragraphs(version))
                entry["unified_diff"] = unified(previous, version)
            view["versions"].append(entry)
            previous = version
        view["dates"] = dates(view)
        return view


def _captures(session: Any, version_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Each version's pages kept as WARC (the captures table: crawls with WARC_DIR), oldest
    first: where in the WARC folder the response that gave it is."""
    out: dict[int, list[dict[str, Any]]] = {}
    for c in session.scalars(select(WarcCapture).where(WarcCapture.version_id.in_(version_ids))
                             .order_by(WarcCapture.fetched_at, WarcCapture.id)):
        out.setdefault(c.version_id, []).append(
            {"site": c.site, "url": c.url, "fetched_at": iso(c.fetched_at), "status": c.status,
             "warc_file": c.warc_file, "warc_offset": c.warc_offset,
             "warc_length": c.warc_length})
    return out


def _appearance(a: Appearance) -> dict[str, Any]:
    return {"site": a.site, "url": a.url, "first_seen": iso(a.first_seen),
            "last_seen": iso(a.last_seen), "times_seen": a.times_seen,
            "page_date": a.page_date, "version_id": a.version_id}


def _version(v: Version) -> dict[str, Any]:
    return {"id": v.id, "first_seen": iso(v.first_seen), "first_url": v.first_url,
            "headline": v.headline, "summary": v.summary, "body": v.body,
            "published_at": v.published_at, "modified_at": v.modified_at,
            "language": v.language, "authors": v.authors, "section": v.section,
            "images": v.images, "sources": v.sources,
            "extractor_version": v.extractor_version, "fingerprint": v.fingerprint}


def dates(view: dict[str, Any]) -> list[dict[str, Any]]:
    """Each date the archive holds for the article, with where it came from."""
    out = []
    for v in view["versions"]:
        source = (v["sources"] or {}).get("published_at")
        out.append({"date": "published_at", "value": v["published_at"], "version": v["id"],
                    "source": f"the page ({source})" if source and v["published_at"] else
                    ("the page" if v["published_at"] else "not stated by the page")})
        if v["modified_at"]:
            out.append({"date": "modified_at", "value": v["modified_at"], "version": v["id"],
                        "source": "the page"})
        out.append({"date": "first_seen", "value": v["first_seen"], "version": v["id"],
                    "source": f"the archive: first fetch of this content, at {v['first_url']}"})
    for a in view["appearances"]:
        if a["page_date"]:
            out.append({"date": "page_date", "value": a["page_date"], "version": a["version_id"],
                        "source": f"the masthead of {a['site']} on the last visit (the day of "
                                  "the visit, not a publication date)"})
    return out


def paragraphs(v: Version) -> list[tuple[str, str]]:
    """The text as (where, paragraph) pairs: headline, summary, then numbered paragraphs."""
    parts = [("headline", v.headline)]
    if v.summary:
        parts.append(("summary", v.summary))
    body = [p for p in (v.body or "").split("\n\n") if p.strip()]
    return parts + [(f"¶{i}", p) for i, p in enumerate(body, 1)]


def field_changes(old: Version, new: Version) -> list[dict[str, Any]]:
    return [{"field": name, "old": getattr(old, name), "new": getattr(new, name)}
            for name in _FIELDS if getattr(old, name) != getattr(new, name)]


def diff_texts(old: list[tuple[str, str]], new: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Paragraph-level changes; a paragraph edited (not replaced) gets a word-level diff."""
    def key(part: tuple[str, str]) -> str:
        # Headline and summary only ever match their own kind.
        return part[1] if part[0].startswith("¶") else part[0] + "\x00" + part[1]

    matcher = difflib.SequenceMatcher(None, [key(p) for p in old], [key(p) for p in new],
                                      autojunk=False)
    changes: list[dict[str, Any]] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        olds, news = old[i1:i2], new[j1:j2]
        while olds and news and _similar(olds[0], news[0]):
            (where_old, a), (where, b) = olds.pop(0), news.pop(0)
            changes.append({"op": "changed", "where": where, "was": where_old, "old": a,
                            "new": b, "words": word_diff(a, b)})
        changes += [{"op": "removed", "where": w, "old": t} for w, t in olds]
        changes += [{"op": "added", "where": w, "new": t} for w, t in news]
    return changes


def _similar(a: tuple[str, str], b: tuple[str, str]) -> bool:
    if a[0] in ("headline", "summary") or b[0] in ("headline", "summary"):
        return a[0] == b[0]
    return difflib.SequenceMatcher(None, a[1], b[1], autojunk=False).quick_ratio() > 0.5


_SPLIT = re.compile(r"\s+")


def word_diff(old: str, new: str) -> list[list[str]]:
    """[op, text] runs: "=" kept, "-" removed, "+" added, words as written."""
    a, b = _SPLIT.split(old.strip()), _SPLIT.split(new.strip())
    runs: list[list[str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op in ("equal", "delete", "replace") and i2 > i1:
            runs.append(["=" if op == "equal" else "-", " ".join(a[i1:i2])])
        if op in ("insert", "replace") and j2 > j1:
            runs.append(["+", " ".join(b[j1:j2])])
    return runs


def unified(old: Version, new: Version) -> str:
    """A unified diff, one paragraph a line, for tools that read patches."""
    def lines(v: Version) -> list[str]:
        return [f"{where}: {text}".replace("\n", " ") for where, text in paragraphs(v)]

    return "\n".join(difflib.unified_diff(lines(old), lines(new), f"version {old.id}",
                                          f"version {new.id}", n=1, lineterm=""))


def _short(stamp: str | None) -> str:
    return stamp[:16].replace("T", " ") + " UTC" if stamp else "-"


def render(view: dict[str, Any], *, style: Callable[..., str] = lambda text, **_: text,
           full: bool = True) -> str:
    """The article for a person to read: the latest text, then each version's changes."""
    a, versions = view["article"], view["versions"]
    latest = versions[-1]
    out = [style(f"Article #{a['id']}", bold=True) + f"  {a['slug']}",
           f"  first seen {_short(a['first_seen'])}, last seen {_short(a['last_seen'])}; "
           f"{len(versions)} version(s), {len(view['appearances'])} appearance(s)", "",
           style("Appearances", bold=True)]
    for p in view["appearances"]:
        out.append(f"  {p['site']:<11} {p['url']}")
        out.append(f"  {'':<11} first {_short(p['first_seen'])}, last {_short(p['last_seen'])}, "
                   f"seen {p['times_seen']}x, showing version {p['version_id']}")
    out += ["", style("Dates", bold=True)]
    for d in view["dates"]:
        out.append(f"  {d['date']:<12} {d['value'] or '-':<26} v{d['version']}: {d['source']}")
    out += ["", style(f"Latest version ({latest['id']})", bold=True), latest["headline"]]
    if latest["summary"]:
        out.append(style(latest["summary"], italic=True))
    meta = [f"section: {latest['section']}" if latest["section"] else "",
            f"authors: {', '.join(latest['authors'])}" if latest["authors"] else "",
            f"language: {latest['language']}" if latest["language"] else ""]
    if any(meta):
        out.append("  ".join(m for m in meta if m))
    if full:
        out += ["", latest["body"]]
    out += ["", style("Versions", bold=True)]
    for v in versions:
        out.append(f"  version {v['id']}: first seen {_short(v['first_seen'])} at "
                   f"{v['first_url']} (extractor {v['extractor_version']}, "
                   f"{(v['sources'] or {}).get('extractor') or '-'})")
        if v.get("captures"):
            last = v["captures"][-1]
            out.append(f"    kept as WARC: {last['warc_file']} at {last['warc_offset']} "
                       f"({last['site']}, {_short(last['fetched_at'])}"
                       + (f"; {len(v['captures'])} captures in all)" if len(v["captures"]) > 1
                          else ")"))
        for change in v.get("changes", []):
            out.append(f"    {change['field']}: {change['old']!r} -> {change['new']!r}")
        for change in v.get("diff", []):
            out.append("    " + _render_change(change, style))
    return "\n".join(out)


def _render_change(change: dict[str, Any], style: Callable[..., str]) -> str:
    where = change["where"]
    if change["op"] == "removed":
        return style(f"- {where}: {change['old']}", fg="red")
    if change["op"] == "added":
        return style(f"+ {where}: {change['new']}", fg="green")
    # Markers as well as colours: the diff must read the same in a file or a pipe.
    runs = [text if op == "=" else style(f"[-{text}-]", fg="red") if op == "-"
            else style(f"{{+{text}+}}", fg="green") for op, text in change["words"]]
    label = where if change["was"] == where else f"{change['was']}->{where}"
    return f"~ {label}: " + " ".join(runs)
