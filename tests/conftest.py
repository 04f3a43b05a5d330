"""Fixtures shared by the whole test suite (they ship in ``smartlab_kernel.testing``)."""

pytest_plugins = ["smartlab_kernel.testing.pytest_plugin"]
