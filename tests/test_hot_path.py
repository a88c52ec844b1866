"""The query paths' per-request shortcuts (URL decoding, Accept choice, class checks) answer as the slow paths they replace."""

from __future__ import annotations

import random
from urllib.parse import parse_qsl

import pyoxigraph as ox
import pytest
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from kg.config import Settings
from kg.errors import BadRequest
from kg.store import EmbeddedStore
from query_api_support import TEST_CASES, TEST_QUERIES
from server import create_app
from server.api import INSTANCE_MEMO_KEY, RESULT_MEDIA_TYPE_TO_FORMAT, _format_for_accept, dataset_version
from server.query_string import parse_query_string
from server.sparql import _parse_params

COP = "https://w3id.org/coprokg/ontology#"
MODE_TYPE = f"GRAPH <https://w3id.org/coprokg/graph/ontology> {{ <{COP}SharingAssisted> a <{COP}CoproductionMode> }}"
URL = "/api/queries/cases_in_mode?mode=cop:SharingAssisted"
# Pieces that exercise every branch of the decoder: escapes split, bad, non-UTF-8, non-ASCII, `=`, `+`, CR LF.
PIECES = list("abc=&%+ ;/?#") + ["%2", "%4", "%41", "%e4", "%E4%B8%AD", "%ff", "%C3", "%zz", "中", "é", "\r\n",
                                 "%0A", "=%", "%%", "%3D", "%2B"]


def _outcome(parse, text: str):
    try:
        return "ok", parse(text)
    except UnicodeDecodeError as e:
        return "error", e.reason, e.start, e.end, e.object


def test_query_string_decoding_equals_urllib_parse_qsl_on_every_input():
    rng = random.Random(7)
    texts = ["".join(rng.choice(PIECES) for _ in range(rng.randint(0, 12))) for _ in range(20_000)]
    texts.append("query=" + "SELECT%20%3Fp%20%3Fo%20WHERE%20%7B%20%3Chttps%3A%2F%2Fx%2Fy%3E%20%3Fp%20%3Fo%20%7D" * 20)
    for text in texts:
        expected = _outcome(lambda t: parse_qsl(t, keep_blank_values=True, encoding="utf-8", errors="strict"), text)
        assert _outcome(parse_query_string, text) == expected, text


@pytest.mark.parametrize("header", [
    None, "", "*/*", "text/csv", "text/csv;q=0.5, application/json", "application/sparql-results+xml;q=0.9, */*;q=0.1",
    "image/png", "text/*", "application/json;q=0, text/tab-separated-values",
])
def test_remembered_accept_choice_equals_werkzeugs_own(header):
    accept = parse_accept_header(header, MIMEAccept)
    best = accept.best_match(RESULT_MEDIA_TYPE_TO_FORMAT) if accept.provided else "application/json"
    assert _format_for_accept(header) == (RESULT_MEDIA_TYPE_TO_FORMAT[best] if best else None)


@pytest.fixture
def served(tmp_path):
    """The app over the production store class (snapshots plus a writer) holding the test cases on disk."""
    path = tmp_path / "store"
    seed = EmbeddedStore(path)
    seed.ox.load(path=str(TEST_CASES), format=ox.RdfFormat.TRIG)
    seed.close()
    app = create_app(Settings(store=str(path), queries=TEST_QUERIES))
    store = app.extensions["coprokg.store"]
    yield app, store
    store.close()


def test_an_instance_check_is_remembered_until_a_write_removes_the_instance(served):
    app, store = served
    client = app.test_client()
    first = client.get(URL)
    assert first.status_code == 200 and len(first.json) == 3
    version = dataset_version(store)
    assert (COP + "SharingAssisted", COP + "CoproductionMode") in app.extensions[INSTANCE_MEMO_KEY].known(version)
    assert client.get(URL).json == first.json  # answered with the remembered check

    store.update(f"DELETE DATA {{ {MODE_TYPE} }}")
    assert dataset_version(store) != version
    refused = client.get(URL)
    assert refused.status_code == 400 and "cop:SharingAssisted is not a known cop:CoproductionMode" in refused.json["detail"]
    posted = client.post("/api/queries/cases_in_mode", json={"mode": "cop:SharingAssisted"})
    assert posted.status_code == 400


def test_a_failed_instance_check_is_never_remembered(served):
    app, store = served
    client = app.test_client()
    store.update(f"DELETE DATA {{ {MODE_TYPE} }}")
    assert client.get(URL).status_code == 400
    store.update(f"INSERT DATA {{ {MODE_TYPE} }}")
    again = client.get(URL)
    assert again.status_code == 200 and {row["case"].rsplit("/", 1)[1] for row in again.json} == {"test-a", "test-b"}


def test_a_percent_escape_that_is_not_utf8_is_still_refused():
    with pytest.raises(BadRequest, match="the URL holds a percent-escape that is not UTF-8"):
        _parse_params("query=%FF", "the URL")
