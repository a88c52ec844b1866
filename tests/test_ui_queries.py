"""The UI's SPARQL lives in server/ui/queries/*.rq: every file parses, says what it is for, and is used."""

from __future__ import annotations

import re

import pyoxigraph as ox
import pytest

from server.ui import reading

UI_MODULES = sorted(reading.QUERIES.parent.glob("*.py"))
QUERY_FILES = sorted(reading.QUERIES.glob("*.rq"))
# select("name", ...) and construct("name") in the page modules.
CALL = re.compile(r'\b(?:select|construct)\("([a-z_]+)"')


def names_called() -> set[str]:
    return {name for module in UI_MODULES for name in CALL.findall(module.read_text(encoding="utf-8"))}


@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda p: p.stem)
def test_each_ui_query_parses_and_opens_with_a_comment_saying_what_it_is_for(path):
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# ") and len(text.splitlines()[0]) > 20, f"{path.name}: first line should say what it is for"
    ox.Store().query(reading.query_text(path.stem))  # raises SyntaxError if the file does not parse


def test_every_ui_query_file_is_used_and_every_name_used_has_a_file():
    files = {path.stem for path in QUERY_FILES}
    called = names_called()
    assert called - files == set(), "pages name queries that have no file"
    assert files - called == set(), "query files no page runs"
