"""Every command the README prints runs as printed after ``make demo``, from the project folder."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.builders import ROOT
from tests.commands import BARE, VENV_SCRIPTS, check_command

README = (ROOT / "README.md").read_text(encoding="utf-8")


def shell_lines(text: str) -> list[str]:
    """The command lines of the ``sh`` blocks."""
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def inline_code(text: str) -> list[str]:
    """The inline code spans outside the fenced blocks."""
    prose = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
    return re.findall(r"`([^`\n]+)`", prose)


def inline_commands(text: str) -> list[str]:
    """Inline spans that are commands: they start with a program or ``make``."""
    return [span for span in inline_code(text) if span.startswith((VENV_SCRIPTS, "make "))]


def test_the_readme_keeps_its_two_set_up_commands() -> None:
    first, second = shell_lines(README)[:2]

    assert first.startswith("make demo   # the main job")
    assert second.startswith("make test   # the whole suite")


def test_no_command_in_the_readme_needs_a_tool_on_the_path() -> None:
    spans = [*shell_lines(README), *inline_code(README)]

    bare = [span for span in spans if " " in span and span.split(" ")[0] in BARE]

    assert bare == []


@pytest.mark.parametrize("line", [*shell_lines(README), *inline_commands(README)])
def test_every_readme_command_runs_as_printed(
    line: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Files a command reads were written by the command before it (export.dsjson).
    monkeypatch.chdir(tmp_path)
    for word in line.split():
        if word.endswith((".dsjson", ".toml")):
            (tmp_path / word).write_text("", encoding="utf-8")

    check_command(line)


def test_a_misspelled_option_fails_the_check() -> None:
    with pytest.raises(Exception, match="--databse-url"):
        check_command(".venv/bin/tactful train --databse-url sqlite:///x.db")


def test_a_bare_program_fails_the_check() -> None:
    with pytest.raises(AssertionError, match="PATH"):
        check_command("mlflow ui --backend-store-uri sqlite:///mlruns/mlflow.db")
