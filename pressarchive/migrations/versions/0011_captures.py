"""Captures: the WARC record each page the archive read came from.

A crawl with ``WARC_DIR`` keeps every response it downloads as WARC (pressarchive.warc). Each
page the archive reads from such a response gets a row here: the site and public URL, when it
was fetched, its status, the record's file, offset and length, and the version the page gave
(none for a listing, a 304, a dropped page). ``pressarchive reextract`` reads the versions'
pages back from them.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "captures",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("warc_file", sa.String(255), nullable=False),
        sa.Column("warc_offset", sa.BigInteger(), nullable=False),
        sa.Column("warc_length", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), sa.ForeignKey("versions.id"), nullable=True),
    )
    op.create_index("ix_captures_site_url", "captures", ["site", "url"])
    op.create_index("ix_captures_version_id", "captures", ["version_id"])


def downgrade() -> None:
    op.drop_index("ix_captures_version_id", "captures")
    op.drop_index("ix_captures_site_url", "captures")
    op.drop_table("captures")
