"""Seeded benchmark datasets: synthetic cases (bench/synthetic.py) plus the ontology, as N-Quads and N-Triples files."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from pathlib import Path

import pyoxigraph as ox

from bench import synthetic
from kg.namespaces import ONTOLOGY_GRAPH, case_graph
from kg.ontology import load_ontology_graph
from bench.synthetic import cases_for_triples, generate_nquads

# A fixed import time keeps the dataset file the same from run to run.
IMPORTED_AT = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)


def size_label(n_triples: int) -> str:
    """Name a size the way the tables do: 100k, 1M, 10M."""
    if n_triples >= 1_000_000 and n_triples % 1_000_000 == 0:
        return f"{n_triples // 1_000_000}M"
    if n_triples >= 1_000:
        return f"{n_triples // 1_000}k"
    return str(n_triples)


def dataset_nquads(data_dir: Path, n_triples: int, seed: int, ontology: Path, cases: Path) -> Path:
    """Write (once) the dataset: the ontology graph, the shipped cases and about `n_triples` synthetic triples.

    The shipped cases come along so the named queries' example parameters find their cases.
    """
    inputs = [ontology, Path(synthetic.__file__), *sorted(cases.glob("*.y*ml"))]
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in inputs if p.exists())).hexdigest()[:10]
    path = data_dir / f"dataset-{size_label(n_triples)}-seed{seed}-{digest}.nq"
    if path.exists():
        return path
    data_dir.mkdir(parents=True, exist_ok=True)
    for stale in data_dir.glob(f"dataset-{size_label(n_triples)}-seed{seed}-*"):
        stale.unlink()  # made from an older ontology, case set or generator
    partial = path.with_suffix(".nq.partial")
    quads = [ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(str(ONTOLOGY_GRAPH)))
             for t in _ontology_triples(ontology)]
    quads += _shipped_case_quads(cases)
    with open(partial, "wb") as out:
        ox.serialize(quads, out, ox.RdfFormat.N_QUADS)
        buffer: list[str] = []
        for line in generate_nquads(cases_for_triples(n_triples), seed):
            buffer.append(line)
            if len(buffer) >= 50_000:
                out.write("".join(buffer).encode("utf-8"))
                buffer.clear()
        out.write("".join(buffer).encode("utf-8"))
    partial.rename(path)  # a half-written file never passes for a finished one
    return path


def union_ntriples(nquads: Path) -> Path:
    """Write (once) the same dataset with graph names dropped, as the reasoners alone read it.

    The file is N-Triples named .ttl (N-Triples is Turtle), since `reasonable` picks its parser by suffix.
    """
    path = nquads.with_suffix(".union.ttl")
    if path.exists():
        return path
    partial = path.with_suffix(".partial")
    triples = (ox.Triple(q.subject, q.predicate, q.object) for q in ox.parse(path=nquads, format=ox.RdfFormat.N_QUADS))
    with open(partial, "wb") as out:
        ox.serialize(triples, out, ox.RdfFormat.N_TRIPLES)
    partial.rename(path)
    return path


def count_lines(path: Path) -> int:
    """Count the statements of an N-Triples / N-Quads file."""
    with open(path, "rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))


def copy_store(source: Path, target: Path) -> Path:
    """Copy an on-disk store directory, so two servers never share (or lock) one store."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)
    return target


def fresh_dir(path: Path) -> Path:
    """Return `path` as an empty directory that does not exist yet (stores create their own)."""
    if path.exists():
        shutil.rmtree(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _shipped_case_quads(cases: Path) -> list[ox.Quad]:
    """Map the shipped case files through CoproKG's importer; none if they do not validate."""
    from kg.cases import case_rdf
    from kg.validate import validate_paths

    report = validate_paths([cases])
    if report.errors:
        print(f"[warn] shipped cases left out of the benchmark data: {report.errors[0]}")
        return []
    quads = []
    for case in report.cases:
        graph = ox.NamedNode(str(case_graph(case.id)))
        data = case_rdf(case, IMPORTED_AT).serialize(format="nt").encode("utf-8")
        quads += [ox.Quad(t.subject, t.predicate, t.object, graph) for t in ox.parse(data, format=ox.RdfFormat.N_TRIPLES)]
    return quads


def _ontology_triples(ontology: Path) -> list[ox.Triple]:
    graph = load_ontology_graph(ontology)
    return list(ox.parse(graph.serialize(format="nt").encode("utf-8"), format=ox.RdfFormat.N_TRIPLES))
