"""Query worker processes for the served embedded store, so that a query past its timeout can be killed.

pyoxigraph cannot cancel a running query, and a thread cannot be killed, so each query runs in one of a
few long-lived worker processes; at the deadline the server kills that process (the query's work
really stops) and starts a fresh one, while the other workers go on answering.

An on-disk Oxigraph store can be opened read-write by one process only. The serving process keeps
that handle and makes every write itself; after each write it publishes a RocksDB checkpoint (hard
links, milliseconds) as the new snapshot. Workers open snapshots read-only, which is safe because a
snapshot never changes, and move to the newest one with their next job. Old snapshots are deleted
once no worker has them open.
"""

from __future__ import annotations

import multiprocessing
import queue
import shutil
import threading
import time
import weakref
from pathlib import Path

from kg.errors import QueryTimeout, StoreUnavailable
from kg.query_worker import worker_main
import pyoxigraph as ox

from kg.store import (
    MACHINE_FORMATS,
    Dataset,
    EmbeddedStore,
    QueryOutput,
    _retry_on_substitution,
    as_result_objects,
    graph_names,
    read_output,
)

# "spawn": a forked child would inherit the parent's open RocksDB handle, which is not fork-safe.
_CONTEXT = multiprocessing.get_context("spawn")


class _Worker:
    """One query process and the pipe to it."""

    def __init__(self) -> None:
        self.connection, child = _CONTEXT.Pipe()
        self.process = _CONTEXT.Process(target=worker_main, args=(child,), daemon=True, name="coprokg-query-worker")
        self.process.start()
        child.close()
        self.snapshot: str | None = None  # the snapshot its last job used (and it still has open)

    def kill(self) -> None:
        self.process.kill()
        self.process.join(timeout=5)
        self.connection.close()


class QueryPool:
    """A fixed number of worker processes; a killed or crashed one is replaced in the background."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False
        for _ in range(size):
            self._add()

    def _add(self) -> None:
        worker = _Worker()
        with self._lock:
            if self._closed:
                worker.kill()
                return
            self._all.add(worker)
        self._idle.put(worker)

    def acquire(self, deadline: float, timeout: float) -> _Worker:
        """Take an idle worker, waiting until the deadline at most.

        Raises:
            QueryTimeout: every worker stayed busy until the deadline.
        """
        try:
            return self._idle.get(timeout=max(deadline - time.monotonic(), 0.0))
        except queue.Empty:
            raise QueryTimeout(f"all {self.size} query workers stayed busy for the {timeout:g} s limit") from None

    def release(self, worker: _Worker) -> None:
        self._idle.put(worker)

    def discard(self, worker: _Worker) -> None:
        """Kill a worker (its query overran or its reader left) and start its replacement."""
        with self._lock:
            self._all.discard(worker)
        worker.kill()
        if not self._closed:
            threading.Thread(target=self._add, daemon=True, name="coprokg-worker-spawn").start()

    def snapshots_in_use(self) -> set[str]:
        with self._lock:
            return {w.snapshot for w in self._all if w.snapshot is not None}

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers, self._all = list(self._all), set()
        for worker in workers:
            worker.kill()


class _ProcessChannel:
    """The messages of one job running in a worker process."""

    def __init__(self, pool: QueryPool, worker: _Worker) -> None:
        self.pool, self.worker = pool, worker

    def receive(self, timeout: float) -> tuple:
        if not self.worker.connection.poll(timeout):
            raise TimeoutError
        try:
            return self.worker.connection.recv()
        except (EOFError, OSError):
            self.pool.discard(self.worker)
            return ("error", "unavailable", "the query worker process died")

    def done(self) -> None:
        self.pool.release(self.worker)

    def abort(self) -> None:
        self.pool.discard(self.worker)


class PooledStore(EmbeddedStore):
    """An on-disk EmbeddedStore whose queries run in killable worker processes, on snapshots."""

    def __init__(self, path: str | Path, *, workers: int = 2, allowlist: tuple[str, ...] = (),
                 timeout: float = 30.0) -> None:
        super().__init__(path, allowlist=allowlist, timeout=timeout)
        self._snapshots = self.path.parent / f".{self.path.name}.snapshots"
        shutil.rmtree(self._snapshots, ignore_errors=True)  # left over from a previous run
        self._snapshots.mkdir(parents=True)
        self._snapshot_lock = threading.Lock()
        self._current: str | None = None
        self._dirty = False
        self._workers = workers
        self._pool: QueryPool | None = None
        self._pool_lock = threading.Lock()
        self._publish()
        # The finalizer reaches the pool through this list, so it does not keep the store alive.
        self._pools: list[QueryPool] = []
        self._finalizer = weakref.finalize(self, _shutdown, self._pools, self._snapshots)

    def _get_pool(self) -> QueryPool:
        # Started on first use, so stores that are never queried cost no processes.
        with self._pool_lock:
            if self._pool is None:
                self._pool = QueryPool(self._workers)
                self._pools.append(self._pool)
            return self._pool

    def start(self) -> None:
        """Start the worker processes now rather than on the first query."""
        self._get_pool()

    def _wrote(self) -> None:
        super()._wrote()
        # Published lazily by the next query, so a burst of writes costs one snapshot.
        self._dirty = True

    def _publish(self) -> None:
        """Publish the current state as a new read-only snapshot for the workers."""
        with self._write_lock, self._snapshot_lock:  # no write may land between checkpoint and bookkeeping
            self._dirty = False
            target = self._snapshots / f"v{self._writes}-{time.time_ns()}"
            self.ox.backup(str(target))
            self._current = str(target)
        self._collect()

    def _collect(self) -> None:
        """Delete the snapshots that are neither current nor open in a worker."""
        in_use = self._pool.snapshots_in_use() if self._pool is not None else set()
        with self._snapshot_lock:
            keep = in_use | {self._current}
            for directory in self._snapshots.iterdir():
                if str(directory) not in keep:
                    shutil.rmtree(directory, ignore_errors=True)

    def _run(self, job: dict) -> QueryOutput | None:
        """Run a job in a worker process; at the deadline the process is killed."""
        pool = self._get_pool()
        deadline = time.monotonic() + self.timeout
        if self._dirty:
            self._publish()
        worker = pool.acquire(deadline, self.timeout)
        with self._snapshot_lock:
            moved = worker.snapshot not in (None, self._current)
            job["snapshot"] = worker.snapshot = self._current
        try:
            worker.connection.send(job)
        except (OSError, ValueError) as e:
            pool.discard(worker)
            raise StoreUnavailable(f"cannot reach a query worker: {e}") from e
        remaining = max(deadline - time.monotonic(), 0.001)
        output = _retry_on_substitution(lambda: read_output(_ProcessChannel(pool, worker), remaining))
        if moved:
            self._collect()  # the worker let go of its old snapshot
        return output

    def query(self, sparql: str, *, union_default_graph: bool = True, substitutions=None, **options):
        """Run a query in a worker process (under the timeout) and give pyoxigraph result objects."""
        default_graph, named_graphs = options.pop("default_graph", None), options.pop("named_graphs", None)
        if default_graph is None and not union_default_graph:
            default_graph = [ox.DefaultGraph()]
        dataset = Dataset(graph_names(default_graph), graph_names(named_graphs))
        output = self.execute(sparql, MACHINE_FORMATS, dataset=dataset, substitutions=substitutions,
                              base_iri=options.get("base_iri"))
        return as_result_objects(output)

    def close(self) -> None:
        self._finalizer()
        super().close()


def _shutdown(holder: list, snapshots: Path) -> None:
    for pool in holder:
        pool.close()
    shutil.rmtree(snapshots, ignore_errors=True)
