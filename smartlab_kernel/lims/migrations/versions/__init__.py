"""Revisions of the LIMS schema, oldest first."""
