"""Render a page's visible text the way a browser's ``innerText`` does, to check fixtures.

A small reading of the HTML spec's innerText algorithm: block boxes ask for one line break
around them, ``<p>`` for two, ``<br>`` is a hard break, runs of asked-for breaks collapse to the
largest, and hidden content (``hidden``, ``display:none``, scripts, form fields) renders nothing.
"""

from __future__ import annotations

import re

import lxml.html

BLOCKS = {
    "address", "article", "aside", "blockquote", "body", "dd", "details", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
    "header", "hr", "li", "main", "nav", "ol", "section", "summary", "table", "tr", "ul",
}
SKIPPED = {"head", "script", "style", "template", "noscript", "input", "select", "textarea",
           "svg", "iframe", "video", "audio", "img", "object"}
_SPACE = re.compile(r"[ \t\n\r\f]+")


def _hidden(el) -> bool:
    if el.get("hidden") is not None:
        return True
    style = (el.get("style") or "").replace(" ", "").lower()
    return "display:none" in style


def _walk(el, out: list) -> None:
    tag = el.tag if isinstance(el.tag, str) else None
    if tag is None or tag in SKIPPED or _hidden(el):
        if el.tail:
            out.append(el.tail)
        return
    breaks = 2 if tag == "p" else 1 if tag in BLOCKS else 0
    if tag == "br":
        out.append("\n")
    if breaks:
        out.append(breaks)
    if el.text:
        out.append(el.text)
    for child in el:
        _walk(child, out)
    if breaks:
        out.append(breaks)
    if tag in ("td", "th"):
        out.append("\t")
    if el.tail:
        out.append(el.tail)


def visible_text(html: str) -> str:
    """The text a browser shows for ``html``, lines as ``innerText`` would give them."""
    items: list = []
    _walk(lxml.html.document_fromstring(html).find("body"), items)
    # Collapse white space inside each line of inline content, as CSS does.
    lines: list = []
    buf = ""
    for item in items:
        if isinstance(item, int):
            lines.append(buf)
            lines.append(item)
            buf = ""
        elif item == "\n":
            lines.append(buf)
            lines.append("\n")
            buf = ""
        else:
            buf += item
    lines.append(buf)
    out: list = []
    pending = 0
    for item in lines:
        if isinstance(item, int):
            pending = max(pending, item)
            continue
        if item == "\n":
            out.append("\n")
            pending = 0
            continue
        text = _SPACE.sub(" ", item).strip()
        if not text:
            continue
        if out and pending:
            out.append("\n" * pending)
        elif out and not out[-1].endswith("\n") and pending == 0 and item[:1].isspace():
            out.append(" ")
        out.append(text)
        pending = 0
    return "".join(out).strip("\n")
