"""The error raised for a lab configuration that cannot be used."""

from __future__ import annotations

from collections.abc import Sequence


class LabConfigError(ValueError):
    """A lab configuration file is invalid; ``problems`` lists every problem found.

    Each problem names the device, the field, the value given and what is allowed.

    Args:
        problems: One sentence per problem.
        source: The file (or ``"<string>"``) the configuration came from.
    """

    def __init__(self, problems: Sequence[str], source: str = "<config>") -> None:
        self.problems = list(problems)
        self.source = source
        listed = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"invalid lab configuration {source}:\n{listed}")
