"""Versions: the SHA-256 of the body alone, to find an article moved to a new URL.

A newsroom that rewrites a headline often moves the article to the slug the new headline
spells, and answers the old URL with a 301. The new URL's page then has a new fingerprint
(its headline changed), a URL no appearance has, and a slug no article has: it was saved as
a second article. ``versions.body_key`` (``pressarchive.record.body_key``) lets the archive
find the article whose body, and publication time, it shares (docs/schema.md, how records
are matched, rule 4). Versions saved before this revision get theirs here.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from pressarchive.record import body_key

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("versions", sa.Column("body_key", sa.String(64), nullable=True))
    op.create_index("ix_versions_body_key", "versions", ["body_key"])
    connection = op.get_bind()
    versions = sa.table("versions", sa.column("id", sa.Integer), sa.column("body", sa.Text),
                        sa.column("body_key", sa.String))
    last = 0
    while True:  # a thousand at a time: an archive's bodies are never all in memory
        rows = connection.execute(sa.select(versions.c.id, versions.c.body)
                                  .where(versions.c.id > last).order_by(versions.c.id)
                                  .limit(1000)).all()
        if not rows:
            break
        connection.execute(versions.update().where(versions.c.id == sa.bindparam("row_id"))
                           .values(body_key=sa.bindparam("key")),
                           [{"row_id": row.id, "key": body_key(row.body)} for row in rows])
        last = rows[-1].id


def downgrade() -> None:
    op.drop_index("ix_versions_body_key", "versions")
    with op.batch_alter_table("versions") as batch:
        batch.drop_column("body_key")
