"""Loading into the real on-disk store: all or nothing, idempotent reloads, dump/restore, build, CLI."""

from __future__ import annotations

import gc
import os
import shutil
import time

import pyoxigraph as ox
import pytest
from click.testing import CliRunner

from kg.cli import main
from kg.config import ROOT, Settings
from kg.errors import BadRequest, CaseDataError
from kg.load import build_store, dump_store, load_cases, restore_store
from kg.namespaces import COP, INFERRED_GRAPH, ONTOLOGY_GRAPH, case_graph
from kg.store import EmbeddedStore

CASES = ROOT / "cases"
MEAL_CENTRE = CASES / "hangzhou-community-meal-centre.yaml"
BAD_LEVEL = ("authority: low\n", "authority: hgh\n")


def quads(store: EmbeddedStore) -> set:
    return set(store.quads())


@pytest.fixture
def store(tmp_path):
    """A fresh on-disk store holding the four shipped cases (no inferences: fast)."""
    kg_store = EmbeddedStore(tmp_path / "store")
    load_cases(kg_store, [CASES], reason=False)
    yield kg_store
    kg_store.close()


def copy_case(tmp_path, source, *replacements, name=None):
    text = source.read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text
        text = text.replace(old, new)
    target = tmp_path / (name or source.name)
    target.write_text(text, encoding="utf-8")
    return target


def test_load_writes_one_graph_per_case_with_provenance(store):
    names = store.graph_names()
    assert names == sorted(str(case_graph(p.stem)) for p in CASES.glob("*.yaml"))
    derived = store.query(
        "SELECT ?g ?file WHERE { GRAPH ?g { ?g <http://www.w3.org/ns/prov#wasDerivedFrom> ?file } } ORDER BY ?g")
    assert [(s["g"].value, s["file"].value) for s in derived] == [
        (str(case_graph(p.stem)), f"file:cases/{p.name}") for p in sorted(CASES.glob("*.yaml"))]


def test_failed_load_leaves_every_quad_as_it_was(store, tmp_path):
    before = quads(store)
    changed = copy_case(tmp_path, MEAL_CENTRE, ("period: 2016-2018", "period: 1999"))
    broken = copy_case(tmp_path, MEAL_CENTRE, BAD_LEVEL, ("id: hangzhou-community-meal-centre", "id: other-case"),
                       name="broken.yaml")
    with pytest.raises(CaseDataError) as failure:
        load_cases(store, [changed, broken], reason=False)
    assert [str(p) for p in failure.value.problems] == ["broken.yaml:21 authority: 'hgh' is not one of high, low"]
    assert quads(store) == before


def test_reloading_a_case_replaces_its_graph(store, tmp_path):
    graph = ox.NamedNode(str(case_graph("hangzhou-community-meal-centre")))
    others = {q for q in quads(store) if q.graph_name != graph}
    changed = copy_case(tmp_path, MEAL_CENTRE, ("authority: low\n", "authority: high\n"))
    load_cases(store, [changed], reason=False)
    load_cases(store, [changed], reason=False)
    levels = store.query(f"PREFIX cop: <{COP}> SELECT ?level WHERE {{ GRAPH <{graph.value}> {{ ?c cop:hasAuthorityLevel ?level }} }}")
    assert [s["level"].value for s in levels] == [str(COP.HighAuthority)]
    assert {q for q in quads(store) if q.graph_name != graph} == others
    assert len(store.graph_names()) == 4


def test_dump_and_restore_round_trip_exactly(store, tmp_path):
    for fmt, suffix in (("nquads", ".nq"), ("trig", ".trig")):
        dump = tmp_path / f"backup{suffix}"
        dump_store(store, dump, fmt)
        other = EmbeddedStore(tmp_path / f"restored-{fmt}")
        other.update("INSERT DATA { GRAPH <urn:x:stale> { <urn:x:s> <urn:x:p> _:b } }")
        assert restore_store(other, dump, fmt) == len(store)
        assert quads(other) == quads(store)
        redump = tmp_path / f"again{suffix}"
        dump_store(other, redump, fmt)
        assert sorted(redump.read_bytes().splitlines()) == sorted(dump.read_bytes().splitlines())
        other.close()


def test_restore_keeps_blank_node_labels(tmp_path):
    kg_store = EmbeddedStore(tmp_path / "store")
    data = b'_:restriction <http://www.w3.org/2002/07/owl#onProperty> <urn:x:p> <urn:x:g> .\n'
    (tmp_path / "b.nq").write_bytes(data)
    restore_store(kg_store, tmp_path / "b.nq")
    assert kg_store.ox.dump(format=ox.RdfFormat.N_QUADS) == data


def test_bad_dump_leaves_the_store_as_it_was(store, tmp_path):
    before = quads(store)
    dump = tmp_path / "backup.nq"
    dump_store(store, dump)
    lines = dump.read_bytes().splitlines(keepends=True)
    lines.insert(len(lines) // 2, b"<urn:x:s> <urn:x:p> oops .\n")
    dump.write_bytes(b"".join(lines))
    with pytest.raises(BadRequest, match=r"backup.nq: not valid nquads: .*"):
        restore_store(store, dump, name="backup.nq")
    assert quads(store) == before


def test_build_fills_ontology_cases_and_inferences(shipped_store):
    names = set(shipped_store.graph_names())
    assert {str(ONTOLOGY_GRAPH), str(INFERRED_GRAPH)} <= names
    assert {n for n in names if "/graph/case/" in n} == {str(case_graph(p.stem)) for p in CASES.glob("*.yaml")}


def test_load_re_materialises_and_failed_build_leaves_the_store_as_it_was(tmp_path):
    cases = tmp_path / "cases"
    cases.mkdir()
    shutil.copy(MEAL_CENTRE, cases)
    settings = Settings(store=str(tmp_path / "store"), cases=cases)
    kg_store, _ = build_store(settings)
    mode = f"SELECT ?mode WHERE {{ GRAPH <{INFERRED_GRAPH}> {{ ?case <{COP.hasMode}> ?mode }} }}"
    assert [s["mode"].value for s in kg_store.query(mode)] == [str(COP.ComplementaryAdvantage)]
    load_cases(kg_store, [copy_case(tmp_path, MEAL_CENTRE, ("authority: low\n", "authority: high\n"))])
    assert [s["mode"].value for s in kg_store.query(mode)] == [str(COP.AuthoritativeCharismatic)]
    before = quads(kg_store)
    kg_store.close()
    copy_case(cases, MEAL_CENTRE, BAD_LEVEL)
    with pytest.raises(CaseDataError):
        build_store(settings)
    kg_store = EmbeddedStore(settings.store)
    assert quads(kg_store) == before
    kg_store.close()


def test_cli_load_dump_restore_and_query(tmp_path):
    runner = CliRunner()
    store = str(tmp_path / "store")
    result = runner.invoke(main, ["load", str(CASES), "--store", store, "--no-reason"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("beijing-street-charisma-partnership, hangzhou-community-meal-centre, "
                                          "ningbo-home-care-platform, shanghai-street-care-network")
    bad = copy_case(tmp_path, MEAL_CENTRE, BAD_LEVEL)
    result = runner.invoke(main, ["load", str(bad), "--store", store, "--no-reason"])
    assert result.exit_code == 1
    assert "hangzhou-community-meal-centre.yaml:21 authority: 'hgh' is not one of high, low" in result.output
    assert "1 error(s); nothing was written" in result.output

    query = f"PREFIX cop: <{COP}> SELECT ?case ?level WHERE {{ ?case cop:hasAuthorityLevel ?level }} ORDER BY ?case"
    table = runner.invoke(main, ["query", query, "--store", store])
    assert table.exit_code == 0, table.output
    assert table.output.splitlines()[2].split() == ["id:case/beijing-street-charisma-partnership", "cop:HighAuthority"]
    assert table.output.splitlines()[-1] == "(4 rows)"
    csv = runner.invoke(main, ["query", query, "--store", store, "--format", "csv"])
    assert csv.output.splitlines()[0] == "case,level"
    assert len(csv.output.splitlines()) == 5
    json_out = runner.invoke(main, ["query", query, "--store", store, "--format", "json"])
    assert '"vars":["case","level"]' in json_out.output.replace(" ", "")
    construct = f"PREFIX cop: <{COP}> CONSTRUCT {{ ?c cop:hasAuthorityLevel ?l }} WHERE {{ ?c cop:hasAuthorityLevel ?l }}"
    turtle = runner.invoke(main, ["query", construct, "--store", store, "--format", "turtle"])
    assert "@prefix cop: <https://w3id.org/coprokg/ontology#> ." in turtle.output
    assert turtle.output.count("cop:hasAuthorityLevel") == 4
    wrong = runner.invoke(main, ["query", query, "--store", store, "--format", "turtle"])
    assert wrong.exit_code == 1 and "turtle needs a CONSTRUCT or DESCRIBE query" in wrong.output
    syntax = runner.invoke(main, ["query", "SELECT WHERE {", "--store", store])
    assert syntax.exit_code == 1 and syntax.output.startswith("error: ")

    # CliRunner keeps each failure's traceback, whose frames still reference query results (and so
    # the open store); in a real shell every command is its own process.
    del wrong, syntax
    gc.collect()
    dump = tmp_path / "backup.trig"
    assert runner.invoke(main, ["dump", str(dump), "--store", store]).exit_code == 0
    restored = str(tmp_path / "restored")
    result = runner.invoke(main, ["restore", str(dump), "--store", restored])
    assert result.exit_code == 0, result.output
    a, b = EmbeddedStore(store), EmbeddedStore(restored)
    assert quads(a) == quads(b) and len(a) > 0
    a.close()
    b.close()


def test_cli_build_and_if_missing(tmp_path):
    runner = CliRunner()
    store = str(tmp_path / "data" / "store")
    first = runner.invoke(main, ["build", "--store", store])
    assert first.exit_code == 0, first.output
    assert first.output.startswith(f"built {store}: 4 cases, ")
    again = runner.invoke(main, ["build", "--store", store, "--if-missing"])
    assert again.exit_code == 0 and again.output.strip() == f"store exists: {store}"


def test_cli_build_if_outdated_rebuilds_only_after_a_source_changed(tmp_path, monkeypatch):
    cases = tmp_path / "cases"
    shutil.copytree(Settings().cases, cases)
    monkeypatch.setenv("COPROKG_CASES", str(cases))
    runner = CliRunner()
    store = str(tmp_path / "data" / "store")
    assert runner.invoke(main, ["build", "--store", store, "--if-outdated"]).output.startswith(f"built {store}: 4 cases")
    again = runner.invoke(main, ["build", "--store", store, "--if-outdated"])
    assert again.exit_code == 0 and again.output.strip() == f"store is up to date: {store}"
    edited = cases / "hangzhou-community-meal-centre.yaml"
    later = time.time() + 5
    os.utime(edited, (later, later))
    rebuilt = runner.invoke(main, ["build", "--store", store, "--if-outdated"])
    assert rebuilt.exit_code == 0, rebuilt.output
    first, second = rebuilt.output.splitlines()[:2]
    assert "hangzhou-community-meal-centre.yaml changed since the store was built: rebuilding it" in first
    assert second.startswith(f"built {store}: 4 cases")
