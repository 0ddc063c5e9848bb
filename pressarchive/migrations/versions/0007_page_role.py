"""Crawl state: what a failing URL was asked for as (a sitemap, a feed).

A URL that failed is asked for again by the next run before anything else, and read as
whatever it turns out to be (``FamilySpider.parse_any``). A monthly sitemap that failed is
known to be one only once the sitemap index names it; when the index failed too in that run
(a maintenance page for the whole site), the sitemap's HTML answer was stored as a page, with
that page's validators, and the next run asked for the sitemap conditionally with them (a
server answering by date could say 304 until the sitemap changed). ``pages.role`` records
"sitemap" or "feed" with a failure, so that such an answer is a failure again. Rows recorded
before this revision have none, and are read as before.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("pages", sa.Column("role", sa.String(16)))


def downgrade() -> None:
    with op.batch_alter_table("pages") as batch:
        batch.drop_column("role")
