"""A generated family of sister news sites in our reconstructed template, served on 127.0.0.1.

``SiteFamily`` is the deterministic model (any size, nothing generated up front), ``render_page``
turns a request into a page, ``FamilyServer`` serves every site with optional ``Faults``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Article", "SiteFamily", "Page", "render_page", "masthead", "FamilyServer", "Faults"]
_WHERE = {"Article": "model", "SiteFamily": "model", "Page": "render", "render_page": "render",
          "masthead": "render", "FamilyServer": "server", "Faults": "server"}


def __getattr__(name: str) -> Any:
    # Lazy, so that `pressarchive --help` does not pay for asyncio and the word lists.
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
