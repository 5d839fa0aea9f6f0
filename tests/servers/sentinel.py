"""A local Sentinel group: one primary, one replica and N sentinels monitoring them."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.servers.binaries import HOST, Engine, ServerBinary, find_binary
from tests.servers.process import (
    DEFAULT_STARTUP_TIMEOUT,
    LocalServer,
    StopsOnExit,
    as_str,
    launch,
    start_server,
    wait_for,
)

__all__ = ["SentinelGroup", "start_sentinel_group"]


class SentinelGroup(StopsOnExit):
    """A primary, one replica and N sentinels monitoring them.

    ``sentinel_url`` uses the form
    ``redis+sentinel://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3/mymaster``:
    comma-separated sentinel ``host:port`` pairs, then the master (service)
    name as the path.  ``sentinel_addresses`` gives the same pairs as tuples
    for ``redis.sentinel.Sentinel``.
    """

    def __init__(
        self,
        engine: Engine,
        primary: LocalServer,
        replica: LocalServer,
        sentinels: list[LocalServer],
        master_name: str,
    ) -> None:
        self.engine: Engine = engine
        self.primary = primary
        self.replica = replica
        self.sentinels = sentinels
        self.master_name = master_name

    @property
    def sentinel_addresses(self) -> list[tuple[str, int]]:
        """``[(host, port), ...]`` of the sentinels."""
        return [(s.host, s.port) for s in self.sentinels]

    @property
    def sentinel_url(self) -> str:
        """``redis+sentinel://h1:p1,h2:p2,.../<master_name>``."""
        hosts = ",".join(f"{h}:{p}" for h, p in self.sentinel_addresses)
        return f"redis+sentinel://{hosts}/{self.master_name}"

    @property
    def nodes(self) -> list[LocalServer]:
        """Every process of the group (data nodes first)."""
        return [self.primary, self.replica, *self.sentinels]

    def stop(self) -> None:
        """Stop sentinels first (so they do not fail over), then the data nodes."""
        for server in [*self.sentinels, self.replica, self.primary]:
            server.stop()


def _start_sentinel(engine: Engine, binary: ServerBinary, monitor: Sequence[str]) -> LocalServer:
    """One sentinel node; ``monitor`` is the ``sentinel ...`` lines every node shares."""

    def build(p: int, directory: str) -> tuple[list[str], dict[str, Any]]:
        conf = os.path.join(directory, "sentinel.conf")
        # Sentinel rewrites its config file at run time, so it must live in
        # the node's own writable directory.
        lines = [
            f"port {p}",
            f"bind {HOST}",
            "protected-mode no",
            "daemonize no",
            f"dir {directory}",
            f"logfile {os.path.join(directory, 'server.log')}",
            *monitor,
        ]
        Path(conf).write_text("\n".join(lines) + "\n")
        # No modules in sentinel mode: only the plain executable is needed.
        return [binary.path, conf, "--sentinel"], {}

    return launch(engine, build, binary, label="-sentinel", timeout=DEFAULT_STARTUP_TIMEOUT)


def start_sentinel_group(
    engine: Engine,
    *,
    sentinels: int = 3,
    master_name: str = "mymaster",
    down_after_ms: int = 2000,
    failover_timeout_ms: int = 5000,
    extra_args: Sequence[str] = (),
    timeout: float = 30.0,
) -> SentinelGroup:
    """Start primary + replica + ``sentinels`` sentinels and wait until settled.

    Quorum is a majority of the sentinels (2 of 3).  Short down-after and
    failover timeouts keep failover tests fast.  Returns only after every
    sentinel reports the master, has discovered the replica and the other
    sentinels, and the replica's link is up -- otherwise a failover test could
    start before the sentinels can agree.
    """
    if sentinels < 1:
        raise ValueError("need at least one sentinel")
    binary = find_binary(engine)
    quorum = sentinels // 2 + 1
    started: list[LocalServer] = []
    try:
        primary = start_server(engine, extra_args=extra_args)
        started.append(primary)
        replica = start_server(
            engine, extra_args=["--replicaof", HOST, str(primary.port), *extra_args]
        )
        started.append(replica)
        monitor = [
            f"sentinel monitor {master_name} {HOST} {primary.port} {quorum}",
            f"sentinel down-after-milliseconds {master_name} {down_after_ms}",
            f"sentinel failover-timeout {master_name} {failover_timeout_ms}",
            f"sentinel parallel-syncs {master_name} 1",
        ]
        sentinel_nodes: list[LocalServer] = []
        for _ in range(sentinels):
            node = _start_sentinel(engine, binary, monitor)
            started.append(node)
            sentinel_nodes.append(node)
        group = SentinelGroup(engine, primary, replica, sentinel_nodes, master_name)
        _wait_sentinels(group, timeout)
    except BaseException:
        for server in reversed(started):
            server.stop()
        raise
    return group


def _wait_sentinels(group: SentinelGroup, timeout: float) -> None:
    name = group.master_name
    expected_peers = len(group.sentinels) - 1

    def settled() -> bool:
        with group.replica.client() as conn:
            if conn.info("replication").get("master_link_status") != "up":
                return False
        for sentinel in group.sentinels:
            with sentinel.client() as conn:
                addr = conn.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", name)
                if not addr or int(as_str(addr[1])) != group.primary.port:
                    return False
                replicas = conn.execute_command("SENTINEL", "REPLICAS", name)
                peers = conn.execute_command("SENTINEL", "SENTINELS", name)
            if len(replicas) < 1 or len(peers) < expected_peers:
                return False
        return True

    def describe() -> str:
        return "\n".join(s.log_tail(10) for s in group.sentinels)

    wait_for("sentinels to discover master, replica and each other", settled, timeout, describe)
