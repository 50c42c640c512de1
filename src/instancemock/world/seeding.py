"""Seeding off the server process: worlds generated in forked processes and sent back in parts.

Generating a world is pure CPU (100,000 instances per API take seconds each), so at start-up the
worlds are made in forked processes, side by side on the machine's CPUs and at the same time as
the server loads its specs. A child sends each world back as marshalled messages:
`("world", platform)`, then `("part", collection, [(key, document), ...])` with at most `PART`
documents each, then `("done", platform, seconds)`, or `("failed", platform, reason)`. The server
unmarshals one part at a time, so bringing in even a large world never holds its event loop for
more than a few milliseconds at a stretch (`Assembly`, used by state.py's `State.absorb`).
"""

from __future__ import annotations

import gc
import marshal
import multiprocessing
import os
import queue
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from instancemock.world.store import MemoryStore

PART = 2_000  # documents per message: ~5-20 ms to unmarshal

Message = tuple[Any, ...]
World = dict[str, dict[str, dict[str, Any]]]
Job = tuple[str, Callable[[], World]]  # (platform, make its world)
Draw = tuple[str, Callable[[], Any]]  # (platform, draw its large world as data: a seeder's `prepare`)


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def spare_cpus() -> int:
    """CPUs beyond this process's own that forked seeders could use (0 where there is no fork)."""
    if not can_fork():
        return 0
    return len(os.sched_getaffinity(0)) - 1


class Child:
    """A forked process that seeds its platforms one after another and sends each world back in parts.

    A thread reads its messages as they come, from the moment it starts: a child must never wait
    for the server to read (a pipe holds 64 KiB), or its next world would only be seeded once the
    server got round to the first.
    """

    def __init__(self, process: BaseProcess, reader: Connection, platforms: list[str]) -> None:
        self.process = process
        self.platforms = platforms
        self._reader = reader
        self._inbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        threading.Thread(target=self._read, name=f"seeding-{'-'.join(platforms)}", daemon=True).start()

    @classmethod
    def start(cls, jobs: Sequence[Job]) -> Child:
        return cls._fork(_seed_and_send, jobs)

    @classmethod
    def start_drawing(cls, jobs: Sequence[Draw]) -> Child:
        """A child that only draws large worlds (a seeder's `prepare`: world/replica.py) and sends
        each as one message, `("drawn", platform, data, seconds)` (or `("failed", platform,
        reason)`), in the order of `jobs`: the server makes the world of it (`assemble`), since
        its copies exist only in the process that made them."""
        return cls._fork(_draw_and_send, jobs)

    @classmethod
    def _fork(cls, target: Callable[[list[Any], Connection], None], jobs: Sequence[tuple[str, Any]]) -> Child:
        fork = multiprocessing.get_context("fork")
        reader, writer = fork.Pipe(duplex=False)
        process = fork.Process(target=target, args=(list(jobs), writer), daemon=True)
        process.start()
        writer.close()
        return cls(process, reader, [platform for platform, _ in jobs])

    def receive(self) -> bytes | None:
        """The next message, still marshalled (waiting for it); None once the child has sent everything."""
        return self._inbox.get()

    def receive_kept(self) -> bytes | None:
        """`receive`, where the end (None) is seen again by the next call too."""
        payload = self._inbox.get()
        if payload is None:
            self._inbox.put(None)
        return payload

    def receive_waiting(self, most: int = 64) -> list[bytes]:
        """The next message and those already in behind it (one thread hand-off for many, not one each);
        empty once the child has sent everything."""
        first = self.receive()
        batch = [first] if first is not None else []
        while first is not None and len(batch) < most:
            try:
                payload = self._inbox.get_nowait()
            except queue.Empty:
                break
            if payload is None:
                self._inbox.put(None)  # seen again by the next call
                break
            batch.append(payload)
        if first is None:
            self._inbox.put(None)
        return batch

    def close(self) -> None:
        self.process.join()

    def stop(self) -> None:
        """End the child now (the server is stopping and no longer wants its worlds)."""
        if self.process.is_alive():
            self.process.kill()

    def _read(self) -> None:
        try:
            while True:
                self._inbox.put(self._reader.recv_bytes())
        except (EOFError, OSError):
            pass
        finally:
            self._reader.close()
            self._inbox.put(None)


class Assembly:
    """The worlds arriving from one child, part by part, each into a fresh store (`make(platform)`)."""

    def __init__(self, make: Callable[[str], MemoryStore] = lambda platform: MemoryStore()) -> None:
        self._make = make
        self._store: MemoryStore | None = None

    def take(self, message: Message) -> tuple[str, MemoryStore | None, float] | None:
        """Fold in one message; returns (platform, world, seconds) when a world is complete (None: failed)."""
        kind = message[0]
        if kind == "world":
            self._store = self._make(message[1])
        elif kind == "part" and self._store is not None:
            self._store.extend(message[1], message[2])
        elif kind == "done" and self._store is not None:
            store, self._store = self._store, None
            return message[1], store, float(message[2])
        elif kind == "failed":
            self._store = None
            return message[1], None, 0.0
        return None


def parts(platform: str, world: World, seconds: float) -> Iterator[bytes]:
    """The messages that carry `world`, marshalled."""
    yield marshal.dumps(("world", platform))
    for collection, documents in world.items():
        items = list(documents.items())
        if not items:
            yield marshal.dumps(("part", collection, []))
        for start in range(0, len(items), PART):
            yield marshal.dumps(("part", collection, items[start : start + PART]))
    yield marshal.dumps(("done", platform, seconds))


def _seed_and_send(jobs: list[Job], writer: Connection) -> None:
    gc.disable()  # the child lives only to seed: a collection would walk every document made so far
    try:
        for platform, make in jobs:
            started = time.perf_counter()
            try:
                world = make()
                for message in parts(platform, world, time.perf_counter() - started):
                    writer.send_bytes(message)
            except (BrokenPipeError, ConnectionError):
                raise
            except Exception:  # the parent seeds again in-process, where the error surfaces properly
                writer.send_bytes(marshal.dumps(("failed", platform, traceback.format_exc(limit=3))))
    except (BrokenPipeError, ConnectionError):  # the server went away: nobody to send to
        pass
    finally:
        writer.close()


def _draw_and_send(jobs: list[Draw], writer: Connection) -> None:
    gc.disable()
    try:
        for platform, draw in jobs:
            started = time.perf_counter()
            try:
                message = marshal.dumps(("drawn", platform, draw(), time.perf_counter() - started))
            except Exception:  # the server makes the world itself, where the error surfaces properly
                message = marshal.dumps(("failed", platform, traceback.format_exc(limit=3)))
            writer.send_bytes(message)
    except (BrokenPipeError, ConnectionError):  # the server went away: nobody to send to
        pass
    finally:
        writer.close()
