"""Crawl state: how many checks in a row found a page unchanged.

A page whose sitemap lastmods run ahead of it (``pages.lastmod_ahead``: a sitemap stamped with
the time it was made) was asked for again whenever its last check was LASTMOD_AHEAD_REVISIT
hours old: every known article every day, however long it had not changed. ``pages.
unchanged_checks`` counts the checks since the page last changed (a 304, or a fetch that
found the version the archive held there; a new version or a first fetch sets it to 0), and
the revisit doubles with each of them past AHEAD_RUNS, up to LASTMOD_AHEAD_REVISIT_MAX.
Pages recorded before this revision start at zero.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("pages", sa.Column("unchanged_checks", sa.Integer(), nullable=False,
                                     server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("pages") as batch:
        batch.drop_column("unchanged_checks")
