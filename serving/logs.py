"""Structured JSON logs; every line written while handling a decision carries its id.

A server process writes every line in one format, uvicorn's own included: JSON by
default (one object per line, searchable by decision id), or plain text. Mixed
formats break whoever parses the stream.
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

LogFormat = Literal["json", "text"]

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
        entry.update(context_fields(record))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def context_fields(record: logging.LogRecord) -> dict[str, object]:
    """What both formats add to a line: the decision being served, and the record's fields."""
    fields: dict[str, object] = {}
    decision_id = decision_id_var.get()
    if decision_id is not None:
        fields["decision_id"] = decision_id
    extra = getattr(record, "fields", None)
    if isinstance(extra, dict):
        fields.update(extra)
    return fields


class TextFormatter(logging.Formatter):
    """One plain line: time, level, logger, message, then the decision id and fields."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        head, newline, trace = line.partition("\n")
        tail = "".join(f" {key}={value}" for key, value in context_fields(record).items())
        return head + tail + newline + trace


FORMATTERS: dict[str, type[logging.Formatter]] = {"json": JsonFormatter, "text": TextFormatter}


def _handler(log_format: LogFormat) -> logging.Handler:
    handler = logging.StreamHandler()
    handler.setFormatter(FORMATTERS[log_format]())
    return handler


def configure(level: str, log_format: LogFormat = "json") -> None:
    """Send tactful's logs to stderr in ``log_format``; redact user ids in the access log."""
    logging.getLogger("uvicorn.access").addFilter(_REDACT)  # added once however often called
    logger = logging.getLogger("tactful")
    logger.handlers[:] = [_handler(log_format)]
    logger.setLevel(level)
    logger.propagate = False


def uvicorn_log_config(
    level: str, log_format: LogFormat = "json", *, access_log: bool = True
) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for a whole server process: every line in one format.

    uvicorn's loggers, tactful's, and (at WARNING) everything else through the root
    logger share one stderr handler; the access log, when on, keeps its user-id redaction.
    """
    handler = {"class": "logging.StreamHandler", "formatter": "one", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"one": {"()": FORMATTERS[log_format]}},
        "filters": {"redact_user_ids": {"()": RedactUserIds}},
        "handlers": {
            "one": handler,
            "access": {**handler, "filters": ["redact_user_ids"]},
        },
        "loggers": {
            "uvicorn": {"handlers": ["one"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {
                "handlers": ["access"] if access_log else [],
                "level": level,
                "propagate": False,
            },
            "tactful": {"handlers": ["one"], "level": level, "propagate": False},
        },
        "root": {"handlers": ["one"], "level": "WARNING"},
    }


def configure_process(level: str, log_format: LogFormat = "json") -> None:
    """Make this whole process log in one format (for a process that is the server).

    The access log stays as the server set it up: off under ``tactful serve``
    (``access_log=False`` leaves uvicorn's access logger without handlers), on otherwise.
    """
    access_log = bool(logging.getLogger("uvicorn.access").handlers)
    logging.config.dictConfig(uvicorn_log_config(level, log_format, access_log=access_log))
    logging.captureWarnings(True)  # Python warnings, too, become lines in that format
