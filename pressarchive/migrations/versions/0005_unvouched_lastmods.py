"""Crawl state: forget the sitemap lastmods that the copy stored with them does not vouch for.

Crawls made before revision 0004 recorded a page fetched from a sitemap entry with the
entry's lastmod even when the copy served was older (its Last-Modified earlier: a cache
still holding the previous copy). Each later run then passed the page over by that lastmod
and the archive kept the stale copy until the next edit. The crawl no longer records such a
lastmod (FamilySpider._unvouched); this revision forgets those it recorded before, with the
same rule (``pressarchive.lastmods.vouches``), and, if it forgot any, drops the validators of
the pages that gave no article (sitemaps among them), as 0004 did: the next run reads every
sitemap in full, finds those pages' lastmods unrecorded and asks for them (conditionally: a
304 then records the lastmod, a newer copy is stored). A lastmod recorded with a 304 may be
forgotten too; that costs one conditional request.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

from pressarchive.lastmods import vouches

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

CHUNK = 500  # ids per UPDATE: under every engine's limit on bound parameters


def upgrade() -> None:
    connection = op.get_bind()
    # Streamed: an engine with server-side cursors does not load every row at once.
    rows = connection.execute(sa.text(
        "SELECT id, lastmod, last_modified FROM pages "
        "WHERE lastmod IS NOT NULL AND last_modified IS NOT NULL"
    ).execution_options(stream_results=True))
    stale = [page_id for page_id, lastmod, sent in rows if not vouches(lastmod, sent)]
    forget = sa.text("UPDATE pages SET lastmod = NULL, sitemap = NULL WHERE id IN :ids") \
        .bindparams(sa.bindparam("ids", expanding=True))
    for start in range(0, len(stale), CHUNK):
        connection.execute(forget, {"ids": stale[start:start + CHUNK]})
    if stale:
        op.execute("UPDATE pages SET etag = NULL, last_modified = NULL "
                   "WHERE article_id IS NULL")


def downgrade() -> None:
    """Nothing to undo: the forgotten lastmods are relearnt by the next runs."""
