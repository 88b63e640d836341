"""The two stores a run covers: a SQLite file per scenario, or a PostgreSQL schema per scenario.

Each scenario gets an empty database of its own, so one scenario's log never
flatters or spoils another's audit; PostgreSQL schemas are dropped at the end.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlparse

from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from bandit.config import TactfulConfig
from bandit.storage import SqlStore
from bandit.storage.engine import normalise_url
from bench.reliability.harness.servers import LOCAL
from bench.reliability.report import LABELS

#: Where the run looks for PostgreSQL unless told (``--postgres`` or this variable):
#: the server's default database on its default port, as a fresh install has it.
POSTGRES_VARIABLE = "TACTFUL_RELIABILITY_POSTGRES"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
assert {SQLITE, POSTGRESQL} == set(LABELS)


def postgres_url(flag: str | None) -> str:
    """The PostgreSQL URL to use: the flag, else the variable, else the default."""
    return flag or os.environ.get(POSTGRES_VARIABLE) or DEFAULT_POSTGRES


def unreachable(url: str) -> str | None:
    """Why PostgreSQL at ``url`` cannot be used by this run, or ``None`` if it can.

    Only 127.0.0.1: the run SIGKILLs servers and cuts their connections, which is no
    way to treat a database anyone else relies on.
    """
    host = urlparse(url).hostname
    if host not in (LOCAL, "localhost"):
        return f"the run uses PostgreSQL on 127.0.0.1 only, not {host!r}"
    engine = create_engine(normalise_url(url), connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        cause = getattr(error, "orig", None) or error
        return f"cannot connect: {(str(cause).strip().splitlines() or ['?'])[0]}"
    finally:
        engine.dispose()
    return None


@dataclass
class Backend:
    """Hands each scenario a database of its own, and removes them all afterwards."""

    key: str
    base: Path
    postgres: str | None = None

    def __post_init__(self) -> None:
        self.schemas: list[str] = []
        self.tag = uuid.uuid4().hex[:8]
        assert (self.key == POSTGRESQL) == (self.postgres is not None)

    @property
    def label(self) -> str:
        """The backend's name in the report."""
        return LABELS[self.key]

    def folder(self, scenario: str) -> Path:
        """A scenario's working folder (server logs; SQLite files)."""
        directory = self.base / self.key / scenario
        directory.mkdir(parents=True, exist_ok=True)
        return directory

    def url(self, scenario: str, port: int | None = None) -> str:
        """A scenario's database, empty at first (``port`` reroutes PostgreSQL via a proxy)."""
        if self.postgres is None:
            directory = self.folder(scenario) / "db"
            directory.mkdir(parents=True, exist_ok=True)
            return f"sqlite:///{directory / 'tactful.db'}"
        schema = f"reliability_{self.tag}_{scenario}".replace("-", "_")
        if schema not in self.schemas:
            engine = create_engine(normalise_url(self.postgres))
            with engine.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            engine.dispose()
            self.schemas.append(schema)
        parsed = urlparse(self.postgres)
        if port is not None:
            parsed = parsed._replace(netloc=parsed.netloc.rsplit(":", 1)[0] + f":{port}")
        separator = "&" if parsed.query else ""
        query = f"{parsed.query}{separator}options={quote('-csearch_path=' + schema)}"
        return parsed._replace(query=query).geturl()

    def upstream(self) -> tuple[str, int]:
        """PostgreSQL's address, for a proxy to put itself in front of."""
        assert self.postgres is not None
        parsed = urlparse(self.postgres)
        return parsed.hostname or LOCAL, parsed.port or 5432

    def drop(self) -> None:
        """Drop every schema this run created."""
        if self.postgres is None or not self.schemas:
            return
        engine = create_engine(normalise_url(self.postgres))
        with engine.begin() as conn:
            for schema in self.schemas:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def reader(url: str, config: TactfulConfig) -> SqlStore:
    """The harness's own view of a scenario's database (already migrated by its servers)."""
    return SqlStore(url, config.reward, run_migrations=False)
