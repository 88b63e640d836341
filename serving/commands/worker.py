"""What each ``tactful serve`` process runs: the service's app factory, bound to settings.

Several workers are separate processes, each handed this object pickled before it
starts answering uvicorn's health checks. So the object holds only plain values (the
settings' fields) and the service is imported when it is called, inside the worker,
as it would be from an import string.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from serving.settings import Settings


@dataclass(frozen=True, slots=True)
class BoundApp:
    """``serving.app.factory`` with the settings the command built (their fields, by name)."""

    fields: dict[str, Any]

    @classmethod
    def of(cls, settings: Settings) -> BoundApp:
        """Bind ``settings``: the command line's options included, nothing re-read later."""
        return cls(settings.model_dump())

    def __call__(self) -> Any:
        from serving.app import factory
        from serving.settings import Settings

        return factory(Settings(**self.fields))
