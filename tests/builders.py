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


OFFER_ID = "storage_200"
FOLLOW_UP: dict[str, str] = {
    "confirmation": "Done: 200 GB added. Your next upload has room.",
    "acknowledgement": "No problem: your storage stays as it is.",
    "revisit": "Storage options live under Settings > Plan.",
    "tip": "Tip: emptying the trash frees space at no cost.",
}
VALID_OFFER: dict[str, object] = {
    "id": OFFER_ID,
    "headline": "Keep every upload, with 200 GB more space",
    "subtext": "Your files stay in one place.",
    "before": "15 GB, nearly full",
    "after": "215 GB for everything you upload",
    "price": {"amount": 4.0, "currency": "USD", "period": "month"},
    "commitment": "Cancel anytime",
    "cta": "Add 200 GB for 4 USD a month",
    "dismiss": "Not now",
    "format": "inline",
    "ambition": "add_on",
    "intents": ["limit_reached:storage"],
}


def offer_data(**overrides: object) -> dict[str, object]:
    """A valid, honest offer with some fields replaced; a field set to None is left out.

    ``follow_up_<name>`` replaces one follow-up text (None leaves it out).
    """
    follow_up = dict(FOLLOW_UP)
    data: dict[str, object] = {**VALID_OFFER, "follow_up": follow_up}
    for key, value in overrides.items():
        if key.startswith("follow_up_") and value is None:
            follow_up.pop(key.removeprefix("follow_up_"), None)
        elif key.startswith("follow_up_"):
            follow_up[key.removeprefix("follow_up_")] = str(value)
        elif value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data
