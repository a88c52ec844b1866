"""The named-query library: header parsing, checks against the query, typed binding, the CLI."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner

from kg.cli import main
from kg.config import ROOT
from kg.errors import InvalidParameter, NamedQueryError
from kg import namespaces as ns
from kg.namespaces import compact_iri, expand_iri
from kg.queries import Parameter, load_library, load_named_query
from query_api_support import TEST_QUERIES, build_test_store

GOOD_HEADER = """#+ summary: Cases in a mode
#+ summary_zh: 某模式下的案例
#+ description: Lists cases.
#+ description_zh: 列出案例。
"""
GOOD_QUERY = "PREFIX cop: <https://w3id.org/coprokg/ontology#>\nSELECT ?case ?mode WHERE { ?case cop:hasMode ?mode }\n"
MODE_PARAM = "#+ param: mode | iri | class=cop:CoproductionMode | required | example=cop:SharingAssisted\n"


def write(tmp_path: Path, text: str, name: str = "q") -> Path:
    path = tmp_path / f"{name}.rq"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("path", sorted(TEST_QUERIES.glob("*.rq")) + sorted((ROOT / "queries").glob("*.rq")),
                         ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_query_file_loads(path):
    query = load_named_query(path)
    assert query.summary and query.summary_zh and query.description and query.description_zh
    assert all(p.name in query.variables for p in query.parameters)


def test_header_fields_are_parsed():
    query = load_named_query(TEST_QUERIES / "cases_in_mode.rq")
    assert query.name == "cases_in_mode"
    assert query.summary_zh == "某一合作生产模式下的案例（测试用）"
    assert query.tags == ("cases", "modes", "test")
    assert query.competency_questions == (3,)
    assert query.variables == ("case", "label", "city", "province", "mode", "sector", "lang")
    mode, province, sector, lang = query.parameters
    assert (mode.kind, mode.required, mode.rdf_class, mode.line) == ("iri", True, str(ns.COP.CoproductionMode), 7)
    assert (province.datatype, province.required) == (str(ns.RDF.langString), False)
    assert sector.values == ("cop:StateSector", "cop:MarketSector", "cop:SocietySector", "cop:FamilySector")
    assert (lang.kind, lang.default) == ("language", "en")


# (header and query text, line the error must name, words the message must contain)
MALFORMED = {
    "unknown key": (GOOD_HEADER + "#+ sumary_en: x\n" + GOOD_QUERY, 5, "unknown header key 'sumary_en'"),
    "no colon": (GOOD_HEADER + "#+ tags cases\n" + GOOD_QUERY, 5, "'#+ key: value'"),
    "repeated key": (GOOD_HEADER + "#+ summary: again\n" + GOOD_QUERY, 5, "given twice (first on line 1)"),
    "missing zh summary": (GOOD_HEADER.replace("#+ summary_zh: 某模式下的案例\n", "") + GOOD_QUERY, 1, "summary_zh"),
    "no header": (GOOD_QUERY, 1, "must open with"),
    "late header line": (GOOD_HEADER + "# a comment\n#+ tags: x\n" + GOOD_QUERY, 6, "must all come first"),
    "param not projected": (
        GOOD_HEADER + "#+ param: city | literal | optional\n" + GOOD_QUERY, 5, "'city' must be a variable in the SELECT projection"
    ),
    "unknown type": (GOOD_HEADER + "#+ param: mode | url | required\n" + GOOD_QUERY, 5, "type 'url'"),
    "option of another type": (GOOD_HEADER + "#+ param: mode | iri | values=a,b\n" + GOOD_QUERY, 5, "iri takes no 'values'"),
    "enum without values": (GOOD_HEADER + "#+ param: mode | enum | optional\n" + GOOD_QUERY, 5, "needs values="),
    "default of wrong type": (
        GOOD_HEADER + "#+ param: mode | integer | default=many\n" + GOOD_QUERY, 5, "default does not fit the declared type"
    ),
    "example not in enum": (
        GOOD_HEADER + "#+ param: mode | enum | values=cop:A,cop:B | example=cop:C\n" + GOOD_QUERY, 5, "example does not fit"
    ),
    "unknown prefix in class": (GOOD_HEADER + "#+ param: mode | iri | class=zz Mode\n" + GOOD_QUERY, 5, "class=zz Mode"),
    "required with default": (GOOD_HEADER + "#+ param: mode | iri | required | default=cop:X\n" + GOOD_QUERY, 5, "required"),
    "unknown flag": (GOOD_HEADER + "#+ param: mode | iri | mandatory\n" + GOOD_QUERY, 5, "unknown flag 'mandatory'"),
    "reserved name": (GOOD_HEADER + "#+ param: format | language\n" + GOOD_QUERY, 5, "reserved"),
    "bad variable name": (GOOD_HEADER + "#+ param: the mode | iri\n" + GOOD_QUERY, 5, "not a SPARQL variable name"),
    "declared twice": (GOOD_HEADER + MODE_PARAM + MODE_PARAM.replace("required", "optional") + GOOD_QUERY, 6, "declared twice"),
    "bad competency question": (GOOD_HEADER + "#+ competency_question: three\n" + GOOD_QUERY, 5, "competency_question"),
    "syntax error": (GOOD_HEADER + "PREFIX cop: <https://w3id.org/coprokg/ontology#>\n"
                     "SELECT ?case WHERE {\n  ?case cop:hasMode ?mode ..\n}\n", 7, "SPARQL syntax error"),
    "undeclared prefix": (GOOD_HEADER + "SELECT ?case WHERE { ?case cop:hasMode ?mode }\n", 5, "SPARQL syntax error"),
    "construct": (GOOD_HEADER + "CONSTRUCT WHERE { ?s ?p ?o }\n", 1, "must be a SELECT query"),
}


@pytest.mark.parametrize("text, line, words", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_file_is_reported_with_file_and_line(tmp_path, text, line, words):
    path = write(tmp_path, text)
    with pytest.raises(NamedQueryError) as caught:
        load_named_query(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}:"), message
    assert words in message


def test_bad_file_name_is_reported(tmp_path):
    path = write(tmp_path, GOOD_HEADER + GOOD_QUERY, name="cases in mode")
    with pytest.raises(NamedQueryError, match="file name"):
        load_named_query(path)


def test_ontology_vocabulary_catches_misspelt_terms(tmp_path):
    path = write(tmp_path, GOOD_HEADER + MODE_PARAM.replace("SharingAssisted", "SharingAsisted") + GOOD_QUERY)
    vocabulary = {str(ns.COP.CoproductionMode), str(ns.COP.SharingAssisted)}
    assert load_named_query(path).parameters[0].example == "cop:SharingAsisted"  # no vocabulary: not checked
    with pytest.raises(NamedQueryError) as caught:
        load_named_query(path, vocabulary)
    assert f"{path}:5:" in str(caught.value)


def test_library_skips_bad_files_and_keeps_the_rest(tmp_path):
    write(tmp_path, GOOD_HEADER + MODE_PARAM + GOOD_QUERY, name="good")
    write(tmp_path, GOOD_HEADER + "#+ param: city | literal\n" + GOOD_QUERY, name="bad")
    library = load_library(tmp_path)
    assert list(library.queries) == ["good"]
    assert len(library.problems) == 1 and str(library.problems[0]).startswith(f"{tmp_path / 'bad.rq'}:5:")


def test_cli_check_reports_file_and_line_and_fails(tmp_path):
    write(tmp_path, GOOD_HEADER + MODE_PARAM + GOOD_QUERY, name="good")
    write(tmp_path, GOOD_HEADER + "#+ param: city | literal\n" + GOOD_QUERY, name="bad")
    ontology = tmp_path / "ontology.ttl"
    ontology.write_text("@prefix cop: <https://w3id.org/coprokg/ontology#> .\ncop:CoproductionMode a cop:Class .\n"
                        "cop:SharingAssisted a cop:CoproductionMode .\n")
    environment = {"COPROKG_ONTOLOGY": str(ontology)}
    result = CliRunner().invoke(main, ["queries", "check", "--dir", str(tmp_path)], env=environment)
    assert result.exit_code == 1
    assert f"{tmp_path / 'bad.rq'}:5:" in result.output
    assert "1 queries ok, 1 malformed" in result.output
    # The vocabulary comes from the ontology: a header term it does not declare is an error too.
    ontology.write_text("@prefix cop: <https://w3id.org/coprokg/ontology#> .\ncop:SharingAssisted a cop:Mode .\n")
    result = CliRunner().invoke(main, ["queries", "check", "--dir", str(tmp_path)], env=environment)
    assert "good.rq:5: parameter 'mode': cop:CoproductionMode is not declared in the ontology" in result.output


def test_cli_list_shows_queries_and_parameters():
    result = CliRunner().invoke(main, ["queries", "list", "--dir", str(TEST_QUERIES)])
    assert result.exit_code == 0, result.output
    assert "cases_in_mode  [CQ 3]  Cases in one coproduction mode (test fixture)" in result.output
    assert "mode: IRI of a cop:CoproductionMode (required)" in result.output
    assert "minVolume: whole number from 0 up to 1000000 (optional, default 0)" in result.output


@pytest.mark.parametrize(
    "text, iri",
    [
        ("cop:SharingAssisted", str(ns.COP.SharingAssisted)),
        ("<https://w3id.org/coprokg/ontology#SharingAssisted>", str(ns.COP.SharingAssisted)),
        ("https://w3id.org/coprokg/id/case/a", "https://w3id.org/coprokg/id/case/a"),
        ("id:case/a", "https://w3id.org/coprokg/id/case/a"),
        ("urn:isbn:123", "urn:isbn:123"),
        ("SharingAssisted", None),
        ("http://x> } UNION { ?s ?p ?o", None),
        ('http://x"y', None),
        ("", None),
    ],
)
def test_expand_iri(text, iri):
    assert expand_iri(text) == iri


def test_compact_iri_uses_the_longest_prefix():
    assert compact_iri(str(ns.COP.Actor)) == "cop:Actor"
    assert compact_iri("https://w3id.org/coprokg/id/case/a") == "id:case/a"
    assert compact_iri("http://example.org/x") == "http://example.org/x"


XSD_INTEGER = ox.NamedNode(str(ns.XSD.integer))
# (parameter, raw value, the term it must bind) — each a distinct rule of the header format.
BINDINGS = [
    (Parameter("p", "iri"), "cop:Actor", ox.NamedNode(str(ns.COP.Actor))),
    (Parameter("p", "enum", values=("cop:StateSector", "cop:MarketSector")), str(ns.COP.MarketSector),
     ox.NamedNode(str(ns.COP.MarketSector))),
    (Parameter("p", "enum", values=("high", "low")), "low", ox.Literal("low")),
    (Parameter("p", "integer"), "+42", ox.Literal("42", datatype=XSD_INTEGER)),
    (Parameter("p", "integer"), 7, ox.Literal("7", datatype=XSD_INTEGER)),
    (Parameter("p", "language"), "zh-Hans", ox.Literal("zh-hans")),
    (Parameter("p", "literal"), 'a "quoted" } text', ox.Literal('a "quoted" } text')),
    (Parameter("p", "literal", lang="zh"), "浙江", ox.Literal("浙江", language="zh")),
    (Parameter("p", "literal", datatype=str(ns.RDF.langString)), "Zhejiang@en", ox.Literal("Zhejiang", language="en")),
    (Parameter("p", "literal", datatype=str(ns.XSD.date)), "2019-06-01", ox.Literal("2019-06-01", datatype=ox.NamedNode(str(ns.XSD.date)))),
]


@pytest.mark.parametrize("param, raw, term", BINDINGS)
def test_values_bind_as_typed_terms(param, raw, term):
    assert param.term(raw) == term


REFUSED = [
    (Parameter("p", "iri"), "not an iri"),
    (Parameter("p", "enum", values=("high", "low")), "medium"),
    (Parameter("p", "integer"), "4.5"),
    (Parameter("p", "integer"), "9" * 30),
    (Parameter("p", "integer", minimum=0, maximum=10), "11"),
    (Parameter("p", "integer"), True),
    (Parameter("p", "language"), "en us"),
    (Parameter("p", "literal", datatype=str(ns.RDF.langString)), "Zhejiang"),
    (Parameter("p", "literal", datatype=str(ns.RDF.langString)), "x@x"),  # found by schemathesis: was a 500
    (Parameter("p", "language"), "x"),
    (Parameter("p", "literal", datatype=str(ns.XSD.date)), "June 2019"),
    (Parameter("p", "literal"), ["a", "list"]),
    (Parameter("p", "literal"), "x" * 5000),
]


@pytest.mark.parametrize("param, raw", REFUSED)
def test_wrong_values_are_refused_naming_the_parameter(param, raw):
    with pytest.raises(InvalidParameter) as caught:
        param.term(raw)
    assert caught.value.parameter == "p" and str(caught.value).startswith("parameter 'p':")


def test_bind_applies_defaults_and_requires_required():
    query = load_named_query(TEST_QUERIES / "cases_in_mode.rq")
    with pytest.raises(InvalidParameter, match="parameter 'mode': required"):
        query.bind({})
    with pytest.raises(InvalidParameter, match="parameter 'moed': unknown parameter"):
        query.bind({"mode": "cop:SharingAssisted", "moed": "x"})
    bindings = query.bind({"mode": "cop:SharingAssisted", "province": ""})
    assert bindings == {ox.Variable("mode"): ox.NamedNode(str(ns.COP.SharingAssisted)), ox.Variable("lang"): ox.Literal("en")}


def test_run_checks_class_membership_through_the_store():
    query = load_named_query(TEST_QUERIES / "cases_in_mode.rq")
    store = build_test_store()
    rows = list(query.run(store, {"mode": "cop:AdministrativeAbsorption"}))
    assert [(r["case"].value, r["sector"].value) for r in rows] == [
        ("https://w3id.org/coprokg/id/case/test-c", str(ns.COP.StateSector))
    ]
    with pytest.raises(InvalidParameter, match="cop:StateSector is not a known cop:CoproductionMode"):
        query.run(store, {"mode": "cop:StateSector"})
