"""Alembic environment: runs the archive's migrations on the connection the archive hands it."""

from alembic import context

from pressarchive.research.index import is_index_table
from pressarchive.storage.models import Base


def include_name(name, type_, parent_names):  # noqa: ANN001, ARG001
    # The FTS5 search index (0003) is a virtual table no model describes: leave it alone.
    return not (type_ == "table" and is_index_table(name))


connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying
    include_name=include_name,
)
with context.begin_transaction():
    context.run_migrations()
