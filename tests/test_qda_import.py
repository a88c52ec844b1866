"""A REFI-QDA project coded with CoproKG's codes -> the case's evidence and codings, validated, never merged silently."""

from __future__ import annotations

import uuid
from dataclasses import replace
import xml.etree.ElementTree as ET
import zipfile

import pytest
import yaml
from click.testing import CliRunner
from lxml import etree

from kg.cli import main
from kg.codebook import load_codebook, ontology_terms
from kg.config import ROOT, Settings
from kg.refi_qda import theory_codes
from kg.validate import validate_paths

SCHEMAS = ROOT / "tests" / "data" / "refi-qda"
NINGBO = ROOT / "cases" / "ningbo-home-care-platform.yaml"
CASE = "ningbo-home-care-platform"
P = "{urn:QDA-XML:project:1.0}"
# An illustrative transcript, invented for the test.
TRANSCRIPT = ("问：平台运行以后，你们怎么分工？\n答：护理员和社区医生在平台上看同一份服务记录，谁上门谁记录。\n"
              "问：补贴怎么发？\n答：补贴按平台上的记录发，没有记录就没有补贴。\n"
              "问：场地呢？\n答：我们有人，但没有场地，场地是街道给的。\n")
SEGMENTS = {"records": "护理员和社区医生在平台上看同一份服务记录，谁上门谁记录。",
            "subsidy": "补贴按平台上的记录发，没有记录就没有补贴。",
            "premises": "我们有人，但没有场地，场地是街道给的。"}
USERS = {"Li Na": "0b6f6c1e-0000-4000-8000-000000000001", "Wang Wei": "0b6f6c1e-0000-4000-8000-000000000002"}
SOURCE = "I-05 organisation manager.txt"


@pytest.fixture(scope="module")
def codes():
    return {c.key: c for top in theory_codes(load_codebook(), ontology_terms(Settings().ontology)) for c in top.walk()}


def selection_guid(segment: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"test:{segment}")).upper()


def write_project(path, codes, codings: list[tuple[str, str, str]]):
    """A .qdpx as a QDA program exports it after coding with the imported codebook: (segment, code key, user)."""
    ET.register_namespace("", P[1:-1])
    project = ET.Element(f"{P}Project", name="Ningbo interviews", origin="CoproKG test")
    users = ET.SubElement(project, f"{P}Users")
    for name, guid in USERS.items():
        ET.SubElement(users, f"{P}User", guid=guid, name=name)
    book = ET.SubElement(ET.SubElement(project, f"{P}CodeBook"), f"{P}Codes")
    nested = {child.key for code in codes.values() for child in code.children}
    tops = [c for c in codes.values() if c.key not in nested]

    def add(parent, code):
        element = ET.SubElement(parent, f"{P}Code", guid=code.guid.upper(), name=code.name,
                                isCodable=str(code.codable).lower())
        ET.SubElement(element, f"{P}Description").text = code.description
        for child in code.children:
            add(element, child)
    for code in tops:
        add(book, code)
    foreign = str(uuid.uuid4())
    ET.SubElement(book, f"{P}Code", guid=foreign, name="breakfast", isCodable="true")
    text_guid = str(uuid.uuid4()).upper()
    source = ET.SubElement(ET.SubElement(project, f"{P}Sources"), f"{P}TextSource", guid=str(uuid.uuid4()),
                           name=SOURCE, plainTextPath=f"internal://{text_guid}.txt")
    by_segment = {}
    for segment, key, user in codings:
        by_segment.setdefault(segment, []).append((key, user))
    for segment, coded in by_segment.items():
        start = TRANSCRIPT.index(SEGMENTS[segment])
        selection = ET.SubElement(source, f"{P}PlainTextSelection", guid=selection_guid(segment),
                                  startPosition=str(start), endPosition=str(start + len(SEGMENTS[segment])),
                                  creatingUser=USERS[coded[0][1]])
        for key, user in coded:
            coding = ET.SubElement(selection, f"{P}Coding", guid=str(uuid.uuid4()), creatingUser=USERS[user],
                                   creationDateTime="2024-05-01T09:30:00Z")
            ET.SubElement(coding, f"{P}CodeRef", targetGUID=foreign if key == "breakfast" else codes[key].guid)
    qde = ET.tostring(project, encoding="utf-8", xml_declaration=True)
    schema = etree.XMLSchema(etree.parse(str(SCHEMAS / "Project.xsd")))
    assert schema.validate(etree.fromstring(qde)), schema.error_log  # the test's project is a valid REFI-QDA one
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("project.qde", qde)
        archive.writestr(f"Sources/{text_guid}.txt", TRANSCRIPT.encode("utf-8"))
    return path


CODINGS = [
    ("records", "strategy/coordination", "Li Na"),
    ("records", "outcome/coordinated-development-realised", "Li Na"),
    ("records", "breakfast", "Li Na"),
    ("subsidy", "strategy/encapsulation", "Li Na"),
    ("subsidy", "outcome/action-stability-raised", "Li Na"),
    ("subsidy", "resources/high", "Li Na"),
    ("premises", "condition/partners-somewhat-strong-but-lack-key-resources/holds", "Li Na"),
    ("premises", "condition/partners-weak/fails", "Li Na"),
    ("premises", "characteristic/reciprocal-interests", "Li Na"),
]


def run(tmp_path, project, *args):
    return CliRunner().invoke(main, ["import", "refi-qda", str(project), str(tmp_path / "out.yaml"),
                                     "--case", CASE, *args])


def locator(segment: str) -> str:
    start = TRANSCRIPT.index(SEGMENTS[segment])
    return f"{SOURCE} chars {start}-{start + len(SEGMENTS[segment])}"


def evidence_id(segment: str) -> str:
    return f"QDA-{selection_guid(segment)[:8]}"


def test_coded_segments_become_evidence_with_locators_and_codings(tmp_path, codes):
    project = write_project(tmp_path / "ningbo.qdpx", codes, CODINGS)
    result = run(tmp_path, project)
    assert result.exit_code == 0, result.output
    out = tmp_path / "out.yaml"
    report = validate_paths([out])
    assert report.errors == [] and [c.id for c in report.cases] == [CASE]
    case = report.cases[0]
    shipped = yaml.safe_load(NINGBO.read_text(encoding="utf-8"))
    new = {e.id: e for e in case.evidence if e.id.startswith("QDA-")}
    assert {i: (e.quotation, e.locator, e.kind) for i, e in new.items()} == {
        evidence_id(s): ({"zh": SEGMENTS[s]}, locator(s), "interview") for s in SEGMENTS}
    assert len(case.evidence) == len(shipped["evidence"]) + 3  # the file's own evidence is all kept
    conditions = {c.condition: c for c in case.conditions}
    assert conditions["partners-weak"].holds is False  # new, attributed to the QDA user
    assert (conditions["partners-weak"].coder, str(conditions["partners-weak"].coded_on)) == (
        "li-na", "2024-05-01")
    assert conditions["partners-somewhat-strong-but-lack-key-resources"].evidence == ("NB-I-01", evidence_id("premises"))
    assert case.resources_evidence[-1] == evidence_id("subsidy") and case.resources == "high"
    added = case.observations[len(shipped["observations"]):]
    assert [(o.stage, o.strategy, o.outcomes, o.evidence) for o in added] == [
        ("operation", "coordination", ("coordinated-development-realised",), (evidence_id("records"),)),
        ("evaluation", "encapsulation", ("action-stability-raised",), (evidence_id("subsidy"),))]
    # Every change is said, and so is what was left out.
    assert "left out 1 coding(s) with codes that are not CoproKG's: breakfast" in result.output
    assert (f"  condition partners-weak: holds false, new, coded by li-na; evidence: {evidence_id('premises')}"
            in result.output)
    assert "  resources high: as the file says; evidence added:" in result.output
    assert "  characteristics already listed: reciprocal-interests" in result.output
    assert NINGBO.read_text(encoding="utf-8") == (ROOT / "cases" / NINGBO.name).read_text(encoding="utf-8")


def test_a_segment_contradicting_the_file_is_refused_and_nothing_written(tmp_path, codes):
    project = write_project(tmp_path / "p.qdpx", codes, [("subsidy", "authority/high", "Li Na"),
                                                          ("premises", "condition/service-must-transform/fails",
                                                           "Li Na")])
    result = run(tmp_path, project)
    assert result.exit_code == 1
    lines = NINGBO.read_text(encoding="utf-8").splitlines()
    authority = lines.index("authority: low") + 1
    condition = lines.index("  - condition: service-must-transform") + 1
    assert (f"cases/{NINGBO.name}:{authority} authority: the file says 'low', the project 'high' "
            f"({locator('subsidy')} (authority/high by Li Na))") in result.output
    assert (f"cases/{NINGBO.name}:{condition} conditions.service-must-transform: the file says holds: true, "
            "the project fails") in result.output
    assert "2 error(s); nothing was written" in result.output
    assert not (tmp_path / "out.yaml").exists()


def test_two_users_on_one_assessment_need_user_and_reimport_is_refused(tmp_path, codes):
    codings = [("premises", "condition/partners-weak/fails", "Li Na"),
               ("subsidy", "condition/partners-weak/fails", "Wang Wei")]
    project = write_project(tmp_path / "p.qdpx", codes, codings)
    result = run(tmp_path, project)
    assert result.exit_code == 1
    assert "p.qdpx condition partners-weak: coded by Li Na, Wang Wei; an assessment has one coder" in result.output
    result = run(tmp_path, project, "--user", "Wang Wei")
    assert result.exit_code == 0, result.output
    case = validate_paths([tmp_path / "out.yaml"]).cases[0]
    assert [(c.condition, c.coder, c.evidence) for c in case.conditions][-1] == (
        "partners-weak", "wang-wei", (evidence_id("subsidy"),))
    # The written file as the base of the same import again: its evidence is already there.
    again = CliRunner().invoke(main, ["import", "refi-qda", str(project), str(tmp_path / "again.yaml"), "--case", CASE,
                                      "--base", str(tmp_path / "out.yaml"), "--user", "Wang Wei"])
    assert again.exit_code == 1
    assert f"evidence: {evidence_id('subsidy')} is already in the file: {locator('subsidy')} was imported before" in again.output


def test_not_a_project_or_an_unknown_case_is_named(tmp_path, codes):
    bad = tmp_path / "bad.qdpx"
    bad.write_bytes(b"not a zip")
    result = run(tmp_path, bad)
    assert result.exit_code == 1 and "bad.qdpx: not a .qdpx (a zip archive)" in result.output
    project = write_project(tmp_path / "p.qdpx", codes, CODINGS)
    result = CliRunner().invoke(main, ["import", "refi-qda", str(project), str(tmp_path / "o.yaml"), "--case", "nowhere"])
    assert result.exit_code == 1 and "cases id: no YAML case file in cases holds case 'nowhere'" in result.output
    result = CliRunner().invoke(main, ["import", "refi-qda", str(project), str(NINGBO), "--case", CASE, "--force"])
    assert result.exit_code == 1 and "is the case's own file" in result.output


def test_codes_given_new_guids_by_the_qda_program_are_found_by_their_description(tmp_path, codes):
    # Some programs give imported codes GUIDs of their own; the description's first line still names the word.
    def rename(code):
        return replace(code, key=f"renamed/{code.key}", children=tuple(rename(c) for c in code.children))

    renamed = {}
    for code in codes.values():
        if not any(code in other.children for other in codes.values()):  # a heading: rename its whole tree
            for old, new in zip(code.walk(), rename(code).walk()):
                renamed[old.key] = new
    assert renamed["outcome/action-stability-raised"].guid != codes["outcome/action-stability-raised"].guid
    project = write_project(tmp_path / "p.qdpx", renamed, [("subsidy", "outcome/action-stability-raised", "Li Na")])
    result = run(tmp_path, project)
    assert result.exit_code == 0, result.output
    case = validate_paths([tmp_path / "out.yaml"]).cases[0]
    assert [(o.stage, o.outcomes) for o in case.observations][-1] == ("evaluation", ("action-stability-raised",))


def test_each_users_codings_in_their_own_file_are_compared_by_agreement(tmp_path, codes):
    codings = [("premises", "condition/partners-weak/fails", "Li Na"),
               ("premises", "condition/partners-weak/holds", "Wang Wei"),
               ("subsidy", "outcome/action-stability-raised", "Li Na"),
               ("subsidy", "outcome/action-stability-raised", "Wang Wei")]
    project = write_project(tmp_path / "p.qdpx", codes, codings)
    for user, name in (("Li Na", "li.yaml"), ("Wang Wei", "wang.yaml")):
        imported = CliRunner().invoke(main, ["import", "refi-qda", str(project), str(tmp_path / name), "--case", CASE,
                                             "--user", user])
        assert imported.exit_code == 0, imported.output
    compared = CliRunner().invoke(main, ["agreement", str(tmp_path / "li.yaml"), str(tmp_path / "wang.yaml")])
    assert compared.exit_code == 0, compared.output
    disagreements = [line.strip() for line in compared.output.splitlines() if line.startswith(f"  {CASE} ")]
    assert len(disagreements) == 1
    assert disagreements[0].startswith(f"{CASE} conditions.partners-weak: li.yaml false (li.yaml:")
    assert "wang.yaml true (wang.yaml:" in disagreements[0]
