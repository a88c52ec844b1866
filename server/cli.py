"""The `coprokg` command: the library's commands (kg/cli.py) and `serve`, which runs the service.

This is where the two packages meet: `kg` never imports `server`, so the command that serves is
added to the library's command group here, and the `coprokg` entry point names this module.
"""

from __future__ import annotations

import os

import click

from kg.cli import main
from kg.config import Settings
from server.runtime.serving import serve as run_server

__all__ = ["main"]


@main.command("serve")
@click.option("--store", help="Store directory, or sparql:QUERY_URL[,UPDATE_URL] for a remote store.")
@click.option("--host", help="Address to bind (default: COPROKG_HOST or 127.0.0.1).")
@click.option("--port", help="Port to bind (default: COPROKG_PORT or 8000).")
def serve(store: str | None, host: str | None, port: str | None) -> None:
    """Serve the SPARQL endpoint, graph store, query API and UI (nginx in front of uWSGI workers)."""
    # Options go through the same checks as the variables they stand for.
    overrides = {"COPROKG_STORE": store, "COPROKG_HOST": host, "COPROKG_PORT": port}
    settings = Settings.from_env({**os.environ, **{k: v for k, v in overrides.items() if v}})
    mode = ("read-only (set COPROKG_TOKEN to allow writes)" if settings.read_only
            else "read-write (writes need the bearer token in COPROKG_TOKEN)")
    run_server(settings, announce=lambda: click.echo(
        f"CoproKG serving the store {settings.store}, {mode}\n"
        f"  UI:     {settings.base_url}/\n"
        f"  SPARQL: {settings.base_url}/sparql\n"
        "Stop it with Ctrl-C."))
