"""A user's mistake, given to the real ``tactful`` command: a line or two, never a traceback.

Each case runs the console script in a process of its own, in a scratch folder, as a
person would; the answer must name what was wrong, exit non-zero and fit in 8 lines.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.builders import EXAMPLE_CONFIG
from tests.serving.server import TACTFUL_COMMAND, free_port

MAX_LINES = 8
SECRET = "s3cret-database-password"  # noqa: S105 - a test value, to prove it stays hidden


def run(arguments: list[str], cwd: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    """``tactful ARGUMENTS`` in ``cwd``, with the example config and only ``variables`` set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TACTFUL_", "MLFLOW_"))}
    env.update({"TACTFUL_CONFIG": str(EXAMPLE_CONFIG), **variables})
    return subprocess.run(  # noqa: S603 - this interpreter, fixed arguments
        [*TACTFUL_COMMAND, *arguments],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def nowhere() -> str:
    """A PostgreSQL URL with nothing listening behind it (and a password to keep quiet)."""
    return f"postgresql://postgres:{SECRET}@127.0.0.1:{free_port()}/test"


CASES: dict[str, tuple[list[str], dict[str, str], str]] = {
    "train, SQLite file in a missing folder": (
        ["train", "--database-url", "sqlite:///nonexistent-dir/x.db"],
        {},
        "--database-url: sqlite:///nonexistent-dir/x.db: no database at nonexistent-dir/x.db",
    ),
    "logs export, mistyped SQLite file": (
        ["logs", "export", "--database-url", "sqlite:///demo-output/tactful-demo.bd"],
        {},
        "no database at demo-output/tactful-demo.bd",
    ),
    "train, PostgreSQL with nothing listening": (
        ["train", "--database-url", "NOWHERE"],
        {},
        "--database-url: cannot open postgresql://postgres:***@127.0.0.1:",
    ),
    "logs export, PostgreSQL from the variable": (
        ["logs", "export"],
        {"TACTFUL_DATABASE_URL": "NOWHERE"},
        "TACTFUL_DATABASE_URL: cannot open postgresql://postgres:***@127.0.0.1:",
    ),
    "serve, not a URL": (
        ["serve", "--database-url", "not-a-url"],
        {},
        "--database-url: 'not-a-url' is not a database URL; use sqlite:///",
    ),
    "serve, port out of range": (["serve", "--port", "99999"], {}, "'--port'"),
    "serve, port variable out of range": (
        ["serve"],
        {"TACTFUL_PORT": "99999"},
        "TACTFUL_PORT: Input should be less than or equal to 65535",
    ),
    "serve, a short API key": (
        ["serve"],
        {"TACTFUL_CLIENT_KEYS": "somekey"},
        "TACTFUL_CLIENT_KEYS: every API key must be at least 16 characters",
    ),
    "windows close, a config file that is not there": (
        ["windows", "close", "--config", "tactful.tmol"],
        {},
        "tactful.tmol: file: cannot read",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_a_mistake_is_answered_in_a_few_lines_without_a_traceback(
    case: str, tmp_path: Path
) -> None:
    arguments, variables, expected = CASES[case]
    url = nowhere()
    arguments = [url if a == "NOWHERE" else a for a in arguments]
    variables = {k: url if v == "NOWHERE" else v for k, v in variables.items()}

    done = run(arguments, tmp_path, **variables)

    assert done.returncode != 0
    assert expected in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert len((done.stdout + done.stderr).splitlines()) <= MAX_LINES, done.stderr
    assert SECRET not in done.stdout + done.stderr
    assert "somekey" not in done.stderr
    assert not (tmp_path / "nonexistent-dir").exists()
    assert not (tmp_path / "demo-output").exists()
    assert not (tmp_path / "mlruns").exists()


def test_debug_shows_the_traceback_behind_a_mistake(tmp_path: Path) -> None:
    done = run(["--debug", "logs", "export", "--database-url", "sqlite:///x.bd"], tmp_path)

    assert done.returncode != 0
    assert "DatabaseUrlError" in done.stderr
    assert "Traceback" in done.stderr
