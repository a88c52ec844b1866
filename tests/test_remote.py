"""The remote backend: CoproKG's store interface over a real `oxigraph serve` process."""

from __future__ import annotations

import time

import pyoxigraph as ox
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.plugins.sparql import prepareQuery

from kg.config import ROOT
from kg.errors import QuerySyntaxError, QueryTimeout, UpdateSyntaxError
from kg.namespaces import COP, RDFS, case_graph
from kg.store import RemoteStore, bind_with_values
from tests.endpoint_support import load_update

pytestmark = pytest.mark.remote

SECURITY_RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n1 ?o . ?p ?q ?r . ?s ?t ?u }"


@pytest.fixture(scope="module")
def remote(oxigraph_server) -> RemoteStore:
    store = RemoteStore(f"{oxigraph_server}/query", f"{oxigraph_server}/update", timeout=10)
    store.update(load_update())
    yield store
    store.close()


def test_query_gives_pyoxigraph_results(remote):
    rows = remote.query(f"SELECT ?label WHERE {{ ?c <{RDFS.label}> ?label }}")
    assert isinstance(rows, ox.QuerySolutions)
    assert ox.Literal("示例助餐服务", language="zh") in {r["label"] for r in rows}
    assert bool(remote.query("ASK { ?s ?p \"杭州\"@zh }")) is True
    triples = remote.query(f"CONSTRUCT WHERE {{ ?c <{COP.city}> ?city }}")
    assert isinstance(triples, ox.QueryTriples) and len(list(triples)) == 2


def test_substitutions_bind_through_values(remote):
    query = f"SELECT ?case WHERE {{ ?case <{COP.city}> ?city }}"
    for city in (ox.Literal("上海", language="zh"), Literal("上海", lang="zh")):  # pyoxigraph or rdflib terms
        rows = remote.query(query, substitutions={"city": city})
        assert [r["case"].value for r in rows] == ["https://w3id.org/coprokg/id/case/demo-a"]
    rows = remote.query(f"SELECT ?city WHERE {{ ?case <{COP.city}> ?city }}",
                        substitutions={ox.Variable("case"): URIRef("https://w3id.org/coprokg/id/case/demo-b")})
    assert [r["city"].value for r in rows] == ["杭州"]


def test_a_bound_value_cannot_change_the_query(remote):
    sneaky = ox.Literal('"} } ; DROP ALL ; SELECT * { ?x ?y "')
    rows = remote.query(f"SELECT ?case WHERE {{ ?case <{COP.city}> ?city }}", substitutions={"city": sneaky})
    assert list(rows) == [] and len(remote) == 17


@pytest.mark.parametrize("query,inside", [
    ("SELECT ?s WHERE { ?s ?p ?o } ORDER BY ?s", True),
    ("SELECT (EXISTS { ?s ?p ?o } AS ?e) WHERE { ?s ?p ?o }", True),
    ("ASK { ?s ?p ?o }", True),
    ("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", True),
    ("CONSTRUCT WHERE { ?s ?p ?o }", False),
    ("DESCRIBE ?s WHERE { ?s ?p ?o }", True),
])
def test_values_block_lands_in_the_where_group(query, inside):
    bound = bind_with_values(query, {"o": ox.Literal("养老", language="zh")})
    algebra = str(prepareQuery(bound).algebra)  # still a well-formed query
    assert "养老" in algebra
    # Inside the WHERE group the block comes before the group's pattern; otherwise it trails the query.
    assert (bound.index("VALUES") < bound.rindex("?s ?p ?o")) is inside


def test_updates_and_graph_writes(remote):
    version = remote.version
    assert remote.version == version  # stable while nothing is written
    g = Graph()
    g.add((URIRef("http://example.org/x"), RDFS.label, Literal("远程", lang="zh")))
    remote.replace_graphs({URIRef("http://example.org/remote-test"): g})
    assert remote.version != version
    assert "http://example.org/remote-test" in remote.graph_names()
    assert remote.has_graph("http://example.org/remote-test") and not remote.has_graph("http://example.org/none")
    remote.drop_graph("http://example.org/remote-test")
    assert "http://example.org/remote-test" not in remote.graph_names()
    assert len(remote) == 17 and len(list(remote.quads())) == 17


def test_errors_are_translated(remote):
    with pytest.raises(QuerySyntaxError):
        remote.query("SELECT * WHERE { ?s ?p }")
    with pytest.raises(UpdateSyntaxError):
        remote.update("INSERT DATA { <http://e/a> }")
    assert len(remote) == 17


def test_remote_query_stops_at_the_timeout(oxigraph_server):
    store = RemoteStore(f"{oxigraph_server}/query", timeout=1)
    started = time.monotonic()
    with pytest.raises(QueryTimeout):
        store.query(SECURITY_RUNAWAY)
    assert time.monotonic() - started < 3
    store.close()


def test_case_files_load_into_the_remote_store(remote):
    from kg.load import load_cases

    case = sorted((ROOT / "cases").glob("*.yaml"))[0]
    report = load_cases(remote, [case], reason=False)
    graph = str(case_graph(report.cases[0].id))
    assert graph in remote.graph_names()
    assert bool(remote.query(f"ASK {{ GRAPH <{graph}> {{ ?case a <{COP.CoproductionCase}> }} }}"))
    remote.drop_graph(graph)
