"""Injection matrix: hostile values in every parameter type give a 400 or no match, never another query."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from kg.queries import INSTANCE_CHECK
from query_api_support import build_test_app, build_test_store

PAYLOADS = [
    "'",
    '"',
    ">",
    "}",
    "\n",
    "#",
    "UNION",
    '" } UNION { ?case ?p ?o } #',
    "' } UNION { ?case ?p ?o } #",
    "> } UNION { ?case ?p ?o } #",
    "https://w3id.org/coprokg/ontology#SharingAssisted> } UNION { ?case ?p ?o } #",
    "cop:SharingAssisted . } UNION { ?case ?p ?o",
    "<https://w3id.org/coprokg/ontology#SharingAssisted>\n} UNION {\n?case ?p ?o",
    "cop:SharingAssisted#",
    'Zhejiang"@en } UNION { ?case ?p ?o } #@en',
    "Zhejiang\n} UNION { ?case ?p ?o }@en",
    "en\") || true || (\"",
    "0 || true",
    "0) } UNION { ?fact ?p ?volume } #",
    "100 #",
    "测试案例甲\" } UNION { ?case ?p ?o } #",
    "\" ; DROP ALL ; #",
    "\\u0022 } UNION { ?s ?p ?o }",
]
# (query, its other required values, the parameter under attack); every parameter type is covered.
TARGETS = [
    ("cases_in_mode", {}, "mode"),  # iri with class
    ("cases_in_mode", {"mode": "cop:SharingAssisted"}, "province"),  # literal rdf:langString
    ("cases_in_mode", {"mode": "cop:SharingAssisted"}, "sector"),  # enum of IRIs
    ("cases_in_mode", {"mode": "cop:SharingAssisted"}, "lang"),  # language
    ("service_volume", {}, "minVolume"),  # integer
    ("case_by_label", {}, "label"),  # literal with lang=zh
]


@pytest.fixture(scope="module")
def observed():
    """The app over a fresh store whose query calls are recorded (only observed, still executed for real)."""
    store = build_test_store()
    calls = []
    real_query = store.query

    def recording_query(text, **options):
        calls.append((text, options.get("substitutions")))
        return real_query(text, **options)

    store.query = recording_query
    return build_test_app(store), store, calls


@pytest.mark.parametrize("payload", PAYLOADS, ids=repr)
@pytest.mark.parametrize("name, values, target", TARGETS, ids=lambda t: t if isinstance(t, str) else "")
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_payload_is_refused_or_matches_nothing(observed, method, name, values, target, payload):
    app, store, calls = observed
    client = app.test_client()
    size_before = len(store)
    calls.clear()
    params = {**values, target: payload}
    if method == "GET":
        response = client.get(f"/api/queries/{name}", query_string=params)
    else:
        response = client.post(f"/api/queries/{name}", json=params)
    assert response.status_code in (200, 400), response.data
    if response.status_code == 400:
        assert response.json["detail"].startswith(f"parameter '{target}': ")
    else:
        assert response.json == []
    assert len(store) == size_before
    # The query text sent to the store is always the file's own text; values travel only as single terms.
    query_file = app.extensions["coprokg.queries"].get(name)
    for text, substitutions in calls:
        assert text in (query_file.text, INSTANCE_CHECK)
        assert all(isinstance(term, (ox.NamedNode, ox.Literal)) for term in substitutions.values())
        bound = substitutions.get(ox.Variable(target))
        if isinstance(bound, ox.Literal):  # the whole payload is inside one literal, quotes and all
            expected = payload.lower() if target == "lang" else payload  # language tags are compared lower-case
            assert expected in (bound.value, f"{bound.value}@{bound.language}")


@pytest.mark.parametrize("value", [None, ["cop:SharingAssisted"], {"iri": "cop:SharingAssisted"}, 3.5, True])
def test_non_scalar_json_values_are_refused(observed, value):
    app, _, _ = observed
    response = app.test_client().post("/api/queries/cases_in_mode", json={"mode": "cop:SharingAssisted", "province": value})
    if value is None:  # null means "not given", as an empty query-string value does
        assert response.status_code == 200 and len(response.json) == 3
    else:
        assert response.status_code == 400 and response.json["detail"].startswith("parameter 'province': ")
