"""The store the web service answers from: queries on the newest published snapshot, writes through the writer.

Every worker process of `coprokg serve` holds one ServedStore. Queries run in the worker itself, on a
read-only handle of the newest snapshot (server/runtime/snapshots.py), with no per-request set-up; writes go to the
single writer (server/runtime/writer.py), which answers only once the write's snapshot is published.

The query timeout: under `coprokg serve` a guard is installed (server/runtime/watchdog.py). A query then runs in
the calling thread, and at its deadline the guard answers 503 and ends the worker process, so the work
really stops. Without a guard (the store used in-process, as tests do) a query runs in a thread and the
timeout only stops reading it, as EmbeddedStore does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pyoxigraph as ox

from kg.query_worker import Cancelled, run_job
from kg.store import (
    EmbeddedStore,
    open_store,
    QueryOutput,
    _retry_on_substitution,
    _StoreBase,
    read_output,
    replacement_update,
)
from kg.config import Settings
from server.runtime.snapshots import Follower, snapshot_directory
from server.runtime.writer import Writer

if TYPE_CHECKING:
    from rdflib import Graph, URIRef


# Answers up to this size are serialized in memory in the request's thread; a bigger one is evaluated
# again in a thread that streams it. One request at a time per worker bounds the memory this takes.
INLINE_LIMIT_BYTES = 8 * 1024 * 1024


class _TooLarge(Cancelled):
    """The answer outgrew INLINE_LIMIT_BYTES: it must be streamed instead."""


class _Buffer:
    """Collect a job's messages in memory, up to INLINE_LIMIT_BYTES of answer."""

    def __init__(self) -> None:
        self.messages: list[tuple] = []
        self.size = 0

    def __call__(self, message: tuple) -> None:
        if message[0] == "chunk":
            self.size += len(message[1])
            if self.size > INLINE_LIMIT_BYTES:
                raise _TooLarge()
        self.messages.append(message)

    def receive(self, timeout: float) -> tuple:
        return self.messages.pop(0)

    def done(self) -> None:
        pass

    def abort(self) -> None:
        pass


class ServedStore(EmbeddedStore):
    """EmbeddedStore's queries on the newest snapshot of an on-disk store; its writes go to the writer.

    `writer` is a server.runtime.writer.Writer in this process, or a WriterClient of the writer process: either makes
    a write with `apply(operation, args, kwargs)`, publishes it and returns the new generation.
    """

    def __init__(self, path: str | Path, writer, *, allowlist: tuple[str, ...] = (), timeout: float = 30.0,
                 close_writer: bool = False) -> None:
        _StoreBase.__init__(self, allowlist=allowlist, timeout=timeout)
        self.path = Path(path)
        self._writer = writer
        self._close_writer = close_writer
        self._follower = Follower(snapshot_directory(path))
        self._follower.store()  # open the snapshot now, not in the first request
        # Set by the server: `arm(timeout)` as a query starts (True if that started the request's deadline),
        # `disarm()` once its answer is in memory.
        self.guard = None

    @property
    def ox(self) -> ox.Store:
        """The newest published snapshot, opened read-only."""
        return self._follower.store()

    @property
    def version(self) -> str:
        """Name the newest snapshot: every worker gives the same name for the same state."""
        self._follower.store()
        return self._follower.generation

    # --- queries ---------------------------------------------------------------------------------------

    def query(self, sparql: str, *, union_default_graph: bool = True, substitutions: Mapping | None = None,
              **options):
        """Run a SPARQL query on the newest snapshot, under the guard's timeout when one is installed."""
        if self.guard is not None:
            self.guard.arm(self.timeout)  # the caller reads the lazy result: armed until the request ends
        return super().query(sparql, union_default_graph=union_default_graph, substitutions=substitutions,
                             **options)

    def _run(self, job: dict) -> QueryOutput | None:
        if self.guard is None:
            return super()._run(job)
        armed = self.guard.arm(self.timeout)
        # Most answers are small: evaluate and serialize right here, no thread and no copy.
        buffer = _Buffer()
        try:
            run_job(self.ox, job, buffer)
        except _TooLarge:
            # A large answer streams from a thread, which serializes it again as the client reads it.
            return super()._run(job)
        if armed:  # else an earlier query of this request, whose result may still be read, keeps its deadline
            self.guard.disarm()
        return _retry_on_substitution(lambda: read_output(buffer, self.timeout))

    def has_graph(self, graph: str | None) -> bool:
        """Tell whether a named graph holds any triple; cheap, so outside the timeout (uploads follow it)."""
        if graph is None:
            return True
        return bool(self.ox.query(f"ASK {{ GRAPH {ox.NamedNode(graph)} {{ ?s ?p ?o }} }}"))

    # --- writes, made by the writer --------------------------------------------------------------------

    def update(self, sparql: str, *, base_iri: str | None = None, checked: bool = False,
               using_graphs: Iterable[str] = (), using_named_graphs: Iterable[str] = ()) -> None:
        """Run a SPARQL update as one transaction in the writer; it is readable here once this returns.

        Raises:
            UpdateSyntaxError, Forbidden, BadRequest, QueryEvaluationError, StoreUnavailable.
        """
        self._writer.apply("update", (sparql,), {"base_iri": base_iri, "checked": checked,
                                                 "using_graphs": list(using_graphs),
                                                 "using_named_graphs": list(using_named_graphs)})

    def replace_graphs(self, graphs: Mapping[URIRef, Graph], *, clear_all: bool = False) -> None:
        """Replace each named graph by the given triples (after emptying the store if clear_all), in one transaction."""
        update = replacement_update(graphs, clear_all=clear_all)
        if update:
            self._writer.apply("update", (update,), {"checked": True})

    def restore(self, quads: list[ox.Quad]) -> None:
        """Make the store hold exactly `quads` (blank node labels kept); on failure it keeps the old ones."""
        self._writer.apply("restore", (list(quads),), {})

    def close(self) -> None:
        self._follower.close()
        if self._close_writer:
            self._writer.close()


def open_served_store(settings: Settings):
    """Open the store as the web service uses it, all in this process (`coprokg serve` splits it into processes).

    An on-disk store answers queries from published read-only snapshots and makes its writes through a
    Writer, exactly as the served store does, with the writer in this process rather than its own.
    """
    if settings.is_remote:
        return open_store(settings)
    return ServedStore(settings.store, Writer(settings), allowlist=settings.service_allowlist,
                       timeout=settings.query_timeout, close_writer=True)
