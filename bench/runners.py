"""One measured task per fresh process (`python -m bench.runners TASK ...`), printing its figures as JSON.

A fresh process per run keeps runs independent (no warm caches, no leftover memory) and gives each
task its own peak RSS. Timings are taken inside the process, so interpreter start-up is not counted.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import resource
import sys
import time
from pathlib import Path

import pyoxigraph as ox


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_coprokg(store_dir: Path, dataset: Path) -> dict:
    """Load an N-Quads dataset through CoproKG's own path (`coprokg restore`: kg.load.restore_store)."""
    from kg.load import restore_store
    from kg.store import EmbeddedStore

    started = time.perf_counter()
    store = EmbeddedStore(store_dir)
    quads = restore_store(store, dataset, "nquads", name=dataset.name)
    store.close()
    return {"seconds": time.perf_counter() - started, "quads": quads}


def load_pyoxigraph(store_dir: Path, dataset: Path) -> dict:
    """Load the same file with pyoxigraph's bulk loader into the same kind of on-disk store."""
    started = time.perf_counter()
    store = ox.Store(str(store_dir))
    store.bulk_load(path=str(dataset), format=ox.RdfFormat.N_QUADS)
    store.flush()
    quads = len(store)
    return {"seconds": time.perf_counter() - started, "quads": quads}


def import_yaml(store_dir: Path, cases_dir: Path) -> dict:
    """Import YAML case files as `coprokg load` does: validate all, write all, then reason."""
    from kg.load import load_cases, materialise
    from kg.store import EmbeddedStore

    store = EmbeddedStore(store_dir)  # holds the ontology already; see bench.loading
    started = time.perf_counter()
    report = load_cases(store, [cases_dir], reason=False)
    loaded = time.perf_counter()
    materialise(store)
    done = time.perf_counter()
    quads = len(store)
    store.close()
    return {"seconds": done - started, "validate_and_write_s": loaded - started, "reason_s": done - loaded,
            "cases": len(report.cases), "quads": quads}


def materialise(store_dir: Path, inferred_out: Path | None) -> dict:
    """Run CoproKG's OWL RL materialisation on a loaded store; optionally dump the inferred graph."""
    from kg.namespaces import INFERRED_GRAPH
    from kg.reasoning import materialise as materialise_inferences
    from kg.store import EmbeddedStore

    store = EmbeddedStore(store_dir)
    started = time.perf_counter()
    materialise_inferences(store)
    seconds = time.perf_counter() - started
    graph = ox.NamedNode(str(INFERRED_GRAPH))
    inferred = sum(1 for _ in store.ox.quads_for_pattern(None, None, None, graph))
    if inferred_out is not None:
        triples = (ox.Triple(q.subject, q.predicate, q.object) for q in store.ox.quads_for_pattern(None, None, None, graph))
        with open(inferred_out, "wb") as out:
            ox.serialize(triples, out, ox.RdfFormat.N_TRIPLES)
    store.close()
    return {"seconds": seconds, "inferred": inferred}


def reasonable_alone(dataset_nt: Path) -> dict:
    """Run the `reasonable` OWL RL engine by itself on the union of all graphs (read from N-Triples)."""
    import reasonable

    started = time.perf_counter()
    reasoner = reasonable.PyReasoner()
    reasoner.load_file(str(dataset_nt))
    loaded = time.perf_counter()
    closure = reasoner.reason()
    done = time.perf_counter()
    return {"seconds": done - started, "load_s": loaded - started, "reason_s": done - loaded, "triples": len(closure)}


def owlrl_alone(dataset_nt: Path, inferred_out: Path | None) -> dict:
    """Run owlrl's OWL RL closure by itself on an rdflib graph; optionally write what it added."""
    import owlrl
    from rdflib import Graph

    started = time.perf_counter()
    graph = Graph()
    graph.parse(dataset_nt, format="nt")
    loaded = time.perf_counter()
    before = set(graph) if inferred_out is not None else None
    expand_started = time.perf_counter()
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(graph)
    done = time.perf_counter()
    figures = {"seconds": (loaded - started) + (done - expand_started), "load_s": loaded - started,
               "reason_s": done - expand_started, "triples": len(graph)}
    if inferred_out is not None:
        from rdflib import Literal

        added, generalised = Graph(), 0
        for triple in graph:
            if triple in before:
                continue
            if isinstance(triple[0], Literal):
                generalised += 1  # generalised RDF (a literal as subject): no RDF store can hold it
                continue
            added.add(triple)
        added.serialize(inferred_out, format="nt", encoding="utf-8")
        figures.update(inferred=len(added), literal_subjects_dropped=generalised)
    return figures


TASKS = {
    "load-coprokg": lambda a: load_coprokg(Path(a.args[0]), Path(a.args[1])),
    "load-pyoxigraph": lambda a: load_pyoxigraph(Path(a.args[0]), Path(a.args[1])),
    "import-yaml": lambda a: import_yaml(Path(a.args[0]), Path(a.args[1])),
    "materialise": lambda a: materialise(Path(a.args[0]), Path(a.args[1]) if len(a.args) > 1 else None),
    "reasonable": lambda a: reasonable_alone(Path(a.args[0])),
    "owlrl": lambda a: owlrl_alone(Path(a.args[0]), Path(a.args[1]) if len(a.args) > 1 else None),
}


def main(argv: list[str] | None = None) -> None:
    """Run one task and print {"seconds": ..., "peak_rss_mb": ..., ...} as the last line."""
    parser = argparse.ArgumentParser(prog="python -m bench.runners")
    parser.add_argument("task", choices=sorted(TASKS))
    parser.add_argument("args", nargs="*")
    parser.add_argument("--profile", type=Path, help="write the 30 costliest functions (cumulative) here")
    args = parser.parse_args(argv)
    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    figures = TASKS[args.task](args)
    if profiler:
        profiler.disable()
        with open(args.profile, "w") as out:
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
    figures["peak_rss_mb"] = _peak_rss_mb()
    sys.stdout.write(json.dumps(figures) + "\n")


if __name__ == "__main__":
    main()
