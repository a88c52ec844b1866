"""Credentials for a remote store (COPROKG_STORE_AUTH): bearer against CoproKG's own endpoint, basic
against a real server asking for it, and never a secret in a message, a repr or a URL."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
from click.testing import CliRunner

from kg.cli import main
from kg.config import ROOT, Settings
from kg.errors import ConfigError, StoreRefused
from kg.namespaces import INFERRED_GRAPH, ONTOLOGY_GRAPH, case_graph
from kg.store import EmbeddedStore, RemoteStore, open_store
from kg.store_auth import StoreAuth
from tests.endpoint_support import basic_auth_front
from tests.live_server import serve

TOKEN = "store-auth-test-token"
PASSWORD = "pass:with-colon"  # the password part may hold ':'
CASE = sorted((ROOT / "cases").glob("*.yaml"))[0]


@pytest.mark.parametrize("value,scheme,user,secret", [
    ("bearer:abc", "bearer", None, "abc"),
    ("basic:alice:s3:cret", "basic", "alice", "s3:cret"),
    ("Digest:dba:d-secret", "digest", "dba", "d-secret"),
])
def test_store_auth_is_read_from_the_environment_and_the_settings_file(tmp_path, value, scheme, user, secret):
    from_env = Settings.from_env({"COPROKG_STORE_AUTH": value}).remote_auth
    config = tmp_path / "coprokg.toml"
    config.write_text(f'store_auth = "{value}"\n', encoding="utf-8")
    from_file = Settings.from_env({"COPROKG_CONFIG": str(config)}).remote_auth
    assert from_env == from_file == StoreAuth(scheme, user, secret)
    assert secret not in repr(Settings.from_env({"COPROKG_STORE_AUTH": value})) and secret not in repr(from_env)


@pytest.mark.parametrize("value,message", [
    ("token:hunter2-secret", "must start with one of bearer:, basic:, digest:"),
    ("basic:hunter2-secret", "basic:USER:PASSWORD"),
    ("digest::hunter2-secret", "digest:USER:PASSWORD"),
    ("bearer: hunter2-secret", "without spaces"),
])
def test_malformed_store_auth_is_refused_without_repeating_it(value, message):
    with pytest.raises(ConfigError, match=message) as caught:
        Settings.from_env({"COPROKG_STORE_AUTH": value})
    assert "COPROKG_STORE_AUTH" in str(caught.value) and "hunter2" not in str(caught.value)


def test_credentials_in_the_store_url_are_refused_without_repeating_them():
    with pytest.raises(ConfigError, match="must not hold credentials.*COPROKG_STORE_AUTH") as caught:
        Settings.from_env({"COPROKG_STORE": "sparql:http://dba:hunter2@127.0.0.1:8890/sparql"})
    assert "hunter2" not in str(caught.value)


@pytest.fixture(scope="module")
def coprokg_endpoint():
    """CoproKG's own endpoint, writable with TOKEN, over an in-memory store holding the ontology; yields
    (store, /sparql URL)."""
    from kg.ontology import load_ontology_graph

    store = EmbeddedStore(None)
    store.replace_graphs({ONTOLOGY_GRAPH: load_ontology_graph(Settings().ontology)})
    with serve(store, Settings(token=TOKEN)) as url:
        yield store, f"{url}/sparql"


def test_load_into_coprokg_endpoint_with_its_token(coprokg_endpoint):
    store, sparql = coprokg_endpoint
    result = CliRunner().invoke(main, ["load", str(CASE), "--store", f"sparql:{sparql}"],
                                env={"COPROKG_STORE_AUTH": f"bearer:{TOKEN}"})
    assert result.exit_code == 0, result.output
    case_id = result.output.split("loaded 1 case(s): ")[1].strip()
    graphs = {g.value for g in store.ox.named_graphs()}
    assert {str(case_graph(case_id)), str(INFERRED_GRAPH)} <= graphs  # the case and its inferences, in one write


@pytest.mark.parametrize("auth,advice", [
    (None, "no credentials were sent; set COPROKG_STORE_AUTH"),
    ("bearer:wrong-token-value", "it did not accept the bearer credentials"),
])
def test_a_refusal_names_the_url_and_never_the_credentials(coprokg_endpoint, auth, advice):
    store, sparql = coprokg_endpoint
    before = len(store)
    env = {"COPROKG_STORE_AUTH": auth} if auth else {}
    result = CliRunner().invoke(main, ["load", str(CASE), "--store", f"sparql:{sparql}"], env=env)
    assert result.exit_code == 1
    assert f"the remote store at {sparql} refused the request (401 Unauthorized): {advice}" in result.output
    assert "wrong-token-value" not in result.output and "Traceback" not in result.output
    assert len(store) == before


def test_basic_credentials_reach_a_store_behind_basic_auth(oxigraph_server):
    graph = "http://example.org/basic-auth-test"
    with basic_auth_front(oxigraph_server, "alice", PASSWORD) as front:
        settings = Settings(store=f"sparql:{front}/query,{front}/update", store_auth=f"basic:alice:{PASSWORD}")
        store = open_store(settings)
        store.update(f'INSERT DATA {{ GRAPH <{graph}> {{ <http://example.org/a> <http://example.org/p> "基本" }} }}')
        assert [r["o"] for r in store.query(f"SELECT ?o WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")] == [ox.Literal("基本")]
        store.drop_graph(graph)
        assert not store.has_graph(graph)
        store.close()
        wrong = RemoteStore(f"{front}/query", auth=StoreAuth("basic", "alice", "not-the-password"))
        with pytest.raises(StoreRefused, match=r"refused this service's request \(HTTP 401\)") as caught:
            wrong.query("ASK {}")
        # Where and why is for the operator (the server's log, the command line), not for a client.
        assert f"at {front}/query refused the request" in caught.value.operator_detail
        assert "basic credentials" in caught.value.operator_detail and front not in str(caught.value)
        assert "not-the-password" not in str(caught.value) + caught.value.operator_detail
        wrong.close()
