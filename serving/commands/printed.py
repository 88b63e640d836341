"""Commands tactful prints for people to run next, spelled so they run as printed.

The tools live in the virtual environment the project installs, not on ``PATH``, so a
printed ``mlflow ui`` or ``tactful serve`` would be "command not found". Each command
names its program by the path of this interpreter's scripts folder, relative to the
working directory when it lies below it (``.venv/bin/tactful`` after ``make demo``).
"""

from __future__ import annotations

import sys
from pathlib import Path


def program(name: str, scripts: Path | None = None, cwd: Path | None = None) -> str:
    """How to call the installed script ``name`` from ``cwd``: relative below it, else absolute."""
    folder = scripts if scripts is not None else Path(sys.executable).parent
    here = cwd if cwd is not None else Path.cwd()
    path = Path(folder, name)
    try:
        return str(path.relative_to(here))
    except ValueError:
        return str(path)


def mlflow_ui_command(mlruns: Path, scripts: Path | None = None, cwd: Path | None = None) -> str:
    """The MLflow UI over the tracking database in ``mlruns``."""
    return f"{program('mlflow', scripts, cwd)} ui --backend-store-uri sqlite:///{mlruns}/mlflow.db"


def serve_command(database_url: str, scripts: Path | None = None, cwd: Path | None = None) -> str:
    """The decision service over the database at ``database_url``."""
    return f"{program('tactful', scripts, cwd)} serve --database-url {database_url}"
