"""Check case files: structure and cross-references first, then SHACL shapes on their RDF."""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rdflib import Graph, URIRef
from rdflib.namespace import RDF

from kg import cases as cf
from kg.cases import Node, Problem, Where
from kg.config import SHAPES
from kg.namespaces import SH, case_graph, case_iri, compact_iri


ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
LANGUAGE_PATTERN = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
TRUE_WORDS, FALSE_WORDS = {"true", "yes"}, {"false", "no"}

_INVALID = object()  # a value that failed its check (None is a legitimate "absent")


@dataclass(frozen=True)
class Spec:
    """What one field of a case record may hold."""

    kind: str  # id | text | string | verbatim | bool | date | enum | enums | refs | records | scalar
    required: bool = False
    vocabulary: Mapping[str, URIRef] | None = None
    record: "RecordSpec | None" = None
    refs: str | None = None  # "actor" or "evidence": ids that must exist in the same case


@dataclass(frozen=True)
class RecordSpec:
    """The fields of one kind of record and the dataclass it becomes."""

    cls: type
    fields: dict[str, Spec]


EVIDENCE = RecordSpec(cf.Evidence, {
    "id": Spec("id", True),
    "kind": Spec("enum", True, cf.EVIDENCE_KIND_TO_IRI),
    "date": Spec("date"),
    "quotation": Spec("text"),
    "supports": Spec("text", True),
    "locator": Spec("verbatim"),
    "respondent_role": Spec("text"),
})
ACTOR = RecordSpec(cf.Actor, {
    "id": Spec("id", True),
    "name": Spec("text", True),
    "sector": Spec("enum", True, cf.SECTOR_TO_IRI),
    "roles": Spec("enums", True, cf.ROLE_TO_IRI),
})
OBSERVATION = RecordSpec(cf.Observation, {
    "stage": Spec("enum", True, cf.STAGE_TO_IRI),
    "mechanism": Spec("enum", False, cf.MECHANISM_TO_IRI),
    "strategy": Spec("enum", False, cf.STRATEGY_TO_IRI),
    "outcomes": Spec("enums", False, cf.OUTCOME_TO_IRI),
    "actors": Spec("refs", False, refs="actor"),
    "evidence": Spec("refs", True, refs="evidence"),
    "description": Spec("text"),
})
CONDITION = RecordSpec(cf.ConditionAssessment, {
    "condition": Spec("enum", True, cf.CONDITION_TO_IRI),
    "holds": Spec("bool", True),
    "justification": Spec("text"),
    "evidence": Spec("refs", False, refs="evidence"),
    "coder": Spec("id"),
    "coded_on": Spec("date"),
    "confidence": Spec("enum", False, cf.CONFIDENCE_TO_IRI),
})
PERFORMANCE = RecordSpec(cf.PerformanceFact, {
    "indicator": Spec("enum", True, cf.INDICATOR_TO_IRI),
    "value": Spec("scalar", True),
    "description": Spec("text"),
    "evidence": Spec("refs", False, refs="evidence"),
})
CASE = RecordSpec(cf.Case, {
    "id": Spec("id", True),
    "illustrative": Spec("bool", True),
    "name": Spec("text", True),
    "city": Spec("text", True),
    "province": Spec("text", True),
    "period": Spec("string", True),
    "description": Spec("text"),
    "services": Spec("enums", True, cf.SERVICE_TO_IRI),
    "arrangement": Spec("enum", True, cf.ARRANGEMENT_TO_IRI),
    "authority": Spec("enum", True, cf.AUTHORITY_TO_IRI),
    "authority_justification": Spec("text"),
    "authority_evidence": Spec("refs", False, refs="evidence"),
    "authority_coder": Spec("id"),
    "authority_coded_on": Spec("date"),
    "authority_confidence": Spec("enum", False, cf.CONFIDENCE_TO_IRI),
    "resources": Spec("enum", True, cf.RESOURCES_TO_IRI),
    "resources_justification": Spec("text"),
    "resources_evidence": Spec("refs", False, refs="evidence"),
    "resources_coder": Spec("id"),
    "resources_coded_on": Spec("date"),
    "resources_confidence": Spec("enum", False, cf.CONFIDENCE_TO_IRI),
    "characteristics": Spec("enums", False, cf.CHARACTERISTIC_TO_IRI),
    "coder": Spec("id"),
    "coded_on": Spec("date"),
    "confidence": Spec("enum", False, cf.CONFIDENCE_TO_IRI),
    "actors": Spec("records", True, record=ACTOR),
    "observations": Spec("records", False, record=OBSERVATION),
    "conditions": Spec("records", False, record=CONDITION),
    "performance": Spec("records", False, record=PERFORMANCE),
    "evidence": Spec("records", True, record=EVIDENCE),
})


@dataclass
class Report:
    """The cases that passed, and every problem found (errors and warnings)."""

    cases: list[cf.Case] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    triples: dict[str, list[cf.Triple]] = field(default_factory=dict)  # case id -> its content, once checked

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_error]


def validate_paths(paths: Iterable[Path], *, shapes: Path = SHAPES, progress: bool = False) -> Report:
    """Read and check every case file under `paths`; collect all problems, never stop at the first."""
    from tqdm import tqdm

    paths = [Path(p) for p in paths]
    files = cf.case_files(paths)
    report = Report()
    for folder in (p for p in paths if p.is_dir() and not cf.case_files([p])):
        report.problems.append(Problem(Where(cf.display_name(folder)), None,
                                       f"no case files here; a case file ends in {', '.join(cf.CASE_SUFFIXES)}"))
    first_seen: dict[str, Where] = {}
    wheres: dict[URIRef, Where] = {}
    for path in tqdm(files, desc="checking cases", unit="file", disable=not progress or None, leave=False):
        if not path.exists():
            report.problems.append(Problem(Where(cf.display_name(path)), None, "no such file"))
            continue
        display = cf.display_name(path)
        documents, problems = cf.read_case_file(path, display)
        report.problems.extend(problems)
        for document in documents:
            case = check_case(document, display, report.problems)
            if case is None:
                continue
            if case.id in first_seen:
                report.problems.append(Problem(document.value["id"].where, "id",
                                               f"case {case.id!r} is already defined in {first_seen[case.id]}"))
                continue
            first_seen[case.id] = document.value["id"].where
            wheres[case_iri(case.id)] = wheres[case_graph(case.id)] = document.where
            report.cases.append(case)
    if report.cases and not report.errors:
        report.triples = {case.id: cf.case_triples(case) for case in report.cases}
        data = [triple for triples in report.triples.values() for triple in triples]
        report.problems.extend(shacl_problems(data, shapes, wheres))
    return report


def check_case(document: Node, source: str, problems: list[Problem]) -> cf.Case | None:
    """Turn one located case document into a Case, adding every problem found to `problems`."""
    errors_before = sum(p.is_error for p in problems)
    refs: list[tuple[str, Node]] = []
    values = _check_record(document, CASE, problems, refs)
    if not isinstance(document.value, dict):
        return None
    _check_unique(document, "actors", "id", problems)
    _check_unique(document, "evidence", "id", problems)
    _check_unique(document, "conditions", "condition", problems)
    known = {"actor": _ids(document, "actors"), "evidence": _ids(document, "evidence")}
    for kind, node in refs:
        if _as_id(node.value) not in known[kind]:
            problems.append(Problem(node.where, node.label, f"{node.value!r} is not an {kind} id of this case; "
                                                            f"known: {', '.join(known[kind]) or 'none'}"))
    if values is None:
        return None
    for obs_node, obs in zip(_items(document, "observations"), values.get("observations", ())):
        _check_pairing(obs_node, obs, problems)
    _check_codings(document, values, problems)
    if sum(p.is_error for p in problems) > errors_before:
        return None
    return cf.Case(source=source, **values)


def _ids(document: Node, name: str) -> list[str]:
    ids = [str(_as_id(item.value["id"].value)) for item in _items(document, name)
           if isinstance(item.value, dict) and "id" in item.value]
    return list(dict.fromkeys(ids))


def _check_pairing(node: Node, obs: cf.Observation, problems: list[Problem]) -> None:
    """Warn when an observation pairs a strategy or mechanism with another stage than the theory does."""
    for name, expected in (("strategy", cf.STAGE_TO_STRATEGY), ("mechanism", cf.STAGE_TO_MECHANISM)):
        value = getattr(obs, name)
        if value and value != expected[obs.stage]:
            problems.append(Problem(node.value[name].where, node.value[name].label,
                                    f"{value!r} is paired with stage {obs.stage!r}; the theory pairs "
                                    f"{obs.stage} with {expected[obs.stage]}", severity="warning"))


# How many days a coding date may lie past the machine's today: the coder's calendar may be a time zone ahead.
CODED_ON_SLACK = dt.timedelta(days=1)


def _check_codings(document: Node, values: dict, problems: list[Problem]) -> None:
    """Refuse a coding date or confidence that no coder stands behind, and a coding dated in the future."""
    case_coder = values.get("coder")
    # (record, its checked values, field prefix, the coder it falls back on, where a coder may be given)
    codings = [(document, values, "", None, "give coder")]
    codings += [(document, values, f"{key}_", case_coder, f"give {key}_coder, or coder for the whole case")
                for key in ("authority", "resources")]
    codings += [(node, vars(condition), "", case_coder, "give coder here, or for the whole case")
                for node, condition in zip(_items(document, "conditions"), values.get("conditions", ()))]
    latest = dt.date.today() + CODED_ON_SLACK
    for record, checked, prefix, fallback, hint in codings:
        coder = checked.get(f"{prefix}coder") or fallback
        for name, what in ((f"{prefix}coded_on", "a coding date"), (f"{prefix}confidence", "a confidence")):
            node, value = record.value.get(name), checked.get(name)
            if value is None or node is None:
                continue
            if coder is None:
                problems.append(Problem(node.where, node.label, f"{what} needs a coder; {hint}"))
            elif what == "a coding date" and value > latest:
                problems.append(Problem(node.where, node.label,
                                        f"{value.isoformat()} is after today; a coding is dated the day it was coded"))


def _items(document: Node, name: str) -> list[Node]:
    node = document.value.get(name)
    return node.value if node is not None and isinstance(node.value, list) else []


def _check_unique(document: Node, name: str, key: str, problems: list[Problem]) -> None:
    seen: dict[Any, Where] = {}
    for item in _items(document, name):
        if not isinstance(item.value, dict) or key not in item.value:
            continue
        value = _as_id(item.value[key].value)
        if not isinstance(value, str):  # not an id at all: its own check reports it
            continue
        if value in seen:
            problems.append(Problem(item.value[key].where, item.value[key].label,
                                    f"{value!r} is given twice in {name} (first at {seen[value]})"))
        else:
            seen[value] = item.value[key].where


def _check_record(node: Node, spec: RecordSpec, problems: list[Problem], refs: list) -> dict | None:
    if not isinstance(node.value, dict):
        what = "a case file holds one mapping of case fields" if not node.label else "expected a mapping of fields"
        problems.append(Problem(node.where, node.label or None, f"{what}, not {_describe(node.value)}"))
        return None
    ok = True
    for name, child in node.value.items():
        if name not in spec.fields:
            problems.append(Problem(child.where, child.label, f"unknown field; allowed: {', '.join(spec.fields)}"))
            ok = False
    values = {}
    for name, field_spec in spec.fields.items():
        child = node.value.get(name)
        if child is None or child.value is None:
            if field_spec.required:
                problems.append(Problem(node.where, node.child_label(name),
                                        f"required field is missing{_allowed(field_spec)}"))
                ok = False
            continue
        value = _check_value(child, field_spec, problems, refs)
        if value is _INVALID:
            ok = False
        else:
            values[name] = value
    return values if ok else None


def _check_value(node: Node, spec: Spec, problems: list[Problem], refs: list) -> Any:
    def bad(message: str) -> object:
        problems.append(Problem(node.where, node.label, message))
        return _INVALID

    value = node.value
    if spec.kind in ("enums", "refs", "records"):
        items = value if isinstance(value, list) else [Node(value, node.where, node.label)]
        if spec.kind == "records" and not isinstance(value, list):
            return bad(f"expected a list of records, not {_describe(value)}")
        if spec.required and not items:
            return bad(f"must list at least one{_allowed(spec, ':')}")
        checked = [_check_item(item, spec, problems, refs) for item in items]
        if any(c is _INVALID for c in checked):
            return _INVALID
        return tuple(dict.fromkeys(checked)) if spec.kind != "records" else tuple(checked)
    if spec.kind == "id":
        if isinstance(value, bool) or not isinstance(value, (str, int)) or not ID_PATTERN.match(str(value)):
            return bad(f"{value!r} is not a valid id; use letters, digits, '.', '_' and '-', "
                       "starting with a letter or digit")
        return str(value)
    if spec.kind == "text":
        return _check_text(node, problems)
    if spec.kind == "string":
        if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
            return bad(f"expected text, not {_describe(value)}")
        return str(value)
    if spec.kind == "verbatim":  # kept as the coder wrote it: a page, a line range, a minute
        if isinstance(value, (dict, list)) or value is None:
            return bad(f"expected text, not {_describe(value)}")
        if node.text is not None:
            text = node.text  # YAML reads 00:14:05 as the number 845 and 2018-03-20 as a date
        elif isinstance(value, (dt.date, dt.time)):
            text = value.isoformat()  # a workbook cell Excel turned into a date or time
        elif isinstance(value, float) and value.is_integer():
            text = str(int(value))
        else:
            text = str(value)
        if not text.strip():
            return bad("expected text, not empty text")
        return text.strip()
    if spec.kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in TRUE_WORDS | FALSE_WORDS:
            return value.strip().lower() in TRUE_WORDS
        return bad(f"{value!r} is not one of true, false")
    if spec.kind == "date":
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            return bad(f"{value!r} is not a date; write YYYY-MM-DD")
    if spec.kind == "enum":
        if spec.vocabulary is cf.CONDITION_TO_IRI and value in cf.RETIRED_CONDITION_TO_WORDS:
            first, second = cf.RETIRED_CONDITION_TO_WORDS[value]
            return bad(f"{value!r} merged two conditions the source lists apart; code {first} and {second}, "
                       "each as its own assessment")
        if not isinstance(value, str) or value not in spec.vocabulary:
            return bad(f"{value!r} is not one of {', '.join(spec.vocabulary)}")
        return value
    if spec.kind == "scalar":
        if isinstance(value, (dict, list)):
            return bad(f"expected a single value (text, number, true/false or date), not {_describe(value)}")
        if isinstance(value, float) and value != value:
            return bad("expected a number, not NaN")
        return value
    raise AssertionError(f"unknown field kind {spec.kind}")


def _check_item(item: Node, spec: Spec, problems: list[Problem], refs: list) -> Any:
    if spec.kind == "records":
        values = _check_record(item, spec.record, problems, refs)
        return _INVALID if values is None else spec.record.cls(**values)
    if spec.kind == "enums":
        return _check_value(item, Spec("enum", vocabulary=spec.vocabulary), problems, refs)
    checked = _check_value(item, Spec("id"), problems, refs)
    if checked is not _INVALID:
        refs.append((spec.refs, item))
    return checked


def _check_text(node: Node, problems: list[Problem]) -> Any:
    value = node.value
    if isinstance(value, str) and value.strip():
        return {"en": value.strip()}
    if isinstance(value, dict) and value:
        text = {}
        for lang, child in value.items():
            if not LANGUAGE_PATTERN.match(lang):
                problems.append(Problem(child.where, child.label, f"{lang!r} is not a language tag such as en, zh"))
                return _INVALID
            if not isinstance(child.value, str) or not child.value.strip():
                problems.append(Problem(child.where, child.label, f"expected text, not {_describe(child.value)}"))
                return _INVALID
            text[lang] = child.value.strip()
        return text
    problems.append(Problem(node.where, node.label,
                            f"expected text, or a mapping of language tags to text, not {_describe(value)}"))
    return _INVALID


def _as_id(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _allowed(spec: Spec, lead: str = ";") -> str:
    if spec.vocabulary:
        return f"{lead} allowed: {', '.join(spec.vocabulary)}"
    return ""


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, (dt.date, dt.datetime)):
        return f"the date {value.isoformat()}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if value is None:
        return "nothing"
    return f"{value!r}" if not isinstance(value, str) or value.strip() else "empty text"


# --- SHACL --------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _shapes_graph(path: Path, mtime: float) -> Graph:
    return Graph().parse(path, format="turtle")


def shapes_graph(path: Path = SHAPES) -> Graph:
    """Parse the SHACL shapes once per file version."""
    return _shapes_graph(Path(path), Path(path).stat().st_mtime)


def shacl_problems(data: Graph | Iterable[cf.Triple], shapes: Path = SHAPES,
                   wheres: Mapping[URIRef, Where] | None = None) -> list[Problem]:
    """Check case RDF against the SHACL shapes; name each result by its case's place and property."""
    if not isinstance(data, Graph):
        graph = Graph()
        for triple in data:
            graph.add(triple)
        data = graph
    return _pyshacl_problems(data, shapes, wheres)


def _pyshacl_problems(data: Graph, shapes: Path, wheres: Mapping[URIRef, Where] | None) -> list[Problem]:
    from pyshacl import validate

    conforms, results, _ = validate(data, shacl_graph=shapes_graph(shapes), inference="none",
                                    allow_warnings=True, abort_on_first=False)
    if conforms:
        return []
    wheres = wheres or {}
    problems = []
    for result in results.subjects(RDF.type, SH.ValidationResult):
        focus = results.value(result, SH.focusNode)
        path = results.value(result, SH.resultPath)
        message = results.value(result, SH.resultMessage) or "does not conform"
        severity = "warning" if results.value(result, SH.resultSeverity) in (SH.Warning, SH.Info) else "error"
        where = wheres.get(focus) or next((w for iri, w in wheres.items() if str(focus).startswith(str(iri) + "/")),
                                          Where("(case data)"))
        field_name = compact_iri(str(path), unknown="<{}>") if isinstance(path, URIRef) else None
        problems.append(Problem(where, f"<{focus}> {field_name}" if field_name else f"<{focus}>",
                                str(message), severity))
    return sorted(problems, key=str)
