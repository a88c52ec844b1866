"""Write case data into the store: load (all or nothing), build, dump and restore the dataset."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import IO

import pyoxigraph as ox

from kg.cases import case_rdf
from kg.config import Settings
from kg.errors import BadRequest, CaseDataError
from kg.namespaces import ONTOLOGY_GRAPH, case_graph
from kg.ontology import load_ontology_graph
from kg.store import EmbeddedStore, open_store
from kg.validate import SHAPES, Report, validate_paths

# Backup format name -> pyoxigraph format; the two syntaxes that keep named graphs.
DUMP_FORMAT_TO_RDF_FORMAT = {"nquads": ox.RdfFormat.N_QUADS, "trig": ox.RdfFormat.TRIG}
SUFFIX_TO_DUMP_FORMAT = {".nq": "nquads", ".nquads": "nquads", ".trig": "trig"}


def load_cases(store: EmbeddedStore, paths: Iterable[Path], *, reason: bool = True, progress: bool = False,
               shapes: Path = SHAPES, now: dt.datetime | None = None) -> Report:
    """Validate case files and, only if all pass, replace their case graphs in one transaction.

    Raises:
        CaseDataError: some file has errors; nothing was written. `problems` lists them all.
    """
    report = validate_paths(paths, shapes=shapes, progress=progress)
    if report.errors:
        raise CaseDataError(report.problems)
    now = now or dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    store.replace_graphs({case_graph(case.id): case_rdf(case, now) for case in report.cases})
    if reason:
        materialise(store)
    return report


def build_store(settings: Settings, *, progress: bool = False) -> tuple[EmbeddedStore, Report]:
    """Fill the store afresh with the ontology, every case file in settings.cases and the inferences.

    Raises:
        CaseDataError: a shipped case file has errors; the store is left as it was.
    """
    report = validate_paths([settings.cases], progress=progress)
    if report.errors:
        raise CaseDataError(report.problems)
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    graphs = {ONTOLOGY_GRAPH: load_ontology_graph(settings.ontology)}
    graphs.update({case_graph(case.id): case_rdf(case, now) for case in report.cases})
    if not settings.is_remote:
        Path(settings.store).parent.mkdir(parents=True, exist_ok=True)
    store = open_store(settings)
    store.replace_graphs(graphs, clear_all=True)
    materialise(store)
    return store, report


def is_built(store: EmbeddedStore) -> bool:
    """Tell whether the store already holds the ontology graph (a finished build)."""
    return store.has_graph(str(ONTOLOGY_GRAPH))


def materialise(store: EmbeddedStore) -> int:
    """Recompute the inferred graph from everything asserted (kg.reasoning does the work)."""
    from kg.reasoning import materialise as materialise_inferences

    return materialise_inferences(store)


def dump_format(name: str | None, path: Path | None) -> str:
    """Choose the backup syntax: the one named, else the file suffix's, else N-Quads.

    Raises:
        BadRequest: the name or suffix is not a dataset syntax.
    """
    if name is None and path is not None and path.suffix:
        name = SUFFIX_TO_DUMP_FORMAT.get(path.suffix.lower())
        if name is None:
            allowed = ", ".join(SUFFIX_TO_DUMP_FORMAT)
            raise BadRequest(f"{path}: unknown dump suffix {path.suffix!r}; allowed: {allowed}")
    name = name or "nquads"
    if name not in DUMP_FORMAT_TO_RDF_FORMAT:
        raise BadRequest(f"unknown dump format {name!r}; allowed: {', '.join(DUMP_FORMAT_TO_RDF_FORMAT)}")
    return name


def dump_store(store: EmbeddedStore, output: IO[bytes] | Path, format: str = "nquads") -> None:
    """Write every quad of the store as N-Quads or TriG."""
    store.dump(output, DUMP_FORMAT_TO_RDF_FORMAT[format])


def restore_store(store: EmbeddedStore, source: IO[bytes] | Path, format: str = "nquads", *, name: str = "") -> int:
    """Replace the whole dataset by a dump; a dump that does not parse leaves the store untouched.

    Raises:
        BadRequest: the dump is not valid in its syntax (the message names the place), or the store is remote.
    """
    if not isinstance(store, EmbeddedStore):
        raise BadRequest("restore writes to the embedded store only; "
                         "load a dump into a remote store with its own tools")
    rdf_format = DUMP_FORMAT_TO_RDF_FORMAT[format]
    try:
        if isinstance(source, Path):
            quads = list(ox.parse(path=source, format=rdf_format))
        else:
            quads = list(ox.parse(source, format=rdf_format))
    except SyntaxError as e:
        raise BadRequest(f"{name or source}: not valid {format}: {e}") from e
    store.restore(quads)
    return len(quads)
