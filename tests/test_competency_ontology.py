"""Competency questions 1, 2, 5, 8, 10, 11 and 12 of the concept map, answered from the ontology alone.

Each named query runs in a real in-memory pyoxigraph store holding the ontology in its named graph,
and must return exactly the answer concept-map.md gives.
"""

from __future__ import annotations

import pyoxigraph as ox
import pytest
from rdflib import Graph
from rdflib.namespace import PROV, RDF

from kg.config import Settings
from kg.namespaces import COP, ID, INFERRED_GRAPH, ONTOLOGY_GRAPH, case_graph
from kg.ontology import load_ontology_graph
from kg.queries import load_named_query

QUERIES = Settings().queries
COMPETENCY_QUERIES = {
    "mechanism_support": 1, "mechanism_logic": 2, "function_levers": 5, "government_ideas_compared": 8,
    "short_term_project_risk": 10, "theory_framework": 11, "statement_sources": 12,
}


def _nt(graph: Graph) -> bytes:
    return graph.serialize(format="nt", encoding="utf-8")


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return load_ontology_graph(Settings().ontology)


@pytest.fixture(scope="module")
def store(ontology) -> ox.Store:
    store = ox.Store()
    store.load(_nt(ontology), ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(str(ONTOLOGY_GRAPH)))
    return store


def ask(store: ox.Store, name: str, **values) -> list[dict[str, str]]:
    """Run a named query as the API would (parameters bound by substitution) over the union of graphs."""
    query = load_named_query(QUERIES / f"{name}.rq")
    solutions = store.query(query.text, substitutions=query.bind(values), use_default_graph_as_union=True)
    variables = [v.value for v in solutions.variables]
    return [{v: (s[v].value if s[v] is not None else None) for v in variables} for s in solutions]


def local(iri: str | None) -> str | None:
    return iri.rsplit("#", 1)[-1] if iri else iri


@pytest.mark.parametrize("name, number", COMPETENCY_QUERIES.items())
def test_query_header_names_its_question_in_both_languages(name, number):
    query = load_named_query(QUERIES / f"{name}.rq")
    assert query.competency_questions == (number,)
    assert query.summary and query.summary_zh and query.description and query.description_zh
    assert any("\u4e00" <= ch <= "\u9fff" for ch in query.summary_zh + query.description_zh)


# --- CQ 1: which mechanism supports which outcome, through which strategy, at which stage -----

MECHANISM_TABLE = {  # concept-map.md section 4
    ("EmergenceMechanism", "Aggregation", "DesignStage"): {
        "SubjectCompatibilityRaised", "CooperationMatchingImproved", "CollectiveParticipationRealised",
        "OrganisationsClusterInField"},
    ("AdjustmentMechanism", "Coordination", "OperationStage"): {
        "InterestEquilibriumRaised", "CooperativeSynergyImproved", "CooperationCostReduced",
        "CoordinatedDevelopmentRealised"},
    ("SurvivalMechanism", "Encapsulation", "EvaluationStage"): {
        "ActionStabilityRaised", "CooperationSustainabilityRaised", "CollectiveSurvivalSecured"},
}


def test_cq1_every_outcome_with_its_mechanism_strategy_and_stage(store):
    rows = ask(store, "mechanism_support")
    found = {}
    for r in rows:
        found.setdefault((local(r["mechanism"]), local(r["strategy"]), local(r["stage"])), set()).add(local(r["outcome"]))
    assert found == MECHANISM_TABLE
    assert len(rows) == 11


def test_cq1_collective_participation_comes_from_emergence_through_aggregation_at_design(store):
    rows = ask(store, "mechanism_support", outcome="cop:CollectiveParticipationRealised")
    assert [(r["mechanismLabel"], r["strategyLabel"], r["stageLabel"], r["outcomeLabel"]) for r in rows] == [
        ("emergence mechanism", "aggregation", "coproduction design", "collective participation")]


def test_cq1_answers_in_chinese(store):
    rows = ask(store, "mechanism_support", mechanism="cop:SurvivalMechanism", lang="zh")
    assert {(r["mechanismLabel"], r["strategyLabel"]) for r in rows} == {("存续机制", "封装")}
    assert "集体存续得到保障" in {r["outcomeLabel"] for r in rows}


# --- CQ 2: which logic each mechanism rests on ------------------------------------------------


def test_cq2_logic_of_each_mechanism_and_the_quality_it_develops(store):
    rows = ask(store, "mechanism_logic")
    assert {(local(r["mechanism"]), local(r["logic"]), local(r["quality"])) for r in rows} == {
        ("EmergenceMechanism", "TechnicalRationalDivisionOfLabour", "SubjectCompatibility"),
        ("AdjustmentMechanism", "PartnershipConstruction", "InterestEquilibrium"),
        ("SurvivalMechanism", "ResultControl", "ActionStability"),
    }
    assert len(rows) == 3


# --- CQ 5: which levers realise which state-power function, and how -------------------------


def test_cq5_each_function_is_realised_by_its_two_levers(store):
    rows = ask(store, "function_levers")
    pairs = {(r["code"], local(r["lever"])) for r in rows}
    assert pairs == {
        ("F1", "LocalDecentralisation"), ("F1", "MarketDecentralisation"),
        ("F2", "LocalDecentralisation"), ("F2", "SocialEmpowerment"),
        ("F3", "MarketDecentralisation"), ("F3", "SocialEmpowerment"),
    }
    assert len(rows) == 6 and all(r["whatItDoes"] for r in rows)


def test_cq5_f2_is_realised_by_local_decentralisation_and_social_empowerment(store):
    rows = ask(store, "function_levers", function="cop:FunctionRealiseParticipation")
    by_lever = {r["leverLabel"]: r["whatItDoes"] for r in rows}
    assert set(by_lever) == {"local decentralisation", "social empowerment"}
    assert "cooperation platforms" in by_lever["local decentralisation"]
    assert "legitimacy" in by_lever["social empowerment"] and "division of labour" in by_lever["social empowerment"]


def test_cq5_what_market_decentralisation_does_for_f3(store):
    rows = ask(store, "function_levers", function="cop:FunctionRaiseCapacity", lever="cop:MarketDecentralisation")
    assert len(rows) == 1 and "competition" in rows[0]["whatItDoes"] and "innovation" in rows[0]["whatItDoes"]


def test_cq5_the_asserted_shortcut_agrees_with_the_contribution_nodes(ontology):
    via_nodes = {(f, lever) for node in ontology.subjects(RDF.type, COP.LeverContribution)
                 for f in ontology.objects(node, COP.contributionTo) for lever in ontology.objects(node, COP.viaLever)}
    assert set(ontology.subject_objects(COP.realisedByLever)) == via_nodes


# --- CQ 8: enabling vs empowering government, point by point ---------------------------------


def test_cq8_five_aspects_each_with_both_positions(store):
    rows = {local(r["aspect"]): r for r in ask(store, "government_ideas_compared")}
    assert set(rows) == {"PremiseAspect", "NatureOfPowerAspect", "MeansAspect", "ExpectedEffectAspect", "RiskAspect"}
    assert "underdeveloped" in rows["PremiseAspect"]["enabling"]
    assert "equal right" in rows["PremiseAspect"]["empowering"]
    assert "intermediary" in rows["NatureOfPowerAspect"]["enabling"]
    assert "result" in rows["NatureOfPowerAspect"]["empowering"]
    assert all(lever in rows["MeansAspect"]["enabling"]
               for lever in ("local decentralisation", "market decentralisation", "social empowerment"))
    assert "transferring functions" in rows["MeansAspect"]["empowering"]
    assert "mismatch" in rows["ExpectedEffectAspect"]["enabling"]
    assert "autonomy" in rows["ExpectedEffectAspect"]["empowering"]
    assert "opportunism" in rows["RiskAspect"]["empowering"]


def test_cq8_the_missing_enabling_risk_is_flagged_not_invented(store):
    (risk,) = ask(store, "government_ideas_compared", aspect="cop:RiskAspect")
    assert risk["enablingNotInSource"] and risk["empoweringNotInSource"] is None
    assert "names no risk" in risk["enabling"]
    assert all(r["enablingNotInSource"] is None for r in ask(store, "government_ideas_compared")
               if local(r["aspect"]) != "RiskAspect")


def test_cq8_in_chinese(store):
    (premise,) = ask(store, "government_ideas_compared", aspect="cop:PremiseAspect", lang="zh")
    assert premise["aspectLabel"] == "前提假设" and "平等" in premise["empowering"]


# --- CQ 10: the risk of short-term design of a long-duration, asset-specific service ----------


def test_cq10_short_term_design_raises_government_sunk_costs(store):
    rows = ask(store, "short_term_project_risk")
    assert {local(r["attribute"]) for r in rows} == {"StrongAssetSpecificity", "LongDuration"}
    assert {(local(r["risk"]), local(r["choice"]), local(r["stage"]), local(r["bearer"]), local(r["claim"]))
            for r in rows} == {("SunkCostRisk", "ShortTermProjectDesign", "DesignStage", "StateSector",
                                "ClaimSunkCostRisk")}
    assert "customised" in rows[0]["why"] and "provider" in rows[0]["why"]
    assert "sunk costs" in rows[0]["statement"]


# --- CQ 11: which theory underpins which part of the framework ------------------------------


def test_cq11_source_says_one_starting_point_and_three_supports_of_the_whole_framework(store):
    rows = ask(store, "theory_framework")
    in_source = {(local(r["theory"]), local(r["role"]), local(r["part"])) for r in rows if r["inSource"] == "true"}
    assert in_source == {
        ("OrganisationalManagementTheory", "StartingPoint", "CoproductionAnalysisFramework"),
        ("WelfarePluralism", "SupportingTheory", "CoproductionAnalysisFramework"),
        ("PolicyToolTheory", "SupportingTheory", "CoproductionAnalysisFramework"),
        ("NetworkGovernanceTheory", "SupportingTheory", "CoproductionAnalysisFramework"),
    }


def test_cq11_part_by_part_readings_are_marked_as_the_projects(store):
    rows = ask(store, "theory_framework")
    readings = {(local(r["theory"]), local(r["part"])) for r in rows if r["inSource"] == "false"}
    assert readings == {
        ("WelfarePluralism", "MultiSubjectResponsibilitySharing"),
        ("PolicyToolTheory", "StatePowerRole"),
        ("NetworkGovernanceTheory", "CoproductionOperationMechanism"),
    }
    assert all(r["note"] for r in rows if r["inSource"] == "false")
    assert [r["inSource"] for r in rows] == sorted((r["inSource"] for r in rows), reverse=True)  # source first


# --- CQ 12: where statements come from ------------------------------------------------------


def test_cq12_counts_dissertation_claims_and_modelling_decisions_in_the_ontology(store, ontology):
    rows = {(r["origin"], r["graph"]): int(r["statements"]) for r in ask(store, "statement_sources")}
    claims = {c for c in ontology.subjects(RDF.type, COP.Claim) if (c, PROV.wasDerivedFrom, COP.Zhong2019) in ontology}
    decisions = list(ontology.subject_objects(COP.notInSource))
    assert rows == {("dissertation", str(ONTOLOGY_GRAPH)): len(claims),
                    ("modelling decision", str(ONTOLOGY_GRAPH)): len(decisions)}


def test_cq12_separates_case_data_and_inferences(ontology):
    store = ox.Store()
    store.load(_nt(ontology), ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(str(ONTOLOGY_GRAPH)))
    case = ID["case/cq12"]
    asserted = Graph()
    asserted.add((case, RDF.type, COP.CoproductionCase))
    asserted.add((case, COP.hasAuthorityLevel, COP.HighAuthority))
    asserted.add((case, COP.hasResourceConcentration, COP.LowConcentration))
    inferred = Graph()
    inferred.add((case, COP.hasMode, COP.AuthoritativeCharismatic))
    store.load(_nt(asserted), ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(str(case_graph("cq12"))))
    store.load(_nt(inferred), ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(str(INFERRED_GRAPH)))
    rows = {(r["origin"], r["graph"]): int(r["statements"]) for r in ask(store, "statement_sources")}
    assert rows[("case data", str(case_graph("cq12")))] == 3
    assert rows[("inferred", str(INFERRED_GRAPH))] == 1
    assert {origin for origin, _ in rows} == {"dissertation", "modelling decision", "case data", "inferred"}


def test_cq12_modelling_decisions_are_not_presented_as_claims(ontology):
    """Nothing marked cop:notInSource is a claim derived from the dissertation."""
    marked = set(ontology.subjects(COP.notInSource, None))
    assert not marked & set(ontology.subjects(RDF.type, COP.Claim))
