"""The 2x2 of coproduction modes: each case in the cell its two levels put it, a case failing its mode flagged."""

from __future__ import annotations

from collections import defaultdict

import pyoxigraph as ox
from flask import render_template

from kg.namespaces import COP
from server.ui.blueprint import bp
from server.ui.reading import iri_of, is_true, select
from server.ui.terms import label

AUTHORITY_ROWS = (COP.HighAuthority, COP.LowAuthority)  # top row first, as the typology is usually drawn
RESOURCE_COLUMNS = (COP.LowConcentration, COP.HighConcentration)


def condition_status() -> dict[str, dict[str, bool]]:
    """Map case → condition → holds; a condition assessed both ways counts as unmet."""
    status: dict[str, dict[str, bool]] = defaultdict(dict)
    for row in select("case_conditions"):
        holds = is_true(row["holds"])
        case, condition = row["case"].value, row["condition"].value
        status[case][condition] = status[case].get(condition, True) and holds
    return status


def mode_conditions(**bindings) -> tuple[dict[str, list], dict[str, dict[str, set[str]]]]:
    """Give each mode's conditions in order, and per mode each condition's alternatives (empty: none)."""
    conditions: dict[str, list] = {}
    alternatives: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for row in select("mode_conditions", **bindings):
        listed = conditions.setdefault(row["mode"].value, [])  # a mode without conditions is still a mode
        if "condition" not in row:
            continue
        if not any(c.value == row["condition"].value for c in listed):
            listed.append(row["condition"])
        if "alternative" in row:
            alternatives[row["mode"].value][row["condition"].value].add(row["alternative"].value)
    return conditions, alternatives


def failing_conditions(holds: dict[str, bool | None], alternatives: dict[str, set[str]]) -> set[str]:
    """The conditions by which a case fails its mode, given whether it meets each of the mode's conditions.

    The rule of cop:ModeConditionMismatchCase: a failed condition fails the mode, unless the source joins it
    with "or" to others (cop:alternativeCondition), when it and every alternative must fail. A condition not
    assessed (None) is unknown, not failed.
    """
    return {c for c, held in holds.items()
            if held is False and all(holds.get(a) is False for a in alternatives.get(c, ()))}


@bp.get("/modes")
def modes():
    """Draw the 2×2 of modes, each case in the cell its two levels put it, with unmet conditions flagged."""
    cell_of_mode = {row["mode"].value: (row["authority"].value, row["resources"].value) for row in select("mode_cells")}
    conditions, alternatives = mode_conditions()
    status = condition_status()
    cases: dict[str, dict] = {}
    for row in select("case_placement"):
        case = cases.setdefault(row["case"].value, {"term": row["case"], "modes": [], "authority": None,
                                                    "resources": None, "illustrative": False})
        case["authority"] = case["authority"] or iri_of(row.get("authority"))
        case["resources"] = case["resources"] or iri_of(row.get("resources"))
        case["illustrative"] |= is_true(row.get("illustrative"))
        if "mode" in row and row["mode"].value not in case["modes"]:
            case["modes"].append(row["mode"].value)
    cells = {(str(a), str(r)): {"modes": [], "cases": []} for a in AUTHORITY_ROWS for r in RESOURCE_COLUMNS}
    for mode, cell in cell_of_mode.items():
        if cell in cells:
            cells[cell]["modes"].append(mode)
    unplaced = []
    for case in sorted(cases.values(), key=lambda c: label(c["term"]).lower()):
        checks = []
        failing: set[str] = set()
        for mode in case["modes"]:
            holds = {c.value: status.get(case["term"].value, {}).get(c.value) for c in conditions.get(mode, [])}
            checks += [{"condition": c, "holds": holds[c.value]} for c in conditions.get(mode, [])]
            failing |= failing_conditions(holds, alternatives[mode])
        case["mode_unmet"] = bool(failing)
        # Each failed condition is listed; those that fail the mode (and so flag the chip) are marked apart
        # from a failed alternative whose partner is met or not assessed.
        case["unmet"] = [{"condition": c["condition"], "fails_mode": c["condition"].value in failing}
                         for c in checks if c["holds"] is False]
        case["unknown"] = [c["condition"] for c in checks if c["holds"] is None]
        case["met"] = [c["condition"] for c in checks if c["holds"] is True]
        cell = (case["authority"], case["resources"])
        case["mode_mismatch"] = any(cell_of_mode.get(m) not in (None, cell) for m in case["modes"])
        if cell in cells:
            cells[cell]["cases"].append(case)
        else:
            unplaced.append(case)
    unplaced_modes = [m for m in conditions if m not in cell_of_mode]
    return render_template("modes.html", cells=cells, rows=[str(a) for a in AUTHORITY_ROWS],
                           columns=[str(r) for r in RESOURCE_COLUMNS],
                           conditions=conditions, unplaced=unplaced, unplaced_modes=unplaced_modes,
                           node=ox.NamedNode, active="ui.modes")
