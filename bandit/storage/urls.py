"""Database URLs people type, checked before anything is opened, and failures they can act on.

A mistyped URL should cost one line that names it and says what to do, not a driver
traceback; and a command that only reads must not create the empty database a typo
names (SQLite creates a missing file on connect).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from bandit.storage.engine import make_engine, normalise_url

#: The table every tactful database has (the decision log).
LOG_TABLE = "decisions"
SUPPORTED = ("sqlite", "postgresql")
EXAMPLES = "sqlite:///tactful.db or postgresql://user@host/dbname"


class DatabaseUrlError(ValueError):
    """A database URL tactful cannot use; the message says what was wrong and what to do."""


def parse(url: str) -> URL:
    """The parsed URL of a supported backend, or :class:`DatabaseUrlError`."""
    try:
        parsed = make_url(normalise_url(url))
    except ArgumentError:
        raise DatabaseUrlError(f"{url!r} is not a database URL; use {EXAMPLES}") from None
    if parsed.get_backend_name() not in SUPPORTED:
        raise DatabaseUrlError(
            f"{shown(url)}: tactful stores its log in SQLite or PostgreSQL; use {EXAMPLES}"
        )
    return parsed


def shown(url: str) -> str:
    """``url`` safe to print: its password, if any, masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names (``None`` for in-memory SQLite and other backends)."""
    parsed = parse(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def check_creatable(url: str) -> None:
    """Refuse a SQLite URL whose folder does not exist (SQLite would fail obscurely)."""
    path = sqlite_file(url)
    if path is not None and not path.parent.is_dir():
        raise DatabaseUrlError(
            f"{shown(url)}: the folder {path.parent} does not exist; create it or fix the path"
        )


def check_existing(url: str) -> None:
    """Refuse a URL with no tactful decision log behind it, without creating anything.

    For commands that only read: a typo in a SQLite path must not leave an empty
    database behind and report "0 decisions" as if that were the log.
    """
    path = sqlite_file(url)
    if path is not None and not path.is_file():
        raise DatabaseUrlError(f"{shown(url)}: no database at {path}; check the path")
    engine = make_engine(url)
    try:
        found = inspect(engine).has_table(LOG_TABLE)
    except (DBAPIError, SQLAlchemyError) as error:
        raise connection_error(url, error) from None
    finally:
        engine.dispose()
    if not found:
        raise DatabaseUrlError(f"{shown(url)}: not a tactful database (no decision log in it)")


def connection_error(url: str, error: Exception) -> DatabaseUrlError:
    """What went wrong opening ``url``, in one line, with what to do about it."""
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()
    first = reason[0] if reason else type(error).__name__
    if parse(url).get_backend_name() == "postgresql":
        advice = "is the server running and the URL right?"
    else:
        advice = "check the path and that the file is a SQLite database you may write"
    return DatabaseUrlError(f"cannot open {shown(url)}: {first}; {advice}")
