"""The `coprokg` command: build, load, query and serve the knowledge graph."""

from __future__ import annotations

import sys

import click

from kg.config import Settings
from kg.errors import KGError


class _Group(click.Group):
    """Show KGErrors as one clear message and a non-zero exit, never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KGError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(1)


@click.group(cls=_Group)
@click.version_option(package_name="coprokg")
def main() -> None:
    """CoproKG: a knowledge graph of elderly-care coproduction."""


def _settings(store: str | None = None) -> Settings:
    settings = Settings.from_env()
    if store:
        from dataclasses import replace

        settings = replace(settings, store=store)
    return settings


# --- ontology (issue 2) -------------------------------------------------------------------


@main.group()
def ontology() -> None:
    """Build and check the ontology."""


@ontology.command("build")
def ontology_build() -> None:
    """Write the release artefacts (RDF/XML, N-Triples, JSON-LD) from the Turtle source."""
    from kg.ontology import build_artefacts

    for path in build_artefacts(_settings().ontology):
        click.echo(f"wrote {path}")


# --- the graph (issue 3) ------------------------------------------------------------------


@main.command("build")
@click.option("--store", help="Store directory (default: COPROKG_STORE or data/store).")
@click.option("--if-missing", is_flag=True, help="Do nothing if the store already exists.")
def build(store: str | None, if_missing: bool) -> None:
    """Build the store from the ontology and the shipped cases, with inferences."""
    from pathlib import Path

    from kg.store import open_store
    from kg.ontology import load_ontology_graph
    from kg.namespaces import ONTOLOGY_GRAPH

    settings = _settings(store)
    if if_missing and Path(settings.store).exists():
        click.echo(f"store exists: {settings.store}")
        return
    kg_store = open_store(settings)
    kg_store.replace_graphs({ONTOLOGY_GRAPH: load_ontology_graph(settings.ontology)})
    click.echo(f"built {settings.store}: {len(kg_store)} quads")


# --- serving (issue 4) --------------------------------------------------------------------


@main.command("serve")
@click.option("--store", help="Store directory, or sparql:QUERY_URL[,UPDATE_URL] for a remote store.")
def serve(store: str | None) -> None:
    """Serve the SPARQL endpoint, query API and UI."""
    from server import create_app

    settings = _settings(store)
    app = create_app(settings)
    click.echo(f"CoproKG serving on http://{settings.host}:{settings.port}/")
    app.run(host=settings.host, port=settings.port)
