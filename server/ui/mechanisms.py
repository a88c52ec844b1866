"""The operation mechanism page: stage, mechanism, logic, strategy and outcomes, and the virtuous cycle."""

from __future__ import annotations

from flask import render_template

from kg.namespaces import COP
from server.ui.blueprint import bp
from server.ui.reading import collect, same_term, select
from server.ui.terms import label

# The source fixes the order of the stages; the ontology does not rank them.
STAGE_ORDER = (COP.DesignStage, COP.OperationStage, COP.EvaluationStage)


# Where the three elements of the cycle sit in the picture (SVG user units), and their radius.
CYCLE_VERTICES = ((360, 88), (150, 330), (570, 330))
CYCLE_RADIUS = 66


def stage_rank(term) -> int:
    """Where a stage comes in the source's order (unknown stages last)."""
    iri = term.value if term is not None else ""
    return next((i for i, stage in enumerate(STAGE_ORDER) if str(stage) == iri), len(STAGE_ORDER))


@bp.get("/mechanisms")
def mechanisms():
    """Draw the operation mechanism from the store: stage → mechanism → logic and strategy → outcomes."""
    chains: dict[str, dict] = {}
    for row in select("mechanism_chain"):
        chain = chains.setdefault(row["mechanism"].value, {
            "mechanism": row["mechanism"], "stage": None, "logic": None, "strategy": None, "outcomes": []})
        for key in ("stage", "logic", "strategy"):
            chain[key] = chain[key] or row.get(key)
        if "outcome" in row and not any(same_term(row["outcome"], o) for o in chain["outcomes"]):
            chain["outcomes"].append(row["outcome"])
    ordered = sorted(chains.values(), key=lambda c: (stage_rank(c["stage"]), label(c["mechanism"])))
    for chain in ordered:
        chain["outcomes"].sort(key=lambda o: label(o).lower())
    case_counts = {row["outcome"].value: int(row["cases"].value) for row in select("cases_per_outcome")}
    stage_of_mechanism = {c["mechanism"].value: stage_rank(c["stage"]) for c in ordered}
    return render_template("mechanisms.html", chains=ordered, case_counts=case_counts,
                           cycle=_cycle(stage_of_mechanism), active="ui.mechanisms")


def _cycle(stage_of_mechanism: dict[str, int]) -> dict | None:
    """Lay out the virtuous cycle: its elements as vertices (in stage order) and its links as edges."""
    rows = select("virtuous_cycle")
    elements = collect(rows, "element", ("quality", "logic", "mechanism", "outcome"))
    if len(elements) != len(CYCLE_VERTICES):
        return None
    elements.sort(key=lambda e: (min((stage_of_mechanism.get(m.value, 9) for m in e["mechanism"]), default=9),
                                 label(e["element"])))
    for element, (x, y) in zip(elements, CYCLE_VERTICES):
        element["x"], element["y"] = x, y
    position = {e["element"].value: (e["x"], e["y"]) for e in elements}
    edges = []
    for link in collect(rows, "link", ("element",)):
        ends = [position[e.value] for e in link["element"] if e.value in position]
        if len(ends) == 2:
            edges.append({"link": link["link"], "path": _edge_path(*ends)})
    return {"elements": elements, "edges": edges}


def _edge_path(start: tuple[int, int], end: tuple[int, int]) -> str:
    """Draw a two-way edge as a curve bowing away from the cycle's centre, stopping short of both circles."""
    cx = sum(x for x, _ in CYCLE_VERTICES) / len(CYCLE_VERTICES)
    cy = sum(y for _, y in CYCLE_VERTICES) / len(CYCLE_VERTICES)
    mx, my = (start[0] + end[0]) / 2, (start[1] + end[1]) / 2
    control = (mx + (mx - cx) * 0.45, my + (my - cy) * 0.45)

    def shorten(point, towards):
        dx, dy = towards[0] - point[0], towards[1] - point[1]
        length = (dx * dx + dy * dy) ** 0.5 or 1
        gap = CYCLE_RADIUS + 8
        return point[0] + dx / length * gap, point[1] + dy / length * gap

    a, b = shorten(start, control), shorten(end, control)
    return f"M{a[0]:.0f},{a[1]:.0f} Q{control[0]:.0f},{control[1]:.0f} {b[0]:.0f},{b[1]:.0f}"
