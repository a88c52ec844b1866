"""Competency questions 3, 4, 6, 7 and 9: each named query's exact answer on the shipped cases."""

from __future__ import annotations

import pytest

from kg.config import ROOT
from kg.namespaces import COP, ID
from kg.queries import load_named_query
from kg.reasoning import MODE_CLASSES

QUERIES = ROOT / "queries"
SHIPPED_MODES = {
    "shanghai-street-care-network": COP.AdministrativeAbsorption,
    "beijing-street-charisma-partnership": COP.AuthoritativeCharismatic,
    "hangzhou-community-meal-centre": COP.ComplementaryAdvantage,
    "ningbo-home-care-platform": COP.SharingAssisted,
}


def case(name: str) -> str:
    return str(ID[f"case/{name}"])


def run(store, name: str, **values) -> list[dict[str, str]]:
    """Run a named query as the API does and return its rows as {variable: lexical value}."""
    query = load_named_query(QUERIES / f"{name}.rq")
    solutions = query.run(store, values)
    variables = [v.value for v in solutions.variables]
    return [{v: row[v].value for v in variables if row[v] is not None} for row in solutions]


@pytest.mark.parametrize("name", ["case_modes", "unmet_conditions", "case_actors", "case_outcomes",
                                  "case_characteristics"])
def test_query_declares_its_competency_question(name):
    expected = {"case_modes": 3, "unmet_conditions": 4, "case_actors": 6, "case_outcomes": 7, "case_characteristics": 9}
    assert load_named_query(QUERIES / f"{name}.rq").competency_questions == (expected[name],)


def test_each_shipped_case_gets_exactly_its_mode(shipped_store):
    rows = shipped_store.query(f"""
        SELECT ?case (GROUP_CONCAT(DISTINCT STR(?mode)) AS ?modes) (COUNT(DISTINCT ?class) AS ?classes)
        WHERE {{ ?case a <{COP.CoproductionCase}> ; <{COP.hasMode}> ?mode ; a ?class .
                 VALUES ?class {{ {" ".join(f"<{c}>" for c in MODE_CLASSES)} }} }}
        GROUP BY ?case""")
    assert {r["case"].value: (r["modes"].value, int(r["classes"].value)) for r in rows} == {
        case(k): (str(mode), 1) for k, mode in SHIPPED_MODES.items()}


def test_cq3_mode_of_each_case(shipped_store):
    rows = run(shipped_store, "case_modes")
    assert [(r["case"], r["mode"], r["authority"], r["resources"]) for r in rows] == [
        (case("shanghai-street-care-network"), str(COP.AdministrativeAbsorption), str(COP.HighAuthority), str(COP.HighConcentration)),
        (case("beijing-street-charisma-partnership"), str(COP.AuthoritativeCharismatic), str(COP.HighAuthority), str(COP.LowConcentration)),
        (case("hangzhou-community-meal-centre"), str(COP.ComplementaryAdvantage), str(COP.LowAuthority), str(COP.LowConcentration)),
        (case("ningbo-home-care-platform"), str(COP.SharingAssisted), str(COP.LowAuthority), str(COP.HighConcentration)),
    ]


def test_cq3_cases_in_one_mode(shipped_store):
    rows = run(shipped_store, "case_modes", mode="cop:ComplementaryAdvantage", lang="zh")
    assert [(r["case"], r["label"]) for r in rows] == [(case("hangzhou-community-meal-centre"), "亏损运营的社区老年食堂（示例）")]


def test_cq4_the_meal_centre_fails_its_modes_conditions(shipped_store):
    rows = run(shipped_store, "unmet_conditions")
    assert [(r["case"], r["mode"], r["condition"], r["status"], r["modeUnmet"]) for r in rows] == [
        (case("hangzhou-community-meal-centre"), str(COP.ComplementaryAdvantage), str(COP.ComparableMarketObject),
         "fails", "true"),
        (case("hangzhou-community-meal-centre"), str(COP.ComplementaryAdvantage), str(COP.MeasurableMarketStandard),
         "fails", "true"),
        (case("hangzhou-community-meal-centre"), str(COP.ComplementaryAdvantage), str(COP.PartnersStrongProfessionals),
         "fails", "true"),
    ]
    assert rows[1]["justification"].startswith("The capped price is far below cost")
    assert run(shipped_store, "unmet_conditions", case="id:case/shanghai-street-care-network") == []


def test_cq6_actors_of_a_case_by_sector_and_role(shipped_store):
    rows = run(shipped_store, "case_actors", case="id:case/beijing-street-charisma-partnership")
    assert {r["arrangement"] for r in rows} == {str(COP.PrivateConstructionPublicAssistance)}
    actor = lambda name: str(ID[f"case/beijing-street-charisma-partnership/actor/{name}"])  # noqa: E731
    assert {(r["actor"], r["sector"], r["role"]) for r in rows} == {
        (actor("street-working-committee"), str(COP.StateSector), str(COP.Commissioner)),
        (actor("street-working-committee"), str(COP.StateSector), str(COP.PlatformBuilder)),
        (actor("care-chain"), str(COP.MarketSector), str(COP.ServiceOperator)),
        (actor("care-chain"), str(COP.MarketSector), str(COP.FacilityProvider)),
        (actor("volunteer-association"), str(COP.SocietySector), str(COP.Volunteer)),
        (actor("older-residents-families"), str(COP.FamilySector), str(COP.ServiceUser)),
        (actor("older-residents-families"), str(COP.FamilySector), str(COP.CareGiver)),
    }
    assert len(rows) == 7


def test_cq6_market_actors_across_cases(shipped_store):
    rows = run(shipped_store, "case_actors", sector="cop:MarketSector", lang="zh")
    assert sorted((r["actorLabel"], r["role"]) for r in rows) == sorted([
        ("签约养老服务企业", str(COP.ServiceOperator)),
        ("专业养老连锁机构", str(COP.ServiceOperator)),
        ("专业养老连锁机构", str(COP.FacilityProvider)),
        ("小型餐饮公司", str(COP.ServiceOperator)),
    ])


def test_cq7_outcomes_of_a_case_with_their_evidence(shipped_store):
    rows = run(shipped_store, "case_outcomes", case="id:case/ningbo-home-care-platform")
    assert sorted((r["outcome"].split("#")[1], r["identifier"]) for r in rows) == sorted([
        ("SubjectCompatibilityRaised", "NB-I-01"),
        ("CoordinatedDevelopmentRealised", "NB-FG-01"), ("CoordinatedDevelopmentRealised", "NB-SD-01"),
        ("CooperativeSynergyImproved", "NB-FG-01"), ("CooperativeSynergyImproved", "NB-SD-01"),
        ("CooperationSustainabilityRaised", "NB-I-02"), ("CollectiveSurvivalSecured", "NB-I-02"),
    ])
    first = next(r for r in rows if r["identifier"] == "NB-I-01")
    assert (first["stage"], first["mechanism"], first["kind"], first["date"], first["quotation"]) == (
        str(COP.DesignStage), str(COP.EmergenceMechanism), str(COP.SemiStructuredInterview), "2018-05-08",
        "我们有专业护理员，缺的是场地和老人的信息。")


def test_cq7_outcomes_backed_by_focus_groups(shipped_store):
    rows = run(shipped_store, "case_outcomes", kind="cop:FocusGroup")
    # The meal centre's focus group backs an observation with no outcome, so it does not appear.
    assert sorted((r["case"], r["outcome"].split("#")[1]) for r in rows) == sorted([
        (case("ningbo-home-care-platform"), "CoordinatedDevelopmentRealised"),
        (case("ningbo-home-care-platform"), "CooperativeSynergyImproved"),
        (case("shanghai-street-care-network"), "CooperationCostReduced"),
    ])


def test_cq9_characteristics_each_case_shows(shipped_store):
    rows = run(shipped_store, "case_characteristics")
    shown: dict[str, set[str]] = {}
    for r in rows:
        shown.setdefault(r["case"], set()).add(r["characteristic"].split("#")[1])
    assert shown == {
        case("shanghai-street-care-network"): {"DiverseSubjects", "CommonGoals", "InteractiveProcesses"},
        case("beijing-street-charisma-partnership"): {"DiverseSubjects", "InteractiveProcesses", "ReciprocalInterests"},
        case("hangzhou-community-meal-centre"): {"DiverseSubjects", "CommonGoals"},
        case("ningbo-home-care-platform"): {"DiverseSubjects", "CommonGoals", "InteractiveProcesses", "ReciprocalInterests"},
    }
    assert len(rows) == 12
    only = run(shipped_store, "case_characteristics", characteristic="cop:ReciprocalInterests")
    assert sorted(r["case"] for r in only) == [case("beijing-street-charisma-partnership"), case("ningbo-home-care-platform")]
