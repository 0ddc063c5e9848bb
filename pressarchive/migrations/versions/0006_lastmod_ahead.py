"""Crawl state: pages whose sitemap lastmods run ahead of them, and whether a site's
validators follow its edits.

A sitemap may give every entry the time it was generated, not the time its page changed:
each run then finds every known article's lastmod changed. A changed lastmod asks for the
page in full, since a server whose validators do not change with an edit would answer a
conditional request 304; against such a sitemap every known article was fetched in full every
other run. ``pages.lastmod_ahead`` counts the full fetches asked for by a lastmod the copy
did not vouch for (its ``Last-Modified`` older) that found the page as the archive held it.
``site_validators`` counts, per site, the edits found at a URL the archive held that a
conditional request was answered with (``followed``), and those found under the validator
recorded before them (``kept``: such a request would have been answered 304). Where a page's
count has reached two, on a site with an edit followed and none kept, a changed lastmod asks
for the page conditionally. Everything starts at zero.

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
    op.add_column("pages", sa.Column("lastmod_ahead", sa.Integer(), nullable=False,
                                     server_default="0"))
    op.create_table(
        "site_validators",
        sa.Column("site", sa.String(64), primary_key=True),
        sa.Column("followed", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("kept", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("site_validators")
    with op.batch_alter_table("pages") as batch:
        batch.drop_column("lastmod_ahead")
