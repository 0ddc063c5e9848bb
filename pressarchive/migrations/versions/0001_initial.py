"""The first schema: articles, versions, appearances.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "articles",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("slug", sa.String(512), nullable=False, index=True),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id"), nullable=False,
                  index=True),
        sa.Column("fingerprint", sa.String(64), nullable=False, unique=True),
        sa.Column("headline", sa.Text, nullable=False),
        sa.Column("summary", sa.Text),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("published_at", sa.String(40)),
        sa.Column("published_utc", sa.DateTime(timezone=True), index=True),
        sa.Column("modified_at", sa.String(40)),
        sa.Column("language", sa.String(8)),
        sa.Column("authors", sa.JSON, nullable=False),
        sa.Column("section", sa.String(200)),
        sa.Column("images", sa.JSON, nullable=False),
        sa.Column("sources", sa.JSON, nullable=False),
        sa.Column("extractor_version", sa.String(40), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_url", sa.Text, nullable=False),
    )
    op.create_table(
        "appearances",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id"), nullable=False,
                  index=True),
        sa.Column("version_id", sa.Integer, sa.ForeignKey("versions.id"), nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("times_seen", sa.Integer, nullable=False),
        sa.Column("page_date", sa.String(10)),
        sa.Column("related", sa.JSON, nullable=False),
        sa.UniqueConstraint("site", "url"),
    )
    op.create_index("ix_appearances_article_site", "appearances", ["article_id", "site"])


def downgrade() -> None:
    op.drop_table("appearances")
    op.drop_table("versions")
    op.drop_table("articles")
