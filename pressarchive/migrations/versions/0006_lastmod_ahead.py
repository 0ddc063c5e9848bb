"""Crawl state: pages whose sitemap lastmods are known to run ahead of their content.

A sitemap may give every entry the time it was generated, not the time its page changed.
Each run then finds every known article's lastmod changed. A lastmod that changed asks for
the page in full (a server whose validators do not change with an edit would answer a
conditional request 304), so such a site cost a full fetch of every known article every
other run. ``lastmod_ahead`` is set when a full fetch asked for by such a lastmod found the
page as the archive held it, sent with a ``Last-Modified`` no older than the article's own
date (``pressarchive.lastmods.tracks_content``): the content's word that this page's
lastmods run ahead and its validators follow its edits. From then on a changed lastmod asks
for the page conditionally. Pages recorded before this revision start without it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("pages", sa.Column("lastmod_ahead", sa.Boolean(), nullable=False,
                                     server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("pages") as batch:
        batch.drop_column("lastmod_ahead")
