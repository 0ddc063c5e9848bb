"""Captures: the URL asked for, when a redirect led elsewhere.

A page reached through redirects is read at the URL the last hop gave (``captures.url``), but
the crawl state keeps it under the URL asked for (``pages.url``). A rebuild from the records
(``pressarchive reextract --into``) put that state under the redirect's target, and the next
crawl asked for such pages in full (a soak: 500 requests against 97). Empty when the two are
the same, and for rows from before.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("captures") as batch:
        batch.add_column(sa.Column("requested_url", sa.String(2048), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("captures") as batch:
        batch.drop_column("requested_url")
