"""Seeded generator of synthetic (illustrative) CoproKG cases as N-Quads, for benchmarks and tests."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rdflib.namespace import DCTERMS, PROV, RDF, RDFS, XSD

from kg.namespaces import COP, case_graph, case_iri

# Measured over 2,000 generated cases (seed 0: 99.6); used to size a dataset by triple count.
MEAN_TRIPLES_PER_CASE = 100

# (English, Chinese) city names with their province; the source's field sites come first.
CITIES = [
    ("Shanghai", "上海", "Shanghai", "上海"),
    ("Beijing", "北京", "Beijing", "北京"),
    ("Hangzhou", "杭州", "Zhejiang", "浙江"),
    ("Ningbo", "宁波", "Zhejiang", "浙江"),
    ("Wenzhou", "温州", "Zhejiang", "浙江"),
    ("Shaoxing", "绍兴", "Zhejiang", "浙江"),
    ("Nanjing", "南京", "Jiangsu", "江苏"),
    ("Suzhou", "苏州", "Jiangsu", "江苏"),
    ("Chengdu", "成都", "Sichuan", "四川"),
    ("Wuhan", "武汉", "Hubei", "湖北"),
    ("Guangzhou", "广州", "Guangdong", "广东"),
    ("Tianjin", "天津", "Tianjin", "天津"),
]
DISTRICT_WORDS = [("Riverside", "滨江"), ("Old Town", "老城"), ("East Gate", "东门"), ("Garden", "花园"),
                  ("Harbour", "港湾"), ("Hillside", "山麓"), ("Market Street", "市场街"), ("Lakeview", "湖景")]
SERVICES = ["MealService", "DayCare", "HomeCare", "InstitutionalCare", "HealthCare", "CulturalActivities"]
ARRANGEMENTS = ["PublicConstructionPrivateOperation", "PrivateConstructionPublicAssistance", "OtherArrangement"]
SECTORS = ["StateSector", "MarketSector", "SocietySector", "FamilySector"]
SECTOR_ACTOR_NAMES = {
    "StateSector": ("Street Office", "街道办事处"),
    "MarketSector": ("Care Services Co.", "养老服务公司"),
    "SocietySector": ("Social Work Centre", "社工服务中心"),
    "FamilySector": ("Family Carers Group", "家庭照护者小组"),
}
ROLES_BY_SECTOR = {
    "StateSector": ["Commissioner", "Funder", "FacilityProvider", "Regulator", "PlatformBuilder"],
    "MarketSector": ["ServiceOperator", "Funder", "FacilityProvider"],
    "SocietySector": ["ServiceOperator", "Volunteer", "PlatformBuilder"],
    "FamilySector": ["CareGiver", "ServiceUser"],
}
CHARACTERISTICS = ["DiverseSubjects", "CommonGoals", "InteractiveProcesses", "ReciprocalInterests"]
# Mechanism -> (stage, strategy, outcomes it names), after the concept map's table of the operation mechanism.
MECHANISMS = {
    "EmergenceMechanism": ("DesignStage", "Aggregation", [
        "SubjectCompatibilityRaised", "CooperationMatchingImproved", "CollectiveParticipationRealised",
        "OrganisationsClusterInField"]),
    "AdjustmentMechanism": ("OperationStage", "Coordination", [
        "InterestEquilibriumRaised", "CooperativeSynergyImproved", "CooperationCostReduced",
        "CoordinatedDevelopmentRealised"]),
    "SurvivalMechanism": ("EvaluationStage", "Encapsulation", [
        "ActionStabilityRaised", "CooperationSustainabilityRaised", "CollectiveSurvivalSecured"]),
}
EVIDENCE_KINDS = ["SemiStructuredInterview", "FocusGroup", "SecondaryData"]
CONDITIONS = ["ServiceImmature", "AreaNeedsTopDownDeployment", "PartnersWeak", "FewPartnersToChooseFrom",
              "LeadersHaveRichSocialTies", "PartnersStrongProfessionals", "MeasurableMarketStandard",
              "ComparableMarketObject", "ServiceMustTransform", "ServiceMustUpgrade",
              "PartnersSomewhatStrongButLackKeyResources"]
INDICATORS = ["OperatingAtLoss", "ServiceVolume", "UserSatisfaction", "FinancialBalance"]


def _iri(term: str) -> str:
    return f"<{term}>"


def _text(value: str, lang: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"@{lang}'


def _typed(value: str, datatype: str) -> str:
    return f'"{value}"^^<{datatype}>'


@dataclass
class _CaseWriter:
    """Collect one case's quads in its own named graph."""

    graph: str
    lines: list[str]

    def add(self, subject: str, predicate: str, obj: str) -> None:
        self.lines.append(f"{subject} {predicate} {obj} {self.graph} .\n")


def case_nquads(index: int, rng: random.Random) -> list[str]:
    """Return the N-Quads lines of synthetic case number `index`, drawn from `rng`."""
    case_id = f"synthetic-{index:07d}"
    case = case_iri(case_id)
    out = _CaseWriter(_iri(case_graph(case_id)), [])
    c = _iri(case)
    a, cop = _iri(RDF.type), lambda name: _iri(COP[name])
    city_en, city_zh, province_en, province_zh = rng.choice(CITIES)
    district_en, district_zh = rng.choice(DISTRICT_WORDS)

    out.add(c, a, cop("CoproductionCase"))
    out.add(c, _iri(RDFS.label), _text(f"{district_en} community care centre {index}, {city_en} (synthetic)", "en"))
    out.add(c, _iri(RDFS.label), _text(f"{city_zh}{district_zh}社区养老服务中心{index}（合成数据）", "zh"))
    out.add(c, _iri(DCTERMS.identifier), f'"{case_id}"')
    out.add(c, cop("city"), _text(city_en, "en"))
    out.add(c, cop("city"), _text(city_zh, "zh"))
    out.add(c, cop("province"), _text(province_en, "en"))
    start = rng.randint(2012, 2018)
    out.add(c, _iri(DCTERMS.temporal), f'"{start}-{start + rng.randint(1, 4)}"')
    out.add(c, cop("isIllustrative"), _typed("true", str(XSD.boolean)))
    out.add(c, _iri(PROV.wasDerivedFrom), _iri(f"file:synthetic/{case_id}.yaml"))
    out.add(c, _iri(PROV.generatedAtTime), _typed("2024-01-01T00:00:00Z", str(XSD.dateTime)))
    for service in rng.sample(SERVICES, rng.randint(1, 2)):
        out.add(c, cop("providesService"), cop(service))
    out.add(c, cop("hasDeliveryArrangement"), cop(rng.choice(ARRANGEMENTS)))
    authority = rng.choice(["HighAuthority", "LowAuthority"])
    resources = rng.choice(["HighConcentration", "LowConcentration"])
    out.add(c, cop("hasAuthorityLevel"), cop(authority))
    out.add(c, cop("hasResourceConcentration"), cop(resources))
    for characteristic in rng.sample(CHARACTERISTICS, rng.randint(1, 3)):
        out.add(c, cop("evidencesCharacteristic"), cop(characteristic))

    evidence = []
    for n in range(1, rng.randint(2, 3) + 1):
        e = _iri(f"{case}/evidence/e{n}")
        evidence.append(e)
        kind = rng.choice(EVIDENCE_KINDS)
        out.add(e, a, cop("Evidence"))
        out.add(e, cop("evidenceKind"), cop(kind))
        out.add(e, _iri(DCTERMS.identifier), f'"{case_id}-e{n}"')
        out.add(e, _iri(DCTERMS.date), _typed(f"{start + 1}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}", str(XSD.date)))
        out.add(e, cop("description"), _text(f"Synthetic {kind} record {n}", "en"))
        if kind != "SecondaryData":
            out.add(e, cop("quotation"), _text("我们一起把社区的老人照顾好（合成引语）", "zh"))

    actors = []
    for n, sector in enumerate(rng.sample(SECTORS, rng.randint(2, 4)), start=1):
        actor = _iri(f"{case}/actor/a{n}")
        participation = _iri(f"{case}/participation/a{n}")
        actors.append(actor)
        name_en, name_zh = SECTOR_ACTOR_NAMES[sector]
        out.add(actor, a, cop("Actor"))
        out.add(actor, _iri(RDFS.label), _text(f"{district_en} {name_en}", "en"))
        out.add(actor, _iri(RDFS.label), _text(f"{district_zh}{name_zh}", "zh"))
        out.add(actor, cop("inSector"), cop(sector))
        out.add(c, cop("involvesActor"), actor)
        out.add(participation, a, cop("Participation"))
        out.add(participation, cop("participationIn"), c)
        out.add(participation, cop("participant"), actor)
        out.add(participation, cop("hasRole"), cop(rng.choice(ROLES_BY_SECTOR[sector])))

    for dimension, level, path in (("GovernanceAuthority", authority, "authority"),
                                   ("ResourceConcentration", resources, "resources")):
        assessment = _iri(f"{case}/level/{path}")
        out.add(assessment, a, cop("LevelAssessment"))
        out.add(assessment, cop("assessmentOf"), c)
        out.add(assessment, cop("assessesDimension"), cop(dimension))
        out.add(assessment, cop("assignedLevel"), cop(level))
        out.add(assessment, cop("justification"), _text(f"Synthetic justification of the {path} level", "en"))
        out.add(assessment, cop("supportedBy"), rng.choice(evidence))

    for condition in rng.sample(CONDITIONS, rng.randint(1, 2)):
        assessment = _iri(f"{case}/condition/{condition}")
        holds = rng.random() < 0.7
        out.add(assessment, a, cop("ConditionAssessment"))
        out.add(assessment, cop("assessesCondition"), cop(condition))
        out.add(assessment, cop("assessmentOf"), c)
        out.add(assessment, cop("conditionHolds"), _typed("true" if holds else "false", str(XSD.boolean)))
        out.add(assessment, cop("supportedBy"), rng.choice(evidence))
        out.add(c, cop("meetsCondition" if holds else "failsCondition"), cop(condition))

    for n in range(1, rng.randint(1, 3) + 1):
        observation = _iri(f"{case}/observation/{n}")
        mechanism = rng.choice(list(MECHANISMS))
        stage, strategy, outcomes = MECHANISMS[mechanism]
        out.add(observation, a, cop("CaseObservation"))
        out.add(observation, cop("observationIn"), c)
        out.add(observation, cop("atStage"), cop(stage))
        out.add(observation, cop("ofMechanism"), cop(mechanism))
        out.add(observation, cop("usingStrategy"), cop(strategy))
        out.add(observation, cop("showsOutcome"), cop(rng.choice(outcomes)))
        out.add(observation, cop("involvesActor"), rng.choice(actors))
        out.add(observation, cop("supportedBy"), rng.choice(evidence))
        out.add(observation, cop("description"), _text(f"Synthetic observation {n} of {mechanism}", "en"))

    if rng.random() < 0.5:
        fact = _iri(f"{case}/performance/1")
        indicator = rng.choice(INDICATORS)
        out.add(fact, a, cop("PerformanceFact"))
        out.add(fact, cop("performanceOf"), c)
        out.add(fact, cop("indicator"), cop(indicator))
        out.add(fact, cop("value"), _typed(str(rng.randint(0, 500)), str(XSD.integer)))
    return out.lines


def generate_nquads(n_cases: int, seed: int = 0) -> Iterator[str]:
    """Yield the N-Quads lines of `n_cases` synthetic cases; the same seed gives the same lines."""
    rng = random.Random(seed)
    for index in range(n_cases):
        yield from case_nquads(index, rng)


def cases_for_triples(n_triples: int) -> int:
    """Return how many synthetic cases make about `n_triples` triples."""
    return max(1, round(n_triples / MEAN_TRIPLES_PER_CASE))


def synthetic_nquads(n_cases: int, seed: int = 0) -> bytes:
    """Return `n_cases` synthetic cases as one UTF-8 N-Quads document."""
    return "".join(generate_nquads(n_cases, seed)).encode("utf-8")


def write_nquads(path: Path, n_cases: int, seed: int = 0) -> int:
    """Write `n_cases` synthetic cases to `path` as N-Quads; return the number of quads."""
    count = 0
    with open(path, "w", encoding="utf-8") as f:
        for line in generate_nquads(n_cases, seed):
            f.write(line)
            count += 1
    return count
