"""`coprokg load` and `coprokg query` while `coprokg serve` holds the store: they go through the server."""

from __future__ import annotations

import os
import subprocess

import requests
import yaml

from kg.config import ROOT, Settings
from tests.endpoint_support import TOKEN, ProductionServer

COPROKG = str(ROOT / ".venv" / "bin" / "coprokg")
MODE_OF_LIVE_CASE = "SELECT ?mode WHERE { <https://w3id.org/coprokg/id/case/live-loaded> cop:hasMode ?mode }"


def _coprokg(server: ProductionServer, store, *args: str, token: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPROKG_")}
    env.update(COPROKG_STORE=str(store), COPROKG_PORT=str(server.port), **({"COPROKG_TOKEN": token} if token else {}))
    return subprocess.run([COPROKG, *args], env=env, capture_output=True, text=True, timeout=120)


def test_a_case_loaded_while_serving_is_seen_and_classified_at_once(tmp_path):
    store = tmp_path / "store"
    subprocess.run([COPROKG, "build", "--store", str(store)], check=True, capture_output=True, timeout=120)
    case = yaml.safe_load((Settings().cases / "hangzhou-community-meal-centre.yaml").read_text(encoding="utf-8"))
    case["id"] = "live-loaded"
    case_file = tmp_path / "live.yaml"
    case_file.write_text(yaml.safe_dump(case, allow_unicode=True), encoding="utf-8")
    server = ProductionServer(store, COPROKG_TOKEN=TOKEN, COPROKG_WORKERS="2")
    try:
        missing = _coprokg(server, store, "load", str(case_file), token=None)
        assert missing.returncode == 1
        assert f"in use by the server at {server.url}" in missing.stderr and "set COPROKG_TOKEN" in missing.stderr
        wrong = _coprokg(server, store, "load", str(case_file), token="not-the-token")
        assert wrong.returncode == 1 and "401" in wrong.stderr and "COPROKG_TOKEN" in wrong.stderr
        assert "not-the-token" not in wrong.stderr

        loaded = _coprokg(server, store, "load", str(case_file), token=TOKEN)
        assert loaded.returncode == 0, loaded.stderr
        assert "loaded 1 case(s): live-loaded" in loaded.stdout
        # Classified (the inferred graph was recomputed in the same write) and seen by every worker.
        for _ in range(4):
            r = requests.get(f"{server.url}/api/queries/case_modes", timeout=10)
            modes = {row["case"].rsplit("/", 1)[-1]: row["mode"].rsplit("#", 1)[-1] for row in r.json()}
            assert modes["live-loaded"] == modes["hangzhou-community-meal-centre"] == "ComplementaryAdvantage"
        queried = _coprokg(server, store, "query", MODE_OF_LIVE_CASE, "--format", "csv", token=None)
        assert queried.returncode == 0 and "ComplementaryAdvantage" in queried.stdout
    finally:
        server.stop()
