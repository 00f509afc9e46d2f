"""uvicorn with a graceful drain and an in-process reload, for one worker or several.

uvicorn closes its listener as soon as SIGTERM arrives, so a balancer still sending
traffic gets connection refused before it has seen the replica go unready. Here SIGTERM
starts a drain instead: ``/readyz`` answers 503 ``draining`` for ``drain_seconds`` while
every request is still served, then the listener closes, requests in flight get
``graceful_timeout_seconds`` to finish, and the app's lifespan closes its pools and
subscriptions. More SIGTERMs during the drain change nothing (systemd and ``kill`` of a
process group send one to the supervisor and to every worker at once); SIGINT skips the
rest of the drain.

SIGHUP reloads the configuration file inside each worker (see ``gateway.observability.
reload``); uvicorn's supervisor would restart every worker instead. With several
workers the supervisor forwards SIGHUP and SIGTERM to each of them, and drops a dead
worker's live gauges from the shared metrics directory.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Generator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import uvicorn
from uvicorn.supervisors.multiprocess import Multiprocess, Process

from gateway.metrics import mark_worker_dead
from gateway.observability.control import WorkerControl, process_control

__all__ = ["DrainingProcess", "DrainingServer", "Supervisor", "run"]

log = logging.getLogger("gateway.server")


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, *, drain_seconds: float,
                 supervisor_pid: int | None = None) -> None:
        super().__init__(config)
        self.drain_seconds = drain_seconds
        self.supervisor_pid = supervisor_pid
        self._reload_requested = False
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def control(self) -> WorkerControl:
        return process_control(self.supervisor_pid)

    @contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = signal.signal(signal.SIGHUP, self._handle_hup)
        try:
            with super().capture_signals():
                yield
        finally:
            signal.signal(signal.SIGHUP, previous)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        control = self.control
        if sig == signal.SIGTERM and self.drain_seconds > 0:
            if not control.draining:
                # uvicorn re-raises captured signals once shut down: the exit stays SIGTERM's
                self._captured_signals.append(sig)
                control.begin_drain(self.drain_seconds)
            return
        super().handle_exit(sig, frame)

    def _handle_hup(self, sig: int, frame: FrameType | None) -> None:
        self._reload_requested = True

    async def on_tick(self, counter: int) -> bool:
        if self._reload_requested:
            self._reload_requested = False
            task = asyncio.create_task(self.control.reload_requested("SIGHUP"))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        since = self.control.draining_since
        if since is not None and time.monotonic() - since >= self.drain_seconds:
            self.should_exit = True
        return await super().on_tick(counter)


class DrainingProcess(Process):
    """A uvicorn worker process whose server is a ``DrainingServer``."""

    def __init__(self, config: uvicorn.Config, sockets: list[socket.socket], *,
                 drain_seconds: float, supervisor_pid: int) -> None:
        self.drain_seconds = drain_seconds
        self.supervisor_pid = supervisor_pid
        super().__init__(config, sockets)

    @property
    def server(self) -> uvicorn.Server:
        if self._server is None:
            self._server = DrainingServer(self.config, drain_seconds=self.drain_seconds,
                                          supervisor_pid=self.supervisor_pid)
        return self._server


class Supervisor(Multiprocess):
    """uvicorn's multi-worker supervisor, with draining workers and SIGHUP forwarded."""

    def __init__(self, config: uvicorn.Config, sockets: list[socket.socket], *,
                 drain_seconds: float, graceful_timeout_seconds: float) -> None:
        super().__init__(config, sockets)
        self.drain_seconds = drain_seconds
        # a worker past drain + grace + this is hung: kill it rather than wait forever
        self.join_timeout = drain_seconds + graceful_timeout_seconds + 10

    def _process(self) -> Process:
        return DrainingProcess(self.config, self.sockets, drain_seconds=self.drain_seconds,
                               supervisor_pid=os.getpid())

    def init_processes(self) -> None:
        for _ in range(self.processes_num):
            process = self._process()
            process.start()
            self.processes.append(process)

    def handle_hup(self) -> None:
        log.info("SIGHUP: reloading the configuration in every worker",
                 extra={"event": "config_reload_requested", "workers": len(self.processes)})
        for process in self.processes:
            if process.pid is not None and process.exitcode is None:
                os.kill(process.pid, signal.SIGHUP)

    def join_all(self) -> None:
        for process in self.processes:
            process.process.join(self.join_timeout)
            if process.process.exitcode is None:
                log.error("worker %s still running after the drain and grace: killed",
                          process.pid, extra={"event": "worker_killed", "pid": process.pid})
                process.process.kill()
                process.process.join()
            if process.pid is not None:
                mark_worker_dead(process.pid)

    def keep_subprocess_alive(self) -> None:
        if self.should_exit.is_set():
            return
        for idx, process in enumerate(self.processes):
            if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            process.kill()
            process.join()
            if process.pid is not None:
                mark_worker_dead(process.pid)
            if process.exitcode == uvicorn.config.STARTUP_FAILURE:
                log.error("worker %s failed to start; stopping", process.pid,
                          extra={"event": "worker_failed", "pid": process.pid})
                self.should_exit.set()
                return
            log.warning("worker %s died; starting another", process.pid,
                        extra={"event": "worker_died", "pid": process.pid})
            replacement = self._process()
            replacement.start()
            self.processes[idx] = replacement

    def handle_ttin(self) -> None:
        self.processes_num += 1
        process = self._process()
        process.start()
        self.processes.append(process)


def run(config: uvicorn.Config, *, drain_seconds: float,
        graceful_timeout_seconds: float) -> None:
    """Serve ``config`` (its ``workers`` decide between one process and a supervisor)."""
    config.timeout_graceful_shutdown = int(graceful_timeout_seconds)
    if config.workers > 1:
        sock = config.bind_socket()
        Supervisor(config, [sock], drain_seconds=drain_seconds,
                   graceful_timeout_seconds=graceful_timeout_seconds).run()
        return
    DrainingServer(config, drain_seconds=drain_seconds).run()
