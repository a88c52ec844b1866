"""Case files (YAML, .xlsx) -> located documents -> one rdflib Graph per case."""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, RDFS, XSD
from rdflib.plugins.serializers.nt import _nt_row  # the very row writer of Graph.serialize(format="nt")
from rdflib.term import Identifier
from yaml.constructor import ConstructorError, SafeConstructor

from kg.config import ROOT
from kg.namespaces import COP, ID, case_graph, case_iri, coder_iri

# --- vocabularies: the words a case file may use, and the ontology terms they stand for ----

SECTOR_TO_IRI = {
    "state": COP.StateSector,
    "market": COP.MarketSector,
    "society": COP.SocietySector,
    "family": COP.FamilySector,
}
ROLE_TO_IRI = {
    "commissioner": COP.Commissioner,
    "funder": COP.Funder,
    "facility-provider": COP.FacilityProvider,
    "service-operator": COP.ServiceOperator,
    "regulator": COP.Regulator,
    "platform-builder": COP.PlatformBuilder,
    "service-user": COP.ServiceUser,
    "volunteer": COP.Volunteer,
    "care-giver": COP.CareGiver,
}
ARRANGEMENT_TO_IRI = {
    "public-construction-private-operation": COP.PublicConstructionPrivateOperation,
    "private-construction-public-assistance": COP.PrivateConstructionPublicAssistance,
    "other": COP.OtherArrangement,
}
SERVICE_TO_IRI = {
    "meals": COP.MealService,
    "day-care": COP.DayCare,
    "home-care": COP.HomeCare,
    "institutional-care": COP.InstitutionalCare,
    "health-care": COP.HealthCare,
    "cultural-activities": COP.CulturalActivities,
}
AUTHORITY_TO_IRI = {"high": COP.HighAuthority, "low": COP.LowAuthority}
RESOURCES_TO_IRI = {"high": COP.HighConcentration, "low": COP.LowConcentration}
STAGE_TO_IRI = {"design": COP.DesignStage, "operation": COP.OperationStage, "evaluation": COP.EvaluationStage}
MECHANISM_TO_IRI = {
    "emergence": COP.EmergenceMechanism,
    "adjustment": COP.AdjustmentMechanism,
    "survival": COP.SurvivalMechanism,
}
STRATEGY_TO_IRI = {"aggregation": COP.Aggregation, "coordination": COP.Coordination, "encapsulation": COP.Encapsulation}
OUTCOME_TO_IRI = {
    "subject-compatibility-raised": COP.SubjectCompatibilityRaised,
    "cooperation-matching-improved": COP.CooperationMatchingImproved,
    "collective-participation-realised": COP.CollectiveParticipationRealised,
    "organisations-cluster-in-field": COP.OrganisationsClusterInField,
    "interest-equilibrium-raised": COP.InterestEquilibriumRaised,
    "cooperative-synergy-improved": COP.CooperativeSynergyImproved,
    "cooperation-cost-reduced": COP.CooperationCostReduced,
    "coordinated-development-realised": COP.CoordinatedDevelopmentRealised,
    "action-stability-raised": COP.ActionStabilityRaised,
    "cooperation-sustainability-raised": COP.CooperationSustainabilityRaised,
    "collective-survival-secured": COP.CollectiveSurvivalSecured,
}
CONDITION_TO_IRI = {
    "service-immature": COP.ServiceImmature,
    "area-needs-top-down-deployment": COP.AreaNeedsTopDownDeployment,
    "partners-weak": COP.PartnersWeak,
    "few-partners-to-choose-from": COP.FewPartnersToChooseFrom,
    "leaders-have-rich-social-ties": COP.LeadersHaveRichSocialTies,
    "partners-strong-professionals": COP.PartnersStrongProfessionals,
    "measurable-market-standard": COP.MeasurableMarketStandard,
    "comparable-market-object": COP.ComparableMarketObject,
    "service-must-transform": COP.ServiceMustTransform,
    "service-must-upgrade": COP.ServiceMustUpgrade,
    "partners-somewhat-strong-but-lack-key-resources": COP.PartnersSomewhatStrongButLackKeyResources,
}
# Condition words of earlier drafts, each of which merged two conditions the source lists apart; a file
# that still uses one is told which two words to code instead (each with its own holds and evidence).
RETIRED_CONDITION_TO_WORDS = {
    "partners-weak-and-few": ("partners-weak", "few-partners-to-choose-from"),
    "results-measurable-by-market": ("measurable-market-standard", "comparable-market-object"),
    "service-must-transform-or-upgrade": ("service-must-transform", "service-must-upgrade"),
}
CHARACTERISTIC_TO_IRI = {
    "diverse-subjects": COP.DiverseSubjects,
    "common-goals": COP.CommonGoals,
    "interactive-processes": COP.InteractiveProcesses,
    "reciprocal-interests": COP.ReciprocalInterests,
}
INDICATOR_TO_IRI = {
    "operating-at-loss": COP.OperatingAtLoss,
    "service-volume": COP.ServiceVolume,
    "user-satisfaction": COP.UserSatisfaction,
    "financial-balance": COP.FinancialBalance,
}
EVIDENCE_KIND_TO_IRI = {
    "interview": COP.SemiStructuredInterview,
    "focus-group": COP.FocusGroup,
    "secondary-data": COP.SecondaryData,
}
# How sure a coder is of one coding (the project's audit scale, docs/case-format.md; not the source's).
CONFIDENCE_TO_IRI = {"low": COP.LowConfidence, "medium": COP.MediumConfidence, "high": COP.HighConfidence}
# The theory's pairing of stage, mechanism and strategy (concept map section 4).
STAGE_TO_MECHANISM = {"design": "emergence", "operation": "adjustment", "evaluation": "survival"}
STAGE_TO_STRATEGY = {"design": "aggregation", "operation": "coordination", "evaluation": "encapsulation"}

CASE_SUFFIXES = (".yaml", ".yml", ".xlsx")

# --- where things are, and what is wrong with them ----------------------------------------


@dataclass(frozen=True)
class Where:
    """A place in a case file: a YAML line, or an .xlsx sheet and row."""

    file: str
    line: int | None = None
    sheet: str | None = None
    row: int | None = None

    def __str__(self) -> str:
        if self.line is not None:
            return f"{self.file}:{self.line}"
        if self.sheet is not None:
            return f"{self.file} sheet {self.sheet}" + (f" row {self.row}" if self.row is not None else "")
        return self.file


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or, as a warning, surprising) in a case file."""

    where: Where
    field: str | None
    message: str
    severity: str = "error"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def __str__(self) -> str:
        prefix = "warning: " if not self.is_error else ""
        place = f"{self.where} {self.field}" if self.field else str(self.where)
        return f"{prefix}{place}: {self.message}"


@dataclass
class Node:
    """A value read from a case file with its place and the field name to report it by."""

    value: Any  # a scalar, list[Node] or dict[str, Node]
    where: Where
    label: str
    text: str | None = None  # a YAML scalar as written, before YAML read it (00:14:05 as a number, 845)

    def child_label(self, name: str) -> str:
        """Name a field of this record: a path in YAML, the bare column name in a sheet."""
        if self.where.sheet is not None or not self.label:
            return name
        return f"{self.label}.{name}"


def display_name(path: Path) -> str:
    """Name a file relative to the project (or the working directory), never absolutely."""
    path = Path(path).resolve()
    for base in (ROOT, Path.cwd().resolve()):
        if path.is_relative_to(base):
            return path.relative_to(base).as_posix()
    return path.name


def source_iri(display: str) -> URIRef:
    """Turn a project-relative file name into the relative `file:` IRI used as provenance."""
    return URIRef("file:" + urllib.parse.quote(display))


# --- YAML ---------------------------------------------------------------------------------


def read_yaml(path: Path, display: str | None = None) -> tuple[list[Node], list[Problem]]:
    """Read one YAML case file into a located document (or problems)."""
    display = display or display_name(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        return [], [Problem(Where(display), None, f"not UTF-8 text ({e.reason} at byte {e.start})")]
    return parse_yaml_text(text, display)


def parse_yaml_text(text: str, display: str) -> tuple[list[Node], list[Problem]]:
    """Parse YAML text into a located document, keeping each value's line."""
    # libyaml composes twenty times faster than the pure-Python loader, with the same nodes and marks.
    # Where the two could disagree (errors, rare characters, explicit tags, deep nesting), the Python
    # loader decides, so every file gets the same verdict and message as before.
    if FAST_LOADER is not None and not NEEDS_PYTHON_LOADER.search(text):
        try:
            root = yaml.compose(text, Loader=FAST_LOADER)
            if isinstance(root, yaml.MappingNode):
                problems: list[Problem] = []
                node = _yaml_node(root, display, "", problems, SafeConstructor(), set(), FAST_DEPTH_LIMIT)
                return ([node] if node is not None else []), problems
        except (yaml.YAMLError, _NotForFastPath, RecursionError):
            pass
    return _parse_yaml_text_in_python(text, display)


def _parse_yaml_text_in_python(text: str, display: str) -> tuple[list[Node], list[Problem]]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except RecursionError:
        return [], [Problem(Where(display), None, "not valid YAML: nested too deeply")]
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = Where(display, mark.line + 1) if mark else Where(display)
        column = f" (column {mark.column + 1})" if mark else ""
        return [], [Problem(where, None, f"not valid YAML: {e.problem or e.context}{column}")]
    except yaml.YAMLError as e:
        return [], [Problem(Where(display), None, f"not valid YAML: {e}")]
    if root is None:
        return [], [Problem(Where(display, 1), None, EMPTY_FILE)]
    problems = []
    try:
        node = _yaml_node(root, display, "", problems, SafeConstructor(), set())
    except RecursionError:
        return [], [Problem(Where(display), None, "not valid YAML: nested too deeply")]
    return ([node] if node is not None else []), problems


FAST_LOADER = getattr(yaml, "CSafeLoader", None)  # None when PyYAML was built without libyaml
# Text on which libyaml and PyYAML's Python scanner may differ: tabs, a byte-order mark after the
# start, the Unicode line breaks, a block scalar header followed directly by a comment, and tags.
NEEDS_PYTHON_LOADER = re.compile(r"[\t\x85\u2028\u2029]|(?s:.)\ufeff|[|>][-+0-9]*#|(?:^|[\s\[{,])!")
# Case files nest five levels at most; deeper input is rare and left to the Python path's checks.
FAST_DEPTH_LIMIT = 64
EMPTY_FILE = "the file is empty; a case file holds one mapping of case fields"
STR_TAG = "tag:yaml.org,2002:str"
STANDARD_TAG_PREFIX = "tag:yaml.org,2002:"


class _NotForFastPath(Exception):
    """The document nests too deeply or carries a tag of its own: the Python loader reads it."""


def _yaml_node(raw, display, label, problems, constructor, seen, depth_left=None) -> Node | None:
    if depth_left is not None:  # the fast path
        if depth_left == 0 or not raw.tag.startswith(STANDARD_TAG_PREFIX):
            raise _NotForFastPath
        depth_left -= 1
    where = Where(display, raw.start_mark.line + 1)
    # An alias is the same node met twice; refusing them rules out cycles and exponential expansion.
    if id(raw) in seen:
        problems.append(Problem(where, label or None, "YAML aliases (*name) are not allowed in case files"))
        return None
    seen.add(id(raw))
    if isinstance(raw, yaml.ScalarNode):
        if raw.tag == STR_TAG:  # the constructor would return the text unchanged
            return Node(raw.value, where, label, raw.value)
        try:
            return Node(constructor.construct_object(raw, deep=True), where, label, raw.value)
        # IndexError: PyYAML's int constructor on an empty `!!int` value.
        except (ConstructorError, ValueError, TypeError, OverflowError, IndexError) as e:
            if raw.tag == "tag:yaml.org,2002:timestamp":  # looks like a date but is none: let the field say so
                return Node(raw.value, where, label, raw.value)
            problems.append(Problem(where, label or None, f"cannot read value {raw.value!r}: {_first_line(e)}"))
            return None
    if isinstance(raw, yaml.SequenceNode):
        items = [_yaml_node(item, display, f"{label}[{i}]", problems, constructor, seen, depth_left)
                 for i, item in enumerate(raw.value)]
        return Node([item for item in items if item is not None], where, label)
    record: dict[str, Node] = {}
    for key, value in raw.value:
        key_where = Where(display, key.start_mark.line + 1)
        name = key.value if isinstance(key, yaml.ScalarNode) else None
        if not isinstance(name, str) or key.tag != STR_TAG or not name:
            problems.append(Problem(key_where, label or None, f"field names must be text, not {_describe_key(key)}"))
            continue
        child_label = f"{label}.{name}" if label else name
        if name in record:
            first = record[name].where.line
            problems.append(Problem(key_where, child_label, f"duplicate field (first given on line {first})"))
            continue
        child = _yaml_node(value, display, child_label, problems, constructor, seen, depth_left)
        if child is not None:
            # Report a field at its key's line: a block value starts a line later.
            record[name] = Node(child.value, key_where, child_label, child.text)
    return Node(record, where, label)


def _describe_key(key) -> str:
    if isinstance(key, yaml.ScalarNode):
        return repr(key.value)
    return "a list" if isinstance(key, yaml.SequenceNode) else "a mapping"


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


# --- .xlsx --------------------------------------------------------------------------------

# Sheet -> the columns it may have; `case` ties a row to its case. Text columns may also be
# given per language as `column@zh` (a bare column is English).
SHEET_COLUMNS = {
    "cases": (
        "id", "illustrative", "name", "city", "province", "period", "services", "arrangement", "description",
        "authority", "authority_justification", "authority_evidence",
        "authority_coder", "authority_coded_on", "authority_confidence",
        "resources", "resources_justification", "resources_evidence",
        "resources_coder", "resources_coded_on", "resources_confidence",
        "characteristics", "coder", "coded_on", "confidence",
    ),
    "actors": ("case", "id", "name", "sector"),
    "participations": ("case", "actor", "role"),
    "observations": ("case", "stage", "mechanism", "strategy", "outcomes", "actors", "evidence", "description"),
    "evidence": ("case", "id", "kind", "date", "quotation", "supports", "locator", "respondent_role"),
    "conditions": ("case", "condition", "holds", "justification", "evidence", "coder", "coded_on", "confidence"),
    "performance": ("case", "indicator", "value", "description", "evidence"),
}
# Columns holding several values, comma-separated in one cell.
LIST_COLUMNS = {"services", "characteristics", "authority_evidence", "resources_evidence", "outcomes", "actors",
                "evidence"}
TEXT_COLUMNS = {"name", "city", "province", "description", "authority_justification", "resources_justification",
                "quotation", "supports", "justification", "respondent_role"}
# Sheets of the blank template (kg/workbook_template.py) that explain the columns and hold the drop-downs'
# allowed values: they are not case data, so the reader passes over them.
TEMPLATE_GUIDE_SHEETS = ("guide", "lists")
# Sheet -> the field of a case that collects its rows.
SHEET_TO_CASE_FIELD = {"observations": "observations", "evidence": "evidence", "conditions": "conditions",
                       "performance": "performance", "actors": "actors"}


# Bounds on a workbook, checked before any of it is parsed: an .xlsx is a zip of XML, so a small file can
# declare a sheet of 17 billion cells, expand a thousandfold, or hold one enormous string. Real case
# workbooks are far inside these (the shipped cases make a workbook of about 20 KB).
MAX_WORKBOOK_BYTES = 50_000_000  # the .xlsx file itself
MAX_WORKBOOK_EXPANDED_BYTES = 100_000_000  # all its parts, uncompressed, as the zip declares them
MAX_SHARED_STRINGS_BYTES = 20_000_000  # the table of every text cell, uncompressed
MAX_WORKBOOK_PARTS = 1000
MAX_SHEET_ROWS = 100_000
MAX_SHEET_COLUMNS = 200
MAX_CELL_CHARS = 32_767  # Excel's own limit for a cell


def workbook_limit_problem(path: Path, display: str) -> Problem | None:
    """The first bound (above) the workbook at `path` breaks, as a problem naming the limit; None if it keeps them all.

    The sizes are the zip's declared ones, which are what reading can produce: Python's zip reader stops
    at a member's declared size and fails on a member that holds more.
    """
    size = path.stat().st_size
    if size > MAX_WORKBOOK_BYTES:
        return Problem(Where(display), None, f"workbook is {size:,} bytes; the limit is {MAX_WORKBOOK_BYTES:,}")
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError) as e:
        return Problem(Where(display), None, f"not a readable .xlsx workbook ({_first_line(e)})")
    if len(parts) > MAX_WORKBOOK_PARTS:
        return Problem(Where(display), None, f"workbook has {len(parts):,} parts; the limit is {MAX_WORKBOOK_PARTS:,}")
    expanded = sum(part.file_size for part in parts)
    if expanded > MAX_WORKBOOK_EXPANDED_BYTES:
        return Problem(Where(display), None, f"workbook expands to {expanded:,} bytes; the limit is "
                                             f"{MAX_WORKBOOK_EXPANDED_BYTES:,} (a zip bomb, or far more than case data)")
    for part in parts:
        if part.filename.lower().endswith("sharedstrings.xml") and part.file_size > MAX_SHARED_STRINGS_BYTES:
            return Problem(Where(display), None, f"workbook's text cells take {part.file_size:,} bytes; the limit "
                                                 f"is {MAX_SHARED_STRINGS_BYTES:,}")
    return None


def read_xlsx(path: Path, display: str | None = None) -> tuple[list[Node], list[Problem]]:
    """Read a workbook (one sheet per table) into one located document per case, within the bounds above."""
    from openpyxl import load_workbook

    display = display or display_name(path)
    too_big = workbook_limit_problem(path, display)
    if too_big is not None:
        return [], [too_big]
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as e:
        return [], [Problem(Where(display), None, f"not a readable .xlsx workbook ({_first_line(e)})")]
    try:
        problems: list[Problem] = []
        tables: dict[str, list[tuple[Where, dict[str, Node]]]] = {}
        for sheet in workbook.worksheets:
            if sheet.title in TEMPLATE_GUIDE_SHEETS:
                continue
            if sheet.title not in SHEET_COLUMNS:
                problems.append(Problem(Where(display, sheet=sheet.title), None,
                                        f"unknown sheet; allowed: {', '.join(SHEET_COLUMNS)}"))
                continue
            tables[sheet.title] = _sheet_rows(sheet, display, problems)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as e:
        return [], [Problem(Where(display), None, f"not a readable .xlsx workbook ({_first_line(e)})")]
    finally:
        workbook.close()
    if "cases" not in tables:
        problems.append(Problem(Where(display, sheet="cases"), None, "missing sheet; a workbook needs a cases sheet"))
        return [], problems
    if not tables["cases"]:
        problems.append(Problem(Where(display, sheet="cases"), None,
                                "no case rows; give one row per case below the header"))
        return [], problems
    return _assemble_cases(tables, display, problems), problems


def _sheet_rows(sheet, display: str, problems: list[Problem]) -> list[tuple[Where, dict[str, Node]]]:
    """Read a sheet's non-empty rows as (place, column -> Node), after checking its header row."""
    allowed = SHEET_COLUMNS[sheet.title]
    # The sheet's declared dimension (A1:XFD1048576 costs nothing to write) would have every row padded to
    # it; forget it and read the cells that are really there.
    sheet.reset_dimensions()
    header = next(sheet.iter_rows(min_row=1, max_row=1, values_only=True), None)
    if header is None:
        return []
    while header and (header[-1] is None or str(header[-1]).strip() == ""):
        header = header[:-1]
    if len(header) > MAX_SHEET_COLUMNS:
        problems.append(Problem(Where(display, sheet=sheet.title, row=1), None,
                                f"{len(header):,} columns; the limit is {MAX_SHEET_COLUMNS}"))
        return []
    # Only the header's columns are read: a cell far to the right (column XFD) pads no row out to it.
    rows = sheet.iter_rows(min_row=2, values_only=True, max_col=max(len(header), 1))
    columns: list[tuple[int, str, str | None]] = []  # (index, field, language)
    for index, title in enumerate(header):
        if title is None or str(title).strip() == "":
            continue
        title = str(title).strip()
        name, _, lang = title.partition("@")
        where = Where(display, sheet=sheet.title, row=1)
        if name not in allowed or (lang and name not in TEXT_COLUMNS):
            problems.append(Problem(where, title, f"unknown column; allowed: {', '.join(allowed)}"))
            continue
        columns.append((index, name, lang or None))
    out = []
    for number, values in enumerate(rows, start=2):
        if number > MAX_SHEET_ROWS + 1:
            problems.append(Problem(Where(display, sheet=sheet.title, row=number), None,
                                    f"more than {MAX_SHEET_ROWS:,} rows; the limit is {MAX_SHEET_ROWS:,} a sheet"))
            break
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
            continue
        where = Where(display, sheet=sheet.title, row=number)
        long_cell = next((i for i, v in enumerate(values) if isinstance(v, str) and len(v) > MAX_CELL_CHARS), None)
        if long_cell is not None:
            problems.append(Problem(where, None, f"the cell in column {long_cell + 1} holds {len(values[long_cell]):,} "
                                                 f"characters; the limit is {MAX_CELL_CHARS:,}"))
            continue
        record: dict[str, Node] = {}
        for index, name, lang in columns:
            value = values[index] if index < len(values) else None
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            if isinstance(value, str):
                value = value.strip()
            if name in LIST_COLUMNS:
                parts = str(value).split(",") if isinstance(value, str) else [value]
                record[name] = Node([Node(p.strip() if isinstance(p, str) else p, where, name)
                                     for p in parts if not isinstance(p, str) or p.strip()], where, name)
            elif lang is not None or (name in TEXT_COLUMNS and name in record):
                existing = record.get(name)
                mapping = existing.value if existing is not None and isinstance(existing.value, dict) else {}
                if existing is not None and not isinstance(existing.value, dict):
                    mapping = {"en": existing}
                mapping[lang or "en"] = Node(value, where, f"{name}@{lang or 'en'}")
                record[name] = Node(mapping, where, name)
            else:
                if isinstance(value, dt.datetime) and name == "date":
                    value = value.date()
                record[name] = Node(value, where, name)
        out.append((where, record))
    return out


def _assemble_cases(tables: dict[str, list[tuple[Where, dict[str, Node]]]], display: str,
                    problems: list[Problem]) -> list[Node]:
    """Group each sheet's rows under the case row they name."""
    cases: dict[Any, Node] = {}
    for where, record in tables["cases"]:
        node = Node(dict(record), where, "")
        key = record["id"].value if "id" in record else object()
        if key in cases:
            problems.append(Problem(where, "id", f"case {key!r} is already defined in {cases[key].where}"))
            continue
        cases[key] = node
    actors_by_case: dict[tuple[Any, Any], Node] = {}
    for sheet, case_field in SHEET_TO_CASE_FIELD.items():
        for where, record in tables.get(sheet, []):
            owner = _owning_case(where, record, cases, problems)
            if owner is None:
                continue
            fields = {k: v for k, v in record.items() if k != "case"}
            item = Node(fields, where, "")
            owner.value.setdefault(case_field, Node([], Where(display, sheet=sheet), case_field)).value.append(item)
            if sheet == "actors" and "id" in fields:
                actors_by_case[(record["case"].value, fields["id"].value)] = item
    for where, record in tables.get("participations", []):
        owner = _owning_case(where, record, cases, problems)
        if owner is None:
            continue
        if "actor" not in record:
            problems.append(Problem(where, "actor", "required field is missing; name an actor id of sheet actors"))
            continue
        actor = actors_by_case.get((record["case"].value, record["actor"].value))
        if actor is None:
            problems.append(Problem(where, "actor", f"{record['actor'].value!r} is not an actor of case "
                                                    f"{record['case'].value!r} in sheet actors"))
            continue
        if "role" not in record:
            problems.append(Problem(where, "role", f"required field is missing; allowed: {', '.join(ROLE_TO_IRI)}"))
            continue
        actor.value.setdefault("roles", Node([], where, "roles")).value.append(record["role"])
    return list(cases.values())


def _owning_case(where: Where, record: dict[str, Node], cases: dict[Any, Node], problems: list[Problem]) -> Node | None:
    if "case" not in record:
        problems.append(Problem(where, "case", "required field is missing; name a case id of sheet cases"))
        return None
    owner = cases.get(record["case"].value)
    if owner is None:
        problems.append(Problem(where, "case", f"{record['case'].value!r} is not a case id of sheet cases"))
    return owner


def read_case_file(path: Path, display: str | None = None) -> tuple[list[Node], list[Problem]]:
    """Read a case file of any accepted format into located documents."""
    path = Path(path)
    display = display or display_name(path)
    if path.suffix.lower() == ".xlsx":
        return read_xlsx(path, display)
    if path.suffix.lower() in (".yaml", ".yml"):
        return read_yaml(path, display)
    allowed = ", ".join(CASE_SUFFIXES)
    return [], [Problem(Where(display), None, f"unsupported file type {path.suffix!r}; allowed: {allowed}")]


def case_files(paths: list[Path]) -> list[Path]:
    """Expand directories into the case files they hold, sorted; keep files as given."""
    out: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            out.extend(sorted(p for p in path.iterdir() if p.suffix.lower() in CASE_SUFFIXES))
        else:
            out.append(path)
    return out


# --- checked cases and their RDF ----------------------------------------------------------

Text = dict[str, str]  # language tag -> text
Triple = tuple[URIRef, URIRef, Identifier]


@dataclass(frozen=True)
class Evidence:
    id: str
    kind: str
    supports: Text
    date: dt.date | None = None
    quotation: Text = field(default_factory=dict)
    locator: str | None = None  # where in the source: I-03 p.4 l.12-20, 00:14:05
    respondent_role: Text = field(default_factory=dict)


@dataclass(frozen=True)
class Actor:
    id: str
    name: Text
    sector: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class Observation:
    stage: str
    evidence: tuple[str, ...]
    mechanism: str | None = None
    strategy: str | None = None
    outcomes: tuple[str, ...] = ()
    actors: tuple[str, ...] = ()
    description: Text = field(default_factory=dict)


@dataclass(frozen=True)
class ConditionAssessment:
    condition: str
    holds: bool
    justification: Text = field(default_factory=dict)
    evidence: tuple[str, ...] = ()
    coder: str | None = None
    coded_on: dt.date | None = None
    confidence: str | None = None


@dataclass(frozen=True)
class PerformanceFact:
    indicator: str
    value: Any
    description: Text = field(default_factory=dict)
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class Case:
    id: str
    illustrative: bool
    name: Text
    city: Text
    province: Text
    period: str
    services: tuple[str, ...]
    arrangement: str
    authority: str
    resources: str
    actors: tuple[Actor, ...]
    evidence: tuple[Evidence, ...]
    source: str = ""  # the project-relative file it was read from
    description: Text = field(default_factory=dict)
    authority_justification: Text = field(default_factory=dict)
    authority_evidence: tuple[str, ...] = ()
    resources_justification: Text = field(default_factory=dict)
    resources_evidence: tuple[str, ...] = ()
    characteristics: tuple[str, ...] = ()
    observations: tuple[Observation, ...] = ()
    conditions: tuple[ConditionAssessment, ...] = ()
    performance: tuple[PerformanceFact, ...] = ()
    # Who coded the case, when and how surely; an assessment's own coder or date overrides the case's.
    coder: str | None = None
    coded_on: dt.date | None = None
    confidence: str | None = None
    authority_coder: str | None = None
    authority_coded_on: dt.date | None = None
    authority_confidence: str | None = None
    resources_coder: str | None = None
    resources_coded_on: dt.date | None = None
    resources_confidence: str | None = None


class TermCache:
    """A namespace whose terms are made once: each attribute of an rdflib namespace builds and checks a new URIRef."""

    def __init__(self, namespace: Any) -> None:
        self._namespace = namespace

    def __getattr__(self, name: str) -> URIRef:
        term = getattr(self._namespace, name)
        setattr(self, name, term)  # later lookups find the attribute and skip __getattr__
        return term


COP_TERMS, DCTERMS_TERMS, RDF_TERMS, RDFS_TERMS = map(TermCache, (COP, DCTERMS, RDF, RDFS))


def _add_coding(add: Callable[[Triple], None], subject: URIRef, coder: str | None, coded_on: dt.date | None,
                confidence: str | None) -> None:
    """Say who coded `subject` (a prov:Agent), on which day and how surely."""
    if coder is not None:
        agent = coder_iri(coder)
        add((subject, PROV.wasAttributedTo, agent))
        add((agent, RDF.type, PROV.Agent))
        add((agent, DCTERMS.identifier, Literal(coder)))
    if coded_on is not None:
        add((subject, DCTERMS.date, Literal(coded_on.isoformat(), datatype=XSD.date)))
    if confidence is not None:
        add((subject, COP.codingConfidence, CONFIDENCE_TO_IRI[confidence]))


def _attribution(case: Case, coder: str | None, coded_on: dt.date | None) -> tuple[str | None, dt.date | None]:
    """The coder and date of an assessment: its own, else the case's (a coder named here dates it alone)."""
    if coder is not None:
        return coder, coded_on
    return case.coder, coded_on or case.coded_on


def _add_text(add: Callable[[Triple], None], subject: URIRef, predicate: URIRef, text: Text) -> None:
    for lang, value in sorted(text.items()):
        add((subject, predicate, Literal(value, lang=lang)))


def _part(case: Case, kind: str, key: str | int) -> URIRef:
    """Name a part of a case: id:case/{case}/{kind}/{key}."""
    return ID[f"case/{case.id}/{kind}/{key}"]


def content_graph(case: Case) -> Graph:
    """Map a checked case to a graph of its triples (without provenance)."""
    g = Graph()
    for triple in case_triples(case):
        g.add(triple)
    return g


def case_triples(case: Case) -> list[Triple]:
    """Map a checked case to its triples (without provenance, each once), following docs/design.md."""
    # A list, not a Graph: the importer maps a thousand cases, and a Graph's indexes cost more than the mapping.
    triples: list[Triple] = []
    add = triples.append
    COP, DCTERMS, RDF, RDFS = COP_TERMS, DCTERMS_TERMS, RDF_TERMS, RDFS_TERMS  # noqa: N806 (the same terms, made once)
    c = case_iri(case.id)
    add((c, RDF.type, COP.CoproductionCase))
    add((c, DCTERMS.identifier, Literal(case.id)))
    add((c, COP.isIllustrative, Literal(case.illustrative)))
    _add_text(add, c, RDFS.label, case.name)
    _add_text(add, c, COP.city, case.city)
    _add_text(add, c, COP.province, case.province)
    _add_text(add, c, COP.description, case.description)
    add((c, DCTERMS.temporal, Literal(case.period)))
    # The coding of the whole case describes the coded record, the case graph, not the community it is about.
    _add_coding(add, case_graph(case.id), case.coder, case.coded_on, case.confidence)
    add((c, COP.hasDeliveryArrangement, ARRANGEMENT_TO_IRI[case.arrangement]))
    for service in case.services:
        add((c, COP.providesService, SERVICE_TO_IRI[service]))
    for characteristic in case.characteristics:
        add((c, COP.evidencesCharacteristic, CHARACTERISTIC_TO_IRI[characteristic]))
    evidence = {e.id: _part(case, "evidence", e.id) for e in case.evidence}
    for item in case.evidence:
        e = evidence[item.id]
        add((e, RDF.type, COP.Evidence))
        add((e, COP.evidenceKind, EVIDENCE_KIND_TO_IRI[item.kind]))
        add((e, DCTERMS.identifier, Literal(item.id)))
        if item.date is not None:
            add((e, DCTERMS.date, Literal(item.date.isoformat(), datatype=XSD.date)))
        _add_text(add, e, COP.quotation, item.quotation)
        _add_text(add, e, COP.description, item.supports)
        if item.locator is not None:
            add((e, COP.locator, Literal(item.locator)))
        _add_text(add, e, COP.respondentRole, item.respondent_role)
    dimensions = (
        ("authority", COP.GovernanceAuthority, COP.hasAuthorityLevel, AUTHORITY_TO_IRI[case.authority],
         case.authority_justification, case.authority_evidence),
        ("resources", COP.ResourceConcentration, COP.hasResourceConcentration, RESOURCES_TO_IRI[case.resources],
         case.resources_justification, case.resources_evidence),
    )
    for key, dimension, predicate, level, justification, supported_by in dimensions:
        coder, coded_on = _attribution(case, getattr(case, f"{key}_coder"), getattr(case, f"{key}_coded_on"))
        add((c, predicate, level))
        a = _part(case, "level", key)
        add((a, RDF.type, COP.LevelAssessment))
        add((a, COP.assessmentOf, c))
        add((a, COP.assessesDimension, dimension))
        add((a, COP.assignedLevel, level))
        _add_text(add, a, COP.justification, justification)
        for ref in supported_by:
            add((a, COP.supportedBy, evidence[ref]))
        _add_coding(add, a, coder, coded_on, getattr(case, f"{key}_confidence"))
    actors = {a.id: _part(case, "actor", a.id) for a in case.actors}
    for actor in case.actors:
        a = actors[actor.id]
        add((a, RDF.type, COP.Actor))
        _add_text(add, a, RDFS.label, actor.name)
        add((a, COP.inSector, SECTOR_TO_IRI[actor.sector]))
        add((c, COP.involvesActor, a))
        p = _part(case, "participation", actor.id)
        add((p, RDF.type, COP.Participation))
        add((p, COP.participationIn, c))
        add((p, COP.participant, a))
        for role in actor.roles:
            add((p, COP.hasRole, ROLE_TO_IRI[role]))
    for n, obs in enumerate(case.observations, start=1):
        o = _part(case, "observation", n)
        add((o, RDF.type, COP.CaseObservation))
        add((o, COP.observationIn, c))
        add((o, COP.atStage, STAGE_TO_IRI[obs.stage]))
        if obs.mechanism:
            add((o, COP.ofMechanism, MECHANISM_TO_IRI[obs.mechanism]))
        if obs.strategy:
            add((o, COP.usingStrategy, STRATEGY_TO_IRI[obs.strategy]))
        for outcome in obs.outcomes:
            add((o, COP.showsOutcome, OUTCOME_TO_IRI[outcome]))
        for ref in obs.actors:
            add((o, COP.involvesActor, actors[ref]))
        for ref in obs.evidence:
            add((o, COP.supportedBy, evidence[ref]))
        _add_text(add, o, COP.description, obs.description)
    for assessment in case.conditions:
        k = _part(case, "condition", assessment.condition)
        condition = CONDITION_TO_IRI[assessment.condition]
        add((k, RDF.type, COP.ConditionAssessment))
        add((k, COP.assessmentOf, c))
        add((k, COP.assessesCondition, condition))
        add((k, COP.conditionHolds, Literal(assessment.holds)))
        _add_text(add, k, COP.justification, assessment.justification)
        for ref in assessment.evidence:
            add((k, COP.supportedBy, evidence[ref]))
        _add_coding(add, k, *_attribution(case, assessment.coder, assessment.coded_on), assessment.confidence)
        add((c, COP.meetsCondition if assessment.holds else COP.failsCondition, condition))
    for n, fact in enumerate(case.performance, start=1):
        f = _part(case, "performance", n)
        add((f, RDF.type, COP.PerformanceFact))
        add((f, COP.performanceOf, c))
        add((f, COP.indicator, INDICATOR_TO_IRI[fact.indicator]))
        add((f, COP.value, Literal(fact.value)))
        _add_text(add, f, COP.description, fact.description)
        for ref in fact.evidence:
            add((f, COP.supportedBy, evidence[ref]))
    return list(dict.fromkeys(triples))


def provenance_triples(case: Case, generated_at: dt.datetime) -> list[Triple]:
    """Say where a case's named graph comes from: its source file and import time."""
    graph_name = case_graph(case.id)
    # Provenance describes the graph (the coded record), not the community the case is about.
    return [(graph_name, PROV.wasDerivedFrom, source_iri(case.source)),
            (graph_name, PROV.generatedAtTime, Literal(generated_at.isoformat(), datatype=XSD.dateTime))]


def case_rdf(case: Case, generated_at: dt.datetime) -> Graph:
    """Map a checked case to the contents of its named graph, provenance included."""
    g = content_graph(case)
    for triple in provenance_triples(case, generated_at):
        g.add(triple)
    return g


def ntriples(triples: Iterable[Triple]) -> str:
    """Write triples as N-Triples text, exactly as rdflib's N-Triples serializer does."""
    return "".join(map(_nt_row, triples))
