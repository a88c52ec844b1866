"""Generate the ontology's HTML documentation (pyLODE) into ontology/build/docs/."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from kg.errors import KGError


def docs_path(source: Path) -> Path:
    """Name the generated documentation page of the ontology at `source`."""
    return source.parent / "build" / "docs" / "index.html"


def ontology_docs(source: Path, *, force: bool = False) -> Path:
    """Write the documentation page unless it is newer than the ontology source; return its path.

    Raises:
        KGError: pyLODE could not document the ontology (the message says why).
    """
    target = docs_path(source)
    if not force and target.exists() and target.stat().st_mtime >= source.stat().st_mtime:
        return target
    from pylode import OntPub  # imported late: pyLODE is slow to import and only the docs need it

    try:
        html = OntPub(ontology=str(source)).make_html()
    except Exception as e:  # pyLODE raises bare Exceptions for ontology problems
        raise KGError(f"{source}: pyLODE could not document the ontology: {e}") from e
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename, so a reader never sees half a page and two writers cannot interleave.
    handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(html)
    os.replace(temporary, target)
    return target
