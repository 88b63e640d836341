"""Domain errors, in one place so the service can map each to one HTTP status."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a config file, located as precisely as we can."""

    where: str
    message: str
    line: int | None = None

    def render(self, path: Path | str | None = None) -> str:
        """``file:line: where: message``, the shape editors and CI logs understand."""
        prefix = "" if path is None else f"{path}:" + (f"{self.line}:" if self.line else "")
        return f"{prefix} {self.where}: {self.message}".strip()


class TactfulError(Exception):
    """Base class of every error tactful raises on purpose."""


class ConfigError(TactfulError):
    """A config or catalog file was refused; carries every problem found, not just the first."""

    def __init__(self, path: Path | str, problems: list[Problem]) -> None:
        self.path = Path(path)
        self.problems = problems
        lines = [problem.render(self.path) for problem in problems]
        super().__init__(f"{self.path}: {len(problems)} problem(s)\n" + "\n".join(lines))


class UnknownOffer(TactfulError):
    """An offer id that the catalog does not hold."""


class UnknownDecision(TactfulError):
    """A decision id that was never issued."""


class InvalidPolicyOutput(TactfulError):
    """A policy returned scores that are not a probability distribution over its actions."""


class IncompatibleModel(TactfulError):
    """A saved policy that cannot be loaded by this version or for this catalog."""


class ContradictoryEvent(TactfulError):
    """An event that contradicts the decision's record (accepted after a no-offer decision)."""
