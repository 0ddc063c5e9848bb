"""Full-text search index (SQLite FTS5) over the versions' normalized text, backfilled.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # FTS5 is SQLite's; other databases get no index (search needs SQLite for now).
    if op.get_bind().dialect.name != "sqlite":
        return
    from pressarchive.research import index

    connection = op.get_bind()
    index.create(connection)
    # An archive made before this revision has versions already: index them now, with the
    # same normalizer that indexes new versions, so the upgraded archive is searchable.
    index.fill(connection)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS search_index")
