"""One store interface over the embedded Oxigraph store (and, later, remote SPARQL endpoints)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO

import pyoxigraph as ox
from rdflib import Graph, URIRef

from kg.config import Settings
from kg.errors import QuerySyntaxError, StoreUnavailable, UpdateSyntaxError


class EmbeddedStore:
    """An on-disk (or, with path=None, in-memory) pyoxigraph store holding CoproKG's named graphs."""

    def __init__(self, path: str | Path | None) -> None:
        self.path = Path(path) if path is not None else None
        try:
            self.ox = ox.Store(str(path)) if path is not None else ox.Store()
        except OSError as e:
            raise StoreUnavailable(f"cannot open the store at {path}: {e}") from e

    def query(self, sparql: str, *, union_default_graph: bool = True, **options):
        """Run a SPARQL query; by default the default graph is the union of all graphs.

        Raises:
            QuerySyntaxError: the query does not parse.
        """
        if options.get("default_graph") is not None:
            union_default_graph = False
        try:
            return self.ox.query(sparql, use_default_graph_as_union=union_default_graph, **options)
        except SyntaxError as e:
            raise QuerySyntaxError(str(e)) from e

    def update(self, sparql: str) -> None:
        """Run a SPARQL update as one transaction.

        Raises:
            UpdateSyntaxError: the update does not parse.
        """
        try:
            self.ox.update(sparql)
        except SyntaxError as e:
            raise UpdateSyntaxError(str(e)) from e

    def replace_graphs(self, graphs: Mapping[URIRef, Graph]) -> None:
        """Replace each named graph by the given triples, all in one transaction."""
        operations = []
        for name, graph in graphs.items():
            body = graph.serialize(format="nt")
            operations.append(f"DROP SILENT GRAPH <{name}>")
            operations.append(f"INSERT DATA {{ GRAPH <{name}> {{\n{body}\n}} }}")
        if operations:
            self.ox.update(" ;\n".join(operations))

    def graph_names(self) -> list[str]:
        """List the named graphs, sorted."""
        return sorted(g.value for g in self.ox.named_graphs() if isinstance(g, ox.NamedNode))

    def quads(self) -> Iterable[ox.Quad]:
        """Iterate over every quad in the store."""
        return self.ox.quads_for_pattern(None, None, None, None)

    def dump(self, output: IO[bytes] | str | Path, format: ox.RdfFormat = ox.RdfFormat.N_QUADS) -> None:
        """Write the whole dataset (all graphs) to `output`."""
        self.ox.dump(output, format)

    def __len__(self) -> int:
        return len(self.ox)

    def close(self) -> None:
        self.ox.flush()
        del self.ox


def open_store(settings: Settings):
    """Open the store named by settings.store."""
    return EmbeddedStore(settings.store)
