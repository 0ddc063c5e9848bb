"""Crawl state: the sitemap whose lastmod a page carries.

A link to a known article is settled by its sitemap only while that very sitemap is unchanged
(answered 304); an article that has left it is asked for again. Pages recorded before this
revision name no sitemap, so the validators of the pages that gave no article (sitemaps among
them) are dropped: the next run reads every sitemap in full once, which records each entry's.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("pages", sa.Column("sitemap", sa.String(2048)))
    op.execute("UPDATE pages SET etag = NULL, last_modified = NULL WHERE article_id IS NULL")


def downgrade() -> None:
    with op.batch_alter_table("pages") as batch:
        batch.drop_column("sitemap")
