"""Structured JSON logs; every line written while handling a decision carries its id."""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime

decision_id_var: ContextVar[str | None] = ContextVar("decision_id", default=None)


class JsonFormatter(logging.Formatter):
    """One JSON object per line, so logs can be searched by decision id."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        decision_id = decision_id_var.get()
        if decision_id is not None:
            entry["decision_id"] = decision_id
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            entry.update(extra)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure(level: str) -> None:
    """Send tactful's logs to stderr as JSON lines."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tactful")
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False
