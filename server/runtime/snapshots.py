"""Read-only snapshots of the on-disk store: how the writer publishes them and how readers follow the newest.

An on-disk Oxigraph store opens read-write in one process only, but any number of processes may open an
immutable RocksDB checkpoint read-only. So the single writer publishes a checkpoint (hard links, taken in
milliseconds) after every write, and every reader answers from the newest one it has seen.

Layout of the snapshot directory:
  {generation}/       one checkpoint, never changed after it is published
  {generation}.lock   readers hold a shared flock on it while they have that checkpoint open
  CURRENT             the newest generation's name (replaced atomically)
  counter             8 bytes the writer bumps after replacing CURRENT; readers map it, so noticing a
                      new snapshot costs a memory read per request instead of a system call
"""

from __future__ import annotations

import fcntl
import mmap
import os
import shutil
import struct
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from kg.errors import StoreUnavailable

if TYPE_CHECKING:
    import pyoxigraph as ox

POINTER = "CURRENT"
COUNTER = "counter"
_COUNTER_FORMAT = "<Q"
_OPEN_ATTEMPTS = 20


def snapshot_directory(store: str | Path) -> Path:
    """Name the directory that holds a store's published snapshots (beside it, so hard links work)."""
    store = Path(store)
    return store.parent / f".{store.name}.snapshots"


class Publisher:
    """The writer's side: publish checkpoints of the read-write store and delete those no reader holds."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        shutil.rmtree(directory, ignore_errors=True)  # left over from a previous run: no reader can hold it
        directory.mkdir(parents=True)
        counter = directory / COUNTER
        counter.write_bytes(bytes(struct.calcsize(_COUNTER_FORMAT)))
        self._counter_file = open(counter, "r+b")
        self._counter = mmap.mmap(self._counter_file.fileno(), 0)
        self._published = 0
        self.current: str | None = None

    def publish(self, store: ox.Store, generation: str) -> None:
        """Checkpoint `store` as `generation` and make it the one readers move to (call with writes held)."""
        target = self.directory / generation
        (self.directory / f"{generation}.lock").touch()
        store.backup(str(target))
        pointer = self.directory / f"{POINTER}.new"
        pointer.write_text(generation, encoding="utf-8")
        os.replace(pointer, self.directory / POINTER)
        # Bumped only after CURRENT names the new snapshot, so a reader that sees the bump reads the new name.
        self._published += 1
        struct.pack_into(_COUNTER_FORMAT, self._counter, 0, self._published)
        self.current = generation
        self.collect()

    def collect(self) -> None:
        """Delete every snapshot but the current one that no reader holds open."""
        for lock in self.directory.glob("*.lock"):
            generation = lock.name.removesuffix(".lock")
            if generation == self.current:
                continue
            try:
                fd = os.open(lock, os.O_RDONLY)
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)  # a reader still answers from it
                continue
            try:
                shutil.rmtree(self.directory / generation, ignore_errors=True)
                lock.unlink(missing_ok=True)  # a reader blocked on this lock sees it unlinked and looks again
            finally:
                os.close(fd)

    def close(self) -> None:
        """Stop publishing and delete every snapshot."""
        self._counter.close()
        self._counter_file.close()
        shutil.rmtree(self.directory, ignore_errors=True)


class Follower:
    """A reader's side: the newest published snapshot, opened read-only and held until a newer one appears."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        try:
            self._counter_file = open(directory / COUNTER, "rb")
        except FileNotFoundError:
            raise StoreUnavailable(f"no store snapshot has been published in {directory}") from None
        self._counter = mmap.mmap(self._counter_file.fileno(), 0, access=mmap.ACCESS_READ)
        self._seen: int | None = None
        self._lock_fd: int | None = None
        self._store: ox.Store | None = None
        self._moving = threading.Lock()
        self.generation: str | None = None

    def store(self) -> ox.Store:
        """Give the newest snapshot, moving to it first if the writer published one since the last call.

        Raises:
            StoreUnavailable: the snapshot cannot be opened.
        """
        published = struct.unpack_from(_COUNTER_FORMAT, self._counter, 0)[0]
        if published != self._seen or self._store is None:
            with self._moving:
                self._move()
                self._seen = published  # read before CURRENT, so a publish in between is caught next time
        return self._store

    def _move(self) -> None:
        import pyoxigraph as ox  # here, so that the server's master process, which only names paths, stays small

        for _ in range(_OPEN_ATTEMPTS):
            generation = (self.directory / POINTER).read_text(encoding="utf-8")
            if generation == self.generation:
                return
            try:
                fd = os.open(self.directory / f"{generation}.lock", os.O_RDONLY)
            except FileNotFoundError:
                continue  # collected between reading CURRENT and opening: CURRENT has moved on
            fcntl.flock(fd, fcntl.LOCK_SH)
            if os.fstat(fd).st_nlink == 0:
                os.close(fd)  # the writer deleted it while we waited for the lock
                continue
            try:
                store = ox.Store.read_only(str(self.directory / generation))
            except OSError as e:
                os.close(fd)
                raise StoreUnavailable(f"cannot open the store snapshot {generation}: {e}") from e
            self._release()
            self._store, self._lock_fd, self.generation = store, fd, generation
            return
        raise StoreUnavailable(f"the store snapshots in {self.directory} changed too fast to open one")

    def _release(self) -> None:
        self._store = None  # closes the old snapshot before its lock lets the writer delete it
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def close(self) -> None:
        """Let go of the snapshot (so the writer may delete it) and of the counter."""
        self._release()
        self.generation = None
        self._counter.close()
        self._counter_file.close()
