"""Run one query job against a pyoxigraph store and report it as messages.

A job is a dict of plain values and pyoxigraph terms:
  op          "query" or "dump"
  query       SPARQL text (op "query")
  options     keyword arguments for pyoxigraph's Store.query (graph names as IRI strings)
  formats     {"solutions"|"boolean"|"graph"|"dataset": media type or None}
Messages: ("head", kind, media_type), ("chunk", bytes)..., ("end",); or ("error", code, text) at any point.
"""

from __future__ import annotations

from collections.abc import Callable

import pyoxigraph as ox

from kg.namespaces import PREFIXES

CHUNK_BYTES = 64 * 1024
# Graph formats that can abbreviate IRIs: a CONSTRUCT answer in them declares CoproKG's prefixes. pyoxigraph's
# own result writer takes no prefixes; its module-level one does, streaming as well, at ~1.4x the time per triple.
PREFIXED_FORMATS = frozenset({ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG, ox.RdfFormat.N3, ox.RdfFormat.RDF_XML})


class Cancelled(Exception):
    """The reader went away; stop serializing."""


class ChunkWriter:
    """A file-like sink that pyoxigraph serializes into, emitting ~64 KiB chunks."""

    def __init__(self, emit: Callable[[tuple], None]) -> None:
        self.emit = emit
        self.buffer = bytearray()

    def write(self, data) -> int:
        self.buffer += data
        if len(self.buffer) >= CHUNK_BYTES:
            self.flush()
        return len(data)

    def flush(self) -> None:
        if self.buffer:
            self.emit(("chunk", bytes(self.buffer)))
            self.buffer.clear()


def _graph(name: str | None):
    return ox.DefaultGraph() if name is None else ox.NamedNode(name)


def query_options(options: dict) -> dict:
    """Turn a job's plain options into pyoxigraph Store.query keyword arguments."""
    result = dict(options)
    if result.get("default_graph") is not None:
        result["default_graph"] = [_graph(g) for g in result["default_graph"]]
    if result.get("named_graphs") is not None:
        result["named_graphs"] = [ox.NamedNode(g) for g in result["named_graphs"]]
    return result


def kind_of(result) -> str:
    if isinstance(result, ox.QuerySolutions):
        return "solutions"
    if isinstance(result, ox.QueryBoolean):
        return "boolean"
    return "graph"


def _format(kind: str, media_type: str):
    if kind in ("solutions", "boolean"):
        return ox.QueryResultsFormat.from_media_type(media_type)
    return ox.RdfFormat.from_media_type(media_type)


def run_job(store: ox.Store, job: dict, emit: Callable[[tuple], None]) -> None:
    """Evaluate `job` on `store`, sending its serialized result through `emit`; never raises on bad input."""
    try:
        if job["op"] == "dump":
            kind, result = "dataset", None
        else:
            result = store.query(job["query"], **query_options(job.get("options", {})))
            kind = kind_of(result)
        media_type = job["formats"].get(kind)
        if media_type is None:
            emit(("error", "not-acceptable", kind))
            return
        emit(("head", kind, media_type))
        writer = ChunkWriter(emit)
        output_format = _format(kind, media_type)
        if result is None:
            store.dump(writer, output_format)
        elif kind == "graph" and output_format in PREFIXED_FORMATS:
            ox.serialize(result, writer, output_format, prefixes=PREFIXES)
        else:
            result.serialize(writer, output_format)
        writer.flush()
        emit(("end",))
    except Cancelled:
        raise
    except SyntaxError as e:
        emit(("error", "syntax", str(e)))
    except RuntimeError as e:
        # pyoxigraph reports a substitution of a variable that is not projected this way.
        code = "substitution" if "projection" in str(e) else "evaluation"
        emit(("error", code, str(e)))
    except (OSError, ValueError, TypeError) as e:
        emit(("error", "evaluation", f"{type(e).__name__}: {e}"))
