"""The one Settings object: every deployment knob, read from ``TACTFUL_*`` variables.

Bad values are refused at start-up, so a half-configured service never starts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

from bandit.storage.engine import PoolSettings

DEFAULT_CONFIG = Path("tactful.toml")
#: Used only when no secret is configured; the service warns loudly at start-up.
INSECURE_DEV_SECRET = "tactful-insecure-development-secret"  # noqa: S105
ENV_PREFIX = "TACTFUL_"
#: The shortest API key accepted: shorter ones can be guessed.
MIN_KEY_LENGTH = 16

#: API keys as people write them in a variable: one key, ``a,b``, or a JSON list.
#: ``NoDecode``: the variable reaches :meth:`Settings._split_keys` as written, not JSON-decoded.
Keys = Annotated[list[SecretStr], NoDecode]


class SettingsProblem(ValueError):
    """Settings the service cannot start with; the message names each variable, one per line."""


class Settings(BaseSettings):
    """Deployment settings (the catalog and rules live in the TOML config file)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    config: Path = Field(default=DEFAULT_CONFIG, description="The deployment's TOML config file.")
    database_url: str = Field(
        default="sqlite:///tactful.db", description="SQLAlchemy URL (sqlite or postgresql)."
    )
    db_pool_size: int = Field(
        default=10,
        ge=1,
        le=1000,
        description="PostgreSQL connections each process keeps open. A process opens at most "
        "db_pool_size + db_max_overflow, so N replicas need N times that under the server's "
        "max_connections.",
    )
    db_max_overflow: int = Field(
        default=10,
        ge=0,
        le=1000,
        description="Extra PostgreSQL connections a process opens under load, closed again "
        "when returned.",
    )
    db_pool_timeout: float = Field(
        default=5.0,
        gt=0.0,
        le=600.0,
        allow_inf_nan=False,
        description="Seconds a request waits for a free connection before it is answered 503.",
    )
    db_connect_timeout: int = Field(
        default=5,
        ge=2,
        le=600,
        description="Seconds to reach PostgreSQL (whole seconds, 2 at least, as libpq counts "
        "them); also how long sent data may go unacknowledged before a connection is dead.",
    )
    db_statement_timeout: float = Field(
        default=30.0,
        ge=0.0,
        le=86400.0,
        allow_inf_nan=False,
        description="Seconds one PostgreSQL statement may run (0: no limit; migrations have none).",
    )
    db_lock_timeout: float = Field(
        default=10.0,
        ge=0.0,
        le=86400.0,
        allow_inf_nan=False,
        description="Seconds a PostgreSQL statement may wait for a lock, such as a user's row "
        "held by another replica (0: no limit).",
    )
    db_pool_recycle: float = Field(
        default=1800.0,
        ge=0.0,
        le=86400.0,
        allow_inf_nan=False,
        description="Seconds after which a pooled connection is replaced (0: never).",
    )
    db_pool_pre_ping: bool = Field(
        default=True,
        description="Test each pooled connection before use, so one cut while idle costs a "
        "reconnect rather than a failed request.",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    client_keys: Keys = Field(
        default_factory=list,
        description="API keys that may decide and post events: one key, or several separated "
        "by commas (a JSON list works too).",
    )
    admin_keys: Keys = Field(
        default_factory=list,
        description="API keys that may also reload models and close windows (as client_keys).",
    )
    user_key_secret: SecretStr = Field(
        default=SecretStr(INSECURE_DEV_SECRET),
        description="HMAC secret that turns user ids into stored keys.",
    )
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=16 * 1024 * 1024)
    rate_limit_per_second: float = Field(
        default=1000.0,
        ge=0.0,
        allow_inf_nan=False,
        description="Requests per second each API key (or, without a valid key, each client "
        "address) may sustain, per process; 0 disables rate limiting.",
    )
    rate_limit_burst: int = Field(
        default=2000,
        ge=1,
        description="Requests a caller may send at once before the rate applies.",
    )
    reward_tokens: bool = Field(
        default=False,
        description="Return a signed `reward_token` with each decision and require it as "
        "`X-Reward-Token` on the decision's events.",
    )
    learner: bool = Field(default=True, description="Whether this process may hold the learner.")
    learner_poll_seconds: float = Field(default=1.0, gt=0.0, le=3600.0)
    lease_seconds: float = Field(default=15.0, gt=0.0, le=3600.0)
    checkpoint_every: int = Field(
        default=200, ge=1, description="Learned decisions between checkpoints."
    )
    checkpoint_poll_seconds: float = Field(default=5.0, gt=0.0, le=3600.0)
    mlruns: Path | None = Field(
        default=Path("mlruns"),
        description="MLflow folder whose `champion` model the learner adopts; empty disables.",
    )
    champion_poll_seconds: float = Field(default=30.0, gt=0.0, le=86400.0)
    server_timing: bool = Field(
        default=False,
        description="Add a `Server-Timing: app;dur=<ms>` header to every response: the time "
        "spent inside the app, so a client can tell its own and the network's delay from "
        "the server's. Off by default: response times are not every deployment's to share.",
    )
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    log_format: Literal["json", "text"] = Field(
        default="json",
        description="How `tactful serve` writes every log line, the server's own included: "
        "one JSON object per line, or plain text.",
    )

    @field_validator("client_keys", "admin_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        """Read one key, a comma-separated list or a JSON list, as people write variables."""
        if not isinstance(value, str):
            return value
        text = value.strip()
        if text.startswith("["):
            try:
                parsed: object = json.loads(text)
            except json.JSONDecodeError:
                # Not the decoder's message: it quotes the text, and the text is secret.
                raise ValueError("not a readable JSON list of keys") from None
            return parsed
        return [part.strip() for part in text.split(",") if part.strip()]

    @field_validator("client_keys", "admin_keys")
    @classmethod
    def _strong(cls, keys: list[SecretStr]) -> list[SecretStr]:
        for key in keys:
            if len(key.get_secret_value()) < MIN_KEY_LENGTH:
                raise ValueError(
                    f"every API key must be at least {MIN_KEY_LENGTH} characters "
                    "(give one key, or several separated by commas)"
                )
        return keys

    @property
    def open_access(self) -> bool:
        """No keys configured: anyone on the network may call every route (local demo only)."""
        return not self.client_keys and not self.admin_keys

    def pool(self) -> PoolSettings:
        """The PostgreSQL engine's connection limits and time-outs, from the ``db_*`` fields."""
        return PoolSettings(
            size=self.db_pool_size,
            max_overflow=self.db_max_overflow,
            timeout=self.db_pool_timeout,
            connect_timeout=self.db_connect_timeout,
            statement_timeout=self.db_statement_timeout,
            lock_timeout=self.db_lock_timeout,
            recycle=self.db_pool_recycle,
            pre_ping=self.db_pool_pre_ping,
        )

    def config_path(self) -> Path:
        """The config file to load: the configured one, or the bundled example as a fallback."""
        if self.config != DEFAULT_CONFIG or self.config.exists():
            return self.config
        bundled = resources.files("serving") / "data" / "tactful.toml"
        return Path(str(bundled)) if bundled.is_file() else self.config


def variable(field: str) -> str:
    """The environment variable that sets ``field``."""
    return ENV_PREFIX + field.upper()


def describe(error: ValidationError, names: Mapping[str, str] | None = None) -> list[str]:
    """One line per bad setting, naming its variable (or ``names[field]``, e.g. an option).

    Never the value: an API key or a secret must not reach a terminal or a log.
    """
    names = names or {}
    lines = []
    for problem in error.errors(include_input=False, include_url=False):
        location = problem.get("loc") or ("settings",)
        field = str(location[0])
        message = str(problem.get("msg", "invalid")).removeprefix("Value error, ")
        lines.append(f"{names.get(field, variable(field))}: {message}")
    return list(dict.fromkeys(lines))


def load_settings(names: Mapping[str, str] | None = None, **values: object) -> Settings:
    """:class:`Settings` from ``values`` and ``TACTFUL_*``, or a :class:`SettingsProblem`.

    ``names`` maps a field to what the user typed to set it (``--database-url``), so
    the message names that rather than a variable the command line set on their behalf.
    """
    try:
        return Settings(**values)  # type: ignore[arg-type]
    except ValidationError as error:
        raise SettingsProblem("\n".join(describe(error, names))) from None
    except SettingsError as error:  # a value the environment source itself cannot decode
        found = re.search(r'field "(\w+)"', str(error))
        field = found.group(1) if found else "settings"
        raise SettingsProblem(f"{variable(field)}: cannot read the value") from None
