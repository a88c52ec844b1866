"""REFI-QDA exchange: the theory's codes as a .qdc codebook that the published schema accepts."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from lxml import etree

from kg import cases as cf
from kg.cli import main
from kg.codebook import load_codebook
from kg.config import ROOT

SCHEMAS = ROOT / "tests" / "data" / "refi-qda"
NS = {"q": "urn:QDA-XML:codebook:1.0"}


@pytest.fixture(scope="module")
def qdc(tmp_path_factory):
    out = tmp_path_factory.mktemp("qdc") / "coprokg.qdc"
    run = CliRunner().invoke(main, ["export", "refi-qda", str(out)])
    assert run.exit_code == 0, run.output
    assert run.output.startswith(f"wrote {out}: 50 codable codes under 7 headings")
    return out


def schema(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / name)))


def codes(tree) -> dict[str, etree._Element]:
    """Every code by the case-file word its description names: 'stage: design', 'condition: x, holds: true'."""
    out = {}
    for code in tree.iter("{urn:QDA-XML:codebook:1.0}Code"):
        first = code.findtext("q:Description", namespaces=NS).splitlines()[0]
        out[first.removeprefix("CoproKG ")] = code
    return out


def test_the_codebook_validates_against_the_refi_qda_schema(qdc):
    codebook = schema("Codebook.xsd")
    tree = etree.parse(str(qdc))
    assert codebook.validate(tree), codebook.error_log
    # The schema is really applied: a code without isCodable, or with a malformed GUID, is refused.
    broken = etree.parse(str(qdc))
    code = broken.find(".//q:Code", NS)
    del code.attrib["isCodable"]
    assert not codebook.validate(broken)
    broken = etree.parse(str(qdc))
    broken.find(".//q:Code", NS).set("guid", "not-a-guid")
    assert not codebook.validate(broken)


def test_every_theory_word_is_one_codable_code_where_the_theory_puts_it(qdc):
    found = codes(etree.parse(str(qdc)))
    codable = {key for key, code in found.items() if code.get("isCodable") == "true"}
    expected = {f"{section}: {word}" for section, table in (
        ("stage", cf.STAGE_TO_IRI), ("mechanism", cf.MECHANISM_TO_IRI), ("strategy", cf.STRATEGY_TO_IRI),
        ("outcome", cf.OUTCOME_TO_IRI), ("authority", cf.AUTHORITY_TO_IRI), ("resources", cf.RESOURCES_TO_IRI),
        ("characteristic", cf.CHARACTERISTIC_TO_IRI)) for word in table}
    expected |= {f"condition: {w}, holds: {h}" for w in cf.CONDITION_TO_IRI for h in ("true", "false")}
    assert codable == expected and len(codable) == 50
    # Headings group codes and are not coded themselves: the four groups and each condition.
    assert {k for k, c in found.items() if c.get("isCodable") == "false"} == {
        "authority", "resources", "condition", "characteristic", *(f"condition: {w}" for w in cf.CONDITION_TO_IRI)}

    def parent(key: str) -> str:
        return next(k for k, c in found.items() if found[key] in list(c))

    # Each stage holds its mechanism, its strategy and the outcomes that strategy yields (concept map section 4).
    assert parent("mechanism: emergence") == parent("strategy: aggregation") == "stage: design"
    assert parent("outcome: subject-compatibility-raised") == "stage: design"
    assert parent("outcome: cooperation-cost-reduced") == "stage: operation"
    assert parent("outcome: collective-survival-secured") == "stage: evaluation"
    assert parent("condition: service-immature, holds: true") == "condition: service-immature"
    assert sum(1 for k in found if k.startswith("outcome: ") and parent(k) == "stage: evaluation") == 3


def test_names_are_bilingual_and_descriptions_carry_the_codebooks_rules(qdc):
    found = codes(etree.parse(str(qdc)))
    assert found["mechanism: emergence"].get("name") == "emergence mechanism / 生成机制"
    assert found["authority: high"].get("name") == "high governance authority / 高治理权威"
    assert found["condition: service-immature, holds: false"].get("name") == (
        "service not yet mature / 服务发展尚不成熟: fails / 不成立")
    rules = {s.key: s for s in load_codebook()}
    text = found["outcome: collective-survival-secured"].findtext("q:Description", namespaces=NS)
    rule = rules["outcome"].codes["collective-survival-secured"]["rule"]
    assert f"Rule: {rule['en']}" in text and f"规则：{rule['zh']}" in text
    counter = rules["authority"].codes["high"]["counter"]
    assert f"反例：{counter['zh']}" in found["authority: high"].findtext("q:Description", namespaces=NS)
    assert all("cop:notInSource" in c.findtext("q:Description", namespaces=NS) for c in found.values())


def test_guids_are_unique_and_the_same_in_every_export(qdc, tmp_path):
    guids = [c.get("guid") for c in etree.parse(str(qdc)).iter("{urn:QDA-XML:codebook:1.0}Code")]
    assert len(guids) == len(set(guids)) == 65
    again = tmp_path / "again.qdc"
    assert CliRunner().invoke(main, ["export", "refi-qda", str(again)]).exit_code == 0
    assert again.read_bytes() == qdc.read_bytes()


def test_the_output_must_be_a_qdc(tmp_path):
    run = CliRunner().invoke(main, ["export", "refi-qda", str(tmp_path / "codes.xml")])
    assert run.exit_code == 2 and "does not end in .qdc" in run.output
