"""Structured JSON logs; every line written while handling a decision carries its id."""

from __future__ import annotations

import json
import logging
import re
from contextvars import ContextVar
from datetime import UTC, datetime

decision_id_var: ContextVar[str | None] = ContextVar("decision_id", default=None)

#: The one route whose path carries a raw user id (``PUT /v1/users/{user_id}/preferences``).
USER_PATH = re.compile(r"/v1/users/[^/?\s]+")
REDACTED_USER_PATH = "/v1/users/{user_id}"


def redact_user_ids(text: str) -> str:
    """``text`` with the user id of any users path replaced by a placeholder."""
    return USER_PATH.sub(REDACTED_USER_PATH, text)


class RedactUserIds(logging.Filter):
    """Keep raw user ids out of the server's access log, which prints request paths.

    ``tactful serve`` turns the access log off; this covers ``uvicorn`` run directly.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_user_ids(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True


_REDACT = RedactUserIds()


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
    """Send tactful's logs to stderr as JSON lines; redact user ids in the access log."""
    logging.getLogger("uvicorn.access").addFilter(_REDACT)  # added once however often called
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tactful")
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False
