"""Time reasonable alone, owlrl alone and CoproKG's materialisation on synthetic cases, and diff them.

Usage: .venv/bin/python tests/data/reasoning/compare_reasoners.py [TRIPLES] [--runs N] [--owlrl] [--ontology PATH]
Runs are interleaved (reasonable, ours, reasonable, ours, ...); each figure is the median, as a ratio
to reasonable's own from_graph + reason() in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import pyoxigraph as ox
import reasonable

from kg.config import Settings
from kg.namespaces import ONTOLOGY_GRAPH
from kg.reasoning import _to_rdflib, asserted_triples, entailments, materialise
from kg.store import EmbeddedStore
from bench.synthetic import cases_for_triples, synthetic_nquads
from tests.reasoning_oracles import owlrl_entailments


def main() -> None:
    """Print the timing table and whether our entailments equal owlrl's."""
    parser = argparse.ArgumentParser()
    parser.add_argument("triples", type=int, nargs="?", default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--owlrl", action="store_true", help="also run owlrl once and diff (slow)")
    parser.add_argument("--ontology", type=Path, default=Settings().ontology)
    args = parser.parse_args()

    store = EmbeddedStore(None)
    store.ox.load(path=str(args.ontology), format=ox.RdfFormat.TURTLE, to_graph=ox.NamedNode(str(ONTOLOGY_GRAPH)))
    store.ox.load(synthetic_nquads(cases_for_triples(args.triples)), format=ox.RdfFormat.N_QUADS)
    ontology, cases = asserted_triples(store)
    everything = ontology | cases
    as_rdflib = [tuple(map(_to_rdflib, t)) for t in everything]
    with tempfile.TemporaryDirectory() as tmp:
        ntriples = Path(tmp) / "all.ttl"
        ntriples.write_text("".join(f"{s} {p} {o} .\n" for s, p, o in everything), encoding="utf-8")
        print(f"asserted triples: {len(everything)}")

        def reasonable_from_graph():
            r = reasonable.PyReasoner()
            r.from_graph(as_rdflib)
            return r.reason()

        def reasonable_from_file():
            r = reasonable.PyReasoner()
            r.load_file(str(ntriples))
            return r.reason()

        timings = {"reasonable (from_graph)": [], "reasonable (load_file)": [], "ours: entailments()": [],
                   "ours: materialise(store)": []}
        cpu = {name: [] for name in timings}
        for _ in range(args.runs):
            for name, run in (("reasonable (from_graph)", reasonable_from_graph),
                              ("reasonable (load_file)", reasonable_from_file),
                              ("ours: entailments()", lambda: entailments(cases, ontology=ontology)),
                              ("ours: materialise(store)", lambda: materialise(store))):
                start, cpu_start = time.perf_counter(), time.process_time()
                run()
                timings[name].append(time.perf_counter() - start)
                cpu[name].append(time.process_time() - cpu_start)
    # CPU time is the fairer figure on a shared machine; wall time is what a user waits.
    base, cpu_base = (statistics.median(t["reasonable (from_graph)"]) for t in (timings, cpu))
    for name, values in timings.items():
        wall, used = statistics.median(values), statistics.median(cpu[name])
        print(f"{name:26s} wall {wall:6.2f} s ({wall / base:4.2f}x)  cpu {used:6.2f} s ({used / cpu_base:4.2f}x)  "
              f"wall runs {', '.join(f'{v:.2f}' for v in values)}")
    ours = entailments(cases, ontology=ontology)
    print(f"our non-trivial entailments: {len(ours)}")
    if args.owlrl:
        start, cpu_start = time.perf_counter(), time.process_time()
        reference = owlrl_entailments(everything)
        wall, used = time.perf_counter() - start, time.process_time() - cpu_start
        print(f"{'owlrl (once)':26s} wall {wall:6.2f} s ({wall / base:4.2f}x)  "
              f"cpu {used:6.2f} s ({used / cpu_base:4.2f}x)")
        print(f"owlrl entailments: {len(reference)}; missing from ours: {len(reference - ours)}; "
              f"extra in ours: {len(ours - reference)}")


if __name__ == "__main__":
    main()
