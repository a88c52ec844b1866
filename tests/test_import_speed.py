"""The fast import path: libyaml and single mapping reach the slow path's verdicts."""

from __future__ import annotations

import datetime as dt

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdflib import Literal
from rdflib.namespace import DCTERMS, RDF

from bench.yaml_cases import write_yaml_cases
from kg import cases as cf
from kg.config import ROOT
from kg.load import load_cases
from kg.namespaces import COP, ID, case_graph
from kg.store import EmbeddedStore
from kg.validate import check_case, shacl_problems, validate_paths

SHIPPED = sorted((ROOT / "cases").glob("*.yaml"))
MEAL_CENTRE = ROOT / "cases" / "hangzhou-community-meal-centre.yaml"
SYNTHETIC_CASES = 300


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """A folder of seeded synthetic YAML cases, as the benchmark imports them."""
    return write_yaml_cases(tmp_path_factory.mktemp("synthetic"), SYNTHETIC_CASES, seed=7)


def plain(result: tuple[list[cf.Node], list[cf.Problem]]) -> tuple:
    """Turn located documents and problems into comparable plain values."""

    def node(n: cf.Node):
        value = n.value
        if isinstance(value, list):
            value = [node(item) for item in value]
        elif isinstance(value, dict):
            value = {key: node(item) for key, item in value.items()}
        return repr(value), str(n.where), n.label

    documents, problems = result
    return [node(d) for d in documents], [str(p) for p in problems]


def test_case_files_take_the_libyaml_path_and_read_as_before(synthetic):
    for path in [*SHIPPED, *sorted(synthetic.glob("*.yaml"))[:40]]:
        text = path.read_text(encoding="utf-8")
        assert cf.NEEDS_PYTHON_LOADER.search(text) is None, path  # nothing sends them to the slow path
        assert plain(cf.parse_yaml_text(text, "f.yaml")) == plain(cf._parse_yaml_text_in_python(text, "f.yaml"))


PIECES = st.sampled_from([*"ab:- []{},'\"#&*!|>?%@`0123.e+", "é", "中", "\t", "\ufeff", "\u2028", "2019-01-01",
                          "2019-13-45", "true", "yes", "null", "~", "0x1f", ".inf", "1_000", "!!str ", "!!int ", "!",
                          "&x ", "*x", "<<: *x", "\n", "\n  ", "\n- ", "|\n  ", ">-\n  ", "|#", "'it''s'", "---"])
LINES = st.tuples(st.sampled_from(["", "  ", "- ", "  - "]), st.sampled_from(["id", "name", "en", "1", "'q'", "true"]),
                  st.lists(PIECES, max_size=8).map("".join)).map(lambda t: f"{t[0]}{t[1]}: {t[2]}")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.lists(LINES, min_size=1, max_size=8).map("\n".join), st.text(max_size=40)))
def test_libyaml_and_the_python_loader_agree_on_odd_yaml(text):
    assert plain(cf.parse_yaml_text(text, "r.yaml")) == plain(cf._parse_yaml_text_in_python(text, "r.yaml"))


def meal_centre_triples() -> list[cf.Triple]:
    """The content triples of one shipped case, as validation maps them."""
    (document,), _ = cf.read_case_file(MEAL_CENTRE)
    return cf.case_triples(check_case(document, "meal.yaml", []))


MEAL_TRIPLES = meal_centre_triples()
SHAPES_HEAD = """
@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix cop: <https://w3id.org/coprokg/ontology#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
"""


def test_pyshacl_judges_the_shapes_file_it_is_given(tmp_path):
    shapes = tmp_path / "shapes.ttl"
    shapes.write_text(SHAPES_HEAD + """[] a sh:NodeShape ; sh:targetClass cop:CoproductionCase ;
        sh:property [ sh:path cop:city ; sh:pattern "^Z" ; sh:message "the city starts with Z" ] .""",
                      encoding="utf-8")
    messages = [p.message for p in shacl_problems(MEAL_TRIPLES, shapes)]
    assert messages and set(messages) == {"the city starts with Z"}


def test_the_loaded_case_graphs_are_exactly_the_mapped_ones():
    # The loader writes the triples validation mapped; writing case_rdf's Graphs must give the same store.
    now = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc)
    loaded, written = EmbeddedStore(None), EmbeddedStore(None)
    report = load_cases(loaded, SHIPPED, reason=False, now=now)
    written.replace_graphs({case_graph(case.id): cf.case_rdf(case, now) for case in report.cases})
    assert len(report.cases) == len(SHIPPED)
    for case in report.cases:
        graph = ox.NamedNode(str(case_graph(case.id)))
        stored = set(loaded.ox.quads_for_pattern(None, None, None, graph))
        assert stored == set(written.ox.quads_for_pattern(None, None, None, graph)) and len(stored) > 50


def test_mapped_triples_are_each_given_once():
    assert len(MEAL_TRIPLES) == len(set(MEAL_TRIPLES)) == len(cf.content_graph(
        validate_paths([MEAL_CENTRE]).cases[0]))
    assert (ID["case/hangzhou-community-meal-centre"], DCTERMS.identifier,
            Literal("hangzhou-community-meal-centre")) in MEAL_TRIPLES
    assert (ID["case/hangzhou-community-meal-centre"], RDF.type, COP.CoproductionCase) in MEAL_TRIPLES


def test_generated_cases_validate_cleanly_through_the_fast_yaml_path(synthetic):
    # The benchmark's generated cases must pass the same checks the shipped ones do (speed is in make bench).
    report = validate_paths([synthetic])
    assert report.problems == [] and len(report.cases) == SYNTHETIC_CASES
