"""Cases side by side: the case_comparison query's rows pivoted into a case x dimension matrix, as CSV or XLSX."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from kg import cases as cf

# The matrix's dimensions in the order a multi-case study reads them (issue 15); the last three have one
# column per condition, per mechanism and per performance indicator.
DIMENSIONS = ("arrangement", "services", "authority", "resources", "mode", "condition", "characteristics", "outcomes",
              "performance")
PER_COLUMN = {"condition": cf.CONDITION_TO_IRI, "outcomes": cf.MECHANISM_TO_IRI, "performance": cf.INDICATOR_TO_IRI}
CONDITION_STATUSES = ("met", "fails", "not assessed")


@dataclass(frozen=True)
class Column:
    dimension: str
    key: str | None = None  # the condition's, mechanism's or indicator's IRI


@dataclass
class CaseRow:
    case: str  # the case's IRI
    label: str
    province: str
    illustrative: bool
    cells: dict[Column, list] = field(default_factory=dict)  # the column's values, as the query gave them (terms)

    @property
    def id(self) -> str:
        return self.case.rsplit("/", 1)[-1]


@dataclass
class Matrix:
    columns: list[Column]
    rows: list[CaseRow]


def matrix(solutions: Iterable) -> Matrix:
    """Pivot the rows of queries/case_comparison.rq (each with case, dimension, optional column, value)."""
    rows: dict[str, CaseRow] = {}
    seen: set[Column] = set()
    for solution in solutions:
        case = solution["case"].value
        row = rows.get(case)
        if row is None:
            label, province = solution["caseLabel"], solution["province"]
            row = rows[case] = CaseRow(case, label.value if label is not None else case.rsplit("/", 1)[-1],
                                       province.value if province is not None else "",
                                       solution["illustrative"].value in ("true", "1"))
        column_term = solution["column"]
        column = Column(solution["dimension"].value, column_term.value if column_term is not None else None)
        seen.add(column)
        values = row.cells.setdefault(column, [])
        if not any(v.value == solution["value"].value for v in values):
            values.append(solution["value"])
    return Matrix(_columns(seen), sorted(rows.values(), key=lambda r: r.id))


def _columns(seen: set[Column]) -> list[Column]:
    """Every dimension's columns: conditions and mechanisms all, always; indicators those some case records."""
    out = []
    for dimension in DIMENSIONS:
        if dimension not in PER_COLUMN:
            out.append(Column(dimension))
            continue
        known = [str(iri) for iri in PER_COLUMN[dimension].values()]
        keys = known if dimension != "performance" else [k for k in known if Column(dimension, k) in seen]
        keys += sorted(c.key for c in seen if c.dimension == dimension and c.key not in known)
        out += [Column(dimension, key) for key in keys]
    return out


def table(result: Matrix, header: Callable[[Column], str], cell: Callable[[object], str],
          lead: tuple[str, str, str, str] = ("case", "name", "province", "illustrative")) -> list[list[str]]:
    """The matrix as rows of text, a header first: the case's id, name, province and illustrative flag, then a
    cell per column (several values joined by '; ')."""
    rows = [[*lead, *(header(c) for c in result.columns)]]
    for row in result.rows:
        rows.append([row.id, row.label, row.province, "true" if row.illustrative else "false",
                     *("; ".join(cell(v) for v in row.cells.get(c, [])) for c in result.columns)])
    return rows


def as_csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def as_xlsx(rows: list[list[str]], title: str = "comparison") -> bytes:
    """One sheet, header bold and frozen, so the matrix opens in Excel or LibreOffice as it is shown."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    for row in rows:
        sheet.append(row)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "C2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
