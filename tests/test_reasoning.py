"""OWL 2 RL materialisation (reasonable + supplementary rules) and HermiT and Pellet classification, on real stores."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
from rdflib import Graph
from rdflib.namespace import OWL, RDF, RDFS

from kg.config import Settings
from kg.errors import InconsistentOntology, ReasoningError
from kg.namespaces import COP, INFERRED_GRAPH, ONTOLOGY_GRAPH, case_graph, case_iri
from kg.reasoning import (
    MODE_CLASSES,
    _NotLocal,
    _reason_in_batches,
    asserted_triples,
    entailments,
    materialise,
    nt,
)
from kg.store import EmbeddedStore
from reasoning_oracles import hermit_modes, owlrl_entailments, pellet_modes, rdflib_triples, rl_modes
from bench.synthetic import generate_nquads, synthetic_nquads
from tests.conftest import DATA

REASONING = DATA / "reasoning"
EXPECTED_MODES = {
    str(case_iri("t-absorb")): {str(COP.AdministrativeAbsorptionCase)},
    str(case_iri("t-charisma")): {str(COP.AuthoritativeCharismaticCase)},
    str(case_iri("t-complement")): {str(COP.ComplementaryAdvantageCase)},
    str(case_iri("t-sharing")): {str(COP.SharingAssistedCase)},
}
PREFIXES = f"PREFIX cop: <{COP}>\nPREFIX owl: <http://www.w3.org/2002/07/owl#>\n"


def _store_with_test_cases() -> EmbeddedStore:
    store = EmbeddedStore(None)
    store.ox.load(path=str(Settings().ontology), format=ox.RdfFormat.TURTLE,
                  to_graph=ox.NamedNode(str(ONTOLOGY_GRAPH)))
    store.ox.load(path=str(REASONING / "cases.trig"), format=ox.RdfFormat.TRIG)
    return store


@pytest.fixture(scope="module")
def reasoned():
    """The real ontology + four test cases, materialised once; read-only."""
    store = _store_with_test_cases()
    count = materialise(store)
    return store, count


def _values(store, query: str) -> set[str]:
    return {row[0].value for row in store.query(PREFIXES + query)}


def _ask(store, query: str) -> bool:
    return bool(store.query(PREFIXES + query))


def test_each_case_gets_exactly_its_mode(reasoned):
    store, _ = reasoned
    assert rl_modes(store) == EXPECTED_MODES
    for case, (mode_class,) in EXPECTED_MODES.items():
        mode = mode_class.removesuffix("Case")
        assert _values(store, f"SELECT ?m {{ <{case}> cop:hasMode ?m }}") == {mode}


def test_property_chain_links_are_materialised_in_the_inferred_graph(reasoned):
    store, _ = reasoned
    # cop:supportsOutcome = employsStrategy o yieldsOutcome, which reasonable alone skips.
    expected = _values(store, "SELECT ?o { cop:EmergenceMechanism cop:employsStrategy/cop:yieldsOutcome ?o }")
    assert len(expected) == 4
    inferred = _values(
        store, f"SELECT ?o {{ GRAPH <{INFERRED_GRAPH}> {{ cop:EmergenceMechanism cop:supportsOutcome ?o }} }}")
    assert inferred == expected
    # The case-level chain: involvesActor = hasParticipation o participant (t-charisma never asserts it).
    firm = str(case_iri("t-charisma")) + "/actor/firm"
    assert _values(store, f"SELECT ?a {{ <{case_iri('t-charisma')}> cop:involvesActor ?a }}") == {firm}


def test_inverse_and_defined_sector_classes_are_derived(reasoned):
    store, _ = reasoned
    participation = str(case_iri("t-charisma")) + "/participation/firm"
    assert _values(store, f"SELECT ?p {{ <{case_iri('t-charisma')}> cop:hasParticipation ?p }}") == {participation}
    sector_class = {"office": COP.GovernmentActor, "firm": COP.MarketActor, "ngo": COP.SocialOrganisation,
                    "family": COP.FamilyActor}
    rows = store.query(PREFIXES + "SELECT ?a ?c { ?a a cop:Actor ; a ?c . VALUES ?c { cop:GovernmentActor "
                       "cop:MarketActor cop:SocialOrganisation cop:FamilyActor } }")
    assert {(r["a"].value.rsplit("/", 1)[1], r["c"].value) for r in rows} == {
        (actor, str(c)) for actor, c in sector_class.items()}


def test_inferred_graph_has_no_noise_and_repeats_nothing_asserted(reasoned):
    store, count = reasoned
    inferred = f"GRAPH <{INFERRED_GRAPH}>"
    assert count == len(list(store.ox.quads_for_pattern(None, None, None, ox.NamedNode(str(INFERRED_GRAPH)))))
    assert count > 100
    assert not _ask(store, f"ASK {{ {inferred} {{ ?x owl:sameAs ?x }} }}")
    assert not _ask(store, f"ASK {{ {inferred} {{ ?x a owl:Thing }} }}")
    assert not _ask(store, f"ASK {{ {inferred} {{ ?x ?p ?y FILTER(isBlank(?x) || isBlank(?y)) }} }}")
    assert not _ask(store, f"ASK {{ {inferred} {{ ?x ?p ?y FILTER(STRSTARTS(STR(?x), STR(owl:))) }} }}")
    assert not _ask(store, f"ASK {{ {inferred} {{ ?s ?p ?o }} GRAPH ?g {{ ?s ?p ?o }} FILTER(?g != <{INFERRED_GRAPH}>) }}")


def test_a_second_run_replaces_the_inferred_graph():
    store = _store_with_test_cases()
    first = materialise(store)
    stale = f"<{case_iri('t-sharing')}> <{COP.hasMode}> <{COP.AdministrativeAbsorption}>"
    store.update(f"INSERT DATA {{ GRAPH <{INFERRED_GRAPH}> {{ {stale} }} }}")
    store.update(f"DROP GRAPH <{case_graph('t-sharing')}>")
    second = materialise(store)
    assert second < first
    assert not _ask(store, f"ASK {{ {stale} }}")
    assert not _ask(store, f"ASK {{ <{case_iri('t-sharing')}> ?p ?o }}")  # its inferences went with it
    quads = set(store.ox.quads_for_pattern(None, None, None, ox.NamedNode(str(INFERRED_GRAPH))))
    assert materialise(store) == second == len(quads)
    assert set(store.ox.quads_for_pattern(None, None, None, ox.NamedNode(str(INFERRED_GRAPH)))) == quads


@pytest.fixture(scope="module")
def generated():
    """The real ontology and five generated cases, with owlrl's entailments of them (slow: computed once)."""
    ontology = rdflib_triples(Graph().parse(Settings().ontology))
    cases = {line.rsplit(" ", 2)[0] for line in generate_nquads(5, seed=7)}
    cases = {tuple(spo.split(" ", 2)) for spo in cases}
    return ontology, cases, owlrl_entailments(ontology | cases)


def test_entailments_equal_owlrl_on_generated_cases(generated):
    ontology, cases, reference = generated
    ours = entailments(cases, ontology=ontology)
    assert ours == reference
    chained = (nt(COP.SurvivalMechanism), nt(COP.supportsOutcome), nt(COP.CollectiveSurvivalSecured))
    assert chained in ours


def test_entailments_equal_owlrl_on_every_rule_example():
    triples = rdflib_triples(Graph().parse(REASONING / "rules.ttl"))
    ours = entailments(triples)
    assert ours == owlrl_entailments(triples)

    def has(s, p, o):
        return (f"<https://example.org/rules#{s}>", p, f"<https://example.org/rules#{o}>") in ours

    same_as = nt(OWL.sameAs)
    assert has("ann", "<https://example.org/rules#grandAunt>", "dora")  # prp-spo2, three links
    assert has("r1", same_as, "r2") and has("h1", same_as, "h2")  # prp-key, cls-maxc2
    nickname = ("<https://example.org/rules#gustav>", "<https://example.org/rules#nickname>", '"G"')
    assert nickname in ours  # a passive triple, copied along owl:sameAs


def test_reasoner_failure_is_a_reasoning_error():
    with pytest.raises(ReasoningError, match="reasonable"):
        # rdf:type, so the triple is not passive and reaches reasonable, which rejects the relative IRI.
        entailments({("<no-scheme>", "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>", "<http://example.org/C>")})


def test_literals_are_spelled_as_oxigraph_spells_them():
    from kg.reasoning import _to_rdflib

    tricky = 'tab\there "quoted" \\ back\nline\r \x01 \x7f 中文 \u2028'
    for literal in (ox.Literal(tricky), ox.Literal(tricky, language="zh-hans"),
                    ox.Literal("2019-01-01", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#date"))):
        assert nt(_to_rdflib(str(literal))) == str(literal)
        assert nt(_to_rdflib(str(literal), for_reasoner=True)) == str(literal)


@pytest.mark.reasoner
def test_hermit_agrees_with_owl_rl_on_test_cases(reasoned):
    store, _ = reasoned
    ontology, cases = asserted_triples(store)
    assert hermit_modes(ontology | cases) == rl_modes(store) == EXPECTED_MODES


@pytest.mark.reasoner
def test_hermit_reports_inconsistent_cases():
    store = _store_with_test_cases()
    ontology, cases = asserted_triples(store)
    # cop:inSector is functional and the sectors are all different: one actor in two sectors is a contradiction.
    firm = f"<{case_iri('t-charisma')}/actor/firm>"
    cases.add((firm, nt(COP.inSector), nt(COP.StateSector)))
    with pytest.raises(InconsistentOntology, match="inconsistent"):
        hermit_modes(ontology | cases)


@pytest.mark.reasoner
def test_hermit_and_pellet_agree_with_owl_rl_on_shipped_cases(shipped_store):
    modes = rl_modes(shipped_store)
    assert len(modes) >= 4
    assert all(len(classes) == 1 for classes in modes.values()), modes
    assert {c for classes in modes.values() for c in classes} == {str(c) for c in MODE_CLASSES}
    ontology, cases = asserted_triples(shipped_store)
    # Pellet raises InconsistentOntology where it finds ontology + cases inconsistent.
    assert hermit_modes(ontology | cases) == pellet_modes(ontology | cases) == modes


@pytest.mark.reasoner
def test_pellet_agrees_with_hermit_on_test_cases(reasoned):
    store, _ = reasoned
    ontology, cases = asserted_triples(store)
    cases.add((f"<{case_iri('t-sharing')}>", nt(COP.city), '"Ningbo"@en'))  # a tagged text value, as in real cases
    assert pellet_modes(ontology | cases) == EXPECTED_MODES


@pytest.mark.reasoner
def test_pellet_refuses_a_tagged_literal_under_a_lang_string_range():
    """Why the text properties' range is rdf:PlainLiteral: under rdf:langString Pellet proves "Ningbo"@en
    is outside the range, so the ontology with any case would be inconsistent for Pellet users."""
    store = _store_with_test_cases()
    ontology, cases = asserted_triples(store)
    range_ = (nt(COP.city), nt(RDFS.range))
    assert (*range_, nt(RDF.PlainLiteral)) in ontology
    cases.add((f"<{case_iri('t-sharing')}>", nt(COP.city), '"Ningbo"@en'))
    with pytest.raises(InconsistentOntology, match="Pellet"):
        pellet_modes(ontology - {(*range_, nt(RDF.PlainLiteral))} | {(*range_, nt(RDF.langString))} | cases)


def test_synthetic_cases_are_seeded_illustrative_and_well_formed():
    assert list(generate_nquads(5, seed=3)) == list(generate_nquads(5, seed=3))
    assert list(generate_nquads(5, seed=3)) != list(generate_nquads(5, seed=4))
    store = ox.Store()
    store.load(synthetic_nquads(50, seed=1), format=ox.RdfFormat.N_QUADS)
    assert 50 * 60 <= len(store) <= 50 * 120
    assert len(list(store.named_graphs())) == 50
    rows = store.query(f"SELECT (COUNT(?c) AS ?n) WHERE {{ GRAPH ?g {{ ?c a <{COP.CoproductionCase}> ; "
                       f"<{COP.isIllustrative}> true }} }}", use_default_graph_as_union=True)
    assert int(next(rows)[0].value) == 50


def test_a_literal_rdflib_would_respell_is_not_reported_as_inferred():
    store = EmbeddedStore(None)
    store.update(f"""PREFIX : <https://example.org/rules#>
        INSERT DATA {{ GRAPH <{case_graph('t-dates')}> {{
            :born <http://www.w3.org/2000/01/rdf-schema#subPropertyOf> :dated .
            :hal :born "2024-01-01T00:00:00Z"^^<http://www.w3.org/2001/XMLSchema#dateTime> }} }}""")
    materialise(store)
    rows = store.query(f"SELECT ?p ?o WHERE {{ GRAPH <{INFERRED_GRAPH}> {{ <https://example.org/rules#hal> ?p ?o }} }}")
    assert {(r["p"].value, str(r["o"])) for r in rows} == {
        ("https://example.org/rules#dated", '"2024-01-01T00:00:00Z"^^<http://www.w3.org/2001/XMLSchema#dateTime>')}


# --- reasoning in batches ------------------------------------------------------------------------------

def _inferred(store) -> set[tuple[str, str, str]]:
    graph = ox.NamedNode(str(INFERRED_GRAPH))
    quads = store.ox.quads_for_pattern(None, None, None, graph)
    return {(str(q.subject), str(q.predicate), str(q.object)) for q in quads}


def _storable(triples) -> set[tuple[str, str, str]]:
    return {t for t in triples if t[0][0] != "_" and t[2][0] != "_"}


def _synthetic_store(cases: int) -> EmbeddedStore:
    store = EmbeddedStore(None)
    store.ox.load(path=str(Settings().ontology), format=ox.RdfFormat.TURTLE, to_graph=ox.NamedNode(str(ONTOLOGY_GRAPH)))
    store.ox.load(synthetic_nquads(cases, seed=7), format=ox.RdfFormat.N_QUADS)
    return store


def test_one_graph_per_batch_stores_exactly_owlrls_entailments(generated):
    ontology, cases, reference = generated
    store = _synthetic_store(5)  # the same five cases, one graph each
    _reason_in_batches(store, 1)  # independent cases: no fallback to one run over everything
    assert materialise(store, batch_triples=1) == len(_inferred(store))
    assert _inferred(store) == _storable(reference)


def test_batches_are_exact_when_cases_come_and_go():
    store = _synthetic_store(12)
    one_run = EmbeddedStore(None)
    one_run.ox.extend(store.ox)
    materialise(one_run, batch_triples=10**9)
    materialise(store, batch_triples=300)  # a few cases per batch
    assert _inferred(store) == _inferred(one_run)
    # A second run writes only the difference, and must still end with exactly the fresh result.
    store.update(f"DROP GRAPH <{case_graph('synthetic-0000003')}>")
    store.update(f"INSERT DATA {{ GRAPH <{INFERRED_GRAPH}> {{ _:b <{COP.hasMode}> <{COP.SharingAssisted}> }} }}")
    materialise(store, batch_triples=300)
    fresh = EmbeddedStore(None)
    fresh.ox.extend(q for q in store.ox if q.graph_name != ox.NamedNode(str(INFERRED_GRAPH)))
    materialise(fresh)
    assert _inferred(store) == _inferred(fresh)
    assert not any(str(case_iri("synthetic-0000003")) in s for s, _, _ in _inferred(store))


RULES = "@prefix ex: <https://example.org/b#> . @prefix owl: <http://www.w3.org/2002/07/owl#> . " \
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> . "
# Each: ontology graph, two case graphs, and an entailment that needs a triple from each case graph.
LINKED_BATCHES = {
    "functional property of a shared individual (prp-fp)": (
        "ex:f a owl:ObjectProperty, owl:FunctionalProperty . ex:hub a ex:Place .",
        "ex:hub ex:f ex:a .", "ex:hub ex:f ex:b .", ("a", "http://www.w3.org/2002/07/owl#sameAs", "b")),
    "transitive property through a shared individual (prp-trp)": (
        "ex:t a owl:TransitiveProperty . ex:hub a ex:Place .",
        "ex:x ex:t ex:hub .", "ex:hub ex:t ex:z .", ("x", "t", "z")),
    "property chain through a shared individual (prp-spo2)": (
        "ex:c owl:propertyChainAxiom ( ex:p ex:q ) . ex:hub a ex:Place .",
        "ex:x ex:p ex:hub .", "ex:hub ex:q ex:z .", ("x", "c", "z")),
    "entailed type of a shared individual (cls-svf1)": (
        "ex:R owl:onProperty ex:p ; owl:someValuesFrom ex:D . ex:r rdfs:range ex:D . ex:hub a ex:Place .",
        "ex:x ex:p ex:hub .", "ex:y ex:r ex:hub .", ("x", "http://www.w3.org/1999/02/22-rdf-syntax-ns#type", "R")),
    "at most one value of a shared individual (cls-maxc2)": (
        "ex:R owl:onProperty ex:m ; owl:maxCardinality 1 . ex:hub a ex:R .",
        "ex:hub ex:m ex:a .", "ex:hub ex:m ex:b .", ("a", "http://www.w3.org/2002/07/owl#sameAs", "b")),
    "individual named in two case graphs": (
        "ex:c owl:propertyChainAxiom ( ex:p ex:q ) .",
        "ex:x ex:p ex:n .", "ex:n ex:q ex:z .", ("x", "c", "z")),
    "schema triple in one case graph, its property used in another": (
        "ex:Place a owl:Class .",
        "ex:born rdfs:subPropertyOf ex:dated .", 'ex:hal ex:born ex:y2024 .', ("hal", "dated", "y2024")),
    "restriction in a case graph on a shared class (cls-svf1)": (
        "ex:r rdfs:range ex:D . ex:hub a ex:Place .",
        "ex:R owl:onProperty ex:p ; owl:someValuesFrom ex:D . ex:x ex:p ex:hub .", "ex:y ex:r ex:hub .",
        ("x", "http://www.w3.org/1999/02/22-rdf-syntax-ns#type", "R")),
    "shared property made transitive in a case graph (prp-trp)": (
        "ex:t a owl:ObjectProperty . ex:hub a ex:Place .",
        "ex:t a owl:TransitiveProperty . ex:x ex:t ex:hub .", "ex:hub ex:t ex:z .", ("x", "t", "z")),
    "key shared by two case graphs (prp-key)": (
        "ex:Person owl:hasKey ( ex:id ) .",
        'ex:a a ex:Person ; ex:id "7" .', 'ex:b a ex:Person ; ex:id "7" .',
        ("a", "http://www.w3.org/2002/07/owl#sameAs", "b")),
}


@pytest.mark.parametrize("case", LINKED_BATCHES, ids=list(LINKED_BATCHES))
def test_batches_linked_through_a_term_fall_back_to_one_run(case):
    ontology, first, second, (s, p, o) = LINKED_BATCHES[case]
    store = EmbeddedStore(None)
    for graph, text in ((ONTOLOGY_GRAPH, ontology), (case_graph("t-first"), first), (case_graph("t-second"), second)):
        store.ox.load(RULES + text, format=ox.RdfFormat.TURTLE, to_graph=ox.NamedNode(str(graph)))
    expected = tuple(f"<{term}>" if ":" in term else f"<https://example.org/b#{term}>" for term in (s, p, o))
    ontology_triples, other = asserted_triples(store)
    for graph in (case_graph("t-first"), case_graph("t-second")):  # neither case graph alone entails it
        alone = {(str(q.subject), str(q.predicate), str(q.object))
                 for q in store.ox.quads_for_pattern(None, None, None, ox.NamedNode(str(graph)))}
        assert expected not in entailments(alone, ontology=ontology_triples)
    with pytest.raises(_NotLocal):
        _reason_in_batches(store, 1)
    materialise(store, batch_triples=1)
    assert expected in _inferred(store)
    assert _inferred(store) == _storable(owlrl_entailments(ontology_triples | other))
