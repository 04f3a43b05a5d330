"""Alembic environment: migrate the connection handed in by the LIMS store.

The store passes an open connection in ``config.attributes["connection"]``;
there is no ``alembic.ini`` and no offline (SQL script) mode.
"""

from __future__ import annotations

from alembic import context


def run_migrations_online() -> None:
    """Run the migrations on the connection the LIMS store provided."""
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError(
            "the LIMS migrations run through LimsStore.open(); no connection was given"
        )
    context.configure(connection=connection, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
