"""Small builders of test inputs: tiny literal data with fixed times."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from features import SessionContext

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CONFIG = ROOT / "tactful.toml"
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def context(**fields: Any) -> SessionContext:
    """A session context with sensible defaults; keyword fields override them."""
    data: dict[str, Any] = {"placement": "editor"}
    data.update(fields)
    return SessionContext.model_validate(data)


def completed_upload() -> SessionContext:
    """A peak moment: the user just finished uploading and their storage is nearly full."""
    return context(
        signals=[
            {"kind": "upload_completed", "seconds_ago": 5},
            {"kind": "limit_reached", "limit": "storage", "usage": 0.97, "seconds_ago": 5},
            {"kind": "task_completed", "seconds_ago": 5},
        ],
        activity={"focus_heavy": False, "stage": "completed"},
    )


def mid_task_focus() -> SessionContext:
    """Deep work: the user is mid-task in a focus-heavy activity."""
    return context(
        signals=[{"kind": "action_repeated", "action": "format", "count": 4, "seconds_ago": 10}],
        activity={"focus_heavy": True, "stage": "mid_task"},
    )
