"""Commands as the README and the demo print them: found, and checked against the real parsers.

A printed command runs "as printed" only if its program is where it says (the project's
``.venv/bin``, this interpreter's scripts folder), and its arguments parse with that
program's own command-line parser: the check runs the parser, not the command.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
import sys
from pathlib import Path
from typing import Any

import typer.main

from serving.cli import app
from tests.builders import ROOT

#: Where the README's commands say the programs are, and where they really are here.
VENV_SCRIPTS = ".venv/bin/"
SCRIPTS = Path(sys.executable).parent
#: Tools a fresh clone does not have on its PATH: a command must never start with one bare.
BARE = ("tactful", "mlflow", "python", "python3", "vw", "uvicorn", "pytest")


def make_targets(makefile: Path = ROOT / "Makefile") -> set[str]:
    """The targets a Makefile defines."""
    text = makefile.read_text(encoding="utf-8")
    return set(re.findall(r"^([a-z][\w-]*):", text, flags=re.MULTILINE))


def parse_click(command: Any, name: str, args: list[str]) -> None:
    """Parse ``args`` down to the leaf command, as running it would; raise on any mistake.

    Duck-typed: typer carries its own copy of click, so its groups are not ``click.Group``.
    ``--help`` ends parsing early with a zero exit code: that is a command that runs.
    """
    try:
        context = command.make_context(name, list(args))
        while hasattr(context.command, "resolve_command"):
            rest = [*context._protected_args, *context.args]
            sub_name, sub_command, sub_args = context.command.resolve_command(context, rest)
            assert sub_command is not None, rest
            assert sub_name is not None, rest
            context = sub_command.make_context(sub_name, sub_args, parent=context)
    except Exception as error:
        if type(error).__name__ == "Exit" and getattr(error, "exit_code", 1) == 0:
            return
        raise


def check_command(line: str, scripts: Path = SCRIPTS) -> None:
    """Fail unless ``line`` would run as printed (from the project folder)."""
    words = shlex.split(line, comments=True)
    assert words, line
    program, args = words[0], words[1:]
    if program == "make":
        assert set(args) <= make_targets(), f"{line}: no such make target"
        return
    assert not program.startswith(BARE), f"{line}: {program} is not on a fresh clone's PATH"
    name = program.removeprefix(VENV_SCRIPTS)
    # ".venv/bin/NAME" is the project's own scripts folder; any other path is taken as it is.
    located = scripts / name if name != program else Path(program)
    assert located.name in {"tactful", "mlflow", "python"}, f"{line}: unknown program"
    assert located.exists(), f"{line}: {located} does not exist"
    if located.name == "tactful":
        parse_click(typer.main.get_command(app), "tactful", args)
    elif located.name == "mlflow":
        import mlflow.cli

        parse_click(mlflow.cli.cli, "mlflow", args)
    else:
        assert args[:1] == ["-m"], line
        assert importlib.util.find_spec(args[1]) is not None, f"{line}: no module {args[1]}"
