"""Alembic migration scripts of the LIMS schema, run by :meth:`LimsStore.open`."""
