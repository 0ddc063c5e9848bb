"""Full-text search index on PostgreSQL: a tsvector a version, with a GIN index, backfilled.

SQLite's archives have had theirs since 0003 (FTS5); on PostgreSQL the index was not kept and
search needed a SQLite archive. Versions saved before this revision are indexed here, with the
normalizer that indexes new ones (``pressarchive.research.index``).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite's index is 0003's; other databases keep none
    from pressarchive.research import index

    connection = op.get_bind()
    index.create(connection)
    index.fill(connection)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TABLE IF EXISTS search_index")
