"""``tactful serve``: the decision service on uvicorn, with the settings the command built."""

from __future__ import annotations

from typing import Annotated, Any

import typer
import uvicorn
from uvicorn.supervisors import Multiprocess

from serving.commands import common
from serving.commands.common import ConfigOption, DatabaseOption
from serving.commands.worker import BoundApp
from serving.logs import uvicorn_log_config
from serving.settings import Settings


def serve(
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    host: Annotated[str | None, typer.Option(help="Interface to bind.")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port to bind.")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Server processes.")] = 1,
) -> None:
    """Run the decision service (FastAPI on uvicorn)."""
    settings = common.settings(config, database_url)
    deployment = common.deployment(settings.config_path())
    # Open (and migrate) the store once here, so a bad URL is one line, not a failed start-up.
    source = common.database_source(database_url)
    common.open_store(settings, deployment, source, existing=False).close()
    run(settings, host or settings.host, port or settings.port, workers)


def run(settings: Settings, host: str, port: int, workers: int) -> None:
    """Serve with ``settings`` in each of ``workers`` processes.

    The app is the factory bound to these settings (:class:`BoundApp`), not an import
    string: several workers each receive it pickled, so the command line's options
    reach every worker without passing through environment variables. uvicorn's
    ``run`` takes only an import string for several workers, so they are started here
    as it starts them.
    """
    app = BoundApp.of(settings)
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": settings.log_level.lower(),
        "log_config": uvicorn_log_config(settings.log_level, settings.log_format),
        "access_log": False,
    }
    if workers == 1:
        uvicorn.run(app, factory=True, **options)
        return
    config = uvicorn.Config(app, factory=True, workers=workers, **options)
    Multiprocess(config, sockets=[config.bind_socket()]).run()
