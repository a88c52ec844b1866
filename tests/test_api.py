"""The query API: listing, running with typed parameters, formats, errors, caching, the docs page."""

from __future__ import annotations

import csv
import io
import logging
import re
import shutil

import pyoxigraph as ox
import pytest

from kg.config import ROOT
from kg.store import EmbeddedStore
from query_api_support import TEST_QUERIES, build_test_app, build_test_store

CASE = "https://w3id.org/coprokg/id/case/"
COP = "https://w3id.org/coprokg/ontology#"
# Each text value says its language beside it, under NAME@lang.
SHARING_EN = [
    {"case": CASE + "test-a", "label": "Test case A", "label@lang": "en", "city": "Hangzhou", "city@lang": "en",
     "province": "Zhejiang", "province@lang": "en",
     "mode": COP + "SharingAssisted", "sector": COP + "MarketSector", "lang": "en"},
    {"case": CASE + "test-a", "label": "Test case A", "label@lang": "en", "city": "Hangzhou", "city@lang": "en",
     "province": "Zhejiang", "province@lang": "en",
     "mode": COP + "SharingAssisted", "sector": COP + "StateSector", "lang": "en"},
    {"case": CASE + "test-b", "label": "Test case B", "label@lang": "en", "city": "Ningbo", "city@lang": "en",
     "province": "Zhejiang", "province@lang": "en",
     "mode": COP + "SharingAssisted", "sector": COP + "SocietySector", "lang": "en"},
]


@pytest.fixture(scope="module")
def app():
    return build_test_app()


@pytest.fixture
def client(app):
    return app.test_client()


def test_list_describes_every_query_and_its_parameters(client):
    response = client.get("/api/queries")
    assert response.status_code == 200
    by_name = {q["name"]: q for q in response.json}
    assert sorted(by_name) == ["case_by_label", "cases_in_mode", "service_volume"]
    mode = by_name["cases_in_mode"]
    assert mode["url"] == "/api/queries/cases_in_mode" and mode["competency_questions"] == [3]
    assert mode["parameters"][0] == {
        "name": "mode", "type": "iri", "required": True, "description": "IRI of a cop:CoproductionMode",
        "class": COP + "CoproductionMode", "example": "cop:SharingAssisted",
    }
    assert by_name["service_volume"]["variables"] == ["case", "volume", "minVolume"]


def test_query_string_parameters_give_records(client):
    response = client.get("/api/queries/cases_in_mode", query_string={"mode": "cop:SharingAssisted"})
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.json == SHARING_EN


@pytest.mark.parametrize(
    "params, cases",
    [
        ({"mode": COP + "SharingAssisted", "sector": "cop:SocietySector"}, ["test-b"]),
        ({"mode": "<" + COP + "SharingAssisted>", "province": "Zhejiang@en", "sector": COP + "MarketSector"}, ["test-a"]),
        ({"mode": "cop:SharingAssisted", "province": "Shanghai@en"}, []),
        ({"mode": "cop:SharingAssisted", "province": "Zhejiang@en", "lang": "zh"}, []),  # province is bound @en
        ({"mode": "cop:AdministrativeAbsorption", "province": "上海@zh", "lang": "zh"}, ["test-c"]),
    ],
)
def test_every_parameter_kind_narrows_the_answer(client, params, cases):
    response = client.get("/api/queries/cases_in_mode", query_string=params)
    assert response.status_code == 200, response.json
    assert [row["case"].removeprefix(CASE) for row in response.json] == cases


def test_integers_are_typed_in_records_and_compared_as_numbers(client):
    response = client.get("/api/queries/service_volume", query_string={"minVolume": "100"})
    assert response.json == [
        {"case": CASE + "test-c", "volume": 300, "minVolume": 100},
        {"case": CASE + "test-a", "volume": 120, "minVolume": 100},
    ]
    assert len(client.get("/api/queries/service_volume").json) == 3  # default 0 keeps every case


def test_literal_with_language_binds_chinese_text(client):
    response = client.get("/api/queries/case_by_label", query_string={"label": "测试案例乙"})
    assert response.json == [{"case": CASE + "test-b", "label": "测试案例乙", "label@lang": "zh"}]


def test_post_json_body_gives_the_same_answer_as_get(client):
    response = client.post("/api/queries/service_volume", json={"minVolume": 100})
    assert response.status_code == 200
    assert response.json == client.get("/api/queries/service_volume?minVolume=100").json


def test_csv_has_a_header_row_and_one_row_per_solution(client):
    response = client.get("/api/queries/cases_in_mode", query_string={"mode": "cop:SharingAssisted", "lang": "zh", "format": "csv"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'inline; filename="cases_in_mode.csv"'
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [(r["case"], r["label"], r["city"]) for r in rows] == [
        (CASE + "test-a", "测试案例甲", "杭州"), (CASE + "test-a", "测试案例甲", "杭州"), (CASE + "test-b", "测试案例乙", "宁波")
    ]


# (Accept header, media type served): a missing or wildcard Accept gets JSON records.
ACCEPT_TO_MEDIA_TYPE = [
    (None, "application/json"),
    ("*/*", "application/json"),
    ("text/html,application/xhtml+xml,*/*;q=0.8", "application/json"),
    ("text/csv", "text/csv"),
    ("application/sparql-results+json", "application/sparql-results+json"),
    ("application/sparql-results+xml", "application/sparql-results+xml"),
    ("text/tab-separated-values", "text/tab-separated-values"),
    ("text/csv;q=0.5, application/sparql-results+json", "application/sparql-results+json"),
]


@pytest.mark.parametrize("accept, media_type", ACCEPT_TO_MEDIA_TYPE)
def test_accept_header_chooses_the_format(client, accept, media_type):
    headers = {"Accept": accept} if accept else {}
    response = client.get("/api/queries/service_volume?minVolume=200", headers=headers)
    assert response.status_code == 200 and response.mimetype == media_type
    assert "test-c" in response.get_data(as_text=True) and "test-a" not in response.get_data(as_text=True)


def test_sparql_json_keeps_datatypes(client):
    response = client.get("/api/queries/service_volume?minVolume=200&format=sparql-json")
    binding = response.json["results"]["bindings"][0]["volume"]
    assert binding == {"type": "literal", "value": "300", "datatype": "http://www.w3.org/2001/XMLSchema#integer"}


def test_format_overrides_accept(client):
    response = client.get("/api/queries/service_volume?format=tsv", headers={"Accept": "text/csv"})
    assert response.mimetype == "text/tab-separated-values"


def test_unservable_accept_is_406(client):
    response = client.get("/api/queries/service_volume", headers={"Accept": "text/turtle"})
    assert response.status_code == 406 and response.json["error"] == "Cannot serve the requested media type"


# (parameters, the parameter the 400 must name, words of the explanation)
BAD_REQUESTS = [
    ({}, "mode", "required"),
    ({"mode": "cop:SharingAssisted", "moed": "x"}, "moed", "unknown parameter"),
    ({"mode": "cop:StateSector"}, "mode", "is not a known cop:CoproductionMode"),
    ({"mode": "Sharing Assisted"}, "mode", "is not an IRI"),
    ({"mode": "cop:SharingAssisted", "sector": "cop:ChurchSector"}, "sector", "is not one of"),
    ({"mode": "cop:SharingAssisted", "province": "Zhejiang"}, "province", "needs a language tag"),
    ({"mode": "cop:SharingAssisted", "lang": "english please"}, "lang", "is not a language tag"),
    ({"mode": "cop:SharingAssisted", "format": "pdf"}, "format", "is not one of"),
]


@pytest.mark.parametrize("params, name, words", BAD_REQUESTS)
def test_bad_values_are_400_naming_the_parameter(client, params, name, words):
    response = client.get("/api/queries/cases_in_mode", query_string=params)
    assert response.status_code == 400
    assert response.json["error"] == "Invalid query parameter"
    assert response.json["detail"].startswith(f"parameter '{name}': ") and words in response.json["detail"]


@pytest.mark.parametrize("value, words", [("-1", "below the minimum 0"), ("2000000", "above the maximum"), ("ten", "not a whole number")])
def test_integer_bounds_are_enforced(client, value, words):
    response = client.get("/api/queries/service_volume", query_string={"minVolume": value})
    assert response.status_code == 400 and words in response.json["detail"]


def test_repeated_parameter_is_400(client):
    response = client.get("/api/queries/service_volume?minVolume=1&minVolume=2")
    assert response.status_code == 400 and "given more than once" in response.json["detail"]


@pytest.mark.parametrize(
    "kwargs, status",
    [
        ({"json": ["minVolume", 1]}, 400),
        ({"data": "minVolume=1", "content_type": "application/x-www-form-urlencoded"}, 415),
        ({"data": "{not json", "content_type": "application/json"}, 400),
        ({"json": {"minVolume": [1]}}, 400),
        ({"json": {"minVolume": True}}, 400),
    ],
)
def test_post_body_must_be_a_json_object_of_scalars(client, kwargs, status):
    assert client.post("/api/queries/service_volume", **kwargs).status_code == status


def test_unknown_query_is_404(client):
    response = client.get("/api/queries/no_such_query")
    assert response.status_code == 404 and "no_such_query" in response.json["detail"]


def test_etag_and_cache_control_allow_a_304():
    client = build_test_app().test_client()
    url = "/api/queries/service_volume?minVolume=100"
    first = client.get(url)
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "public, no-cache" and "Accept" in first.headers["Vary"]
    assert client.get(url).headers["ETag"] == etag
    assert client.get(url + "&format=csv").headers["ETag"] != etag
    assert client.get("/api/queries/service_volume?minVolume=101").headers["ETag"] != etag
    cached = client.get(url, headers={"If-None-Match": etag})
    assert cached.status_code == 304 and cached.data == b"" and cached.headers["ETag"] == etag


def test_etag_changes_when_the_dataset_changes():
    store = build_test_store()
    client = build_test_app(store).test_client()
    url = "/api/queries/service_volume"
    etag = client.get(url).headers["ETag"]
    store.update(
        "INSERT DATA { GRAPH <https://w3id.org/coprokg/graph/case/test-d> { "
        "<https://w3id.org/coprokg/id/case/test-d/performance/1> <https://w3id.org/coprokg/ontology#performanceOf> "
        "<https://w3id.org/coprokg/id/case/test-d> ; <https://w3id.org/coprokg/ontology#indicator> "
        "<https://w3id.org/coprokg/ontology#ServiceVolume> ; <https://w3id.org/coprokg/ontology#value> 5 } }"
    )
    response = client.get(url, headers={"If-None-Match": etag})
    assert response.status_code == 200 and response.headers["ETag"] != etag
    assert [row["volume"] for row in response.json] == [300, 120, 40, 5]


def test_malformed_query_file_is_logged_and_skipped_while_others_serve(tmp_path, caplog):
    shutil.copy(TEST_QUERIES / "service_volume.rq", tmp_path)
    (tmp_path / "broken.rq").write_text("#+ summary: Broken\n#+ colour: red\nSELECT ?x WHERE { ?x ?p ?o }\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        client = build_test_app(queries=tmp_path).test_client()
    assert f"{tmp_path / 'broken.rq'}:2: unknown header key 'colour'" in caplog.text
    assert [q["name"] for q in client.get("/api/queries").json] == ["service_volume"]
    assert client.get("/api/queries/broken").status_code == 404
    assert client.get("/api/queries/service_volume").status_code == 200


def test_docs_page_documents_every_query_from_local_assets_only(client):
    response = client.get("/api/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    for name in ("cases_in_mode", "service_volume", "case_by_label"):
        assert f'id="{name}"' in page
    assert "某一合作生产模式下的案例（测试用）" in page and "IRI of a cop:CoproductionMode" in page
    assert "/api/queries/cases_in_mode?mode=cop%3ASharingAssisted" in page
    # No remote scripts, styles, fonts or images: every src/href is on this server.
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets and all(a.startswith(("/", "#")) and not a.startswith("//") for a in assets), assets
    # The site's frame: the bundled fonts, the navigation with this page marked, and only our own script file.
    assert '/static/build/fonts.css' in page and 'class="active" data-nav="api_docs"' in page
    assert re.findall(r"<script[^>]*>", page) == ['<script type="application/json" id="api-docs-config">',
                                                  '<script src="/static/api-docs.js">']
    chinese = client.get("/api/docs?lang=zh").get_data(as_text=True)
    # In Chinese the Chinese summary comes first, the English one beside it.
    assert "命名查询接口" in chinese
    assert chinese.index("某一合作生产模式下的案例（测试用）") < chinese.index("Cases in one coproduction mode")


def test_every_shipped_query_runs_on_the_shipped_data_with_its_examples(shipped_store):
    store = shipped_store
    queries = sorted((ROOT / "queries").glob("*.rq"))
    assert queries, "queries/ holds no .rq files"
    client = build_test_app(store, queries=ROOT / "queries").test_client()
    listed = client.get("/api/queries").json
    assert sorted(q["name"] for q in listed) == sorted(p.stem for p in queries), "a shipped query failed its checks"
    for query in listed:
        examples = {p["name"]: p["example"] for p in query["parameters"] if "example" in p}
        response = client.get(f"/api/queries/{query['name']}", query_string=examples)
        assert response.status_code == 200, (query["name"], response.json)
        assert response.json, f"{query['name']} with its example parameters {examples} found nothing"
        assert set(response.json[0]) - {f"{v}@lang" for v in query["variables"]} == set(query["variables"])
        assert client.get(f"/api/queries/{query['name']}", query_string={**examples, "format": "csv"}).status_code == 200


# (query, parameters, expected answer) for the shipped queries this API's engineer wrote; the values
# come from the concept map's restatement of the dissertation (section 4) and the design contract.
SHIPPED_ANSWERS = [
    (
        "mechanism_outcomes",
        {"mechanism": "cop:AdjustmentMechanism"},
        {(COP + "OperationStage", COP + "PartnershipConstruction", COP + "Coordination", COP + outcome)
         for outcome in ("InterestEquilibriumRaised", "CooperativeSynergyImproved", "CooperationCostReduced",
                         "CoordinatedDevelopmentRealised")},
    ),
    (
        "mechanism_outcomes",
        {"mechanism": "cop:SurvivalMechanism"},
        {(COP + "EvaluationStage", COP + "ResultControl", COP + "Encapsulation", COP + outcome)
         for outcome in ("ActionStabilityRaised", "CooperationSustainabilityRaised", "CollectiveSurvivalSecured")},
    ),
]


@pytest.mark.parametrize("name, params, expected", SHIPPED_ANSWERS, ids=lambda v: v if isinstance(v, str) else "")
def test_shipped_mechanism_query_gives_the_sources_answer(shipped_store, name, params, expected):
    store = shipped_store
    client = build_test_app(store, queries=ROOT / "queries").test_client()
    rows = client.get(f"/api/queries/{name}", query_string=params).json
    assert {(r["stage"], r["logic"], r["strategy"], r["outcome"]) for r in rows} == expected


def test_shipped_provenance_and_claim_queries_answer(shipped_store):
    store = shipped_store
    client = build_test_app(store, queries=ROOT / "queries").test_client()
    case = "id:case/ningbo-home-care-platform"
    origins = client.get("/api/queries/statement_origins", query_string={"subject": case}).json
    by_origin = {(r["predicate"], r["object"]): r["origin"] for r in origins}
    assert by_origin[(COP + "hasMode", COP + "SharingAssisted")] == "inferred"  # the mode is the reasoner's
    assert "case" in set(by_origin.values()) and all(r["origin"] in ("case", "inferred") for r in origins)
    claims = client.get("/api/queries/source_claims", query_string={"kind": "cop:ComparisonClaim", "about": "cop:EnablingGovernment"}).json
    assert claims and all(r["source"] == COP + "Zhong2019" for r in claims)
    assert client.get("/api/queries/source_claims", query_string={"kind": "cop:StateSector"}).status_code == 400


def test_chinese_falls_back_to_english_and_says_so(shipped_store):
    """The shipped cases justify their assessments in English only: asked in Chinese, the API gives that text."""
    client = build_test_app(shipped_store, queries=ROOT / "queries").test_client()
    rows = client.get("/api/queries/unmet_conditions", query_string={"lang": "zh"}).json
    english = client.get("/api/queries/unmet_conditions", query_string={"lang": "en"}).json
    assert len(rows) == 3 and [r["justification"] for r in rows] == [r["justification"] for r in english]
    assert rows[1]["justification"].startswith("The capped price is far below cost")
    assert {(r["justification@lang"], r["conditionLabel@lang"], r["lang"]) for r in rows} == {("en", "zh", "zh")}
    assert "conditionLabel" in rows[0] and rows[0]["conditionLabel"] != english[0]["conditionLabel"]  # the Chinese label


def test_no_shipped_query_loses_text_in_chinese(shipped_store):
    """Asked in Chinese, every shipped query gives as many rows and as many text values as in English."""
    client = build_test_app(shipped_store, queries=ROOT / "queries").test_client()
    for query in client.get("/api/queries").json:
        if not any(p["name"] == "lang" for p in query["parameters"]):
            continue
        answers = {lang: client.get(f"/api/queries/{query['name']}", query_string={"lang": lang}).json for lang in ("en", "zh")}
        filled = {lang: {v: sum(r[v] is not None for r in rows) for v in query["variables"]} for lang, rows in answers.items()}
        assert filled["zh"] == filled["en"], query["name"]
        assert any(r.get(f"{v}@lang") == "zh" for r in answers["zh"] for v in query["variables"]), query["name"]


ENGLISH_ONLY_CASE = """
@prefix cop: <https://w3id.org/coprokg/ontology#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix case: <https://w3id.org/coprokg/id/case/> .
@prefix x: <https://w3id.org/coprokg/id/case/x/> .
case:x a cop:CoproductionCase ; rdfs:label "English-only case"@en ;
    cop:hasDeliveryArrangement cop:PublicConstructionPrivateOperation .
x:p1 cop:participationIn case:x ; cop:participant x:a ; cop:hasRole cop:ServiceOperator .
x:a cop:inSector cop:MarketSector ; rdfs:label "Only in English"@en .
x:p2 cop:participationIn case:x ; cop:participant x:b ; cop:hasRole cop:Funder .
x:b cop:inSector cop:StateSector ; rdfs:label "In both"@en, "两者皆有"@zh .
"""


def test_text_missing_in_chinese_keeps_its_row():
    """An actor labelled only in English stays in a Chinese answer, labelled in English, rather than vanish."""
    store = EmbeddedStore(None)
    store.ox.load(ENGLISH_ONLY_CASE.encode(), format=ox.RdfFormat.TURTLE)
    client = build_test_app(store, queries=ROOT / "queries").test_client()
    rows = client.get("/api/queries/case_actors", query_string={"case": "id:case/x", "lang": "zh"}).json
    assert {(r["actorLabel"], r["actorLabel@lang"]) for r in rows} == {("Only in English", "en"), ("两者皆有", "zh")}
