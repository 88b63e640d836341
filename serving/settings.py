"""The one Settings object: every deployment knob, read from ``TACTFUL_*`` variables.

Bad values are refused at start-up, so a half-configured service never starts.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_CONFIG = Path("tactful.toml")


class Settings(BaseSettings):
    """Deployment settings (the catalog and rules live in the TOML config file)."""

    model_config = SettingsConfigDict(env_prefix="TACTFUL_", extra="forbid", frozen=True)

    config: Path = Field(default=DEFAULT_CONFIG, description="The deployment's TOML config file.")

    def config_path(self) -> Path:
        """The config file to load: the configured one, or the bundled example as a fallback."""
        if self.config != DEFAULT_CONFIG or self.config.exists():
            return self.config
        bundled = resources.files("serving") / "data" / "tactful.toml"
        return Path(str(bundled)) if bundled.is_file() else self.config
