"""Fault injection with real servers: crash, cut connections, stalls, failover, resharding.

Each test runs :class:`tests._async.workload.Workload` (put + put_writes per step),
injects one fault, then reads back every acknowledged write, and writes what happened
to ``.cache/reliability/<fault>.json`` (``report.md`` sums them up; docs/reliability.md
quotes it). Async only: the sync code path is the same runner, generated.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest
from redis.crc import key_slot

from langgraph_redis import AsyncRedisSaver, NotReplicatedError, RecoveryTimeout
from langgraph_redis._core.checkpoint.keys import ThreadKeys
from tests._async.test_saver import config, snapshot
from tests._async.workload import Workload
from tests.proxy import FaultProxy, saver_behind_proxy
from tests.servers import (
    Engine,
    LocalCluster,
    LocalServer,
    require_engine,
    start_cluster,
    start_server,
)

pytestmark = pytest.mark.faults

ENGINE: Engine = "valkey"

HANG_GUARD = 60.0
"""Seconds after which a call that should end by itself counts as hanging (not a timing
check: the expected bounds are 1-2 s, so no machine load comes near it)."""


@pytest.fixture
def aof_server() -> Iterator[LocalServer]:
    require_engine(ENGINE)
    args = ["--appendonly", "yes", "--appendfsync", "always"]
    with start_server(ENGINE, extra_args=args) as server:
        yield server


@pytest.fixture
def plain_server() -> Iterator[LocalServer]:
    require_engine(ENGINE)
    with start_server(ENGINE) as server:
        yield server


@pytest.fixture
def own_cluster() -> Iterator[LocalCluster]:
    require_engine(ENGINE)
    with start_cluster(ENGINE, masters=3, replicas_per_master=1) as started:
        yield started


async def test_crash_with_aof(aof_server: LocalServer) -> None:
    """SIGKILL mid-workload, restart on the same AOF: every acknowledged put survives."""

    def crash() -> None:
        aof_server.kill()
        aof_server.restart()

    async with AsyncRedisSaver.from_conn_string(aof_server.url, prefix="crash") as saver:
        work = Workload(saver)
        await work.run(30)
        await work.run(30, {0: ("SIGKILL + restart (appendfsync always)", crash)})
        lost = await work.verify()
    data = work.report("crash-aof", lost=lost)
    assert not lost and not work.errors, data


async def test_connection_cut_mid_pipeline(plain_server: LocalServer) -> None:
    """The server runs the pipeline but the reply never arrives: the retry must not
    duplicate anything (put is keyed by id, put_writes uses HSETNX)."""
    with FaultProxy(plain_server.host, plain_server.port) as proxy:
        async with AsyncRedisSaver.from_conn_string(proxy.url, prefix="cut") as saver:
            work = Workload(saver)
            cuts = {
                i: ("reply dropped, connection cut", proxy.cut_next_reply) for i in range(0, 40, 4)
            }
            await work.run(40, cuts)
            lost = await work.verify()
    data = work.report("connection-cut", lost=lost, connections_cut=proxy.cuts)
    assert proxy.cuts >= 10
    assert not lost and not work.errors, data


async def test_stalled_server_raises_in_bounded_time(plain_server: LocalServer) -> None:
    """A server that stops answering: the call fails after a bounded time, then recovers."""
    async with saver_behind_proxy(
        plain_server, "stall", socket_timeout=0.5, recovery_timeout=1.0, retries=1
    ) as (proxy, saver):
        work = Workload(saver)
        await work.run(5)
        proxy.stall()
        started = time.monotonic()
        # Raised by the recovery deadline (recovery_timeout=1s), which only ends an
        # attempt the socket timeouts ended first: a call that could hang would not
        # get there and would hit the guard instead (HANG_GUARD, far above the
        # bound, so load never decides the outcome).
        with pytest.raises(RecoveryTimeout, match=r"recovery_timeout=1s\); last error: Timeout"):
            await asyncio.wait_for(saver.aget_tuple(config("w0")), HANG_GUARD)
        took = time.monotonic() - started  # reported, not asserted
        proxy.resume()
        await work.run(5, {0: ("stall resumed", lambda: None)})
        lost = await work.verify()
    data = work.report("stall", lost=lost, stalled_call_raised_after_s=round(took, 2))
    assert not lost and not work.errors, data


def _owner(cluster: LocalCluster, slot: int) -> tuple[LocalServer, LocalServer]:
    """(master, its replica) serving ``slot`` now."""
    with cluster.nodes[0].client() as conn:
        for start, end, master, *replicas in conn.execute_command("CLUSTER", "SLOTS"):
            if start <= slot <= end:
                by_port = {n.port: n for n in cluster.nodes}
                return by_port[int(master[1])], by_port[int(replicas[0][1])]
    raise AssertionError(slot)


def _slot(prefix: str, thread: str) -> int:
    return key_slot(ThreadKeys(prefix, thread).registry.encode())


async def test_cluster_replica_takeover(own_cluster: LocalCluster) -> None:
    """CLUSTER FAILOVER on a replica (graceful) while the workload runs."""
    _, replica = _owner(own_cluster, _slot("fo", "w0"))

    def failover() -> None:
        with replica.client() as conn:
            conn.execute_command("CLUSTER", "FAILOVER")

    async with AsyncRedisSaver.from_conn_string(
        own_cluster.url, prefix="fo", recovery_timeout=15
    ) as saver:
        work = Workload(saver)
        await work.run(
            60, {10: ("CLUSTER FAILOVER (replica of w0's master)", failover)}, pause=0.05
        )
        lost = await work.verify()
    data = work.report("cluster-failover", lost=lost)
    assert _owner(own_cluster, _slot("fo", "w0"))[0].port == replica.port
    assert not lost and not work.errors, data


async def test_cluster_master_killed(own_cluster: LocalCluster) -> None:
    """SIGKILL the master of one thread's slot; its replica is promoted (node timeout 2 s)."""
    master, _ = _owner(own_cluster, _slot("kill", "w0"))
    async with AsyncRedisSaver.from_conn_string(
        own_cluster.url, prefix="kill", recovery_timeout=15
    ) as saver:
        work = Workload(saver)
        await work.run(60, {10: ("SIGKILL master of w0's slot", master.kill)}, pause=0.05)
        lost = await work.verify()
    data = work.report("cluster-master-killed", lost=lost)
    # Asynchronous replication: the last write before the kill may not have reached the
    # replica. Reported, bounded.
    assert len(lost) <= 2, data
    assert not work.errors, data


def _migrate_slot(cluster: LocalCluster, slot: int, target: LocalServer) -> int:
    """Move one slot with IMPORTING/MIGRATING + MIGRATE, key batch by key batch."""
    source, _ = _owner(cluster, slot)
    if source.port == target.port:
        return 0
    with source.client() as src, target.client() as dst:
        src_id = src.execute_command("CLUSTER", "MYID").decode()
        dst_id = dst.execute_command("CLUSTER", "MYID").decode()
        dst.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", src_id)
        src.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", dst_id)
        moved = 0
        while keys := src.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 2):
            src.execute_command("MIGRATE", target.host, target.port, "", 0, 5000, "KEYS", *keys)
            moved += len(keys)
            time.sleep(0.02)  # leave the slot half-migrated for a while: ASK/TRYAGAIN
        for node in cluster.masters:
            with node.client() as conn:
                conn.execute_command("CLUSTER", "SETSLOT", slot, "NODE", dst_id)
    return moved


async def test_resharding_under_load(own_cluster: LocalCluster) -> None:
    """Move every slot the workload uses to another master while it writes."""
    prefix = "rs"
    slots = sorted({_slot(prefix, f"w{t}") for t in range(4)})
    target = own_cluster.masters[0]
    moved: list[int] = []
    done = threading.Event()

    def reshard() -> None:
        try:
            for _ in range(2):  # there and back again, so every slot moves at least once
                for slot in slots:
                    moved.append(_migrate_slot(own_cluster, slot, target))
                target_other = own_cluster.masters[1]
                for slot in slots:
                    moved.append(_migrate_slot(own_cluster, slot, target_other))
        finally:
            done.set()

    async with AsyncRedisSaver.from_conn_string(
        own_cluster.url, prefix=prefix, recovery_timeout=15
    ) as saver:
        work = Workload(saver)
        await work.run(8)
        mover = threading.Thread(target=reshard, daemon=True)
        work.faults.append((time.monotonic(), f"migrate slots {slots} between masters (x4)"))
        mover.start()
        while not done.is_set() and work.steps < 3000:
            await work.step()
        mover.join(30)
        await work.run(8)
        lost = await work.verify()
    data = work.report("resharding", lost=lost, keys_migrated=sum(moved), slots=len(slots))
    assert sum(moved) > 0
    assert not lost and not work.errors, data


@pytest.fixture
def primary_and_replica() -> Iterator[tuple[LocalServer, LocalServer]]:
    require_engine(ENGINE)
    with start_server(ENGINE) as primary:
        with start_server(
            ENGINE, extra_args=["--replicaof", primary.host, str(primary.port)]
        ) as replica:
            with replica.client() as conn:
                deadline = time.monotonic() + 10
                while conn.info("replication").get("master_link_status") != "up":
                    assert time.monotonic() < deadline
                    time.sleep(0.05)
            yield primary, replica


async def test_wait_replicas(primary_and_replica: tuple[LocalServer, LocalServer]) -> None:
    primary, replica = primary_and_replica
    async with AsyncRedisSaver.from_conn_string(
        primary.url, prefix="wait", wait_replicas=(1, 500)
    ) as saver:
        work = Workload(saver)
        await work.run(20)
        # acknowledged => already on the replica, read there with no delay
        with replica.client() as conn:
            for tid, cid in work.acked:
                assert conn.exists(ThreadKeys("wait", tid).checkpoint("", cid))
        replica.kill()
        started = time.monotonic()
        # WAIT ran with the 500 ms timeout and found no replica (the message quotes
        # both); a WAIT that could block forever would hit the guard instead.
        with pytest.raises(NotReplicatedError, match="0 of 1 replicas within 500 ms"):
            await asyncio.wait_for(
                saver.aput(config("x"), snapshot({"a": 1}), {}, {"a": "1"}), HANG_GUARD
            )
        waited = time.monotonic() - started  # reported, not asserted
        assert await saver.aget_tuple(config("x")) is not None  # applied on the primary
        lost = await work.verify()
    work.report("wait-replicas", lost=lost, unreplicated_put_raised_after_s=round(waited, 2))
    assert not lost and not work.errors


async def test_vector_set_overwrite_survives_a_restart() -> None:
    """An overwritten item's vector is the new one after SIGKILL + restart on its AOF.

    Redis 8.0 updates an existing vector-set element in place on ``VADD`` but does not
    propagate that update (the reply is 0, "not added"): the AOF and replicas keep the
    first vector. The put script therefore removes an item's elements before adding them
    again, so what is replayed is what was written.
    """
    from langgraph_redis import AsyncRedisStore
    from tests._async.test_store import FakeEmbeddings, index_config

    require_engine("redis8")
    args = ["--appendonly", "yes", "--appendfsync", "always"]
    with start_server("redis8", extra_args=args) as server:
        embedder = FakeEmbeddings()
        url = f"redis://127.0.0.1:{server.port}"
        async with AsyncRedisStore.from_conn_string(
            url, index=index_config(embedder), engine="vset"
        ) as store:
            await store.asetup()
            await store.aput(("ns",), "k", {"text": "first text"})
            await store.aput(("ns",), "k", {"text": "second text"})
        server.kill()
        server.restart()
        async with AsyncRedisStore.from_conn_string(
            url, index=index_config(embedder), engine="vset"
        ) as store:
            await store.asetup()
            found = await store.asearch(("ns",), query="second text")
        assert [r.value["text"] for r in found] == ["second text"]
        assert found[0].score == pytest.approx(1.0, abs=1e-4)
