"""Write case data into the store: load (all or nothing), build, dump and restore the dataset.

Crash safety: a write is one store transaction, so a process killed at any moment leaves it wholly
there or wholly absent. `load` and `build` therefore compute the inferred graph before writing and
write it in the same transaction as the case graphs; `restore` builds the new dataset in a directory
beside the store and swaps the two directories in one atomic rename.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import errno
import fcntl
import os
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO

import pyoxigraph as ox
from rdflib import URIRef

from kg.cases import case_triples, ntriples, provenance_triples
from kg.config import Settings
from kg.errors import BadRequest, CaseDataError, StoreUnavailable
from kg.namespaces import INFERRED_GRAPH, ONTOLOGY_GRAPH, case_graph
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
    graphs = case_graphs(report, now)
    if reason:
        graphs[INFERRED_GRAPH] = inferred_graph(store.quads(), graphs)
    # One transaction: a crash leaves the old cases with their inferences, or the new ones with theirs.
    store.replace_graphs(graphs)
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
    graphs.update(case_graphs(report, now))
    if not settings.is_remote:
        Path(settings.store).parent.mkdir(parents=True, exist_ok=True)
    graphs[INFERRED_GRAPH] = inferred_graph((), graphs)
    store = open_store(settings)
    # One transaction, so a crash never leaves a store that looks built (it has the ontology) but lacks inferences.
    store.replace_graphs(graphs, clear_all=True)
    return store, report


class NTriplesGraph:
    """Triples already written as N-Triples, offered where an rdflib Graph is serialized to N-Triples."""

    def __init__(self, text: str) -> None:
        self.text = text

    def serialize(self, format: str = "nt") -> str:
        if format not in ("nt", "ntriples"):
            raise ValueError(f"NTriplesGraph only serializes as N-Triples, not {format}")
        return self.text


def case_graphs(report: Report, now: dt.datetime) -> dict[URIRef, NTriplesGraph]:
    """Write each checked case's named graph, provenance included, from the triples validation mapped."""
    return {case_graph(case.id): NTriplesGraph(ntriples([*(report.triples.get(case.id) or case_triples(case)),
                                                        *provenance_triples(case, now)]))
            for case in report.cases}


def inferred_graph(current: Iterable[ox.Quad], graphs: Mapping[URIRef, object]) -> NTriplesGraph:
    """Compute the inferred graph the store will need once `graphs` replace their namesakes in `current`.

    Reasoning runs on an in-memory copy, so the real store is written once, together with the result.
    """
    replaced = {ox.NamedNode(str(name)) for name in graphs} | {ox.NamedNode(str(INFERRED_GRAPH))}
    scratch = EmbeddedStore(None)
    scratch.ox.extend(q for q in current if q.graph_name not in replaced)
    scratch.replace_graphs({name: graph for name, graph in graphs.items() if name != INFERRED_GRAPH})
    materialise(scratch)
    triples = (q.triple for q in scratch.ox.quads_for_pattern(None, None, None, ox.NamedNode(str(INFERRED_GRAPH))))
    return NTriplesGraph(ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES).decode("utf-8"))


def is_built(store: EmbeddedStore) -> bool:
    """Tell whether the store already holds the ontology graph (a finished build)."""
    return store.has_graph(str(ONTOLOGY_GRAPH))


def newer_sources(settings: Settings) -> list[Path]:
    """The build's sources (the ontology, the case files) changed after the on-disk store last was.

    The store's own time is its newest file's: RocksDB writes a file for every commit.
    """
    store_files = [p for p in Path(settings.store).rglob("*") if p.is_file()]
    if not store_files:
        return []
    built = max(p.stat().st_mtime for p in store_files)
    sources = [settings.ontology, *(p for p in Path(settings.cases).rglob("*")
                                     if p.is_file() and p.suffix.lower() in (".yaml", ".yml", ".xlsx"))]
    return sorted(p for p in sources if p.exists() and p.stat().st_mtime > built)


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


DUMP_FORMAT_TO_MEDIA_TYPE = {"nquads": "application/n-quads", "trig": "application/trig"}


def dump_through_server(base_url: str, output: IO[bytes] | Path, format: str = "nquads", *,
                        timeout: float = 600.0) -> int:
    """Fetch the whole dataset from a running CoproKG server (GET /store) and write it; return its quad count.

    The server answers from one store snapshot (a RocksDB checkpoint), so the dump is consistent even
    while writes go on. A file is written beside `output` first and renamed into place only once the whole
    answer has arrived and parses, so an interrupted dump never looks like a finished one.

    Raises:
        StoreUnavailable: the server cannot be reached, refuses, or breaks off the answer.
    """
    import requests

    url = base_url.rstrip("/") + "/store"
    media_type = DUMP_FORMAT_TO_MEDIA_TYPE[format]
    partial = output.with_name(output.name + ".partial") if isinstance(output, Path) else None
    try:
        with requests.get(url, headers={"Accept": media_type}, stream=True, timeout=(10, timeout)) as response:
            if response.status_code != 200:
                raise StoreUnavailable(f"{url} answered {response.status_code}: {response.text[:500]}")
            if partial is None:
                for chunk in response.iter_content(64 * 1024):
                    output.write(chunk)
                return -1  # streamed on: not re-read to count
            with open(partial, "wb") as file:
                for chunk in response.iter_content(64 * 1024):
                    file.write(chunk)
                file.flush()
                os.fsync(file.fileno())
    except requests.RequestException as e:
        if partial is not None:
            partial.unlink(missing_ok=True)
        raise StoreUnavailable(f"the dump from {url} failed: {e}") from e
    try:
        count = sum(1 for _ in ox.parse(path=partial, format=DUMP_FORMAT_TO_RDF_FORMAT[format]))
    except SyntaxError as e:
        partial.unlink(missing_ok=True)
        raise StoreUnavailable(f"the dump from {url} is incomplete or malformed: {e}") from e
    os.replace(partial, output)
    return count


def restore_store(store: EmbeddedStore, source: IO[bytes] | Path, format: str = "nquads", *, name: str = "") -> int:
    """Replace the whole dataset by a dump; a dump that does not parse leaves the store untouched.

    An on-disk store is restored crash-safely: the dump goes into a new directory beside it, which then
    changes places with the store in one atomic rename (the store is closed and reopened around it). A
    process killed at any point leaves the old dataset or the new one, never an empty or partial store.

    Raises:
        BadRequest: the dump is not valid in its syntax (the message names the place), or the store is remote.
        StoreUnavailable: another restore of the same store is running.
    """
    if not isinstance(store, EmbeddedStore):
        raise BadRequest("restore writes to the embedded store only; "
                         "load a dump into a remote store with its own tools")
    rdf_format = DUMP_FORMAT_TO_RDF_FORMAT[format]
    # Served stores (subclasses) keep snapshots of the open directory, so they are never swapped.
    if type(store) is not EmbeddedStore or store.path is None:
        quads = _parse_dump(source, rdf_format, format, name)
        store.restore(quads)
        return len(quads)
    path = store.path
    with _restore_lock(path):
        staging = _staging_directory(path)
        fresh = ox.Store(str(staging))
        try:
            # Parsed as a stream into the new directory, invisible until the swap: no list of Python quads
            # (10M quads took 7.5 GB that way), and a dump that does not parse leaves only the staging
            # directory to delete. bulk_load would be faster still, but it renames blank nodes.
            if isinstance(source, Path):
                fresh.bulk_extend(ox.parse(path=source, format=rdf_format))
            else:
                fresh.bulk_extend(ox.parse(source, format=rdf_format))
            fresh.flush()
            count = len(fresh)
        except SyntaxError as e:
            del fresh
            shutil.rmtree(staging, ignore_errors=True)
            raise BadRequest(f"{name or source}: not valid {format}: {e}") from e
        del fresh
        store.close()  # RocksDB must not write into a directory that has just changed places
        try:
            _swap_directories(staging, path)
        finally:
            store.__init__(path, allowlist=store.allowlist, timeout=store.timeout)
        shutil.rmtree(staging, ignore_errors=True)  # now the old dataset
    return count


def _parse_dump(source: IO[bytes] | Path, rdf_format: ox.RdfFormat, format: str, name: str) -> list[ox.Quad]:
    """Parse a whole dump into quads (blank node labels kept).

    Raises:
        BadRequest: the dump is not valid in its syntax (the message names the place).
    """
    try:
        if isinstance(source, Path):
            return list(ox.parse(path=source, format=rdf_format))
        return list(ox.parse(source, format=rdf_format))
    except SyntaxError as e:
        raise BadRequest(f"{name or source}: not valid {format}: {e}") from e


def _staging_directory(path: Path) -> Path:
    """A fresh directory name beside `path`; leftovers of restores killed before their swap are removed."""
    for leftover in path.parent.glob(f".{path.name}.restore-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    return path.parent / f".{path.name}.restore-{os.getpid()}"


class _restore_lock:
    """Hold an exclusive lock file beside the store, so two restores never share a staging directory."""

    def __init__(self, path: Path) -> None:
        self.lock_path = path.parent / f".{path.name}.restore.lock"

    def __enter__(self) -> None:
        self.file = open(self.lock_path, "w")
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.file.close()
            raise StoreUnavailable(f"another restore of {self.lock_path.parent} is running") from None

    def __exit__(self, *exc) -> None:
        self.file.close()  # closing releases the lock


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _swap_directories(new: Path, path: Path) -> None:
    """Make `new` the directory at `path` in one atomic step (Linux renameat2 RENAME_EXCHANGE)."""
    if not path.exists():
        os.rename(new, path)
        return
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is not None:
        if renameat2(_AT_FDCWD, os.fsencode(new), _AT_FDCWD, os.fsencode(path), _RENAME_EXCHANGE) == 0:
            return
        code = ctypes.get_errno()
        if code not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
            raise OSError(code, f"cannot swap {new} and {path}: {os.strerror(code)}")
    # No atomic exchange on this system or file system: two renames, with a moment between them.
    aside = path.parent / f".{path.name}.restore-old"
    shutil.rmtree(aside, ignore_errors=True)
    os.rename(path, aside)
    os.rename(new, path)
    os.rename(aside, new)
