"""Variants of the example config that make a scenario's rule bind quickly."""

from __future__ import annotations

from pathlib import Path

from bench.common import CONFIG


def rules_config(directory: Path, window_seconds: float) -> Path:
    """A copy of the example config with uniform exploration, a session cap of 2 and a tiny window.

    Uniform exploration makes offers frequent, so a race has offers to race for;
    the day and week caps are raised so the session cap is the one that binds.
    """
    replaced = (
        CONFIG.read_text()
        .replace(
            'exploration = "epsilon"\nepsilon = 0.05',
            'exploration = "epsilon"\nepsilon = 1.0',
        )
        .replace("max_per_session = 1", "max_per_session = 2")
        .replace("max_per_day = 2", "max_per_day = 50")
        .replace("max_per_week = 5", "max_per_week = 100")
    )
    assert replaced.count("epsilon = 1.0") == 1, "the example config's exploration lines changed"
    assert "max_per_session = 2" in replaced, "the example config's session cap line changed"
    path = directory / "rules.toml"
    path.write_text(window_config(replaced, window_seconds))
    return path


def window_config(text: str, window_seconds: float) -> str:
    """``text`` (a config) with its reward window set to ``window_seconds``."""
    assert "window_seconds = 600" in text, "the example config's window line changed"
    return text.replace("window_seconds = 600", f"window_seconds = {window_seconds}")


def short_window_config(directory: Path, window_seconds: float) -> Path:
    """The example config with a short reward window, so decisions close while traffic runs."""
    path = directory / "short-window.toml"
    path.write_text(window_config(CONFIG.read_text(), window_seconds))
    return path
