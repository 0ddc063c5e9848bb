"""Crawl state: per-URL fetch state (validators, lastmod, failures) and one row per run.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pages",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("first_fetched", sa.DateTime(timezone=True)),
        sa.Column("last_fetched", sa.DateTime(timezone=True)),
        sa.Column("last_status", sa.Integer),
        sa.Column("etag", sa.String(256)),
        sa.Column("last_modified", sa.String(64)),
        sa.Column("lastmod", sa.String(40)),
        sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id")),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("last_error", sa.String(200)),
        sa.Column("last_failed", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("site", "url"),
    )
    op.create_index("ix_pages_failing", "pages", ["site", "failures"])
    op.create_table(
        "crawl_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("spider", sa.String(64), nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("finish_reason", sa.String(64)),
        *[sa.Column(name, sa.Integer, nullable=False) for name in (
            "pages_fetched", "new", "appeared", "changed", "unchanged", "not_modified",
            "dropped", "failed")],
        sa.Column("errors", sa.JSON, nullable=False),
        sa.Column("drops", sa.JSON, nullable=False),
        sa.Column("settings", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("crawl_runs")
    op.drop_index("ix_pages_failing", "pages")
    op.drop_table("pages")
