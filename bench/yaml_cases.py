"""Seeded synthetic case files in CoproKG's YAML case format, for timing the full import."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import yaml

from kg import cases as case_format
from bench.synthetic import CITIES, DISTRICT_WORDS, SECTOR_ACTOR_NAMES

HEADER = ("# SYNTHETIC BENCHMARK CASE: invented, illustrative data made by bench/yaml_cases.py (seed {seed}).\n"
          "# It is not the dissertation's field data and states nothing the source says.\n")
# Case-format words, read from the importer's own vocabularies so the two cannot drift apart.
SECTOR_TO_WORD = {"StateSector": "state", "MarketSector": "market", "SocietySector": "society", "FamilySector": "family"}
ROLES_BY_SECTOR = {
    "state": ["commissioner", "funder", "facility-provider", "regulator", "platform-builder"],
    "market": ["service-operator", "funder", "facility-provider"],
    "society": ["service-operator", "volunteer", "platform-builder"],
    "family": ["care-giver", "service-user"],
}
OUTCOMES_BY_STAGE = {
    "design": ["subject-compatibility-raised", "cooperation-matching-improved",
               "collective-participation-realised", "organisations-cluster-in-field"],
    "operation": ["interest-equilibrium-raised", "cooperative-synergy-improved",
                  "cooperation-cost-reduced", "coordinated-development-realised"],
    "evaluation": ["action-stability-raised", "cooperation-sustainability-raised", "collective-survival-secured"],
}


def synthetic_case(index: int, rng: random.Random, seed: int) -> dict:
    """Draw one synthetic case document (the mapping a case file holds)."""
    case_id = f"bench-{seed}-{index:06d}"
    city_en, city_zh, province_en, province_zh = rng.choice(CITIES)
    district_en, district_zh = rng.choice(DISTRICT_WORDS)
    start = rng.randint(2012, 2018)
    evidence = []
    for n in range(1, rng.randint(2, 3) + 1):
        kind = rng.choice(list(case_format.EVIDENCE_KIND_TO_IRI))
        item = {"id": f"E{n}", "kind": kind, "date": f"{start + 1}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                "supports": f"Synthetic {kind} record {n} (illustrative)"}
        if kind != "secondary-data":
            item["quotation"] = {"zh": "我们一起把社区的老人照顾好（合成引语）"}
        evidence.append(item)
    evidence_ids = [e["id"] for e in evidence]
    actors = []
    for n, sector in enumerate(rng.sample(list(SECTOR_ACTOR_NAMES), rng.randint(2, 4)), start=1):
        name_en, name_zh = SECTOR_ACTOR_NAMES[sector]
        word = SECTOR_TO_WORD[sector]
        actors.append({"id": f"a{n}", "name": {"en": f"{district_en} {name_en}", "zh": f"{district_zh}{name_zh}"},
                       "sector": word, "roles": [rng.choice(ROLES_BY_SECTOR[word])]})
    observations = []
    for n in range(1, rng.randint(1, 3) + 1):
        stage = rng.choice(list(case_format.STAGE_TO_IRI))
        observations.append({
            "stage": stage,
            "mechanism": case_format.STAGE_TO_MECHANISM[stage],
            "strategy": case_format.STAGE_TO_STRATEGY[stage],
            "outcomes": [rng.choice(OUTCOMES_BY_STAGE[stage])],
            "actors": [rng.choice(actors)["id"]],
            "evidence": [rng.choice(evidence_ids)],
            "description": f"Synthetic observation {n} at the {stage} stage (illustrative)",
        })
    conditions = [{"condition": c, "holds": rng.random() < 0.7, "justification": "Synthetic justification",
                   "evidence": [rng.choice(evidence_ids)]}
                  for c in rng.sample(list(case_format.CONDITION_TO_IRI), rng.randint(1, 2))]
    document = {
        "id": case_id,
        "illustrative": True,
        "name": {"en": f"{district_en} community care centre {index}, {city_en} (synthetic)",
                 "zh": f"{city_zh}{district_zh}社区养老服务中心{index}（合成数据）"},
        "city": {"en": city_en, "zh": city_zh},
        "province": {"en": province_en, "zh": province_zh},
        "period": f"{start}-{start + rng.randint(1, 4)}",
        "services": rng.sample(list(case_format.SERVICE_TO_IRI), rng.randint(1, 2)),
        "arrangement": rng.choice(list(case_format.ARRANGEMENT_TO_IRI)),
        "authority": rng.choice(list(case_format.AUTHORITY_TO_IRI)),
        "authority_justification": "Synthetic justification of the authority level",
        "authority_evidence": [rng.choice(evidence_ids)],
        "resources": rng.choice(list(case_format.RESOURCES_TO_IRI)),
        "resources_justification": "Synthetic justification of the resource level",
        "resources_evidence": [rng.choice(evidence_ids)],
        "characteristics": rng.sample(list(case_format.CHARACTERISTIC_TO_IRI), rng.randint(1, 3)),
        "actors": actors,
        "observations": observations,
        "conditions": conditions,
        "evidence": evidence,
    }
    if rng.random() < 0.5:
        document["performance"] = [{"indicator": rng.choice(list(case_format.INDICATOR_TO_IRI)),
                                    "value": rng.randint(0, 500), "evidence": [rng.choice(evidence_ids)]}]
    return document


def write_yaml_cases(directory: Path, n_cases: int, seed: int = 0) -> Path:
    """Write (once) `n_cases` synthetic YAML case files into `directory`; the same seed gives the same files."""
    done = directory / ".complete"
    if done.exists() and done.read_text() == f"{n_cases} {seed}":
        return directory
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    rng = random.Random(seed)
    for index in range(n_cases):
        document = synthetic_case(index, rng, seed)
        text = HEADER.format(seed=seed) + yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=120)
        (directory / f"{document['id']}.yaml").write_text(text, encoding="utf-8")
    done.write_text(f"{n_cases} {seed}")
    return directory
