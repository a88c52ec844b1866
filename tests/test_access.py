"""Access: constant-time token checks, read-only by default, no secrets in logs, exposure refusal, write rate limits."""

from __future__ import annotations

import hmac
import logging

import pytest
import requests
from click.testing import CliRunner

from server.cli import main
from kg.config import MIN_EXPOSED_TOKEN_LENGTH, Settings
from kg.errors import ConfigError, TooManyRequests
from kg.store import EmbeddedStore
from server import create_app
from server.http_policy import MAX_TRACKED_CLIENTS, WriteRateLimiter, tokens_match
from tests.endpoint_support import ProductionServer, load_update

SECRET = "s3cret-Token-that-must-never-be-logged-9f8e7d"
UPDATE = 'INSERT DATA { GRAPH <http://example.org/access> { <http://example.org/a> <http://example.org/p> "x" } }'
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH <http://example.org/access> { ?s ?p ?o } }"


def _app(**settings):
    store = EmbeddedStore(None)
    store.update(load_update())
    return create_app(Settings(store="unused", **settings), store=store)


def _count(client) -> int:
    return int(client.get("/sparql", query_string={"query": COUNT}).json["results"]["bindings"][0]["n"]["value"])


def _update(client, token: str | None = SECRET, address: str = "127.0.0.1"):
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return client.post("/sparql", data={"update": UPDATE}, headers=headers, environ_base={"REMOTE_ADDR": address})


# --- tokens --------------------------------------------------------------------------------------------


def test_tokens_are_compared_in_constant_time_whatever_their_length(monkeypatch):
    compared = []
    real_compare = hmac.compare_digest

    def observed(a, b):  # only watches: the real comparison still decides
        compared.append((len(a), len(b)))
        return real_compare(a, b)

    monkeypatch.setattr(hmac, "compare_digest", observed)
    client = _app(token=SECRET).test_client()
    for given in ("x", SECRET[:-1], SECRET + "x", "é" * 300):
        assert _update(client, given).status_code == 401
    assert _update(client).status_code == 204
    # Every check went through compare_digest, on equal-length digests: neither content nor length leaks.
    assert compared == [(32, 32)] * 5
    assert tokens_match(SECRET, SECRET) and not tokens_match(SECRET.upper(), SECRET)


def test_without_a_token_the_service_is_read_only():
    client = _app().test_client()
    before = _count(client)
    for token in (None, "anything"):
        refused = _update(client, token)
        assert refused.status_code == 403 and "read-only" in refused.json["detail"]
    put = client.put("/store", query_string={"graph": "http://example.org/access"}, data="<a:b> <a:c> <a:d> .",
                     headers={"Content-Type": "application/n-triples", "Authorization": "Bearer anything"})
    assert put.status_code == 403
    assert _count(client) == before == 0
    description = client.get("/sparql", headers={"Accept": "text/turtle"}).data.decode()
    assert "SPARQL11Query" in description and "SPARQL11Update" not in description


def test_updates_off_keeps_a_configured_token_from_writing():
    settings = Settings.from_env({"COPROKG_TOKEN": SECRET, "COPROKG_UPDATES": "off"})
    assert settings.read_only
    client = _app(token=SECRET, updates="off").test_client()
    assert _update(client).status_code == 403 and _count(client) == 0


# --- exposure: the refusal to start -------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.7", "coprokg.example.org"])
def test_refuses_a_non_loopback_address_with_updates_on_and_no_token(host):
    with pytest.raises(ConfigError, match="COPROKG_UPDATES=on but COPROKG_TOKEN is unset.*not a loopback address"):
        Settings.from_env({"COPROKG_HOST": host, "COPROKG_UPDATES": "on"})
    with pytest.raises(ConfigError, match=f"shorter than {MIN_EXPOSED_TOKEN_LENGTH}"):
        Settings.from_env({"COPROKG_HOST": host, "COPROKG_TOKEN": "short-token"})
    # Read-only (no token), or a long token, is fine anywhere.
    assert Settings.from_env({"COPROKG_HOST": host}).read_only
    assert not Settings.from_env({"COPROKG_HOST": host, "COPROKG_TOKEN": SECRET}).read_only


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_accepts_a_short_token_but_not_updates_on_without_one(host):
    assert not Settings.from_env({"COPROKG_HOST": host, "COPROKG_TOKEN": "short"}).read_only
    with pytest.raises(ConfigError, match="writes always need a bearer token"):
        Settings.from_env({"COPROKG_HOST": host, "COPROKG_UPDATES": "on"})
    with pytest.raises(ConfigError, match="COPROKG_UPDATES must be one of auto, on, off"):
        Settings.from_env({"COPROKG_HOST": host, "COPROKG_UPDATES": "yes"})


def test_serve_exits_before_binding_when_exposed_without_a_token(monkeypatch):
    monkeypatch.setenv("COPROKG_UPDATES", "on")
    monkeypatch.delenv("COPROKG_TOKEN", raising=False)
    result = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0", "--port", "8999"])
    assert result.exit_code == 1
    assert "refusing to start" in result.output and "COPROKG_HOST=0.0.0.0" in result.output


def test_settings_never_show_the_token():
    settings = Settings(token=SECRET)
    assert SECRET not in repr(settings) and SECRET not in str(settings)
    with pytest.raises(ConfigError) as error:
        Settings(token=SECRET + "\n")
    assert SECRET not in str(error.value)


# --- secrets never logged ----------------------------------------------------------------------------------


def test_token_never_reaches_the_in_process_log(caplog):
    client = _app(token=SECRET).test_client()
    with caplog.at_level(logging.DEBUG):
        _update(client)
        _update(client, SECRET + "-wrong")
        client.post("/sparql", data={"update": "INSERT DATA { nonsense"}, headers={"Authorization": f"Bearer {SECRET}"})
        client.get("/sparql", query_string={"query": "SELECT * {"}, headers={"Authorization": f"Bearer {SECRET}"})
    assert caplog.records, "the access log wrote nothing"
    assert SECRET not in caplog.text


def test_a_token_put_in_the_url_by_mistake_stays_out_of_the_access_log(caplog):
    client = _app(token=SECRET).test_client()
    with caplog.at_level(logging.INFO, logger="coprokg.access"):
        client.get("/sparql", query_string={"query": "ASK {}", "access_token": SECRET})
    lines = [record.getMessage() for record in caplog.records if record.name == "coprokg.access"]
    assert len(lines) == 1 and SECRET not in lines[0]
    length = len(f"query=ASK+%7B%7D&access_token={SECRET}")
    assert f'"GET /sparql?<{length} bytes>" 200' in lines[0]  # the path and the query's length, not its text


def test_token_never_reaches_the_production_log(tmp_path):
    """`coprokg serve` (gunicorn, writer process, access log) with writes right and wrong, then its whole log read."""
    path = tmp_path / "store"
    EmbeddedStore(path).close()
    server = ProductionServer(path, COPROKG_TOKEN=SECRET, COPROKG_WORKERS="1")
    try:
        right = {"Authorization": f"Bearer {SECRET}"}
        assert requests.post(f"{server.url}/sparql", data={"update": UPDATE}, headers=right, timeout=10).status_code == 204
        assert requests.post(f"{server.url}/sparql", data={"update": UPDATE}, timeout=10,
                             headers={"Authorization": f"Bearer {SECRET[::-1]}"}).status_code == 401
        assert requests.post(f"{server.url}/sparql", data={"update": "INSERT DATA {"}, headers=right,
                             timeout=10).status_code == 400
        assert requests.put(f"{server.url}/store", params={"graph": "http://example.org/g"}, data=b"<a:b> <a:c> .",
                            headers={**right, "Content-Type": "text/turtle"}, timeout=10).status_code == 400
    finally:
        server.stop()
    assert "POST /sparql" in server.output  # the access log was captured
    assert SECRET not in server.output and SECRET[::-1] not in server.output


# --- write rate limits --------------------------------------------------------------------------------------


def test_writes_over_the_rate_get_429_with_retry_after():
    client = _app(token=SECRET, write_rate=3).test_client()
    assert [_update(client).status_code for _ in range(3)] == [204] * 3
    refused = _update(client)
    assert refused.status_code == 429 and refused.json["error"] == "Too many write requests"
    assert int(refused.headers["Retry-After"]) >= 1
    # Wrong tokens spend the same budget, so guessing is throttled too; reads are never limited.
    assert _update(client, "guess").status_code == 429
    assert client.get("/sparql", query_string={"query": COUNT}).status_code == 200
    # Another client has its own budget; the refused writes changed nothing.
    assert _update(client, address="192.0.2.10").status_code == 204
    assert _count(client) == 1


def test_the_bucket_refills_at_its_rate_and_forgets_idle_clients():
    now = [0.0]
    limiter = WriteRateLimiter(60, clock=lambda: now[0])  # one write a second, bursts of 60
    for _ in range(60):
        limiter.take("a")
    with pytest.raises(TooManyRequests) as refused:
        limiter.take("a")
    assert refused.value.retry_after == 1
    now[0] += 1.0
    limiter.take("a")
    for n in range(MAX_TRACKED_CLIENTS + 5):
        limiter.take(f"client-{n}")
    assert len(limiter._buckets) == MAX_TRACKED_CLIENTS
