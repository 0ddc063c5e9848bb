"""Captures: one row per WARC record.

A page dropped in a batch (a truncated one, say) was linked to its record twice, by the
batch's path and by its own (a soak's find; pressarchive.ingest). The second row of each such
pair goes, the first kept, and a unique index on the record's place (file, offset) keeps it so.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM captures WHERE id NOT IN "
               "(SELECT min(id) FROM captures GROUP BY warc_file, warc_offset)")
    op.create_index("ux_captures_record", "captures", ["warc_file", "warc_offset"],
                    unique=True)


def downgrade() -> None:
    op.drop_index("ux_captures_record", "captures")
