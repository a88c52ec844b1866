"""Hostile .xlsx files: each is refused (or read for what it really holds) quickly, naming the limit it broke.

An .xlsx is a zip of XML, so a small file can declare a sheet of 17 billion cells, expand a thousandfold or
hold one enormous string; the importer checks the zip before parsing and bounds what it reads.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
import zipfile

import pytest

from kg import cases as case_files
from kg.cases import read_case_file
from test_cases import MEAL_CENTRE, checked_cases, workbook_from_yaml

# Generous: each of these took from minutes to forever before the bounds (issue 18, finding 8).
SECONDS = 20


def _rewrite(book, target, change, added: dict[str, bytes] | None = None):
    """Copy workbook `book` to `target`, passing each part's bytes through change(name, data), plus `added` parts."""
    with zipfile.ZipFile(book) as source, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            out.writestr(info.filename, change(info.filename, source.read(info.filename)))
        for name, data in (added or {}).items():
            out.writestr(name, data)
    return target


@pytest.fixture
def book(tmp_path):
    return workbook_from_yaml([MEAL_CENTRE], tmp_path / "meal.xlsx")


def _timed(path):
    started = time.monotonic()
    documents, problems = read_case_file(path)
    return documents, problems, time.monotonic() - started


def test_a_declared_sheet_of_every_possible_cell_is_read_for_the_cells_it_has(book, tmp_path):
    def huge_dimension(name, data):
        return re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', data) if "worksheets/" in name else data

    hostile = _rewrite(book, tmp_path / "dimension.xlsx", huge_dimension)
    assert b"XFD1048576" in zipfile.ZipFile(hostile).read("xl/worksheets/sheet1.xml")
    # In a child process, so a regression hangs only it: before the fix this never finished.
    code = f"from kg.cases import read_case_file; d, p = read_case_file({str(hostile)!r}); print(len(d), [str(x) for x in p])"
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=SECONDS)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "1 []"  # the one real case, read as if the dimension were true
    assert [c.id for c in checked_cases(hostile)] == [c.id for c in checked_cases(book)]


def test_a_row_number_far_down_the_sheet_stops_at_the_row_limit(book, tmp_path, monkeypatch):
    monkeypatch.setattr(case_files, "MAX_SHEET_ROWS", 1000)

    def far_row(name, data):
        if not name.endswith("sheet1.xml"):
            return data
        return data.replace(b"</sheetData>", b'<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData>')

    hostile = _rewrite(book, tmp_path / "far-row.xlsx", far_row)
    documents, problems, seconds = _timed(hostile)
    assert seconds < SECONDS
    assert any("more than 1,000 rows; the limit is 1,000 a sheet" in str(p) for p in problems), problems


def test_a_zip_bomb_is_refused_before_it_is_expanded(book, tmp_path):
    padding = b" " * (case_files.MAX_WORKBOOK_EXPANDED_BYTES + 1_000_000)

    def bomb(name, data):
        return data.replace(b"</sheetData>", b"</sheetData>" + padding) if name.endswith("sheet1.xml") else data

    hostile = _rewrite(book, tmp_path / "bomb.xlsx", bomb)
    assert hostile.stat().st_size < 2_000_000  # small on disk
    documents, problems, seconds = _timed(hostile)
    assert documents == [] and seconds < SECONDS
    assert len(problems) == 1 and "expands to" in problems[0].message and "the limit is 100,000,000" in problems[0].message
    assert str(problems[0].where) == "bomb.xlsx"


def test_an_enormous_text_cell_is_refused_by_the_size_of_the_string_table(book, tmp_path):
    # openpyxl writes text inline; Excel and LibreOffice keep it in this shared table, where one string
    # of 800 MB compresses to under a megabyte.
    huge = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>' + \
        b"x" * (case_files.MAX_SHARED_STRINGS_BYTES + 1) + b"</t></si></sst>"
    hostile = _rewrite(book, tmp_path / "string.xlsx", lambda name, data: data, {"xl/sharedStrings.xml": huge})
    assert hostile.stat().st_size < 1_000_000
    documents, problems, seconds = _timed(hostile)
    assert documents == [] and seconds < SECONDS
    assert "text cells take" in problems[0].message and "the limit is 20,000,000" in problems[0].message


def test_a_cell_longer_than_excel_allows_is_refused_with_its_place(book, tmp_path):
    long_text = b"y" * (case_files.MAX_CELL_CHARS + 1)

    def long_cell(name, data):
        if not name.endswith("sheet1.xml"):
            return data
        return re.sub(rb"(<row r=\"2\"[^>]*>)", rb'\1<c r="ZZ2" t="inlineStr"><is><t>' + long_text + rb"</t></is></c>", data, count=1)

    hostile = _rewrite(book, tmp_path / "long-cell.xlsx", long_cell)
    assert long_text in zipfile.ZipFile(hostile).read("xl/worksheets/sheet1.xml")
    # Column ZZ lies past the header, so it is not read at all; put the text in a column that has a header.
    documents, problems = read_case_file(hostile)
    assert problems == []

    def long_name(name, data):
        if not name.endswith("sheet1.xml"):
            return data
        return re.sub(rb'(<c r="A2"[^>]*t="inlineStr"[^>]*><is><t>)[^<]*', rb"\1" + long_text, data, count=1)

    hostile = _rewrite(book, tmp_path / "long-cell.xlsx", long_name)
    documents, problems = read_case_file(hostile)
    assert any(str(p).startswith("long-cell.xlsx sheet cases row 2") and "holds 32,768 characters; the limit is 32,767"
               in str(p) for p in problems), [str(p) for p in problems]


def test_a_sheet_wider_than_the_column_limit_is_refused(book, tmp_path):
    from openpyxl import load_workbook

    workbook = load_workbook(book)
    workbook["cases"].cell(row=1, column=case_files.MAX_SHEET_COLUMNS + 5, value="extra")
    target = tmp_path / "wide.xlsx"
    workbook.save(target)
    documents, problems = read_case_file(target)
    assert any("205 columns; the limit is 200" in str(p) for p in problems), [str(p) for p in problems]


def test_an_oversized_file_is_refused_by_its_size(book, tmp_path, monkeypatch):
    monkeypatch.setattr(case_files, "MAX_WORKBOOK_BYTES", 1000)
    big = shutil.copy(book, tmp_path / "big.xlsx")
    documents, problems = read_case_file(big)
    assert documents == [] and "the limit is 1,000" in problems[0].message
