"""One store interface over the embedded Oxigraph store or a remote SPARQL 1.1 endpoint.

Both backends offer the same methods: `query` (pyoxigraph result objects), `execute` (the result
serialized in a chosen media type, as a stream of byte chunks, under the query timeout), `update`,
the graph-level writes the Graph Store Protocol needs, and `version`, which changes after every write
made through the store and stays the same otherwise. Writes made behind the store's back (for example
on `store.ox` directly) do not change `version`.
"""

from __future__ import annotations

import functools
import queue
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

import pyoxigraph as ox

from kg.config import Settings
from kg.store_auth import StoreAuth
from kg.errors import (
    BadRequest,
    KGError,
    NotAcceptable,
    QueryEvaluationError,
    QuerySyntaxError,
    QueryTimeout,
    RemoteStoreError,
    RemoteStoreTimeout,
    StoreRefused,
    StoreUnavailable,
    Unsupported,
    UpdateSyntaxError,
)
from kg.namespaces import PREFIXES
from kg.query_worker import Cancelled, ChunkWriter, kind_of, PREFIXED_FORMATS, run_job
from kg.sparql_scan import add_using_clauses, check_external, check_using_conflict, scan, tokenize

if TYPE_CHECKING:
    from rdflib import Graph, URIRef

    from kg import remote_http

# Results are read ahead up to this size before answering, so small answers release their worker
# at once and errors found early still get a proper status code; bigger ones stream.
READ_AHEAD_BYTES = 256 * 1024

# Media types for results fetched from a remote endpoint, and for results handed back as objects.
MACHINE_FORMATS = {
    "solutions": "application/sparql-results+json",
    "boolean": "application/sparql-results+json",
    "graph": "application/n-triples",
    "dataset": "application/n-quads",
}
# How a remote store's failures begin, for anyone to read.
BEHIND = "the store behind this service"
_ABSOLUTE_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
FORM_TO_KIND = {"SELECT": "solutions", "ASK": "boolean", "CONSTRUCT": "graph", "DESCRIBE": "graph"}


@dataclass(frozen=True)
class Dataset:
    """The RDF dataset of one request; None everywhere means the service default (the union graph)."""

    default_graphs: tuple[str | None, ...] | None = None  # IRIs; None stands for the store's own default graph
    named_graphs: tuple[str, ...] | None = None

    @property
    def given(self) -> bool:
        return self.default_graphs is not None or self.named_graphs is not None


class QueryOutput:
    """A query result serialized as `media_type`, read as byte chunks; close() frees its worker."""

    def __init__(self, kind: str, media_type: str, chunks: Iterable[bytes], complete: bool, close=None) -> None:
        self.kind = kind  # "solutions", "boolean", "graph" or "dataset"
        self.media_type = media_type
        self.complete = complete  # True: every chunk is already in memory
        self._chunks = chunks
        self._close = close

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._chunks)

    def read(self) -> bytes:
        """Read the whole result (only for results known to be small)."""
        try:
            return b"".join(self)
        finally:
            self.close()

    def close(self) -> None:
        if self._close is not None:
            self._close()
            self._close = None


# --- terms and bindings --------------------------------------------------------------------------


def to_ox_term(term):
    """Convert an rdflib or pyoxigraph term to a pyoxigraph term."""
    if isinstance(term, (ox.NamedNode, ox.BlankNode, ox.Literal, ox.Triple)):
        return term
    # Imported here: the writer process and the query path never see rdflib terms, and rdflib is slow to load.
    from rdflib import BNode, Literal, URIRef

    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise BadRequest(f"cannot bind a {type(term).__name__} as an RDF term")


def _variable_name(key) -> str:
    if isinstance(key, ox.Variable):
        return key.value
    return str(key).lstrip("?$") if isinstance(key, str) else str(key)  # rdflib's Variable is a str


def normalize_substitutions(substitutions: Mapping | None) -> dict[str, object]:
    """Map variable names (str, rdflib or pyoxigraph Variable) to pyoxigraph terms."""
    return {_variable_name(k): to_ox_term(v) for k, v in (substitutions or {}).items() if v is not None}


def bind_with_values(sparql: str, substitutions: Mapping[str, object]) -> str:
    """Bind variables by a VALUES block at the start of the query's WHERE group (else a trailing VALUES).

    The terms are written by pyoxigraph's own N-Triples term syntax, so a value can never change the
    query's structure; the place is found from the token stream, never by searching for the variable.

    Raises:
        BadRequest: a blank node was given (SPARQL VALUES cannot hold one).
    """
    if not substitutions:
        return sparql
    for name, term in substitutions.items():
        if isinstance(term, ox.BlankNode):
            raise BadRequest(f"variable ?{name}: a blank node cannot be bound through VALUES")
    up_front = bind_up_front(sparql, substitutions)
    if up_front is None or not _parses_with_values_first(sparql, tuple(substitutions)):
        return f"{sparql}\n{_values_block(substitutions)}\n"
    return up_front


@functools.lru_cache(maxsize=256)
def _parses_with_values_first(sparql: str, names: tuple[str, ...]) -> bool:
    """Tell whether a leading VALUES row of `names` leaves the query valid (not so if one is a BIND target).

    Asked of pyoxigraph's parser with placeholder terms; a query it cannot parse at all (another
    engine's extension) is given the leading row, as the remote engine alone can judge it.
    """
    placeholders = {name: ox.Literal("") for name in names}
    try:
        ox.Store().query(bind_up_front(sparql, placeholders))
    except SyntaxError:
        try:
            ox.Store().query(sparql)
        except SyntaxError:
            return True
        return False
    return True


def bind_up_front(sparql: str, substitutions: Mapping[str, object]) -> str | None:
    """Give the query with a VALUES block opening its WHERE group; None where no such block can be written.

    The join-order planner sees a one-row VALUES first and starts from the bound terms, which a
    substitution does not make it do. None: no bindings, a blank node or quoted triple (VALUES cannot
    hold them here), or no WHERE group to open (CONSTRUCT WHERE).
    """
    if not substitutions or any(isinstance(t, (ox.BlankNode, ox.Triple)) for t in substitutions.values()):
        return None
    position = _where_group_start(sparql) if len(sparql) <= 8192 else _where_group_start.__wrapped__(sparql)
    if position is None:
        return None
    return f"{sparql[:position]} {_values_block(substitutions)} {sparql[position:]}"


def _values_block(substitutions: Mapping[str, object]) -> str:
    """Write one VALUES row from already typed terms (their str() is N-Triples term syntax)."""
    names = " ".join(f"?{name}" for name in substitutions)
    row = " ".join(str(term) for term in substitutions.values())
    return f"VALUES ({names}) {{ ({row}) }}"


@functools.lru_cache(maxsize=256)
def _where_group_start(sparql: str) -> int | None:
    """Find the offset just inside the `{` that opens the query's WHERE group, if it has one."""
    tokens = tokenize(sparql)
    form_seen, template_skipped, parens = None, False, 0
    for i, token in enumerate(tokens):
        word = token.text.upper() if token.kind == "word" else None
        if form_seen is None:
            if word in ("SELECT", "CONSTRUCT", "DESCRIBE", "ASK"):
                form_seen = word
                if word == "CONSTRUCT":
                    following = tokens[i + 1] if i + 1 < len(tokens) else None
                    if following is not None and following.kind == "word" and following.text.upper() == "WHERE":
                        return None  # CONSTRUCT WHERE short form admits only triple patterns
            continue
        if token.text == "(":
            parens += 1
        elif token.text == ")":
            parens -= 1
        elif token.text == "{" and token.depth == 0 and parens == 0:
            if form_seen == "CONSTRUCT" and not template_skipped:
                template_skipped = True
                continue
            return token.start + 1
    return None


# --- reading a worker's messages ---------------------------------------------------------------------


class ThreadChannel:
    """Run a job in a thread; its messages arrive through a small queue (backpressure for streaming)."""

    def __init__(self, work: Callable[[Callable[[tuple], None]], None], on_abort: Callable[[], None] | None = None):
        self._queue: queue.Queue = queue.Queue(maxsize=8)
        self._cancel = threading.Event()
        self._on_abort = on_abort
        threading.Thread(target=self._run, args=(work,), daemon=True, name="coprokg-query").start()

    def _emit(self, message: tuple) -> None:
        while True:
            if self._cancel.is_set():
                raise Cancelled()
            try:
                self._queue.put(message, timeout=0.1)
                return
            except queue.Full:
                continue

    def _run(self, work) -> None:
        try:
            work(self._emit)
        except Cancelled:
            pass
        except KGError as e:
            self._safe_emit(("error", "kg", e))
        except Exception as e:  # the reader must hear of every failure, or it would wait until the timeout
            self._safe_emit(("error", "evaluation", f"{type(e).__name__}: {e}"))

    def _safe_emit(self, message: tuple) -> None:
        try:
            self._emit(message)
        except Cancelled:
            pass

    def receive(self, timeout: float) -> tuple:
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError from None

    def done(self) -> None:
        pass

    def abort(self) -> None:
        # A thread cannot be killed: it stops at its next chunk, or runs on until its evaluation ends.
        self._cancel.set()
        if self._on_abort is not None:
            self._on_abort()


def _error(message: tuple) -> KGError:
    code, detail = message[1], message[2]
    if code == "kg":
        return detail
    if code == "syntax":
        return QuerySyntaxError(detail)
    if code == "not-acceptable":
        return NotAcceptable(f"no acceptable media type for a {detail} result")
    if code == "unavailable":
        return StoreUnavailable(detail)
    return QueryEvaluationError(detail)


def read_output(channel, timeout: float, timed_out: Callable[[], KGError] | None = None) -> QueryOutput:
    """Wait for a job's head and first chunks; stream the rest. The timeout covers the whole job.

    Raises:
        QueryTimeout: the job did not finish within `timeout` seconds; its worker was stopped (or the
            error `timed_out` gives).
        QuerySyntaxError, NotAcceptable, QueryEvaluationError, StoreUnavailable: as the worker reported.
    """
    deadline = time.monotonic() + timeout

    def receive() -> tuple:
        try:
            return channel.receive(max(deadline - time.monotonic(), 0.0))
        except TimeoutError:
            channel.abort()
            if timed_out is not None:
                raise timed_out() from None
            raise QueryTimeout(f"the query ran longer than the {timeout:g} s limit and was stopped") from None

    message = receive()
    if message[0] == "error":
        channel.done()
        raise _error(message)
    _, kind, media_type = message
    buffered: list[bytes] = []
    size = 0
    while size < READ_AHEAD_BYTES:
        message = receive()
        if message[0] == "chunk":
            buffered.append(message[1])
            size += len(message[1])
        elif message[0] == "end":
            channel.done()
            return QueryOutput(kind, media_type, buffered, complete=True)
        else:
            channel.done()
            raise _error(message)

    state = {"open": True}

    def rest() -> Iterator[bytes]:
        yield from buffered
        while True:
            message = receive()
            if message[0] == "chunk":
                yield message[1]
            elif message[0] == "end":
                state["open"] = False
                channel.done()
                return
            else:
                state["open"] = False
                channel.done()
                raise _error(message)

    def close() -> None:
        if state["open"]:  # the reader left early: stop the work rather than let it finish unread
            state["open"] = False
            channel.abort()

    return QueryOutput(kind, media_type, rest(), complete=False, close=close)


def as_result_objects(output: QueryOutput):
    """Turn a machine-format QueryOutput back into pyoxigraph result objects."""
    data = output.read()
    if output.kind in ("solutions", "boolean"):
        return ox.parse_query_results(data, ox.QueryResultsFormat.from_media_type(output.media_type))
    # Re-query a scratch store so callers get a real QueryTriples, the same type as the embedded store gives.
    scratch = ox.Store()
    scratch.load(data, ox.RdfFormat.from_media_type(output.media_type))
    return scratch.query("CONSTRUCT WHERE { ?s ?p ?o }")


# --- graph-level writes, shared by both backends --------------------------------------------------------


def graph_clause(graph: str | None) -> str:
    """Write a graph reference for an update: `GRAPH <iri>` or `DEFAULT` (the IRI validated first)."""
    if graph is None:
        return "DEFAULT"
    return f"GRAPH {ox.NamedNode(graph)}"


def parse_upload(data: IO[bytes] | bytes, media_type: str, base_iri: str) -> bytes:
    """Parse an RDF upload completely and give it back as N-Triples; nothing is stored.

    Raises:
        BadRequest: the body does not parse; the message gives the line and column.
    """
    try:
        rdf_format = ox.RdfFormat.from_media_type(media_type)
    except ValueError:
        rdf_format = None
    if rdf_format is None or rdf_format.supports_datasets:
        raise BadRequest(f"cannot read an RDF graph from media type {media_type!r}")
    try:
        quads = ox.parse(data, rdf_format, base_iri=base_iri)
        return ox.serialize((q.triple for q in quads), format=ox.RdfFormat.N_TRIPLES)
    except SyntaxError as e:
        raise BadRequest(f"the {rdf_format.name} body does not parse: {e}") from e


def replacement_update(graphs: Mapping[URIRef, Graph], *, clear_all: bool = False) -> str:
    """Write the update that replaces each named graph by the given rdflib graph (after CLEAR ALL if asked)."""
    operations = ["CLEAR ALL"] if clear_all else []
    for name, graph in graphs.items():
        operations.append(f"DROP SILENT GRAPH <{name}>")
        operations.append(f"INSERT DATA {{ GRAPH <{name}> {{\n{graph.serialize(format='nt')}\n}} }}")
    return " ;\n".join(operations)


class _StoreBase:
    """What both backends share: versioning, the SERVICE/LOAD guard, and graph-level writes."""

    def __init__(self, *, allowlist: tuple[str, ...] = (), timeout: float = 30.0) -> None:
        self.allowlist = tuple(allowlist)
        self.timeout = timeout
        self._epoch = f"{time.time_ns():x}"
        self._writes = 0
        self._write_lock = threading.RLock()

    @property
    def version(self) -> str:
        """Name the dataset's state: changes after every write through this store, stable otherwise."""
        return f"{self._epoch}-{self._writes}"

    def _wrote(self) -> None:
        self._writes += 1

    def has_graph(self, graph: str | None) -> bool:
        """Tell whether a named graph holds any triple (the default graph always exists)."""
        if graph is None:
            return True
        return bool(self.query(f"ASK {{ GRAPH {ox.NamedNode(graph)} {{ ?s ?p ?o }} }}"))

    def write_graph(self, graph: str | None, ntriples: bytes, *, replace: bool) -> None:
        """Replace (PUT) or extend (POST) one graph with parsed N-Triples, in one transaction."""
        target = graph_clause(graph)
        body = ntriples.decode("utf-8")
        operations = [f"DROP SILENT {target}"] if replace else []
        if body.strip():
            inner = f"GRAPH {ox.NamedNode(graph)} {{\n{body}\n}}" if graph is not None else body
            operations.append(f"INSERT DATA {{\n{inner}\n}}")
        if operations:
            self.update(" ;\n".join(operations), checked=True)

    def drop_graph(self, graph: str | None) -> None:
        """Delete one graph (or empty the default graph) in one transaction."""
        self.update(f"DROP SILENT {graph_clause(graph)}", checked=True)


# --- the embedded store ------------------------------------------------------------------------------


class EmbeddedStore(_StoreBase):
    """An on-disk (or, with path=None, in-memory) pyoxigraph store holding CoproKG's named graphs."""

    def __init__(self, path: str | Path | None, *, allowlist: tuple[str, ...] = (), timeout: float = 30.0) -> None:
        super().__init__(allowlist=allowlist, timeout=timeout)
        self.path = Path(path) if path is not None else None
        try:
            self.ox = ox.Store(str(path)) if path is not None else ox.Store()
        except OSError as e:
            raise StoreUnavailable(f"cannot open the store at {path}: {e}") from e

    def query(self, sparql: str, *, union_default_graph: bool = True, substitutions: Mapping | None = None,
              **options):
        """Run a SPARQL query; by default the default graph is the union of all graphs.

        `substitutions` maps variable names to terms (pyoxigraph or rdflib) bound before evaluation.

        Raises:
            QuerySyntaxError: the query does not parse.
            Forbidden: the query calls SERVICE on an endpoint that is not allow-listed.
        """
        found, sparql = check_external(sparql, self.allowlist)
        if options.get("default_graph") is not None or found.has_dataset_clause:
            union_default_graph = False  # pyoxigraph would otherwise ignore FROM
        bindings = normalize_substitutions(substitutions)
        up_front = bind_up_front(sparql, bindings)
        if up_front is not None:
            try:
                return self._query(up_front, union_default_graph, bindings, options, values_bound=True)
            except QuerySyntaxError:
                pass  # a bound variable is also a BIND target, where VALUES cannot bind it: substitution alone
        return self._query(sparql, union_default_graph, bindings, options, values_bound=False)

    def _query(self, sparql: str, union_default_graph: bool, bindings: dict, options: dict, *, values_bound: bool):
        """Run `sparql` with `bindings` substituted; a variable pyoxigraph will not substitute goes through VALUES."""
        try:
            return self.ox.query(
                sparql,
                use_default_graph_as_union=union_default_graph,
                substitutions={ox.Variable(k): v for k, v in bindings.items()} or None,
                **options,
            )
        except SyntaxError as e:
            raise QuerySyntaxError(str(e)) from e
        except RuntimeError as e:
            if bindings and "projection" in str(e):
                # pyoxigraph only substitutes projected variables; bind the others through VALUES alone.
                text = sparql if values_bound else bind_with_values(sparql, bindings)
                return self._query(text, union_default_graph, {}, options, values_bound=True)
            raise QueryEvaluationError(str(e)) from e

    def execute(self, sparql: str, formats: Mapping[str, str | None], *, dataset: Dataset = Dataset(),
                base_iri: str | None = None, substitutions: Mapping | None = None) -> QueryOutput:
        """Run a query under the timeout and stream its result in the media type chosen for its kind.

        Raises:
            QuerySyntaxError, Forbidden, NotAcceptable, QueryTimeout, QueryEvaluationError.
        """
        up_front = bind_up_front(sparql, normalize_substitutions(substitutions))
        if up_front is not None:
            try:
                output = self._run(self._query_job(up_front, formats, dataset, base_iri, substitutions))
            except QuerySyntaxError:
                pass  # a bound variable is also a BIND target, where VALUES cannot bind it: substitution alone
            else:
                if output is None:  # a variable pyoxigraph will not substitute: the VALUES block alone binds it
                    output = self._run(self._query_job(up_front, formats, dataset, base_iri, None))
                return output
        job = self._query_job(sparql, formats, dataset, base_iri, substitutions)
        output = self._run(job)
        if output is None:  # a variable that is not projected: bind it through VALUES instead
            job = self._query_job(bind_with_values(sparql, normalize_substitutions(substitutions)), formats,
                                  dataset, base_iri, None)
            output = self._run(job)
        return output

    def export(self, formats: Mapping[str, str | None]) -> QueryOutput:
        """Stream the whole dataset (every graph) in the media type chosen for "dataset"."""
        return self._run({"op": "dump", "formats": dict(formats)})

    def _query_job(self, sparql, formats, dataset: Dataset, base_iri, substitutions) -> dict:
        found, sparql = check_external(sparql, self.allowlist)
        options: dict = {"base_iri": base_iri}
        if dataset.default_graphs is not None:
            options["default_graph"] = list(dataset.default_graphs)
        else:
            options["use_default_graph_as_union"] = not found.has_dataset_clause
        if dataset.named_graphs is not None:
            options["named_graphs"] = list(dataset.named_graphs)
        bindings = normalize_substitutions(substitutions)
        if bindings:
            options["substitutions"] = {ox.Variable(k): v for k, v in bindings.items()}
        return {"op": "query", "query": sparql, "options": options, "formats": dict(formats)}

    def _run(self, job: dict) -> QueryOutput | None:
        """Run a job in a thread: in-process stores cannot be killed, so the timeout stops the reading."""
        channel = ThreadChannel(lambda emit: run_job(self.ox, job, emit))
        return _retry_on_substitution(lambda: read_output(channel, self.timeout))

    def update(self, sparql: str, *, base_iri: str | None = None, checked: bool = False,
               using_graphs: Iterable[str] = (), using_named_graphs: Iterable[str] = ()) -> None:
        """Run a SPARQL update as one transaction; `using_*` are the protocol's using-(named-)graph-uri.

        Raises:
            UpdateSyntaxError: the update does not parse.
            Forbidden: the update LOADs something that is not allow-listed.
            BadRequest: using graphs given for an update that has USING or WITH itself.
        """
        if not checked:
            sparql = check_external(sparql, self.allowlist, "update")[1]
        sparql = add_using_clauses(sparql, list(using_graphs), list(using_named_graphs))
        with self._write_lock:
            try:
                self.ox.update(sparql, base_iri=base_iri)
            except SyntaxError as e:
                raise UpdateSyntaxError(str(e)) from e
            except OSError as e:
                raise QueryEvaluationError(f"the update failed and changed nothing: {e}") from e
            finally:
                self._wrote()

    def replace_graphs(self, graphs: Mapping[URIRef, Graph], *, clear_all: bool = False) -> None:
        """Replace each named graph by the given triples (after emptying the store if clear_all), in one transaction."""
        update = replacement_update(graphs, clear_all=clear_all)
        if update:
            with self._write_lock:
                try:
                    self.ox.update(update)
                finally:
                    self._wrote()

    def restore(self, quads: list[ox.Quad]) -> None:
        """Make the store hold exactly `quads` (blank node labels kept); on failure put the old quads back."""
        # Oxigraph has no clear-and-extend transaction, and INSERT DATA renames blank nodes, so keep
        # the old dataset in memory and write it back if the new one cannot be written.
        with self._write_lock:
            previous = list(self.ox)
            try:
                self.ox.clear()
                self.ox.extend(quads)
            except BaseException:
                self.ox.clear()
                self.ox.extend(previous)
                raise
            finally:
                self._wrote()

    def graph_names(self) -> list[str]:
        """List the named graphs, sorted."""
        return sorted(g.value for g in self.ox.named_graphs() if isinstance(g, ox.NamedNode))

    def quads(self) -> Iterable[ox.Quad]:
        """Iterate over every quad in the store."""
        return self.ox.quads_for_pattern(None, None, None, None)

    def dump(self, output: IO[bytes] | str | Path, format: ox.RdfFormat = ox.RdfFormat.N_QUADS) -> None:
        """Write the whole dataset (all graphs) to `output`."""
        self.ox.dump(output, format)

    def __len__(self) -> int:
        return len(self.ox)

    def close(self) -> None:
        self.ox.flush()
        del self.ox


def _retry_on_substitution(read: Callable[[], QueryOutput]) -> QueryOutput | None:
    """Read an output; None when pyoxigraph refused a substitution of a variable it does not project."""
    try:
        return read()
    except QueryEvaluationError as e:
        if "projection" in str(e) and "SELECT" in str(e):
            return None
        raise


# --- a remote SPARQL 1.1 endpoint --------------------------------------------------------------------


class RemoteStore(_StoreBase):
    """Any SPARQL 1.1 endpoint (Fuseki, GraphDB, Virtuoso, QLever, Oxigraph server) as CoproKG's store.

    The remote store decides what its default graph is; configure it as the union of the named graphs
    (for `oxigraph serve`: --union-default-graph). FROM is passed on, never fetched by CoproKG.

    Every call to it, from the request to closing its answer, ends at the query timeout (kg/remote_http.py)
    and follows no redirect. Its failures are told in words any client may read; its URL and what it
    said are the errors' operator_detail, for the server's log and the command line.
    """

    def __init__(self, query_url: str, update_url: str | None = None, *, allowlist: tuple[str, ...] = (),
                 timeout: float = 30.0, auth: StoreAuth | None = None) -> None:
        super().__init__(allowlist=allowlist, timeout=timeout)
        from kg import remote_http  # only remote stores need an HTTP client

        self._http = remote_http
        self.query_url = query_url
        self.update_url = update_url or query_url
        self.auth = auth
        self._local = threading.local()

    @classmethod
    def from_setting(cls, store: str, **kwargs) -> "RemoteStore":
        """Build from `sparql:QUERY_URL[,UPDATE_URL]`."""
        urls = store.removeprefix("sparql:").split(",")
        return cls(urls[0], urls[1] if len(urls) > 1 else None, **kwargs)

    @property
    def _session(self):
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = self._http.new_session(self.auth)
        return session

    def _post(self, call: remote_http.Call, url: str, what: str, *, data, headers: dict):
        """POST within `call` (entered by the caller); give a 2xx response with its body unread.

        Raises:
            RemoteStoreTimeout, StoreRefused, RemoteStoreError; QuerySyntaxError: it answered 400 (what
            the store said of the text, which is the client's own).
        """
        try:
            # Each read may wait a little longer than the whole call: the call's cut ends it first, as a timeout.
            response = self._session.post(url, data=data, headers=headers, stream=True, allow_redirects=False,
                                          timeout=(min(self.timeout, 10.0), self.timeout + 1))
            status = response.status_code
            if status < 300:
                return response
            said = _start_of_body(response)
        except self._http.READ_ERRORS as e:
            if call.expired:
                raise self._timed_out(url, what) from e
            raise RemoteStoreError(f"{BEHIND} failed: it cannot be reached or closed the connection without answering",
                                   operator_detail=f"cannot reach the remote store at {url}: {e}") from e
        if status in (401, 403):
            raise StoreRefused(f"{BEHIND} failed: it refused this service's request (HTTP {status})",
                               operator_detail=_refusal(url, status, self.auth))
        if status < 400:
            location = response.headers.get("Location", "")
            raise RemoteStoreError(f"{BEHIND} failed: it answered with a redirect (HTTP {status}), which this "
                                   "service does not follow",
                                   operator_detail=f"the remote store at {url} answered {status} redirecting to "
                                   f"{location}; CoproKG follows no redirect: give the URL that answers itself "
                                   "in COPROKG_STORE")
        if status == 400:
            raise QuerySyntaxError(f"the remote store refused it: {said}")
        raise RemoteStoreError(f"{BEHIND} failed: it answered HTTP {status}",
                               operator_detail=f"the remote store at {url} answered {status}: {said}")

    def _timed_out(self, url: str, what: str) -> RemoteStoreTimeout:
        outcome = "; the update may or may not have been applied there" if what == "update" else ""
        return RemoteStoreTimeout(f"{BEHIND} did not answer within the {self.timeout:g} s query time limit, so "
                                  f"this service stopped waiting{outcome}",
                                  operator_detail=f"the remote store at {url} did not finish answering the {what} "
                                  f"within {self.timeout:g} s (COPROKG_QUERY_TIMEOUT); its connection was closed")

    def _request_query(self, call: remote_http.Call, sparql: str, kind: str | None, dataset: Dataset, base_iri=None):
        """Send a query with its dataset as protocol parameters.

        Raises:
            Unsupported: the store's own default graph was asked for, which the protocol cannot name.
        """
        if dataset.default_graphs == (None,):
            # default-graph-uri names graphs by IRI only; with the remote's default graph the union of all
            # (as CoproKG needs it), its own default graph is out of SPARQL's reach. Never answer the union.
            # (Beside named graphs, as inferred=false asks, it is left out: CoproKG writes only named graphs.)
            raise Unsupported("a remote store's own default graph cannot be read through its SPARQL endpoint; "
                              "read /store?union for every graph, or ?graph=IRI for one")
        if not dataset.given:
            # Stores whose default graph is the union may ignore FROM; the protocol's parameters they obey.
            found = scan(sparql)
            if found.has_dataset_clause and all(found.from_graphs + found.from_named_graphs):
                dataset = Dataset(tuple(found.from_graphs), tuple(found.from_named_graphs))
        form: list[tuple[str, str]] = [("query", _with_base(sparql, base_iri))]
        form += [("default-graph-uri", g) for g in dataset.default_graphs or () if g is not None]
        form += [("named-graph-uri", g) for g in dataset.named_graphs or ()]
        if kind is None:
            accept = f"{MACHINE_FORMATS['solutions']}, {MACHINE_FORMATS['graph']};q=0.9"
        else:
            accept = MACHINE_FORMATS[kind]
        return self._post(call, self.query_url, "query", data=form,
                          headers={"Accept": accept, "Accept-Encoding": "identity"})

    def execute(self, sparql: str, formats: Mapping[str, str | None], *, dataset: Dataset = Dataset(),
                base_iri: str | None = None, substitutions: Mapping | None = None) -> QueryOutput:
        """Run a query on the remote store and stream its result re-serialized in the chosen media type.

        Raises:
            QuerySyntaxError, Forbidden, NotAcceptable, QueryTimeout, StoreUnavailable.
        """
        sparql = check_external(sparql, self.allowlist)[1]
        sparql = bind_with_values(sparql, normalize_substitutions(substitutions))
        kind = FORM_TO_KIND.get(scan(sparql).form or "")
        if kind is not None and formats.get(kind) is None:
            raise NotAcceptable(f"no acceptable media type for a {kind} result")
        return self._relay_from(lambda call: self._request_query(call, sparql, kind, dataset, base_iri=base_iri),
                                lambda response, emit: _relay(response, formats, emit))

    def _relay_from(self, request, relay) -> QueryOutput:
        """Make the request and relay its answer in a thread, both within one Call cut at the timeout.

        Giving up (the deadline, or a reader that left) cuts the call's connections rather than closing its
        response, which would wait for the thread's blocked read.
        """
        call = self._http.Call(self.timeout)

        def work(emit):
            with call:
                try:
                    relay(request(call), emit)
                except Cancelled:
                    raise
                except Exception as e:
                    raise self._broken_answer(call, e) from e

        return read_output(ThreadChannel(work, on_abort=call.cut), self.timeout,
                           timed_out=lambda: self._timed_out(self.query_url, "query"))

    def _broken_answer(self, call: remote_http.Call, error: Exception) -> KGError:
        """Say why reading an answer failed: the deadline's cut, the store's own error, or a bad answer."""
        if call.expired:
            return self._timed_out(self.query_url, "query")
        if isinstance(error, KGError):
            return error
        if isinstance(error, (SyntaxError, ValueError)):
            return RemoteStoreError(f"{BEHIND} failed: it sent an answer that does not parse",
                                    operator_detail=f"the answer of the remote store at {self.query_url} does not "
                                    f"parse: {error}")
        return RemoteStoreError(f"{BEHIND} failed: it broke off its answer",
                                operator_detail=f"reading the answer of the remote store at {self.query_url} "
                                f"failed: {type(error).__name__}: {error}")

    def export(self, formats: Mapping[str, str | None]) -> QueryOutput:
        """Stream every named graph of the remote store as quads."""
        media_type = formats.get("dataset")
        if media_type is None:
            raise NotAcceptable("no acceptable media type for a dataset")
        def relay(response, emit):
            try:
                rows = ox.parse_query_results(response.raw, ox.QueryResultsFormat.JSON)
                quads = (ox.Quad(r["s"], r["p"], r["o"], r["g"]) for r in rows)
                emit(("head", "dataset", media_type))
                writer = ChunkWriter(emit)
                ox.serialize(quads, writer, ox.RdfFormat.from_media_type(media_type))
                writer.flush()
                emit(("end",))
            finally:
                response.close()

        sparql = "SELECT ?s ?p ?o ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
        return self._relay_from(lambda call: self._request_query(call, sparql, "solutions", Dataset()), relay)

    def query(self, sparql: str, *, union_default_graph: bool = True, substitutions: Mapping | None = None,
              default_graph=None, named_graphs=None, **options):
        """Run a query remotely and give pyoxigraph result objects, like EmbeddedStore.query."""
        dataset = Dataset(graph_names(default_graph), graph_names(named_graphs))
        output = self.execute(sparql, MACHINE_FORMATS, dataset=dataset, substitutions=substitutions)
        return as_result_objects(output)

    def update(self, sparql: str, *, base_iri: str | None = None, checked: bool = False,
               using_graphs: Iterable[str] = (), using_named_graphs: Iterable[str] = ()) -> None:
        """Send a SPARQL update to the remote store (one request: one transaction there).

        Raises:
            UpdateSyntaxError, Forbidden, BadRequest, StoreUnavailable, QueryTimeout.
        """
        if not checked:
            sparql = check_external(sparql, self.allowlist, "update")[1]
        using_graphs, using_named_graphs = list(using_graphs), list(using_named_graphs)
        check_using_conflict(sparql, using_graphs, using_named_graphs)
        # Passed on as protocol parameters: some stores (oxigraph serve with a union default graph) refuse USING.
        form = [("update", _with_base(sparql, base_iri))]
        form += [("using-graph-uri", g) for g in using_graphs] + [("using-named-graph-uri", g) for g in using_named_graphs]
        with self._write_lock:
            call = self._http.Call(self.timeout)
            try:
                with call:
                    self._post(call, self.update_url, "update", data=form, headers={}).close()
            except QuerySyntaxError as e:
                raise UpdateSyntaxError(str(e)) from e
            finally:
                self._wrote()

    def replace_graphs(self, graphs: Mapping[URIRef, Graph], *, clear_all: bool = False) -> None:
        """Replace each named graph by the given triples, in one update request."""
        update = replacement_update(graphs, clear_all=clear_all)
        if update:
            self.update(update, checked=True)

    def graph_names(self) -> list[str]:
        """List the named graphs, sorted."""
        rows = self.query("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
        return sorted(r["g"].value for r in rows if isinstance(r["g"], ox.NamedNode))

    def quads(self) -> Iterable[ox.Quad]:
        """Iterate over every quad in the remote store's named graphs."""
        rows = self.query("SELECT ?s ?p ?o ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
        return [ox.Quad(r["s"], r["p"], r["o"], r["g"]) for r in rows]

    def dump(self, output: IO[bytes] | str | Path, format: ox.RdfFormat = ox.RdfFormat.N_QUADS) -> None:
        """Write every named graph to `output`."""
        ox.serialize(self.quads(), output, format)

    def __len__(self) -> int:
        rows = self.query("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }")
        return int(next(iter(rows))["n"].value)

    def close(self) -> None:
        session = getattr(self._local, "session", None)
        if session is not None:
            session.close()


def _refusal(url: str, status: int, auth: StoreAuth | None) -> str:
    """Say which URL refused and what to change, naming the credentials' scheme but never their content."""
    if auth is None:
        advice = "no credentials were sent; set COPROKG_STORE_AUTH (bearer:TOKEN, basic:USER:PASSWORD or digest:USER:PASSWORD)"
    elif status == 401:
        advice = f"it did not accept the {auth.scheme} credentials of {auth.source}"
    else:
        advice = f"the {auth.scheme} credentials of {auth.source} are not allowed to do this there"
    return f"the remote store at {url} refused the request ({status} {'Unauthorized' if status == 401 else 'Forbidden'}): {advice}"


def _with_base(sparql: str, base_iri: str | None) -> str:
    """Give a remote store our base IRI by a leading BASE (a later BASE in the text still wins).

    Only when the text has a relative IRI: otherwise the remote's error positions would shift a line.
    """
    if base_iri is None or not any(t.kind == "iri" and not _ABSOLUTE_IRI.match(t.text[1:-1]) for t in tokenize(sparql)):
        return sparql
    return f"BASE {ox.NamedNode(base_iri)}\n{sparql}"


def graph_names(graphs) -> tuple[str | None, ...] | None:
    """Turn pyoxigraph graph terms (one or a list; DefaultGraph becomes None) into a Dataset's names."""
    if graphs is None:
        return None
    if not isinstance(graphs, (list, tuple)):
        graphs = [graphs]
    return tuple(None if isinstance(g, ox.DefaultGraph) else g.value if isinstance(g, ox.NamedNode) else str(g)
                 for g in graphs)


def ox_results_media_types() -> tuple[str, ...]:
    return ("application/sparql-results+json", "application/sparql-results+xml", "text/tab-separated-values")


def _start_of_body(response) -> str:
    """The start of an error answer on one line, for a message (a remote's body may hold anything)."""
    try:
        data = response.raw.read(2000, decode_content=True)
    finally:
        response.close()
    return " ".join(data.decode("utf-8", "replace").split())


def _relay(response, formats: Mapping[str, str | None], emit) -> None:
    """Parse a remote answer as it arrives and re-serialize it in the chosen media type.

    Raises:
        RemoteStoreError: the answer's media type is none a SPARQL result or graph comes in.
        SyntaxError, ValueError, or what reading failed with: the answer broke off or does not parse.
    """
    response.raw.decode_content = True
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    try:
        if content_type in ox_results_media_types():
            result = ox.parse_query_results(response.raw, ox.QueryResultsFormat.from_media_type(content_type))
            kind = kind_of(result)
        else:
            rdf_format = ox.RdfFormat.from_media_type(content_type or "application/n-triples")
            if rdf_format is None:
                raise RemoteStoreError(f"{BEHIND} failed: it answered in a media type that is no query result",
                                       operator_detail=f"the remote store answered a query with Content-Type "
                                       f"{content_type!r}")
            result = (q.triple for q in ox.parse(response.raw, rdf_format))
            kind = "graph"
        media_type = formats.get(kind)
        if media_type is None:
            emit(("error", "not-acceptable", kind))
            return
        emit(("head", kind, media_type))
        writer = ChunkWriter(emit)
        if kind == "graph":
            # Declared and used as the embedded store's answers are (kg/query_worker.py): the remote store's own
            # prefixes were lost in parsing, and a reader of Turtle should not get full IRIs from one backend only.
            graph_format = ox.RdfFormat.from_media_type(media_type)
            if graph_format in PREFIXED_FORMATS:
                ox.serialize(result, writer, graph_format, prefixes=PREFIXES)
            else:
                ox.serialize(result, writer, graph_format)
        else:
            result.serialize(writer, ox.QueryResultsFormat.from_media_type(media_type))
        writer.flush()
        emit(("end",))
    finally:
        response.close()


# --- opening -----------------------------------------------------------------------------------------


def open_store(settings: Settings):
    """Open the store named by settings.store for direct use (CLI, import, tests): no worker processes."""
    if settings.is_remote:
        return RemoteStore.from_setting(settings.store, allowlist=settings.service_allowlist,
                                        timeout=settings.query_timeout, auth=settings.remote_auth)
    return EmbeddedStore(settings.store, allowlist=settings.service_allowlist, timeout=settings.query_timeout)
