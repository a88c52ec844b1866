"""The benchmark harness measures what it claims: valid synthetic cases, equal answers, honest verdicts."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pyoxigraph as ox
import pytest

from bench.completeness import compare_inferences
from bench.latency import Client
from bench.report import Figure, Results, Target, write_markdown
from bench.servers import MemorySampler, process_tree, start_oxigraph
from bench.workloads import bound_text, shape_workloads
from bench.yaml_cases import synthetic_case, write_yaml_cases
from kg.queries import load_named_query
from bench.synthetic import synthetic_nquads
from kg.validate import validate_paths

NAMED_QUERY = """#+ summary: Cases in a city, by label language
#+ summary_zh: 某城市的案例
#+ description: Lists cases of one city with their labels in one language.
#+ description_zh: 列出某城市的案例及其某语言的名称。
#+ param: city | literal | datatype=rdf:langString | required | example=Wuhan@en
#+ param: lang | language | optional | default=en
PREFIX cop: <https://w3id.org/coprokg/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?case ?label ?city ?lang WHERE {
  ?case cop:city ?city ; rdfs:label ?label .
  FILTER(LANG(?label) = ?lang)
} ORDER BY ?case
"""


@pytest.fixture(scope="module")
def synthetic_store() -> ox.Store:
    """An in-memory store of 300 synthetic cases (seed 0)."""
    store = ox.Store()
    store.load(synthetic_nquads(300, seed=0), format=ox.RdfFormat.N_QUADS)
    return store


def test_synthetic_yaml_cases_pass_the_importers_validation(tmp_path):
    cases = write_yaml_cases(tmp_path / "cases", 6, seed=3)
    report = validate_paths([cases])
    assert report.errors == [] and len(report.cases) == 6
    assert all(case.illustrative for case in report.cases)
    assert "SYNTHETIC BENCHMARK CASE" in next(cases.glob("*.yaml")).read_text(encoding="utf-8")


def test_synthetic_yaml_cases_are_seeded():
    first = [synthetic_case(i, rng, 7) for rng in [random.Random(7)] for i in range(3)]
    again = [synthetic_case(i, rng, 7) for rng in [random.Random(7)] for i in range(3)]
    other = [synthetic_case(i, rng, 8) for rng in [random.Random(8)] for i in range(3)]
    assert first == again and first != other


def test_bound_text_gives_the_rows_that_substitutions_give(tmp_path, synthetic_store):
    path = tmp_path / "city_cases.rq"
    path.write_text(NAMED_QUERY, encoding="utf-8")
    query = load_named_query(path)
    bindings = query.bind({"city": "Wuhan@en"})
    substituted = [tuple(map(str, row)) for row in synthetic_store.query(
        query.text, use_default_graph_as_union=True, substitutions=bindings)]
    textual = [tuple(map(str, row)) for row in synthetic_store.query(
        bound_text(query, bindings), use_default_graph_as_union=True)]
    assert substituted and textual == substituted  # the FILTER sees ?lang in both


def test_every_generic_shape_answers_on_synthetic_data(synthetic_store):
    rows = {w.name: len(list(synthetic_store.query(w.sparql, use_default_graph_as_union=True)))
            for w in shape_workloads(300 * 100)}
    assert rows["point lookup"] >= 15  # the middle case exists, with its own facts
    assert all(count > 0 for count in rows.values()), rows


def test_verdicts_follow_the_targets(tmp_path):
    slow = Figure("latency", "q", "1M", "ms", {"CoproKG": 3.2, "oxigraph serve": 2.0}, baseline="oxigraph serve",
                  target=Target(1.5))
    fast = Figure("throughput", "q", "1M", "req/s", {"CoproKG": 300.0, "oxigraph serve": 1000.0},
                  baseline="oxigraph serve", target=Target(0.25, at_most=False))
    absolute = Figure("yaml", "import", "1k", "s", {"CoproKG": 31.0}, target=Target(30, unit="s"))
    assert slow.verdict == "MISS" and fast.verdict == "PASS" and absolute.verdict == "MISS"
    results = Results(settings={})
    for figure in (slow, fast, absolute):
        results.add(figure)
    text = write_markdown(results, tmp_path / "results.md").read_text(encoding="utf-8")
    assert "**Targets: 1 of 3 met.**" in text and "| 1.60× | ≤ 1.5× | MISS |" in text


def test_completeness_ignores_only_reflexive_same_as(tmp_path):
    asserted = tmp_path / "in.nt"
    asserted.write_text("<urn:a> <urn:p> <urn:b> .\n")
    owlrl = tmp_path / "owlrl.nt"
    owlrl.write_text("<urn:a> <http://www.w3.org/2002/07/owl#sameAs> <urn:a> .\n<urn:b> <urn:q> <urn:a> .\n"
                     "<urn:c> <urn:q> <urn:a> .\n")
    ours = tmp_path / "ours.nt"
    ours.write_text("<urn:b> <urn:q> <urn:a> .\n<urn:a> <urn:p> <urn:b> .\n")
    comparison = compare_inferences(asserted, owlrl, ours)
    assert comparison.missing == [("<urn:c>", "<urn:q>", "<urn:a>")] and comparison.extra == []
    assert not comparison.equal


@pytest.mark.remote
def test_oxigraph_serve_answers_and_its_memory_is_read(tmp_path, synthetic_store):
    store_dir = tmp_path / "store"
    on_disk = ox.Store(str(store_dir))
    on_disk.extend(synthetic_store)
    on_disk.flush()
    del on_disk
    server = start_oxigraph(store_dir, tmp_path / "oxigraph.log")
    sampler = MemorySampler(server.process.pid, interval_s=0.01).start()
    client = Client(server)
    try:
        lookup = shape_workloads(300 * 100)[0]
        status, body = client.get(server.query_url(lookup.sparql))
        memory = sampler.stop()
    finally:
        client.close()
        server.stop()
    assert status == 200 and b'"bindings"' in body
    assert memory["hwm_sum_mb"] > 1 and memory["sampled_peak_mb"] > 1


SHARED_TREE = r'''
import os, sys, time
shared = bytearray(120 * 1024 * 1024)
for i in range(0, len(shared), 4096):
    shared[i] = 1  # touch every page so it is resident before the forks share it
for _ in range(3):
    if os.fork() == 0:
        time.sleep(60); os._exit(0)
print("ready", flush=True)
time.sleep(60)
'''


def test_memory_sampler_sums_pss_so_shared_pages_count_once():
    tree = subprocess.Popen([sys.executable, "-c", SHARED_TREE], stdout=subprocess.PIPE, start_new_session=True)
    try:
        assert tree.stdout.readline().strip() == b"ready"
        deadline = time.monotonic() + 10
        while len(process_tree(tree.pid)) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        sampler = MemorySampler(tree.pid, interval_s=0.01).start()
        time.sleep(0.3)
        memory = sampler.stop()
    finally:
        os.killpg(tree.pid, signal.SIGKILL)
        tree.wait()
    # Four processes each map the 120 MB buffer: summed RSS counts it four times, summed PSS once.
    assert memory["sampled_peak_mb"] > 4 * 115 and memory["hwm_sum_mb"] > 4 * 115
    assert 115 < memory["pss_peak_mb"] < 120 + 4 * 40
    assert memory["samples"] >= 1
