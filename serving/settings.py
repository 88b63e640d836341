"""The one Settings object: every deployment knob, read from ``TACTFUL_*`` variables.

Bad values are refused at start-up, so a half-configured service never starts.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_CONFIG = Path("tactful.toml")
#: Used only when no secret is configured; the service warns loudly at start-up.
INSECURE_DEV_SECRET = "tactful-insecure-development-secret"  # noqa: S105


class Settings(BaseSettings):
    """Deployment settings (the catalog and rules live in the TOML config file)."""

    model_config = SettingsConfigDict(env_prefix="TACTFUL_", extra="forbid", frozen=True)

    config: Path = Field(default=DEFAULT_CONFIG, description="The deployment's TOML config file.")
    database_url: str = Field(
        default="sqlite:///tactful.db", description="SQLAlchemy URL (sqlite or postgresql)."
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    client_keys: list[SecretStr] = Field(
        default_factory=list, description="API keys that may decide and post events."
    )
    admin_keys: list[SecretStr] = Field(
        default_factory=list, description="API keys that may also reload models and close windows."
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

    @field_validator("client_keys", "admin_keys")
    @classmethod
    def _strong(cls, keys: list[SecretStr]) -> list[SecretStr]:
        for key in keys:
            if len(key.get_secret_value()) < 16:
                raise ValueError("API keys must be at least 16 characters")
        return keys

    @property
    def open_access(self) -> bool:
        """No keys configured: anyone on the network may call every route (local demo only)."""
        return not self.client_keys and not self.admin_keys

    def config_path(self) -> Path:
        """The config file to load: the configured one, or the bundled example as a fallback."""
        if self.config != DEFAULT_CONFIG or self.config.exists():
            return self.config
        bundled = resources.files("serving") / "data" / "tactful.toml"
        return Path(str(bundled)) if bundled.is_file() else self.config
