"""Datasette hooks for `pressarchive serve`: search boxes get the archive's normalization."""

from __future__ import annotations

import sqlite3

from datasette import hookimpl

from .serve import fts_expression


@hookimpl(trylast=True)
def prepare_connection(conn: sqlite3.Connection) -> None:
    conn.create_function("pressarchive_query", 1, fts_expression, deterministic=True)
    # Datasette's `?_search=` runs escape_fts(); registered after Datasette's own hook
    # (trylast), ours replaces it, so the versions table's search box is normalized too.
    conn.create_function("escape_fts", 1, fts_expression, deterministic=True)
