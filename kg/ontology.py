"""Load the ontology's Turtle source and write its release artefacts."""

from __future__ import annotations

from pathlib import Path

from rdflib import Graph

# Release syntax -> (file suffix, rdflib format). RDF/XML is for owlready2 and older tools.
RELEASE_SUFFIX_TO_FORMAT = {".owl": "xml", ".nt": "nt", ".jsonld": "json-ld"}


def load_ontology_graph(source: Path) -> Graph:
    """Parse the Turtle source."""
    graph = Graph()
    graph.parse(source, format="turtle")
    return graph


def build_dir(source: Path) -> Path:
    return source.parent / "build"


def build_artefacts(source: Path) -> list[Path]:
    """Write the ontology in each release syntax next to the source, under build/."""
    graph = load_ontology_graph(source)
    out = build_dir(source)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for suffix, fmt in RELEASE_SUFFIX_TO_FORMAT.items():
        path = out / (source.stem + suffix)
        graph.serialize(path, format=fmt, encoding="utf-8")
        written.append(path)
    return written
