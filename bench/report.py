"""Figures of one run: printed as they come, then written as a Markdown table and a PNG chart."""

from __future__ import annotations

import json
import platform
import statistics
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

SECTION_TITLES = {
    "latency": "1. Query latency over HTTP (median per request)",
    "throughput": "2. Throughput with wrk (median requests/s)",
    "load": "3a. Bulk load (median wall time)",
    "yaml": "3b. YAML cases through the full import (validation and reasoning included)",
    "reasoning": "4. OWL RL reasoning (median wall time)",
    "completeness": "4b. Completeness against owlrl",
    "memory": "5. Peak memory while serving",
}


@dataclass(frozen=True)
class Target:
    """A bound the issue sets: on the ratio (`ratio <= bound`, or `>=`), or, with a unit, on CoproKG's own value."""

    bound: float
    at_most: bool = True
    unit: str | None = None  # set: an absolute bound on our value, e.g. 30 s

    def met(self, value: float) -> bool:
        return value <= self.bound if self.at_most else value >= self.bound

    def __str__(self) -> str:
        return f"{'≤' if self.at_most else '≥'} {self.bound:g}{' ' + self.unit if self.unit else '×'}"


@dataclass
class Figure:
    """One row: values per system, the ratio ours/baseline, and whether it meets its target."""

    section: str
    item: str
    size: str
    unit: str
    values: dict[str, float | None]
    ours: str = "CoproKG"
    baseline: str | None = None
    target: Target | None = None
    note: str = ""
    runs: int = 0
    passed: bool | None = None  # for checks that are not a bound on a number (completeness)

    @property
    def ratio(self) -> float | None:
        mine, theirs = self.values.get(self.ours), self.values.get(self.baseline) if self.baseline else None
        if mine is None or not theirs:
            return None
        return mine / theirs

    @property
    def verdict(self) -> str:
        if self.passed is not None:
            return "PASS" if self.passed else "MISS"
        if self.target is None:
            return "—"
        measured = self.values.get(self.ours) if self.target.unit else self.ratio
        if measured is None:
            return "NOT MEASURED"
        return "PASS" if self.target.met(measured) else "MISS"

    @property
    def has_target(self) -> bool:
        return self.target is not None or self.passed is not None

    def line(self) -> str:
        """Say the figure in one line, as the run prints it."""
        shown = ", ".join(f"{name} {_number(value)} {self.unit}" for name, value in self.values.items())
        text = f"[{self.section} {self.size}] {self.item}: {shown}"
        if self.ratio is not None:
            text += f" -> {self.ratio:.2f}× {self.baseline}"
        if self.has_target:
            text += f" (target {self.target or 'complete'}) {self.verdict}"
        return text + (f"  [{self.note}]" if self.note else "")


@dataclass
class Results:
    """Every figure of a run, plus what could not be measured and why."""

    settings: dict
    figures: list[Figure] = field(default_factory=list)
    not_measured: list[str] = field(default_factory=list)
    started: str = field(default_factory=lambda: datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        print(figure.line(), flush=True)
        return figure

    def skip(self, what: str, why: str) -> None:
        message = f"{what}: not measured ({why})"
        self.not_measured.append(message)
        print(f"[skip] {message}", flush=True)


def median(values: list[float]) -> float:
    return statistics.median(values)


def _number(value: float | None) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, int) or value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}" if value >= 0.1 else f"{value:.3f}"


def machine_line() -> str:
    """Describe the machine the figures come from."""
    cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    memory = next((line.split()[1] for line in open("/proc/meminfo") if line.startswith("MemTotal")), "?")
    return f"{platform.machine()}, {cores} cores, {int(memory) // 1024 // 1024} GiB RAM, Python {platform.python_version()}"


def write_markdown(results: Results, path: Path) -> Path:
    """Write every figure as Markdown tables, one per section, with ratios and PASS/MISS."""
    lines = ["# CoproKG benchmark results", "",
             f"Run {results.started} on {machine_line()}. Settings: `{json.dumps(results.settings)}`.", "",
             "Each figure is the median of interleaved runs; the ratio is CoproKG / baseline in the same run. "
             "Data: seeded synthetic cases (illustrative, `bench/synthetic.py`) plus the ontology.", ""]
    targets = [f for f in results.figures if f.has_target]
    passed = sum(f.verdict == "PASS" for f in targets)
    lines += [f"**Targets: {passed} of {len(targets)} met.**", ""]
    for section, title in SECTION_TITLES.items():
        rows = [f for f in results.figures if f.section == section]
        if not rows:
            continue
        systems = list(dict.fromkeys(name for f in rows for name in f.values))
        lines += [f"## {title}", "",
                  "| item | size | " + " | ".join(f"{s}" for s in systems) + " | ratio | target | result | note |",
                  "|---|---|" + "---:|" * len(systems) + "---:|---|---|---|"]
        for f in rows:
            cells = [f"{_number(f.values[s])} {f.unit}" if s in f.values else "" for s in systems]
            ratio = f"{f.ratio:.2f}×" if f.ratio is not None else "—"
            lines.append(f"| {f.item} | {f.size} | " + " | ".join(cells) +
                         f" | {ratio} | {f.target or ('complete' if f.passed is not None else '—')} | {f.verdict} | {f.note} |")
        lines.append("")
    if results.not_measured:
        lines += ["## Not measured", ""] + [f"- {m}" for m in results.not_measured] + [""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def write_json(results: Results, path: Path) -> Path:
    """Keep the raw figures beside the table, for later comparison."""
    data = {"started": results.started, "settings": results.settings, "not_measured": results.not_measured,
            "figures": [dict(asdict(f), ratio=f.ratio, verdict=f.verdict, target=str(f.target) if f.target else None)
                        for f in results.figures]}
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    return path


def write_chart(results: Results, path: Path) -> Path | None:
    """Draw every targeted ratio as a bar against its bound (log scale), green when met."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("[skip] chart: matplotlib is missing (pip install -e '.[bench]')")
        return None
    rows = [f for f in results.figures if f.target is not None and f.target.unit is None and f.ratio is not None]
    if not rows:
        return None
    labels = [f"{f.section}: {f.item} ({f.size})" for f in rows]
    # Plot every ratio so that "better" is always left: throughput is inverted (baseline / ours).
    ratios = [f.ratio if f.target.at_most else 1 / f.ratio for f in rows]
    bounds = [f.target.bound if f.target.at_most else 1 / f.target.bound for f in rows]
    colours = ["#2e7d32" if f.verdict == "PASS" else "#c62828" for f in rows]
    fig, ax = plt.subplots(figsize=(9, 0.32 * len(rows) + 1.6))
    y = range(len(rows))
    ax.barh(y, ratios, color=colours)
    ax.scatter(bounds, y, marker="|", s=200, color="black", label="target bound", zorder=3)
    ax.axvline(1.0, color="grey", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_yticks(list(y), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("CoproKG cost / baseline cost (lower is better; throughput shown as baseline/CoproKG)")
    ax.set_title("CoproKG vs its baselines (green: target met, red: missed)")
    ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
