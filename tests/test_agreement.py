"""Inter-coder agreement: two coders' codings of a shipped case, figures worked out by hand, every disagreement placed."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from kg.agreement import Coded, Coding, agreement, figures, read_coding, render, stage_outcomes
from kg.cases import Where
from kg.cli import main
from kg.config import ROOT
from kg.errors import CaseDataError

from test_cases import workbook_from_yaml

NINGBO = ROOT / "cases" / "ningbo-home-care-platform.yaml"
CASE = "ningbo-home-care-platform"

# Coder B reads the shipped Ningbo case (coder A's coding, unchanged) differently in six judgements and assesses
# one condition A left out. Each edit keeps the file valid.
B_EDITS = (
    ("resources: high", "resources: low"),
    ("  - condition: partners-somewhat-strong-but-lack-key-resources\n    holds: true",
     "  - condition: partners-somewhat-strong-but-lack-key-resources\n    holds: false"),
    ("conditions:\n", "conditions:\n  - condition: service-immature\n    holds: false\n"),
    ("characteristics: [diverse-subjects, common-goals, interactive-processes, reciprocal-interests]",
     "characteristics: [diverse-subjects, common-goals, interactive-processes]"),
    ("outcomes: [cooperation-sustainability-raised, collective-survival-secured]",
     "outcomes: [collective-survival-secured, action-stability-raised]"),
    # An outcome of coordination written at the design stage: a unit there too, though the theory pairs it elsewhere.
    ("outcomes: [subject-compatibility-raised]", "outcomes: [subject-compatibility-raised, interest-equilibrium-raised]"),
)


def coded_by(coder: str, text: str) -> str:
    return text + f"coder: {coder}\n"  # appended, so coder A's lines are the shipped file's


def write_pair(tmp_path):
    text = NINGBO.read_text(encoding="utf-8")
    b = text
    for old, new in B_EDITS:
        assert b.count(old) == 1, old
        b = b.replace(old, new)
    (tmp_path / "A.yaml").write_text(coded_by("li-na", text), encoding="utf-8")
    (tmp_path / "B.yaml").write_text(coded_by("wang-wei", b), encoding="utf-8")
    return tmp_path / "A.yaml", tmp_path / "B.yaml"


def line(path, text: str, after: str | None = None) -> int:
    """The line of the first `text` (after the first `after`) in a file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(i for i, s in enumerate(lines) if after in s) if after else 0
    return next(i for i, s in enumerate(lines) if i >= start and text in s) + 1


@pytest.fixture
def pair(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # files are named relative to the working directory, as a coder types them
    return write_pair(tmp_path)


def test_two_codings_of_a_shipped_case_give_the_hand_computed_figures(pair):
    result = agreement([read_coding(p) for p in pair])
    assert result.coders == [("li-na", "A.yaml"), ("wang-wei", "B.yaml")]
    assert result.cases == [CASE] and result.uncompared == []
    # Units both coders coded: 2 levels, 3 conditions (service-immature is B's alone, so no pair), 4 characteristics,
    # 11 outcomes at the stages the theory pairs them with + interest-equilibrium-raised at design = 21 units.
    # 6 disagree: resources, one condition, reciprocal-interests, and three outcomes; 15/21 agree.
    assert {k: (f.units, f.agreement) for k, f in result.by_kind.items()} == {
        "levels": (2, 0.5), "conditions": (3, 2 / 3), "characteristics": (4, 0.75), "outcomes": (12, 0.75)}
    assert (result.overall.units, result.overall.agreement) == (21, 15 / 21)
    # By hand, nominal alpha with two coders and no gap: alpha = 1 - (n - 1) * 2D / (n^2 - sum n_c^2), n values,
    # D disagreeing units, n_c how often value c was given. Overall n = 42, D = 6, and the values come
    # low 3, high 1, true 5, false 1, yes 18, no 14: alpha = 1 - 41 * 12 / (1764 - 556) = 1 - 492/1208.
    assert result.overall.alpha == pytest.approx(1 - 492 / 1208)
    # Outcomes alone: n = 24, D = 3, yes 11, no 13: 1 - 23 * 6 / (576 - 290).
    assert result.by_kind["outcomes"].alpha == pytest.approx(1 - 138 / 286)
    # Characteristics: n = 8, D = 1, yes 7, no 1: 1 - 7 * 2 / (64 - 50) = 0, agreement at chance.
    assert result.by_kind["characteristics"].alpha == pytest.approx(0)
    assert result.by_field["conditions"]["service-immature"].units == 0
    assert result.by_field["outcomes"]["design:interest-equilibrium-raised"].agreement == 0
    assert "operation:subject-compatibility-raised" not in result.by_field["outcomes"]  # nobody could see it there


def test_each_disagreement_names_both_coders_values_and_places(pair):
    a, b = pair
    result = agreement([read_coding(p) for p in pair])
    design, evaluation = "  - stage: design", "  - stage: evaluation"
    assert [str(d) for d in result.disagreements] == [
        f"{CASE} levels.resources: li-na high (A.yaml:{line(a, 'resources: high')}), "
        f"wang-wei low (B.yaml:{line(b, 'resources: low')})",
        f"{CASE} conditions.service-immature: li-na (not coded) (A.yaml:{line(a, 'conditions:')}), "
        f"wang-wei false (B.yaml:{line(b, 'holds: false')})",
        f"{CASE} conditions.partners-somewhat-strong-but-lack-key-resources: "
        f"li-na true (A.yaml:{line(a, 'holds: true', 'partners-somewhat')}), "
        f"wang-wei false (B.yaml:{line(b, 'holds: false', 'partners-somewhat')})",
        f"{CASE} characteristics.reciprocal-interests: li-na yes (A.yaml:{line(a, 'characteristics:')}), "
        f"wang-wei no (B.yaml:{line(b, 'characteristics:')})",
        f"{CASE} outcomes.design:interest-equilibrium-raised: li-na no (A.yaml:{line(a, design)}), "
        f"wang-wei yes (B.yaml:{line(b, 'outcomes:', design)})",
        f"{CASE} outcomes.evaluation:action-stability-raised: li-na no (A.yaml:{line(a, evaluation)}), "
        f"wang-wei yes (B.yaml:{line(b, 'outcomes:', evaluation)})",
        f"{CASE} outcomes.evaluation:cooperation-sustainability-raised: "
        f"li-na yes (A.yaml:{line(a, 'outcomes:', evaluation)}), wang-wei no (B.yaml:{line(b, evaluation)})",
    ]


def test_the_command_prints_the_figures_and_exits_0(pair):
    run = CliRunner().invoke(main, ["agreement", *map(str, pair)])
    assert run.exit_code == 0, run.output
    out = run.output.splitlines()
    assert out[0] == f"2 codings (li-na (A.yaml), wang-wei (B.yaml)) of 1 case(s): {CASE}"
    rows = {s.split()[0]: s.split()[1:] for s in out[2:] if len(s.split()) == 4}
    assert rows["overall"] == ["21", "71.4%", f"{1 - 492 / 1208:.3f}"]
    assert rows["outcomes"] == ["12", "75.0%", f"{1 - 138 / 286:.3f}"]
    assert rows["service-immature"] == ["0", "n/a", "n/a"]
    assert "7 disagreement(s):" in out
    assert run.output == render(agreement([read_coding(p) for p in pair])) + "\n"


def test_identical_codings_agree_fully():
    a = read_coding(NINGBO)
    b = Coding("second-coder", "copy.yaml", Where("copy.yaml"), dict(a.units))
    result = agreement([a, b])
    assert result.overall.agreement == 1.0 and result.overall.alpha == 1.0 and result.disagreements == []
    assert result.by_field["levels"]["authority"].alpha is None  # one value only: alpha is undefined, not 1 or 0


def test_three_coders_with_a_gap_by_hand():
    # u1: a a a, u2: a b -, u3: b b b, u4: a b b, u5: a - - (one value: no pair, left out). Coincidences (each
    # pair weighted 1/(m - 1)): o_aa = 3, o_bb = 3 + 1, o_ab = o_ba = 1 + 1; n_a = 5, n_b = 6, n = 11.
    # D_o = 4/11, D_e = 2 * 5 * 6 / (11 * 10) = 6/11, alpha = 1 - 4/6 = 1/3; pairs agreeing 3 + 0 + 3 + 1 of 10.
    values = {"u1": "aaa", "u2": "ab-", "u3": "bbb", "u4": "abb", "u5": "a--"}
    codings = [Coding(f"c{i}", f"c{i}.yaml", Where(f"c{i}.yaml"),
                      {("case", "levels", unit): Coded(None if v[i] == "-" else v[i], Where(f"c{i}.yaml"))
                       for unit, v in values.items()}) for i in range(3)]
    result = figures(codings, [("case", "levels", u) for u in values])
    assert (result.units, result.agreement) == (4, 0.7)
    assert result.alpha == pytest.approx(1 / 3)


def test_a_workbook_coding_compares_with_a_yaml_coding(pair, tmp_path):
    a, b = pair
    book = workbook_from_yaml([a], tmp_path / "A.xlsx")
    result = agreement([read_coding(book), read_coding(b)])
    assert result.overall.agreement == 15 / 21 and result.overall.alpha == pytest.approx(1 - 492 / 1208)
    assert str(result.disagreements[0]).startswith(f"{CASE} levels.resources: li-na high (A.xlsx sheet cases row 2)")


def test_theory_pairs_each_stage_with_its_strategys_outcomes():
    paired = stage_outcomes()
    assert {stage: len(words) for stage, words in paired.items()} == {"design": 4, "operation": 4, "evaluation": 3}
    assert "collective-survival-secured" in paired["evaluation"]


def run(*paths):
    return CliRunner().invoke(main, ["agreement", *map(str, paths)])


def test_bad_codings_are_all_reported_with_file_line_and_field(pair):
    a, b = pair
    a.write_text(a.read_text(encoding="utf-8").replace("authority: low", "authority: medium"), encoding="utf-8")
    b.write_text(b.read_text(encoding="utf-8").replace("holds: false", "holds: maybe", 1), encoding="utf-8")
    result = run(a, b)
    assert result.exit_code == 1
    assert f"A.yaml:{line(a, 'authority: medium')} authority: 'medium' is not one of high, low" in result.output
    assert f"B.yaml:{line(b, 'holds: maybe')} conditions[0].holds: 'maybe' is not one of true, false" in result.output
    assert result.output.rstrip().endswith("2 error(s); nothing was compared")


def test_one_coder_twice_or_no_shared_case_is_refused_by_name(pair, tmp_path):
    a, b = pair
    b.write_text(b.read_text(encoding="utf-8").replace("coder: wang-wei", "coder: li-na"), encoding="utf-8")
    result = run(a, b)
    assert result.exit_code == 1
    assert (f"B.yaml:{line(b, 'coder: li-na')} coder: 'li-na' also coded A.yaml; "
            "agreement compares the codings of different coders") in result.output
    other = ROOT / "cases" / "hangzhou-community-meal-centre.yaml"
    result = run(a, other)
    assert result.exit_code == 1
    assert f"A.yaml id: codes {CASE}, which no other file codes" in result.output
    assert "cases/hangzhou-community-meal-centre.yaml id: codes hangzhou-community-meal-centre" in result.output
    single = run(a)
    assert single.exit_code == 2 and "two or more files" in single.output
    with pytest.raises(CaseDataError):
        agreement([read_coding(a), read_coding(a)])
