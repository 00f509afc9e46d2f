"""What a worker process knows about itself: draining, reloading, its id.

The server (``gateway.observability.server``) and the app share one ``WorkerControl`` per
process: the server starts the drain on SIGTERM and asks for a reload on SIGHUP; the app
answers ``/readyz`` from it and registers the reload it knows how to do.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["WorkerControl", "process_control"]

log = logging.getLogger("gateway.server")

Reload = Callable[[str], Awaitable[Any]]


class WorkerControl:
    def __init__(self, *, supervisor_pid: int | None = None) -> None:
        self.pid = os.getpid()
        # the multi-worker supervisor, when there is one: SIGHUP to it reaches every worker
        self.supervisor_pid = supervisor_pid
        self.draining_since: float | None = None
        self.reload: Reload | None = None

    @property
    def draining(self) -> bool:
        return self.draining_since is not None

    def begin_drain(self, drain_seconds: float) -> None:
        """Readiness answers 503 from now on; the listener stays open for ``drain_seconds``."""
        if self.draining_since is None:
            self.draining_since = time.monotonic()
            log.info("draining: /readyz answers 503 for %g s, then the listener closes",
                     drain_seconds, extra={"event": "drain_started", "pid": self.pid,
                                           "drain_seconds": drain_seconds})

    def notify_siblings(self) -> bool:
        """Ask the supervisor to send SIGHUP to every worker (this one finds nothing new)."""
        if self.supervisor_pid is None:
            return False
        try:
            os.kill(self.supervisor_pid, signal.SIGHUP)
        except ProcessLookupError:
            return False
        return True

    async def reload_requested(self, origin: str) -> Any:
        """Reload the configuration file (SIGHUP); nothing to do before the app registered."""
        if self.reload is None:
            log.warning("reload requested before the app started; ignored",
                        extra={"event": "config_reload", "outcome": "ignored"})
            return None
        return await self.reload(origin)


_process: WorkerControl | None = None


def process_control(supervisor_pid: int | None = None) -> WorkerControl:
    """The one ``WorkerControl`` of this process (made on first use)."""
    global _process
    if _process is None or _process.pid != os.getpid():
        _process = WorkerControl(supervisor_pid=supervisor_pid)
    return _process
