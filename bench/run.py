"""Run the benchmark sections in order for each dataset size, and write the results."""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import pyoxigraph as ox

from bench.completeness import compare_inferences, write_differences
from bench.datasets import copy_store, dataset_nquads, fresh_dir, size_label, union_ntriples
from bench.latency import measure_latency
from bench.report import Figure, Results, Target, median, write_chart, write_json, write_markdown
from bench.servers import VENV_BIN, MemorySampler, start_coprokg, start_oxigraph
from bench.settings import DEFAULT_SIZES, BenchSettings
from bench.throughput import measure_throughput
from bench.workloads import named_workloads, shape_workloads
from bench.yaml_cases import write_yaml_cases
from kg.config import ROOT, Settings
from kg.namespaces import ONTOLOGY_GRAPH

LOAD_TARGET = Target(1.3)
YAML_TARGET = Target(30, unit="s")
REASONING_TARGET = Target(1.5)
MEMORY_TARGET = Target(1.5)
SERVING_SECTIONS = ("latency", "throughput", "memory")


class TaskFailed(RuntimeError):
    """A measured task (a subprocess of bench.runners) failed; the message has its error output."""


def run_task(task: str, *args: Path | str, profile: Path | None = None, memory_cap_gb: float = 10.0) -> dict:
    """Run one bench.runners task in a fresh interpreter, its address space capped, and return its figures.

    Raises:
        TaskFailed: the task failed or ran out of its memory cap; the message says which.
    """
    command = [str(VENV_BIN / "python"), "-m", "bench.runners", task, *map(str, args)]
    if profile is not None:
        command += ["--profile", str(profile)]
    cap = int(memory_cap_gb * 1024 ** 3)

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, preexec_fn=limit_memory)
    if done.returncode != 0:
        text = done.stderr
        if "memory allocation of" in text or "MemoryError" in text or done.returncode in (-9, 134):
            raise TaskFailed(f"{task} ran out of memory: it needs more than the {memory_cap_gb:g} GiB cap "
                             "(COPROKG_BENCH_MEMORY_GB)")
        last = [line for line in text.strip().splitlines() if line.strip() and not line.startswith(" ")][-1:]
        raise TaskFailed(f"{task} failed: {(last or ['(no output)'])[0][:300]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def runs_for(size: int, runs: int) -> int:
    """Repeat runs fully below 1M triples; at 1M at most twice (a run takes minutes), at 10M once."""
    if size < DEFAULT_SIZES[-1]:
        return runs
    return min(runs, 2) if size == DEFAULT_SIZES[-1] else 1


def bench_load(dataset: Path, work: Path, label: str, runs: int, timed: bool, settings: BenchSettings,
               results: Results) -> Path:
    """Load the dataset through CoproKG and through pyoxigraph bulk_load, alternating; return CoproKG's store."""
    loaders = {"CoproKG": "load-coprokg", "pyoxigraph bulk_load": "load-pyoxigraph"}
    figures: dict[str, list[dict]] = {name: [] for name in loaders}
    failed: dict[str, str] = {}
    stores = {name: work / f"load-{task}" for name, task in loaders.items()}
    for number in range(runs if timed else 1):
        for name in (list(loaders) if number % 2 == 0 else list(loaders)[::-1]):
            if name in failed or (not timed and name != "CoproKG"):
                continue
            try:
                figures[name].append(run_task(loaders[name], fresh_dir(stores[name]), dataset,
                                              memory_cap_gb=settings.memory_cap_gb))
            except TaskFailed as e:
                failed[name] = str(e)
                results.skip(f"load {label} {name}", str(e))
    served = stores["CoproKG"]
    if not figures["CoproKG"]:
        # CoproKG's loader is not usable: load with pyoxigraph so the later sections can still run.
        run_task("load-pyoxigraph", fresh_dir(served), dataset, memory_cap_gb=settings.memory_cap_gb)
    if timed and figures["pyoxigraph bulk_load"]:
        rss = {name: max(f["peak_rss_mb"] for f in runs) for name, runs in figures.items() if runs}
        values = {name: median([f["seconds"] for f in runs]) if runs else None for name, runs in figures.items()}
        results.add(Figure("load", "bulk load of the N-Quads dataset", label, "s", values,
                           baseline="pyoxigraph bulk_load", target=LOAD_TARGET, runs=len(figures["CoproKG"]),
                           passed=False if "CoproKG" in failed and not figures["CoproKG"] else None,
                           note=f"{figures['pyoxigraph bulk_load'][0]['quads']:,} quads; peak RSS "
                                + ", ".join(f"{n} {v:,.0f} MB" for n, v in rss.items())
                                + "".join(f"; {n}: {why}" for n, why in failed.items())))
    return served


def bench_reasoning(asserted: Path, dataset: Path, work: Path, label: str, size: int, settings: BenchSettings,
                    results: Results) -> Path:
    """Time CoproKG's materialisation against reasonable alone (and owlrl at one size); return the store to serve."""
    union = union_ntriples(dataset)
    reasoned = work / "reasoned"
    check_completeness = size == settings.owlrl_size
    inferred_out = work / "coprokg-inferred.nt"
    figures: dict[str, list[dict]] = {"CoproKG": [], "reasonable": []}
    failed: dict[str, str] = {}
    runs = runs_for(size, settings.reasoning_runs)
    for number in range(runs):
        for name in (("CoproKG", "reasonable") if number % 2 == 0 else ("reasonable", "CoproKG")):
            if name in failed:
                continue
            try:
                if name == "CoproKG":
                    copy_store(asserted, reasoned)
                    keep = [inferred_out] if number == runs - 1 and check_completeness else []
                    figures[name].append(run_task("materialise", reasoned, *keep, memory_cap_gb=settings.memory_cap_gb))
                else:
                    figures[name].append(run_task("reasonable", union, memory_cap_gb=settings.memory_cap_gb))
            except TaskFailed as e:
                failed[name] = str(e)
                results.skip(f"reasoning {label} {name}", str(e))
    ours, theirs = figures["CoproKG"], figures["reasonable"]
    notes = [f"{ours[-1]['inferred']:,} inferred" if ours else "",
             f"reasonable load {median([f['load_s'] for f in theirs]):.1f} s + reason "
             f"{median([f['reason_s'] for f in theirs]):.1f} s" if theirs else "",
             ("peak RSS " + ", ".join(f"{n} {max(f['peak_rss_mb'] for f in runs):,.0f} MB"
                                     for n, runs in figures.items() if runs)) if any(figures.values()) else ""]
    notes += [f"{n}: {why}" for n, why in failed.items()]
    results.add(Figure("reasoning", "OWL RL materialisation vs reasonable alone", label, "s",
                       {n: median([f["seconds"] for f in runs]) if runs else None for n, runs in figures.items()},
                       baseline="reasonable", target=REASONING_TARGET, runs=len(ours),
                       passed=False if "CoproKG" in failed and theirs else None,
                       note="; ".join(n for n in notes if n)))
    if not ours:
        results.skip(f"inferred graph {label}", "CoproKG's materialisation did not finish, so the servers "
                     "answer from the asserted facts only (queries on derived facts return fewer rows)")
        return asserted
    if check_completeness:
        bench_completeness(union, inferred_out, median([f["seconds"] for f in ours]), work, label, settings, results)
    return reasoned


def reason_once(asserted: Path, work: Path, label: str, settings: BenchSettings, results: Results) -> Path:
    """Add the inferred graph without timing it, so the servers answer what a real deployment answers."""
    reasoned = copy_store(asserted, work / "reasoned")
    try:
        run_task("materialise", reasoned, memory_cap_gb=settings.memory_cap_gb)
    except TaskFailed as e:
        results.skip(f"inferred graph {label} (served asserted facts only)", str(e))
        return asserted
    return reasoned


def bench_completeness(union: Path, inferred_out: Path, our_seconds: float, work: Path, label: str,
                       settings: BenchSettings, results: Results) -> None:
    """Time owlrl alone once and check that CoproKG inferred what owlrl inferred."""
    owlrl_out = work / "owlrl-inferred.nt"
    try:
        owlrl = run_task("owlrl", union, owlrl_out, memory_cap_gb=settings.memory_cap_gb)
    except TaskFailed as e:
        results.skip(f"owlrl {label}", str(e))
        return
    results.add(Figure("reasoning", "OWL RL materialisation vs owlrl alone", label, "s",
                       {"CoproKG": our_seconds, "owlrl": owlrl["seconds"]}, baseline="owlrl", runs=1,
                       note=f"owlrl: 1 run, parse {owlrl['load_s']:.1f} s + closure {owlrl['reason_s']:.1f} s; "
                            f"{owlrl['literal_subjects_dropped']:,} generalised triples (literal subject) set aside"))
    comparison = compare_inferences(union, owlrl_out, inferred_out)
    results.add(Figure("completeness", "CoproKG's inferences = owlrl's", label, "triples",
                       {"CoproKG": comparison.coprokg, "owlrl": comparison.owlrl,
                        "missing": len(comparison.missing), "extra": len(comparison.extra),
                        "missing after noise": len(comparison.missing_after_noise),
                        "extra after noise": len(comparison.extra_after_noise)},
                       passed=comparison.equal,
                       note=comparison.summary() + "; reflexive sameAs and generalised triples ignored; "
                            "verdict on the counts after noise (kg.reasoning.is_trivial); blank-node triples "
                            f"(owlrl, CoproKG) = {comparison.blank_node_triples}, compared by count only"))
    write_differences(comparison, settings.results_dir / f"completeness-{label}.txt")


def bench_yaml(settings: BenchSettings, results: Results) -> None:
    """Import synthetic YAML cases through validation, writing and reasoning, into a store holding the ontology."""
    from kg.ontology import load_ontology_graph
    from kg.store import EmbeddedStore

    cases = write_yaml_cases(settings.data_dir / f"yaml-{settings.yaml_cases}", settings.yaml_cases, settings.seed)
    store_dir = fresh_dir(settings.data_dir / "yaml-store")
    store = EmbeddedStore(store_dir)
    store.replace_graphs({ONTOLOGY_GRAPH: load_ontology_graph(Settings.from_env().ontology)})
    store.close()
    try:
        # Timed without cProfile: a profiler slows this Python-heavy path two- to threefold.
        figures = run_task("import-yaml", store_dir, cases, memory_cap_gb=settings.memory_cap_gb)
    except TaskFailed as e:
        results.skip("YAML import", str(e))
        return
    results.add(Figure("yaml", f"{figures['cases']:,} YAML case files, full import", f"{figures['quads']:,} quads",
                       "s", {"CoproKG": figures["seconds"]}, target=YAML_TARGET, runs=1,
                       note=f"validate + write {figures['validate_and_write_s']:.1f} s, reason {figures['reason_s']:.1f} s; "
                            f"peak RSS {figures['peak_rss_mb']:,.0f} MB"))


def report_memory(memory: dict[str, dict], label: str, results: Results) -> None:
    """Add the two memory rows: summed PSS (which carries the verdict) and summed RSS (shown, no target)."""
    sampling = ", ".join(f"{n}: {m['samples']:,} samples, one every {m['mean_interval_ms'] or 0:.0f} ms, "
                         f"{m['sampling_ms_per_sample'] or 0:.1f} ms to read" for n, m in memory.items())
    results.add(Figure("memory", "peak PSS while serving the runs above", label, "MB",
                       {name: m["pss_peak_mb"] for name, m in memory.items()}, baseline="oxigraph serve",
                       target=MEMORY_TARGET,
                       note="this row carries the verdict. PSS (proportional set size, /proc/PID/smaps_rollup) "
                            "splits each page shared by several processes among them, so its sum over a "
                            "server's process tree is that tree's real footprint; the sum of RSS below counts a "
                            "shared page once per process (forked workers share the interpreter, libraries and "
                            "preloaded code), which overstates a multi-process server against a one-process one. "
                            "PSS has no kernel high-water mark: this is the highest sum seen while sampling "
                            f"({sampling}), so a spike shorter than the interval can be missed"))
    results.add(Figure("memory", "peak RSS while serving the runs above", label, "MB",
                       {name: m["hwm_sum_mb"] for name, m in memory.items()}, baseline="oxigraph serve",
                       note="no target, kept for transparency: sum of each process's own peak RSS (VmHWM) over "
                            "the tree, counting shared pages once per process and adding peaks that need not "
                            "coincide; highest simultaneous RSS sum sampled "
                            + ", ".join(f"{n} {m['sampled_peak_mb']:,.0f} MB" for n, m in memory.items())))


def bench_serving(served: Path, work: Path, label: str, size: int, settings: BenchSettings, results: Results) -> None:
    """Serve copies of one store with CoproKG and oxigraph serve; time queries, load them, watch memory."""
    largest = size == settings.largest
    copies = {name: copy_store(served, work / f"serve-{name}") for name in ("coprokg", "oxigraph", "inprocess")}
    logs = settings.results_dir / "logs.tmp"
    try:
        coprokg = start_coprokg(copies["coprokg"], logs / f"coprokg-{label}.log")
    except RuntimeError as e:
        results.skip(f"serving {label} through CoproKG", str(e).splitlines()[0])
        return
    oxigraph = start_oxigraph(copies["oxigraph"], logs / f"oxigraph-{label}.log")
    samplers = {"CoproKG": MemorySampler(coprokg.process.pid).start(),
                "oxigraph serve": MemorySampler(oxigraph.process.pid).start()}
    print(f"[serve {label}] CoproKG: {coprokg.description}", flush=True)
    store = ox.Store.read_only(str(copies["inprocess"]))
    try:
        shapes = shape_workloads(size)
        named, left_out = named_workloads(Settings.from_env().queries)
        for reason in left_out:
            results.skip(f"named query {reason.split(':')[0]}", reason)
        if not named:
            results.skip(f"named-query latency {label}", "queries/ holds no usable named query yet")
        if "latency" in settings.sections:
            measure_latency(shapes + named, coprokg, oxigraph, store, label, settings.latency_rounds,
                            settings.latency_budget_s, results)
        if "throughput" in settings.sections and largest:
            chosen = [shapes[0]] + named[:1]
            measure_throughput(chosen, coprokg, oxigraph, label, settings.wrk_clients, settings.wrk_seconds,
                               runs=3 if not settings.quick else 1, results=results)
        if "memory" in settings.sections and largest:
            report_memory({name: sampler.stop() for name, sampler in samplers.items()}, label, results)
    finally:
        for sampler in samplers.values():
            sampler.stop()
        del store
        coprokg.stop()
        oxigraph.stop()


def run(settings: BenchSettings) -> Results:
    """Run every selected section for every size, print figures as they come, and write the results."""
    started = time.monotonic()
    settings.results_dir.mkdir(parents=True, exist_ok=True)
    results = Results(settings={k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(settings).items()
                                if k not in ("data_dir", "results_dir")})
    kg_settings = Settings.from_env()
    try:
        if "yaml" in settings.sections:
            bench_yaml(settings, results)
        for size in settings.sizes:
            label = size_label(size)
            work = settings.data_dir / label
            print(f"== {label} triples ==", flush=True)
            dataset = dataset_nquads(settings.data_dir, size, settings.seed, kg_settings.ontology,
                                     kg_settings.cases)
            need_store = any(s in settings.sections for s in ("reasoning", *SERVING_SECTIONS))
            if "load" not in settings.sections and not need_store:
                continue
            asserted = bench_load(dataset, work, label, runs_for(size, settings.load_runs),
                                  "load" in settings.sections, settings, results)
            served = asserted
            if "reasoning" in settings.sections:
                served = bench_reasoning(asserted, dataset, work, label, size, settings, results)
            elif any(s in settings.sections for s in SERVING_SECTIONS):
                served = reason_once(asserted, work, label, settings, results)
            if any(s in settings.sections for s in SERVING_SECTIONS):
                bench_serving(served, work, label, size, settings, results)
            if size > DEFAULT_SIZES[-1]:
                shutil.rmtree(work, ignore_errors=True)  # 10M stores take gigabytes
    finally:
        results.settings["wall_minutes"] = round((time.monotonic() - started) / 60, 1)
        write_markdown(results, settings.results_dir / "results.md")
        write_json(results, settings.results_dir / "results.json")
        chart = write_chart(results, settings.results_dir / "ratios.png")
        print(f"wrote {settings.results_dir / 'results.md'}" + (f" and {chart}" if chart else ""), flush=True)
    return results


def main(settings: BenchSettings) -> int:
    """Run and return the exit status: 0 even when targets are missed (the table says so), 1 on a crash."""
    try:
        results = run(settings)
    except KeyboardInterrupt:
        return 130
    missed = [f for f in results.figures if f.verdict == "MISS"]
    print(f"{len(missed)} target(s) missed" + (": " + "; ".join(f"{f.section} {f.item} {f.size}" for f in missed)
                                              if missed else ""), file=sys.stderr)
    return 0
