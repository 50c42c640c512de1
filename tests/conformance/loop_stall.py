"""A health poller: how long the server's event loop was stalled while something else ran.

One thread sends `GET /__admin/health` back to back on a keep-alive connection. Health answers at
once unless the loop is busy with something else, so the slowest round trip is (at least) the
longest stall of the loop during the polling. The issue's bar: no single request may stall the
loop for more than 100 ms.
"""

from __future__ import annotations

import http.client
import threading
import time
from types import TracebackType

STALL_LIMIT = 0.100  # seconds


class HealthPoller:
    def __init__(self, port: int) -> None:
        self.port = port
        self.round_trips: list[float] = []
        self._stop = threading.Event()
        self._first = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="health-poller", daemon=True)
        self.error: BaseException | None = None

    def __enter__(self) -> HealthPoller:
        self._thread.start()
        if not self._first.wait(30):
            raise AssertionError("the health poller got no first answer")
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(60)
        if self.error is not None and kind is None:
            raise AssertionError(f"the health poller failed: {self.error!r}")

    @property
    def worst(self) -> float:
        return max(self.round_trips, default=0.0)

    def _poll(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            while not self._stop.is_set():
                started = time.perf_counter()
                connection.request("GET", "/__admin/health")
                response = connection.getresponse()
                response.read()
                self.round_trips.append(time.perf_counter() - started)
                self._first.set()
        except BaseException as error:  # reported by __exit__
            self.error = error
            self._first.set()
        finally:
            connection.close()
