"""Notebook widgets: views over the session, planner, storage and LIMS APIs."""

from .sample_tracker import SampleTracker

__all__ = ["SampleTracker"]
