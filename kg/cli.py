"""The library's commands of `coprokg`: build, load, query, dump and check the knowledge graph.

`coprokg serve` is added where the library and the service meet (server/cli.py), so the library never
imports the service.
"""

from __future__ import annotations

import datetime as dt
import sys
from contextlib import contextmanager
from pathlib import Path

import click

from kg.config import Settings
from kg.errors import KGError


class _Group(click.Group):
    """Show KGErrors as one clear message and a non-zero exit, never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KGError as e:
            click.echo(f"error: {e.operator_detail or e}", err=True)  # the operator runs the command line
            sys.exit(1)


@click.group(cls=_Group)
@click.version_option(package_name="coprokg")
def main() -> None:
    """CoproKG: a knowledge graph of elderly-care coproduction."""


def _settings(store: str | None = None) -> Settings:
    settings = Settings.from_env()
    if store:
        from dataclasses import replace

        settings = replace(settings, store=store)
    return settings


# --- ontology -----------------------------------------------------------------------------


@main.group()
def ontology() -> None:
    """Build and check the ontology."""


@ontology.command("build")
def ontology_build() -> None:
    """Write the release artefacts (RDF/XML, N-Triples, JSON-LD) from the Turtle source."""
    from kg.ontology import build_artefacts

    for path in build_artefacts(_settings().ontology):
        click.echo(f"wrote {path}")


@ontology.command("docs")
def ontology_docs() -> None:
    """Write the HTML documentation of the ontology (pyLODE), served by the UI at /docs."""
    from kg.docs import ontology_docs as write_docs

    click.echo(f"wrote {write_docs(_settings().ontology, force=True)}")


# --- the graph ----------------------------------------------------------------------------


@contextmanager
def _opened_store(store: str | None, *, writes: bool = False):
    """Open the store for one command and close it after, releasing the directory lock.

    While `coprokg serve` holds an on-disk store, the command goes through that server instead, as a
    remote store (each write one transaction there, seen at once by every reader); a write then needs
    the server's token in COPROKG_TOKEN.
    """
    from kg.errors import StoreUnavailable
    from kg.store import RemoteStore, open_store
    from kg.store_auth import StoreAuth

    settings = _settings(store)
    try:
        kg_store = open_store(settings)
    except StoreUnavailable:
        url = _running_server(settings)
        if settings.is_remote or not _answers(url):
            raise  # held by something other than a server we can reach: its own message says what
        if writes and not settings.token:
            raise StoreUnavailable(f"the store {settings.store} is in use by the server at {url}; to write through it, "
                                   "set COPROKG_TOKEN to that server's token") from None
        click.echo(f"the store is in use; going through the server at {url}", err=True)
        auth = StoreAuth.parse(f"bearer:{settings.token}", source="COPROKG_TOKEN") if settings.token else None
        kg_store = RemoteStore.from_setting(f"sparql:{url}/sparql", allowlist=settings.service_allowlist,
                                            timeout=settings.query_timeout, auth=auth)
    try:
        yield kg_store
    finally:
        kg_store.close()


def _answers(url: str) -> bool:
    """Tell whether a CoproKG server answers at `url`."""
    import requests

    try:
        return requests.get(f"{url}/healthz", timeout=5).status_code < 500
    except requests.RequestException:
        return False


def _running_server(settings: Settings) -> str:
    """The URL of the `coprokg serve` that these settings describe (on this machine)."""
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    return f"http://{'[' + host + ']' if ':' in host else host}:{settings.port}"


def _shown(path: Path) -> str:
    """A path relative to the working directory when it is inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _echo_problems(problems) -> None:
    for problem in problems:
        click.echo(str(problem), err=True)


def _case_data_failed(e) -> None:
    """Print every problem of a failed validation and exit 1."""
    _echo_problems(e.problems)
    errors = sum(p.is_error for p in e.problems)
    click.echo(f"{errors} error(s); nothing was written", err=True)
    sys.exit(1)


@main.command("build")
@click.option("--store", help="Store directory (default: COPROKG_STORE or data/store).")
@click.option("--if-missing", is_flag=True, help="Do nothing if the store already holds a build.")
@click.option("--if-outdated", is_flag=True,
              help="Do nothing if the store holds a build newer than the ontology and every case file.")
def build(store: str | None, if_missing: bool, if_outdated: bool) -> None:
    """Build the store afresh: the ontology, every case file in cases/, and the inferences."""
    import time

    from kg.errors import CaseDataError
    from kg.load import build_store, is_built, newer_sources
    from kg.store import open_store

    settings = _settings(store)
    if (if_missing or if_outdated) and Path(settings.store).exists():
        existing = open_store(settings)
        built = is_built(existing)
        existing.close()
        changed = newer_sources(settings) if built and if_outdated else []
        if built and not changed:
            click.echo(f"store is up to date: {settings.store}" if if_outdated else f"store exists: {settings.store}")
            return
        if changed:
            more = f" and {len(changed) - 1} more" if len(changed) > 1 else ""
            click.echo(f"{_shown(changed[0])}{more} changed since the store was built: rebuilding it "
                       "(cases loaded from elsewhere with `coprokg load` must be loaded again)")
    started = time.perf_counter()
    try:
        kg_store, report = build_store(settings, progress=True)
    except CaseDataError as e:
        _case_data_failed(e)
    _echo_problems(report.warnings)
    click.echo(f"built {settings.store}: {len(report.cases)} cases, {len(kg_store)} quads "
               f"in {time.perf_counter() - started:.1f} s")
    kg_store.close()


@main.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def validate(paths: tuple[Path, ...]) -> None:
    """Check case files (YAML or .xlsx, or folders of them); print every problem; exit 1 on errors."""
    from kg.validate import validate_paths

    report = validate_paths(paths, progress=True)
    _echo_problems(report.problems)
    click.echo(f"{len(report.cases)} case(s) valid, {len(report.errors)} error(s), {len(report.warnings)} warning(s)")
    if report.errors:
        sys.exit(1)


@main.command("template")
@click.argument("output", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite OUTPUT if it exists.")
def template(output: Path, force: bool) -> None:
    """Write a blank case workbook: every sheet and column, drop-downs of the allowed values, a guide in en and zh."""
    from kg.workbook_template import write_template

    if output.suffix.lower() != ".xlsx":
        raise click.BadParameter(f"{output} does not end in .xlsx; the case reader takes .xlsx workbooks",
                                 param_hint="OUTPUT")
    if output.exists() and not force:
        raise click.ClickException(f"{output} exists; pass --force to overwrite it")
    write_template(output)
    click.echo(f"wrote {output}: fill it (the grey rows are an illustrative example), then "
               f"`coprokg validate {output}` and `coprokg load {output}`")


@main.command("agreement")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def agreement(paths: tuple[Path, ...]) -> None:
    """Compare two or more coders' codings of the same case(s): agreement, Krippendorff's alpha, each disagreement."""
    from kg.agreement import agreement as compare
    from kg.agreement import read_coding, render, stage_outcomes
    from kg.errors import CaseDataError

    if len(paths) < 2:
        raise click.UsageError("give two or more files, each one coder's coding of the same case(s)")
    codings, problems = [], []
    for path in paths:  # every file's problems at once, as validate gives them
        try:
            codings.append(read_coding(path))
        except CaseDataError as e:
            problems.extend(e.problems)
    try:
        result = None if problems else compare(codings, stage_outcomes(_settings().ontology))
    except CaseDataError as e:
        problems.extend(e.problems)
    if problems:
        _echo_problems(problems)
        click.echo(f"{sum(p.is_error for p in problems)} error(s); nothing was compared", err=True)
        sys.exit(1)
    click.echo(render(result))


@main.command("load")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--store", help="Store directory (default: COPROKG_STORE or data/store).")
@click.option("--no-reason", is_flag=True, help="Skip re-computing the inferred graph.")
def load(paths: tuple[Path, ...], store: str | None, no_reason: bool) -> None:
    """Validate case files and, if all pass, replace their case graphs in one transaction."""
    from kg.errors import CaseDataError
    from kg.load import load_cases

    with _opened_store(store, writes=True) as kg_store:
        try:
            report = load_cases(kg_store, paths, reason=not no_reason, progress=True)
        except CaseDataError as e:
            _case_data_failed(e)
    _echo_problems(report.warnings)
    ids = [c.id for c in report.cases]
    # Name a handful; a survey-sized load would otherwise print thousands of ids on one line.
    shown = ", ".join(ids[:10]) + (f", … and {len(ids) - 10} more" if len(ids) > 10 else "")
    click.echo(f"loaded {len(ids)} case(s): {shown}")


@main.command("dump")
@click.argument("output", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--store", help="Store directory (default: COPROKG_STORE or data/store).")
@click.option("--format", "format_name", type=click.Choice(["nquads", "trig"]), help="Default: from the suffix, else nquads.")
@click.option("--server", help="Dump through a running CoproKG server at this URL (default when the store is in use: "
                               "http://COPROKG_HOST:COPROKG_PORT).")
def dump(output: Path | None, store: str | None, format_name: str | None, server: str | None) -> None:
    """Write the whole dataset (every graph) to OUTPUT, or to standard output; works while the server runs."""
    import os

    from kg.errors import StoreUnavailable
    from kg.load import dump_format, dump_store, dump_through_server
    from kg.store import open_store

    format_name = dump_format(format_name, output)
    settings = _settings(store)
    kg_store = None
    if server is None:
        try:
            kg_store = open_store(settings)
        except StoreUnavailable:
            if settings.is_remote:
                raise
            # A running server holds the store's lock; it serves a consistent snapshot over the Graph Store Protocol.
            server = _running_server(settings)
            click.echo(f"the store is in use; dumping through the server at {server}", err=True)
    if kg_store is None:
        count = dump_through_server(server, output if output is not None else sys.stdout.buffer, format_name)
        if output is not None:
            click.echo(f"wrote {count} quads to {output}", err=True)
        return
    try:
        if output is None:
            dump_store(kg_store, sys.stdout.buffer, format_name)
            sys.stdout.buffer.flush()
        else:
            # Written beside and renamed into place, so a dump cut short never looks like a finished one.
            partial = output.with_name(output.name + ".partial")
            dump_store(kg_store, partial, format_name)
            os.replace(partial, output)
            click.echo(f"wrote {len(kg_store)} quads to {output}", err=True)
    finally:
        kg_store.close()


@main.command("restore")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--store", help="Store directory (default: COPROKG_STORE or data/store).")
@click.option("--format", "format_name", type=click.Choice(["nquads", "trig"]), help="Default: from the suffix, else nquads.")
def restore(source: Path, store: str | None, format_name: str | None) -> None:
    """Replace the whole dataset by a dump; a dump that does not parse changes nothing."""
    from kg.load import dump_format, restore_store

    format_name = dump_format(format_name, source)
    with _opened_store(store, writes=True) as kg_store:
        count = restore_store(kg_store, source, format_name, name=str(source))
    click.echo(f"restored {count} quads from {source}")


@main.command("query")
@click.argument("sparql")
@click.option("--store", help="Store directory (default: COPROKG_STORE or data/store).")
@click.option("--format", "format_name", type=click.Choice(["table", "csv", "json", "turtle"]), default="table",
              show_default=True)
def query(sparql: str, store: str | None, format_name: str) -> None:
    """Run a SPARQL query (default graph = union of all graphs; cop:, id:, rdfs:, ... predeclared) and print it."""
    from kg.namespaces import PREFIXES
    from kg.results import render

    with _opened_store(store) as kg_store:
        text = render(kg_store.query(sparql, prefixes=PREFIXES), format_name)
    click.echo(text, nl=False)


# --- exports for analysis tools --------------------------------------------------------------


@main.group()
def export() -> None:
    """Export the cases for the tools the field analyses with."""


@export.command("qca")
@click.argument("output", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--outcome", required=True,
              help="The outcome column: an outcome (e.g. collective-survival-secured) or a performance indicator "
                   "(e.g. operating-at-loss).")
@click.option("--threshold", type=float,
              help="For an indicator recorded as numbers: a value at or above it counts as 1.")
@click.option("--store", help="Store directory (default: COPROKG_STORE or data/store).")
def export_qca(output: Path, outcome: str, threshold: float | None, store: str | None) -> None:
    """Write a crisp-set truth table (one row per case; levels, conditions and OUTCOME as 1/0/blank) for R's QCA."""
    from kg.errors import TruthTableError
    from kg.qca_export import column_name, truth_table, write_csv

    if threshold is not None and outcome not in _indicator_words():
        raise TruthTableError(f"--threshold applies to a performance indicator, not to {outcome!r}")
    with _opened_store(store) as kg_store:
        table = truth_table(kg_store, outcome, threshold)
    write_csv(table, output)
    column = column_name(outcome)
    click.echo(f"wrote {output}: {len(table.rows)} case(s); {column} is 1 for {table.count(column, '1')}, "
               f"0 for {table.count(column, '0')}, blank (not recorded) for {table.count(column, '')}", err=True)
    if table.illustrative:
        click.echo(f"warning: {len(table.illustrative)} of {len(table.rows)} case(s) are illustrative, invented "
                   f"data: {', '.join(table.illustrative)}", err=True)


@export.command("codebook")
@click.argument("output", type=click.Path(dir_okay=False, path_type=Path))
def export_codebook(output: Path) -> None:
    """Write the codebook: OUTPUT.md as docs/codebook.md, OUTPUT.ttl as a SKOS concept scheme."""
    from kg.codebook import load_codebook, markdown, ontology_terms, problems, skos_graph

    sections = load_codebook()
    wrong = problems(sections)
    if wrong:
        raise click.ClickException("the codebook does not match the importer:\n" + "\n".join(wrong))
    terms = ontology_terms(_settings().ontology)
    if output.suffix.lower() == ".md":
        output.write_text(markdown(sections, terms) + "\n", encoding="utf-8")
    elif output.suffix.lower() == ".ttl":
        skos_graph(sections, terms).serialize(output, format="turtle")
    else:
        raise click.BadParameter(f"{output} ends in neither .md nor .ttl", param_hint="OUTPUT")
    click.echo(f"wrote {output}: {sum(len(s.codes) for s in sections)} codes in {len(sections)} vocabularies")


@export.command("refi-qda")
@click.argument("output", type=click.Path(dir_okay=False, path_type=Path))
def export_refi_qda(output: Path) -> None:
    """Write the theory's codes as a REFI-QDA codebook (OUTPUT.qdc) for NVivo, ATLAS.ti, MAXQDA or QualCoder."""
    from kg.codebook import load_codebook, ontology_terms, problems
    from kg.refi_qda import theory_codes, write_qdc

    if output.suffix.lower() != ".qdc":
        raise click.BadParameter(f"{output} does not end in .qdc, the REFI-QDA codebook's extension",
                                 param_hint="OUTPUT")
    sections = load_codebook()
    wrong = problems(sections)
    if wrong:
        raise click.ClickException("the codebook does not match the importer:\n" + "\n".join(wrong))
    codes = theory_codes(sections, ontology_terms(_settings().ontology))
    write_qdc(codes, output)
    codable = sum(code.codable for top in codes for code in top.walk())
    click.echo(f"wrote {output}: {codable} codable codes under {len(codes)} headings, names in en and zh, "
               "the codebook's rules as descriptions")


@main.group("import")
def import_() -> None:
    """Bring codings made in other tools into a case file."""


@import_.command("refi-qda")
@click.argument("project", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("output", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--case", "case_id", required=True, help="The id of the case the segments are evidence of.")
@click.option("--base", type=click.Path(exists=True, path_type=Path),
              help="The YAML case file holding the case, or a folder of them (default: COPROKG_CASES or cases/).")
@click.option("--user", help="Import only this QDA user's codings (one coder's file, for coprokg agreement).")
@click.option("--kind", type=click.Choice(["interview", "focus-group", "secondary-data"]), default="interview",
              show_default=True, help="The evidence kind of the project's documents.")
@click.option("--language", default="zh", show_default=True, help="The language tag of the documents' text.")
@click.option("--force", is_flag=True, help="Overwrite OUTPUT if it exists.")
def import_refi_qda(project: Path, output: Path, case_id: str, base: Path | None, user: str | None, kind: str,
                    language: str, force: bool) -> None:
    """Add the coded segments of a REFI-QDA project (.qdpx) to a case: evidence, levels, conditions, observations.

    The case's file is read, never changed: the case with the segments added is written to OUTPUT, and only
    if it validates. A segment whose code contradicts the file, or another segment, is an error.
    """
    import tempfile

    import yaml

    from kg.codebook import load_codebook, ontology_terms
    from kg.errors import CaseDataError
    from kg.qda_import import add_segments, base_document, dump, read_project
    from kg.refi_qda import theory_codes
    from kg.validate import validate_paths

    settings = _settings()
    if output.suffix.lower() not in (".yaml", ".yml"):
        raise click.BadParameter(f"{output} does not end in .yaml; the import writes a YAML case file",
                                 param_hint="OUTPUT")
    if output.exists() and not force:
        raise click.ClickException(f"{output} exists; pass --force to overwrite it")
    codes = theory_codes(load_codebook(), ontology_terms(settings.ontology))
    try:
        qda = read_project(project, codes, user)
        if qda.other_codes:
            click.echo(f"left out {sum(qda.other_codes.values())} coding(s) with codes that are not CoproKG's: "
                       f"{', '.join(sorted(qda.other_codes))}", err=True)
        if not qda.segments:
            raise click.ClickException(f"{project}: no segment is coded with a CoproKG code"
                                       + (f" by {user!r}" if user else "") + "; nothing was written")
        path, document = base_document(base or settings.cases, case_id)
        if output.resolve() == path.resolve():
            raise click.ClickException(f"{output} is the case's own file; write to a new file and compare")
        data = next(d for d in yaml.safe_load_all(path.read_text(encoding="utf-8"))
                    if isinstance(d, dict) and str(d.get("id")) == case_id)
        added = add_segments(data, document, qda, kind, language)
    except CaseDataError as e:
        _echo_problems(e.problems)
        click.echo(f"{sum(p.is_error for p in e.problems)} error(s); nothing was written", err=True)
        sys.exit(1)
    from kg.cases import display_name

    note = (f"Case {case_id} from {display_name(path)}, with the coded segments of the REFI-QDA project "
            f"{display_name(project)} added by `coprokg import refi-qda` on {dt.date.today().isoformat()}.\n"
            f"The comments of {display_name(path)} are not carried over.")
    text = dump(added.data, note)
    with tempfile.TemporaryDirectory() as scratch:  # checked as the file it will be, before it is written
        trial = Path(scratch) / output.name
        trial.write_text(text, encoding="utf-8")
        report = validate_paths([trial])
    _echo_problems(report.problems)
    if report.errors:
        click.echo(f"{len(report.errors)} error(s) in the case with the segments added; nothing was written", err=True)
        sys.exit(1)
    output.write_text(text, encoding="utf-8")
    for change in added.changes:
        click.echo(f"  {change}")
    click.echo(f"wrote {output}: case {case_id} with {len(qda.segments)} coding(s) of {len({s.guid for s in qda.segments})} "
               f"segment(s) from {project}; review it, then `coprokg load {output}`")


def _indicator_words():
    from kg.cases import INDICATOR_TO_IRI

    return INDICATOR_TO_IRI


# --- named queries ------------------------------------------------------------------------


@main.group()
def queries() -> None:
    """Check and list the named-query library (queries/*.rq)."""


@queries.command("check")
@click.option("--dir", "directory", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Query folder (default: COPROKG_QUERIES or queries/).")
def queries_check(directory: Path | None) -> None:
    """Check every query's header against the query and the ontology; exit 1 if any file is malformed."""
    from kg.queries import load_library, ontology_vocabulary

    settings = _settings()
    vocabulary = ontology_vocabulary(settings.ontology) if settings.ontology.exists() else None
    library = load_library(directory or settings.queries, vocabulary)
    for problem in library.problems:
        click.echo(f"error: {problem}", err=True)
    click.echo(f"{len(library.queries)} queries ok, {len(library.problems)} malformed")
    if library.problems:
        sys.exit(1)


@queries.command("list")
@click.option("--dir", "directory", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Query folder (default: COPROKG_QUERIES or queries/).")
def queries_list(directory: Path | None) -> None:
    """List the queries that pass their checks, with competency questions and parameters."""
    from kg.queries import load_library

    library = load_library(directory or _settings().queries)
    for query in library.queries.values():
        questions = ",".join(map(str, query.competency_questions)) or "-"
        click.echo(f"{query.name}  [CQ {questions}]  {query.summary}")
        for param in query.parameters:
            flag = "required" if param.required else f"optional, default {param.default}" if param.default else "optional"
            click.echo(f"    {param.name}: {param.describe()} ({flag})")
    if library.problems:
        click.echo(f"({len(library.problems)} malformed file(s) skipped; run `coprokg queries check`)", err=True)
