"""kg.client against a live server on loopback, and the README's runnable examples."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from kg.client import CoproKG, CoproKGError, records_from_sparql_json
from kg.config import ROOT
from live_server import live_server
from query_api_support import build_test_app

CASE = "https://w3id.org/coprokg/id/case/"
README_BASE = "http://127.0.0.1:8000"


@pytest.fixture(scope="module")
def base_url():
    with live_server(build_test_app()) as url:
        yield url


@pytest.fixture(scope="module")
def kg(base_url):
    return CoproKG(base_url, timeout=10)


def test_client_lists_queries(kg):
    assert {q["name"] for q in kg.queries()} == {"case_by_label", "cases_in_mode", "service_volume"}


def test_client_runs_a_named_query_as_records(kg):
    rows = kg.run("service_volume", minVolume=100)
    assert rows == [
        {"case": CASE + "test-c", "volume": 300, "minVolume": 100},
        {"case": CASE + "test-a", "volume": 120, "minVolume": 100},
    ]


def test_client_gives_csv(kg):
    assert kg.run_csv("service_volume", minVolume=250).splitlines() == ["case,volume,minVolume", CASE + "test-c,300,250"]


def test_client_gives_a_data_frame_with_the_query_columns(kg):
    frame = kg.run_df("cases_in_mode", mode="cop:SharingAssisted", lang="zh")
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == ["case", "label", "city", "province", "mode", "sector", "lang"]
    assert sorted(set(frame["city"])) == ["宁波", "杭州"]
    empty = kg.run_df("service_volume", minVolume=1000)
    assert empty.empty and list(empty.columns) == ["case", "volume", "minVolume"]


def test_client_runs_raw_sparql(kg):
    rows = kg.sparql(
        "PREFIX cop: <https://w3id.org/coprokg/ontology#> "
        "SELECT ?case ?volume WHERE { ?f cop:performanceOf ?case ; cop:value ?volume } ORDER BY ?volume"
    )
    assert [(r["case"].removeprefix(CASE), r["volume"]) for r in rows] == [("test-b", 40), ("test-a", 120), ("test-c", 300)]
    frame = kg.sparql_df("SELECT ?x WHERE { VALUES ?x { 1 2 } }")
    assert frame["x"].tolist() == [1, 2]
    assert kg.sparql("ASK { ?s ?p ?o }") is True


@pytest.mark.parametrize(
    "name, params, status, words",
    [
        ("cases_in_mode", {"mode": "cop:StateSector"}, 400, "parameter 'mode': cop:StateSector is not a known"),
        ("service_volume", {"minVolume": "lots"}, 400, "parameter 'minVolume'"),
        ("no_such_query", {}, 404, "no named query 'no_such_query'"),
    ],
)
def test_client_raises_with_status_and_detail(kg, name, params, status, words):
    with pytest.raises(CoproKGError) as caught:
        kg.run(name, **params)
    assert caught.value.status == status and words in caught.value.detail


def test_client_raises_on_malformed_sparql(kg):
    with pytest.raises(CoproKGError) as caught:
        kg.sparql("SELECT ?x WHERE { ?x ")
    assert caught.value.status == 400


def test_sparql_json_records_convert_types():
    document = {
        "head": {"vars": ["a", "b", "c", "d"]},
        "results": {"bindings": [{
            "a": {"type": "uri", "value": "http://x"},
            "b": {"type": "literal", "value": "2.5", "datatype": "http://www.w3.org/2001/XMLSchema#decimal"},
            "c": {"type": "literal", "value": "true", "datatype": "http://www.w3.org/2001/XMLSchema#boolean"},
        }]},
    }
    assert records_from_sparql_json(document) == [{"a": "http://x", "b": 2.5, "c": True, "d": None}]


def test_client_module_imports_of_ours_only_the_shared_value_rule_which_needs_only_the_standard_library():
    # So the light install (tests/test_packaging.py) needs nothing of the server's.
    ours = re.compile(r"^\s*(?:from|import)\s+((?:kg|server)[\w.]*)", re.M)
    assert ours.findall((ROOT / "kg" / "client.py").read_text(encoding="utf-8")) == ["kg.plain_values"]
    rule = (ROOT / "kg" / "plain_values.py").read_text(encoding="utf-8")
    assert re.findall(r"^(?:from|import)\s+(\w+)", rule, re.M) == ["__future__", "math"]


# --- the README's "Use from your app" examples, run against the shipped data ----------------


def readme_examples(language: str) -> list[str]:
    """Return the ```language blocks of the README's "Use from your app" section."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Use from your app", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{language}\n(.*?)```", section, re.S)


@pytest.fixture(scope="module")
def shipped_base_url(shipped_store):
    store = shipped_store
    app = build_test_app(store, queries=ROOT / "queries")
    assert "case_actors" in app.extensions["coprokg.queries"].queries, "queries/case_actors.rq failed its checks"
    with live_server(app) as url:
        yield url


def test_readme_has_every_promised_example():
    for language in ("python", "sh", "js", "r"):
        assert readme_examples(language), f"no {language} example"


@pytest.mark.parametrize("index", range(2))
def test_readme_python_examples_run(shipped_base_url, index, tmp_path):
    code = readme_examples("python")[index].replace(README_BASE, shipped_base_url)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert CASE in result.stdout
    if index == 0:
        assert "400 parameter 'sector': 'cop:ChurchSector' is not one of" in result.stdout


def test_readme_curl_examples_run(shipped_base_url, tmp_path):
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    script = "set -euo pipefail\n" + readme_examples("sh")[0].replace(README_BASE, shipped_base_url)
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(CASE) > 1 and "case,arrangement,actor" in result.stdout
    assert (tmp_path / "coprokg-openapi.json").read_text().startswith("{")


def test_readme_javascript_example_runs(shipped_base_url, tmp_path):
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    script = readme_examples("js")[0].replace(README_BASE, shipped_base_url)
    script = script.replace("console.table(rows);", "console.log(JSON.stringify(rows));")
    result = subprocess.run(["node", "--input-type=module", "-e", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert CASE in result.stdout
