"""Parameter binding: a VALUES block opening WHERE, same rows as pyoxigraph's substitutions, and the engine uses it first."""

from __future__ import annotations


import pyoxigraph as ox
import pytest

from kg.config import Settings
from kg.queries import load_library
from kg.store import EmbeddedStore, bind_up_front
from bench.synthetic import synthetic_nquads

LIBRARY = load_library(Settings().queries)


def _values_to_try(query) -> list[dict[str, str]]:
    """Example values, defaults only, and each enumerated value alone: the ways the API is called."""
    examples = {p.name: p.example for p in query.parameters if p.example is not None}
    required = {p.name: p.example for p in query.parameters if p.required}
    tries = [examples, required]
    for param in query.parameters:
        tries += [{**required, param.name: value} for value in param.values]
    return tries


def _rows(solutions) -> list[tuple]:
    return sorted(tuple(str(solution[v]) for v in solutions.variables) for solution in solutions)


@pytest.mark.parametrize("name", sorted(LIBRARY.queries))
def test_values_first_gives_the_rows_that_substitutions_give(shipped_store, name):
    query = LIBRARY.get(name)
    answered = 0
    for values in _values_to_try(query):
        bindings = query.bind(values)
        ours = _rows(shipped_store.query(query.text, substitutions=bindings))
        engines = _rows(shipped_store.ox.query(query.text, use_default_graph_as_union=True,
                                               substitutions=bindings or None))
        assert ours == engines, values
        answered += bool(ours)
    assert answered  # at least one way of calling it has rows on the shipped data


class RecordingOx:
    """The real pyoxigraph store, with the text and options of each query call noted (still executed)."""

    def __init__(self, store: ox.Store) -> None:
        self.store, self.calls = store, []

    def query(self, text, **options):
        self.calls.append((text, options.get("substitutions")))
        return self.store.query(text, **options)

    def __getattr__(self, name):
        return getattr(self.store, name)


@pytest.fixture()
def recorded():
    store = EmbeddedStore(None)
    store.ox.load(synthetic_nquads(20, seed=0), format=ox.RdfFormat.N_QUADS)
    store.ox = RecordingOx(store.ox)
    return store


def test_a_named_querys_values_open_its_where_group(recorded):
    query = LIBRARY.get("case_modes")
    rows = list(recorded.query(query.text, substitutions=query.bind({"mode": "cop:SharingAssisted", "lang": "zh"})))
    assert rows == []  # no inferred graph here: what matters is how the query reached the engine
    [(text, substitutions)] = recorded.ox.calls
    # Substituted as well, so the values also reach groups a VALUES block does not scope over (nested OPTIONAL).
    assert {v.value: t.value for v, t in substitutions.items()} == {
        "mode": "https://w3id.org/coprokg/ontology#SharingAssisted", "lang": "zh"}
    opening = text[text.index("WHERE {") + len("WHERE {"):].lstrip()
    assert opening.startswith('VALUES (?mode ?lang) { (<https://w3id.org/coprokg/ontology#SharingAssisted> "zh") }')


def test_a_bind_target_falls_back_to_substitution(recorded):
    sparql = "SELECT ?s ?kind WHERE { ?s a ?type BIND(STR(?type) AS ?kind) }"
    kind = ox.Literal("https://w3id.org/coprokg/ontology#CoproductionCase")
    rows = list(recorded.query(sparql, substitutions={"kind": kind}))
    assert len(rows) == 20 and all(row["kind"] == kind for row in rows)
    assert ["VALUES" in text for text, _ in recorded.ox.calls] == [True, False]  # VALUES refused, then substituted


def test_a_variable_outside_the_projection_is_still_bound(recorded):
    sparql = "SELECT ?s WHERE { ?s a ?type }"
    rows = list(recorded.query(sparql, substitutions={"type": ox.NamedNode("https://w3id.org/coprokg/ontology#CoproductionCase")}))
    assert len(rows) == 20


def test_blank_nodes_and_construct_where_are_left_to_substitution():
    blank = {"x": ox.BlankNode("b0")}
    assert bind_up_front("SELECT ?x WHERE { ?x ?p ?o }", blank) is None
    assert bind_up_front("CONSTRUCT WHERE { ?x ?p ?o }", {"x": ox.NamedNode("http://example.org/a")}) is None
    hostile = ox.Literal('"} UNION { ?s ?p ?o } #')
    bound = bind_up_front("SELECT ?x WHERE { ?x ?p ?o }", {"o": hostile})
    assert bound == 'SELECT ?x WHERE { VALUES (?o) { ("\\"} UNION { ?s ?p ?o } #") }  ?x ?p ?o }'


def test_execute_binds_values_first_and_falls_back_for_a_bind_target(recorded):
    formats = {"solutions": "application/sparql-results+json"}
    bound = {"kind": ox.Literal("https://w3id.org/coprokg/ontology#CoproductionCase")}
    output = recorded.execute("SELECT ?s ?kind WHERE { ?s a ?t BIND(STR(?t) AS ?kind) }", formats, substitutions=bound)
    assert output.read().count(b'"kind"') == 21  # the head names it once, then 20 rows


@pytest.fixture(scope="module")
def remote_copy(shipped_store, tmp_path_factory):
    """A real `oxigraph serve` holding a copy of the shipped store, reached as CoproKG's RemoteStore."""
    from kg.store import RemoteStore
    from tests.endpoint_support import start_oxigraph_server

    directory = tmp_path_factory.mktemp("remote-copy")
    copy = ox.Store(str(directory))
    copy.extend(shipped_store.quads())
    copy.flush()
    del copy  # releases the store's lock for the server
    process, url = start_oxigraph_server(directory)
    store = RemoteStore(f"{url}/query", timeout=10)
    yield store
    store.close()
    process.terminate()
    process.wait(timeout=10)


@pytest.mark.remote
@pytest.mark.parametrize("name", sorted(LIBRARY.queries))
def test_a_remote_store_bound_by_values_alone_gives_the_same_rows(shipped_store, remote_copy, name):
    query = LIBRARY.get(name)
    for values in _values_to_try(query):
        bindings = query.bind(values)
        assert _rows(remote_copy.query(query.text, substitutions=bindings)) == \
            _rows(shipped_store.query(query.text, substitutions=bindings)), values


@pytest.mark.remote
def test_a_remote_bind_target_is_bound_by_a_trailing_values(shipped_store, remote_copy):
    sparql = "SELECT ?s ?kind WHERE { ?s a ?type BIND(STR(?type) AS ?kind) }"
    kind = {"kind": ox.Literal("https://w3id.org/coprokg/ontology#CoproductionCase")}
    rows = _rows(remote_copy.query(sparql, substitutions=kind))
    assert rows and rows == _rows(shipped_store.query(sparql, substitutions=kind))
