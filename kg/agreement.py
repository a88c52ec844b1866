"""Inter-coder agreement: several codings of the same cases -> percent agreement, Krippendorff's alpha, disagreements."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Graph

from kg import cases as cf
from kg.cases import Node, Problem, Where
from kg.config import PROJECT_FILES
from kg.errors import CaseDataError
from kg.namespaces import COP
from kg.validate import validate_paths

# The kinds of categorical coding compared, in report order (issue 15): a unit is one judgement about one case.
KINDS = ("levels", "conditions", "characteristics", "outcomes")
NOT_CODED = None  # a coder left the unit out (a condition not assessed, a stage not observed): alpha skips it
NAN = float("nan")  # krippendorff's mark of a missing value
ONTOLOGY = PROJECT_FILES / "ontology" / "coprokg.ttl"

Key = tuple[str, str, str]  # (case id, kind, unit): ("hz", "conditions", "service-immature"), ("hz", "outcomes", "design:x")


@dataclass(frozen=True)
class Coded:
    """One coder's value for one unit, and where it was written."""

    value: str | None
    where: Where


@dataclass
class Coding:
    """One file's codings: the coder's name and, per (case, kind, unit), the value given."""

    coder: str
    source: str
    where: Where  # the coder's name in the file, or the file itself when it names none
    units: dict[Key, Coded] = field(default_factory=dict)


def read_coding(path: Path) -> Coding:
    """Read one coder's file into its units; the coder is its cases' `coder`, or the file's name.

    Raises:
        CaseDataError: the file does not validate; nothing is compared.
    """
    report = validate_paths([path])
    if report.errors:
        raise CaseDataError(report.problems)
    documents, _ = cf.read_case_file(Path(path))
    nodes = {str(d.value["id"].value): d for d in documents if isinstance(d.value, dict) and "id" in d.value}
    display = cf.display_name(Path(path))
    coders = sorted({c.coder for c in report.cases if c.coder})
    named = next((nodes[c.id].value["coder"].where for c in report.cases if "coder" in nodes[c.id].value), None)
    coding = Coding(", ".join(coders) or display, display, named or Where(display))
    for case in report.cases:
        coding.units.update(_units(case, nodes[case.id]))
    return coding


def _at(node: Node | None, fallback: Node) -> Where:
    return node.where if node is not None else fallback.where


def _field(record: Node, name: str) -> Node | None:
    return record.value.get(name) if isinstance(record.value, dict) else None


def _units(case: cf.Case, doc: Node) -> dict[Key, Coded]:
    units: dict[Key, Coded] = {}
    for name in ("authority", "resources"):
        units[(case.id, "levels", name)] = Coded(getattr(case, name), _at(_field(doc, name), doc))
    condition_nodes = {str(_field(n, "condition").value): n for n in (_field(doc, "conditions") or Node([], doc.where, "")).value
                       if _field(n, "condition") is not None}
    for word in cf.CONDITION_TO_IRI:
        given = next((c for c in case.conditions if c.condition == word), None)
        node = condition_nodes.get(word)
        # An assessment left out is placed at the list it is missing from.
        units[(case.id, "conditions", word)] = Coded(
            NOT_CODED if given is None else str(given.holds).lower(),
            _at(_field(node, "holds") if node else _field(doc, "conditions"), doc))
    characteristics = _field(doc, "characteristics")
    for word in cf.CHARACTERISTIC_TO_IRI:
        # A listed characteristic is evidenced and an unlisted one is not; with no list at all nothing was coded.
        value = NOT_CODED if characteristics is None else "yes" if word in case.characteristics else "no"
        units[(case.id, "characteristics", word)] = Coded(value, _at(characteristics, doc))
    observations = (_field(doc, "observations") or Node([], doc.where, "")).value
    for stage in cf.STAGE_TO_IRI:
        seen = [(obs, node) for obs, node in zip(case.observations, observations) if obs.stage == stage]
        for word in cf.OUTCOME_TO_IRI:
            # Shown at that stage, or seen not to be (the stage was observed without it); a stage never observed is not coded.
            showing = next((node for obs, node in seen if word in obs.outcomes), None)
            if showing is not None:
                value, where = "yes", _at(_field(showing, "outcomes"), showing)
            elif seen:
                value, where = "no", seen[0][1].where
            else:
                value, where = NOT_CODED, doc.where
            units[(case.id, "outcomes", f"{stage}:{word}")] = Coded(value, where)
    return units


def stage_outcomes(ontology: Path = ONTOLOGY) -> dict[str, tuple[str, ...]]:
    """Each stage's outcomes by the theory: those its strategy yields (cop:yieldsOutcome in the ontology)."""
    graph = Graph().parse(ontology, format="turtle")
    words = {iri: word for word, iri in cf.OUTCOME_TO_IRI.items()}
    return {stage: tuple(word for iri, word in words.items()
                         if (cf.STRATEGY_TO_IRI[strategy], COP.yieldsOutcome, iri) in graph)
            for stage, strategy in cf.STAGE_TO_STRATEGY.items()}


@dataclass(frozen=True)
class Figures:
    units: int  # units at least two coders coded
    agreement: float | None  # share of agreeing pairs of values, over those units
    alpha: float | None  # Krippendorff's alpha (nominal); None where it is undefined (one value only)


@dataclass(frozen=True)
class Disagreement:
    case: str
    kind: str
    unit: str
    values: tuple[tuple[str, Coded], ...]  # (coder, value) per coding

    def __str__(self) -> str:
        shown = ", ".join(f"{coder} {c.value if c.value is not None else '(not coded)'} ({c.where})"
                          for coder, c in self.values)
        return f"{self.case} {self.kind}.{self.unit}: {shown}"


@dataclass
class Agreement:
    coders: list[tuple[str, str]]  # (coder, file)
    cases: list[str]  # cases coded in two or more files
    uncompared: list[str]  # cases only one file codes
    by_kind: dict[str, Figures]
    by_field: dict[str, dict[str, Figures]]  # kind -> unit -> its figures over the cases
    overall: Figures
    disagreements: list[Disagreement]


def agreement(codings: list[Coding], paired: Mapping[str, Iterable[str]] | None = None) -> Agreement:
    """Compare the codings of every case that two or more of them code.

    An outcome is a unit at the stage the theory pairs it with (`paired`, from the ontology when not given),
    and at any other stage where a coder wrote it, so that the many outcomes nobody could see at a stage
    do not count as agreement.

    Raises:
        CaseDataError: two files name the same coder, or no case is coded in two files.
    """
    paired = stage_outcomes() if paired is None else paired
    expected = {f"{stage}:{word}" for stage, words in paired.items() for word in words}
    first = {}
    problems = []
    for coding in codings:
        if coding.coder in first:
            problems.append(Problem(coding.where, "coder", f"{coding.coder!r} also coded {first[coding.coder]}; "
                                    "agreement compares the codings of different coders"))
        first.setdefault(coding.coder, coding.source)
    case_files = defaultdict(set)
    for i, coding in enumerate(codings):
        for case, _, _ in coding.units:
            case_files[case].add(i)
    cases = sorted(c for c, files in case_files.items() if len(files) >= 2)
    if not cases and not problems:
        for coding in codings:
            own = sorted({case for case, _, _ in coding.units})
            problems.append(Problem(Where(coding.source), "id", f"codes {', '.join(own)}, which no other file codes; "
                                    "agreement compares codings of the same case id"))
    if problems:
        raise CaseDataError(problems)
    def compared(key: Key) -> bool:
        return key[0] in cases and (key[1] != "outcomes" or key[2] in expected
                                    or any(key in c.units and c.units[key].value == "yes" for c in codings))

    keys = sorted({k for coding in codings for k in coding.units if compared(k)},
                  key=lambda k: (k[0], KINDS.index(k[1]), _unit_order(k[2])))
    by_kind = {kind: figures(codings, [k for k in keys if k[1] == kind]) for kind in KINDS}
    units = defaultdict(list)
    for key in keys:
        units[(key[1], key[2])].append(key)
    by_field = {kind: {unit: figures(codings, units[(kind, unit)])
                       for unit in sorted({u for k, u in units if k == kind}, key=_unit_order)} for kind in KINDS}
    disagreements = []
    for key in keys:
        present = [(coding.coder, coding.units[key]) for coding in codings if key in coding.units]
        if len({c.value for _, c in present}) > 1:
            disagreements.append(Disagreement(key[0], key[1], key[2], tuple(present)))
    return Agreement([(c.coder, c.source) for c in codings], cases, sorted(set(case_files) - set(cases)), by_kind,
                     by_field, figures(codings, keys), disagreements)


def _unit_order(unit: str) -> tuple[int, int]:
    """Units in the order of the vocabularies (and stages), as docs/case-format.md lists them."""
    stage, _, word = unit.rpartition(":")
    for table in (("authority", "resources"), cf.CONDITION_TO_IRI, cf.CHARACTERISTIC_TO_IRI, cf.OUTCOME_TO_IRI):
        if word in table:
            return (list(cf.STAGE_TO_IRI).index(stage) if stage else 0, list(table).index(word))
    return (0, 0)


def figures(codings: list[Coding], keys: Iterable[Key]) -> Figures:
    """Percent agreement and Krippendorff's nominal alpha over the units, each coded by two coders or more."""
    import krippendorff  # imported here: it brings numpy, which no other command needs

    keys = list(keys)
    rows = [[coding.units[k].value if k in coding.units else None for k in keys] for coding in codings]
    columns = [col for col in zip(*rows) if sum(v is not None for v in col) >= 2]
    if not columns:
        return Figures(0, None, None)
    pairs = agreeing = 0
    for col in columns:
        for a, b in itertools.combinations([v for v in col if v is not None], 2):
            pairs += 1
            agreeing += a == b
    domain = sorted({v for col in columns for v in col if v is not None})
    alpha = None
    if len(domain) > 1:  # with one value only, expected disagreement is 0 and alpha is undefined
        data = [[NAN if col[i] is None else domain.index(col[i]) for col in columns] for i in range(len(codings))]
        alpha = float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal",
                                         value_domain=list(range(len(domain)))))
    return Figures(len(columns), agreeing / pairs, alpha)


def render(result: Agreement) -> str:
    """Write the figures and the disagreements as text for the terminal."""
    def number(x: float | None, percent: bool = False) -> str:
        if x is None:
            return "n/a"
        return f"{100 * x:.1f}%" if percent else f"{x:.3f}"

    def row(name: str, f: Figures) -> str:
        return f"{name:<52}{f.units:>6}{number(f.agreement, True):>11}{number(f.alpha):>8}"

    coders = ", ".join(coder if coder == source else f"{coder} ({source})" for coder, source in result.coders)
    lines = [f"{len(result.coders)} codings ({coders}) of {len(result.cases)} case(s): {', '.join(result.cases)}"]
    if result.uncompared:
        lines.append(f"coded in one file only, not compared: {', '.join(result.uncompared)}")
    lines.append(f"{'field':<52}{'units':>6}{'agreement':>11}{'alpha':>8}")
    for kind, f in result.by_kind.items():
        lines.append(row(kind, f))
        lines += [row(f"  {unit}", g) for unit, g in result.by_field[kind].items()]
    lines.append(row("overall", result.overall))
    lines.append("units: judgements two coders or more made; agreement: agreeing pairs of coders; "
                 "alpha: Krippendorff's, nominal, n/a where all gave one value")
    lines.append(f"{len(result.disagreements)} disagreement(s)" + (":" if result.disagreements else ""))
    lines += [f"  {d}" for d in result.disagreements]
    return "\n".join(lines)
