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


def mode_unmet(holds: list[bool | None], alternatives: bool) -> bool:
    """Whether a case fails its mode as a whole, given whether it meets each of the mode's conditions.

    The rule of cop:ModeConditionMismatchCase: one failed condition fails the mode, except where the
    conditions are alternatives (the sharing-assisted mode's, joined by "or" in the source), when all
    must fail. A condition not assessed (None) is unknown, not failed.
    """
    failed = [h is False for h in holds]
    return bool(failed) and (all(failed) if alternatives else any(failed))


@bp.get("/modes")
def modes():
    """Draw the 2×2 of modes, each case in the cell its two levels put it, with unmet conditions flagged."""
    cell_of_mode = {row["mode"].value: (row["authority"].value, row["resources"].value) for row in select("mode_cells")}
    conditions: dict[str, list] = defaultdict(list)
    alternatives: set[str] = set()  # modes whose conditions are alternatives ("or" in the source)
    for row in select("mode_conditions"):
        listed = conditions.setdefault(row["mode"].value, [])  # a mode without conditions is still a mode
        if "condition" in row:
            listed.append(row["condition"])
        if is_true(row.get("alternatives")):
            alternatives.add(row["mode"].value)
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
        case["mode_unmet"] = False
        for mode in case["modes"]:
            holds = [status.get(case["term"].value, {}).get(c.value) for c in conditions.get(mode, [])]
            checks += [{"condition": c, "holds": h} for c, h in zip(conditions.get(mode, []), holds)]
            case["mode_unmet"] |= mode_unmet(holds, mode in alternatives)
        # Each failed condition is listed; the chip is flagged only when the mode as a whole is unmet.
        case["unmet"] = [c["condition"] for c in checks if c["holds"] is False]
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
