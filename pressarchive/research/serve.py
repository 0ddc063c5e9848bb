"""The archive in Datasette: full-text search over versions, normalized, and canned queries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import index
from .query import QueryError, parse
from .search import WEIGHTS  # the same ranking as `pressarchive search`

CANNED = {
    "search": {
        "title": "Search articles (Arabic-aware)",
        "description": "Full-text search with the same normalization and ranking as "
                       "`pressarchive search`: diacritics, tatweel, letter forms and digits "
                       "do not matter.",
        "sql": f"""select v.article_id, v.id as version_id, v.headline, v.published_at,
  v.first_seen, v.section, v.first_url,
  -bm25({index.TABLE}, {', '.join(map(str, WEIGHTS))}) as score
from {index.TABLE} join versions v on v.id = {index.TABLE}.rowid
where {index.TABLE} match pressarchive_query(:q)
order by score desc limit 100""",
    },
    "multi_site_articles": {
        "title": "Articles carried by several sites",
        "sql": """select a.article_id, count(*) as appearances,
  group_concat(a.site, ', ') as sites, min(a.first_seen) as first_seen,
  (select headline from versions where article_id = a.article_id order by id desc limit 1)
    as headline
from appearances a group by a.article_id having count(distinct a.site) > 1
order by appearances desc, a.article_id limit 1000""",
    },
    "changed_articles": {
        "title": "Articles whose content changed",
        "sql": """select v.article_id, count(*) as versions, min(v.first_seen) as first_seen,
  max(v.first_seen) as last_changed,
  (select headline from versions where article_id = v.article_id order by id desc limit 1)
    as headline
from versions v group by v.article_id having count(*) > 1
order by last_changed desc limit 1000""",
    },
    "latest_versions": {
        "title": "The latest version of every article",
        "sql": """select v.article_id, v.id as version_id, v.published_at, v.first_seen,
  v.section, v.language, v.headline, v.first_url
from versions v where v.id = (select max(id) from versions where article_id = v.article_id)
order by v.article_id desc limit 1000""",
    },
}


def fts_expression(text: str | None) -> str:
    """A search box's text as a safe FTS5 expression (see pressarchive search --help)."""
    try:
        return parse(text or "").fts
    except QueryError:
        # Datasette shows SQLite's own error for a query that cannot run; a phrase that
        # matches nothing says the same more gently.
        return '""'


def metadata(path: Path) -> dict[str, Any]:
    return {
        "title": "pressarchive",
        "description": "The Arab Press family archive: articles, their versions and where "
                       "they appeared. Search the versions table or use the queries below.",
        "databases": {path.stem: {
            "tables": {
                "versions": {"fts_table": index.TABLE, "fts_pk": "id",
                             "sort_desc": "id"},
                index.TABLE: {"hidden": True},
                **{index.TABLE + s: {"hidden": True} for s in index.SHADOW_SUFFIXES},
            },
            "queries": CANNED,
        }},
    }


def serve(path: Path, port: int, host: str = "127.0.0.1") -> None:
    """Run Datasette over the SQLite file until interrupted."""
    import uvicorn
    from datasette.app import Datasette
    from datasette.plugins import pm

    from . import datasette_plugin

    if not pm.is_registered(datasette_plugin):
        pm.register(datasette_plugin, name="pressarchive")
    datasette = Datasette([str(path)], metadata=metadata(path),
                          settings={"sql_time_limit_ms": 5000})
    uvicorn.run(datasette.app(), host=host, port=port, log_level="warning", lifespan="on")
