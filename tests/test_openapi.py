"""The OpenAPI 3.1 document: generated from the headers, valid, and honoured by the live server."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from kg.config import ROOT
from live_server import live_server
from query_api_support import build_test_app

# Beyond "no 5xx": statuses, media types and JSON bodies must be the ones the document declares.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def app():
    return build_test_app()


@pytest.fixture(scope="module")
def document(app):
    return app.test_client().get("/api/openapi.json").json


def test_document_is_valid_openapi_3_1(document):
    assert document["openapi"] == "3.1.0"
    validate(document)  # raises OpenAPIValidationError on any deviation from the 3.1 schema


def test_every_query_is_a_get_and_a_post_operation(document):
    assert sorted(document["paths"]) == [
        "/api/queries", "/api/queries/case_by_label", "/api/queries/cases_in_mode", "/api/queries/service_volume"
    ]
    get = document["paths"]["/api/queries/cases_in_mode"]["get"]
    assert get["operationId"] == "cases_in_mode" and get["summary"] == "Cases in one coproduction mode (test fixture)"
    assert "某一合作生产模式下的案例（测试用）" in get["description"] and "SELECT DISTINCT ?case" in get["description"]
    params = {p["name"]: p for p in get["parameters"]}
    assert list(params) == ["mode", "province", "sector", "lang", "format"]
    assert params["mode"]["required"] is True and params["mode"]["example"] == "cop:SharingAssisted"
    assert params["sector"]["schema"]["enum"] == ["cop:StateSector", "cop:MarketSector", "cop:SocietySector", "cop:FamilySector"]
    assert params["lang"]["schema"]["default"] == "en"
    assert params["format"]["schema"]["enum"] == ["json", "csv", "sparql-json", "tsv", "sparql-xml"]
    assert set(get["responses"]["200"]["content"]) == {
        "application/json", "text/csv", "application/sparql-results+json", "text/tab-separated-values",
        "application/sparql-results+xml",
    }
    record = get["responses"]["200"]["content"]["application/json"]["schema"]["items"]
    variables = ["case", "label", "city", "province", "mode", "sector", "lang"]
    assert list(record["properties"]) == variables + [f"{v}@lang" for v in variables]
    assert record["properties"]["label@lang"]["type"] == "string" and record["additionalProperties"] is False
    post = document["paths"]["/api/queries/service_volume"]["post"]
    body = post["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["minVolume"] == {"type": "integer", "minimum": 0, "maximum": 1000000, "default": 0}


def test_parameter_patterns_agree_with_the_server(app, document):
    """A value the document's pattern allows is accepted; one it forbids is refused."""
    params = {p["name"]: p for p in document["paths"]["/api/queries/cases_in_mode"]["get"]["parameters"]}
    assert params["province"]["schema"]["pattern"].endswith("$") and params["lang"]["schema"]["pattern"].startswith("^")
    client = app.test_client()
    ok = client.get("/api/queries/cases_in_mode", query_string={"mode": "cop:SharingAssisted", "province": "x@zh-Hans"})
    refused = client.get("/api/queries/cases_in_mode", query_string={"mode": "cop:SharingAssisted", "province": "x@"})
    assert (ok.status_code, refused.status_code) == (200, 400)


def run_schemathesis(app, max_examples: int) -> int:
    """Run a bounded schemathesis pass over every operation of `app`, served on loopback; count operations."""
    with live_server(app) as url:
        api = schemathesis.openapi.from_url(f"{url}/api/openapi.json")
        operations = [result.ok() for result in api.get_all_operations()]
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(max_examples=max_examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            def call_and_check(case):
                response = case.call(base_url=url, timeout=10)
                case.validate_response(response, checks=CHECKS)

            call_and_check()
    return len(operations)


def test_generated_requests_never_cause_a_server_error(app):
    assert run_schemathesis(app, max_examples=25) == 7


def test_generated_requests_on_the_shipped_queries_never_cause_a_server_error(shipped_store):
    store = shipped_store
    app = build_test_app(store, queries=ROOT / "queries")
    served = len(app.extensions["coprokg.queries"].queries)
    assert run_schemathesis(app, max_examples=10) == 1 + 2 * served
