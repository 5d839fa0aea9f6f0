# WARNING: generated from tests/_async/test_cluster.py by scripts/async_to_sync.py.
# DO NOT EDIT: change the async source and regenerate.
"""The checkpointers on a real Redis Cluster (3 masters, 3 replicas) per engine.

The sync twin (``tests/_sync/test_cluster.py``) is generated from this file. Clusters are
shared per engine (``tests/topology.py``); every test uses its own key prefix.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any, cast

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from redis.crc import key_slot

from langgraph_redis import RedisSaver, ShallowRedisSaver
from langgraph_redis._acompat import RedisCluster
from langgraph_redis._sync import saver as saver_module
from langgraph_redis._core.checkpoint.keys import ThreadKeys, run_index, thread_registry
from tests._sync.test_saver import (
    _approval_graph,
    _interrupt_story,
    _subgraph_story,
    config,
    snapshot,
)
from tests._sync.test_saver_lifecycle import (
    needs_delta,
)
from tests._sync.test_saver_lifecycle import (
    test_delete_for_runs_removes_the_runs_pending_writes as _delete_runs_story,
)
from tests._sync.test_saver_lifecycle import (
    test_deleting_threads_unlists_them_from_run_indexes as _delete_threads_story,
)
from tests._sync.test_saver_lifecycle import (
    test_expired_threads_leave_the_registries as _expired_threads_story,
)
from tests._sync.test_saver_lifecycle import (
    test_prune_keeps_delta_channel_ancestors as _prune_delta_story,
)
from tests._sync.test_saver_lifecycle import (
    test_shallow_thread_storage_stays_flat as _flat_story,
)
from tests._sync.test_saver_lifecycle import (
    test_shallow_thread_with_a_run_per_invocation_stays_flat as _run_per_invocation_story,
)
from tests._sync.test_saver_lifecycle import (
    test_thread_kept_alive_by_reads_stays_listed as _kept_alive_story,
)
from tests.conformance import run_conformance
from tests.roundtrips import RoundTrips
from tests.servers import LocalCluster

pytestmark = pytest.mark.cluster


@pytest.fixture
def saver(cluster: LocalCluster, key_prefix: str) -> Iterator[RedisSaver]:
    with RedisSaver.from_conn_string(cluster.url, prefix=key_prefix) as saver:
        saver.setup()
        yield saver


@pytest.fixture
def client(cluster: LocalCluster) -> Iterator[RedisCluster]:
    client = RedisCluster.from_url(cluster.url)
    yield client
    client.close()


def test_conformance_on_cluster(cluster: LocalCluster, key_prefix: str) -> None:
    """LangGraph's conformance suite through a URL naming one master."""
    report = run_conformance(
        lambda: RedisSaver.from_conn_string(cluster.url, prefix=key_prefix)
    )
    failures = {n: r.failures for n, r in report.results.items() if not r.passed}
    assert not failures, failures
    assert all(result.detected for result in report.results.values())


def test_shallow_on_cluster(
    cluster: LocalCluster, client: RedisCluster, key_prefix: str
) -> None:
    """The shallow put (MULTI with a script inside) on a cluster, plus a real graph."""
    with ShallowRedisSaver.from_conn_string(cluster.url, prefix=key_prefix) as saver:
        parent = config("t")
        version = None
        for step in range(3):
            version = saver.get_next_version(version, None)
            cp = snapshot({"a": step}, {"a": version})
            parent = saver.put(parent, cp, {"step": step}, {"a": version})
            saver.put_writes(parent, [("a", 100 + step)], "task")
        listed = [t for t in saver.list(config("t"))]
        assert [t.checkpoint["channel_values"] for t in listed] == [{"a": 2}]
        assert client.zcard(ThreadKeys(key_prefix, "t").index("")) == 1
        graph = _approval_graph().compile(checkpointer=saver)
        cfg: Any = {"configurable": {"thread_id": "graph"}}
        first = graph.invoke({"messages": ["hi"]}, cfg)
        assert [i.value for i in first["__interrupt__"]] == [{"question": "approve?", "seen": 2}]
        done = graph.invoke(Command(resume="yes"), cfg)
        assert done["messages"] == ["hi", "prepared", "human:yes", "done"]


def test_cluster_detected_from_any_node(
    cluster: LocalCluster, key_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="langgraph_redis")
    replica_url = cluster.replicas[0].url
    with RedisSaver.from_conn_string(replica_url, prefix=key_prefix) as saver:
        info = saver.setup()
        saver.setup()
        assert info.cluster
        assert isinstance(saver.client, RedisCluster)
        stored = saver.put(config("t"), snapshot({"a": 1}), {}, {"a": "1"})
        assert (saver.get_tuple(stored)) is not None
    probes = [r for r in caplog.records if "connected" in r.getMessage()]
    assert len(probes) == 1 and "cluster" in probes[0].getMessage()
    assert "127.0.0.1" not in caplog.text  # no addresses (or credentials) in our logs


def test_existing_cluster_client(client: RedisCluster, key_prefix: str) -> None:
    with RedisSaver(client, prefix=key_prefix) as saver:
        assert (saver.setup()).cluster
        stored = saver.put(config("t"), snapshot({"a": 1}), {}, {"a": "1"})
        found = saver.get_tuple(stored)
        assert found is not None and found.checkpoint["channel_values"] == {"a": 1}
    assert client.ping()  # borrowed client left open


def test_round_trips_on_cluster(saver: RedisSaver, roundtrips: RoundTrips) -> None:
    tid = str(uuid.uuid4())
    # Warm up: connections to every node, scripts loaded on the thread's node.
    saver.put(config(tid), snapshot({"a": 0}), {"run_id": "r"}, {"a": "0"})
    saver.get_tuple(config(tid))
    with roundtrips as count:
        stored = saver.put(config(tid), snapshot({"a": 1}), {"run_id": "r"}, {"a": "1"})
    # The cross-slot thread/run indexes go first in their own pipeline (sent to their
    # nodes at once), then the checkpoint's MULTI/EXEC on the thread's node: two round
    # trips of latency, at most three packets.
    assert count.value <= 3
    with roundtrips as count:
        saver.put_writes(stored, [("a", 5)], "task")
    assert count.value == 1
    with roundtrips as count:
        found = saver.get_tuple(config(tid))
    assert count.value == 1
    assert found is not None and found.pending_writes == [("task", "a", 5)]


def test_thread_keys_share_one_slot(
    saver: RedisSaver, client: RedisCluster, key_prefix: str
) -> None:
    tid = "user:{42}/%odd"
    parent = config(tid)
    for step in range(3):
        cp = snapshot({"a": step, "b": "x"}, {"a": str(step), "b": "1"})
        parent = saver.put(parent, cp, {"step": step}, {"a": str(step), "b": "1"})
    saver.put_writes(parent, [("a", 9)], "task")
    owned = cast(set[bytes], client.smembers(ThreadKeys(key_prefix, tid).registry))
    slots = {key_slot(k) for k in owned} | {key_slot(ThreadKeys(key_prefix, tid).registry.encode())}
    assert len(owned) > 5 and len(slots) == 1


def test_cross_slot_registries(saver: RedisSaver, client: RedisCluster) -> None:
    """``list(None)`` and ``delete_for_runs`` read indexes that live in other slots."""
    tids = [f"thread-{i}" for i in range(24)]  # spread over all three masters
    assert len({key_slot(ThreadKeys("p", t).registry.encode()) // 5462 for t in tids}) == 3
    for i, tid in enumerate(tids):
        run = "run-even" if i % 2 == 0 else "run-odd"
        saver.put(config(tid), snapshot({"a": i}), {"run_id": run}, {"a": "1"})
    listed = {t.config["configurable"]["thread_id"] for t in saver.list(None)}
    assert listed == set(tids)
    filtered = [t for t in saver.list(None, filter={"run_id": "run-odd"})]
    assert len(filtered) == 12
    saver.delete_for_runs(["run-even"])
    left = {t.config["configurable"]["thread_id"] for t in saver.list(None)}
    assert {t for t in tids[1::2]} <= left
    for tid in tids[0::2]:
        assert saver.get_tuple(config(tid)) is None
    saver.prune(tids[1::2], strategy="delete")
    assert [t for t in saver.list(None)] == []
    assert client.exists(run_index(saver._cfg.prefix, "run-even")) == 0
    remaining = cast(list[bytes], client.zrange(thread_registry(saver._cfg.prefix), 0, -1))
    assert {t.decode() for t in remaining} <= set(tids[0::2])  # emptied, not deleted


def test_interrupt_resume_on_cluster(saver: RedisSaver) -> None:
    ours = _interrupt_story(saver)
    assert ours == _interrupt_story(InMemorySaver())


def test_subgraph_on_cluster(saver: RedisSaver) -> None:
    tid = str(uuid.uuid4())
    ours: Any = _subgraph_story(saver, tid)
    assert ours == _subgraph_story(InMemorySaver(), tid)


def test_copy_and_delete_thread_on_cluster(saver: RedisSaver) -> None:
    stored = saver.put(config("src"), snapshot({"a": 1}), {}, {"a": "1"})
    saver.put_writes(stored, [("a", 2)], "task")
    saver.copy_thread("src", "dst")  # different slots: read one, write the other
    copied = saver.get_tuple(config("dst"))
    assert copied is not None and copied.pending_writes == [("task", "a", 2)]
    saver.delete_thread("src")
    assert saver.get_tuple(config("src")) is None
    assert saver.get_tuple(config("dst")) is not None


@needs_delta
def test_prune_keeps_delta_channel_ancestors_on_cluster(saver: RedisSaver) -> None:
    _prune_delta_story(saver)


def test_delete_for_runs_removes_pending_writes_on_cluster(saver: RedisSaver) -> None:
    _delete_runs_story(saver)


@pytest.mark.parametrize("strategy", ["delete_thread", "prune"])
def test_deleted_threads_leave_no_keys_on_cluster(
    saver: RedisSaver, client: RedisCluster, key_prefix: str, strategy: str
) -> None:
    """Run indexes live in other slots: deleting a thread unlists it there too."""
    _delete_threads_story(saver, client, key_prefix, strategy)  # type: ignore[arg-type]


def test_shallow_thread_storage_stays_flat_on_cluster(
    cluster: LocalCluster, key_prefix: str, client: RedisCluster
) -> None:
    _flat_story(cluster.url, key_prefix, client, "run-1")  # type: ignore[arg-type]


def test_shallow_thread_with_a_run_per_invocation_stays_flat_on_cluster(
    cluster: LocalCluster, key_prefix: str, client: RedisCluster
) -> None:
    _run_per_invocation_story(cluster.url, key_prefix, client)  # type: ignore[arg-type]


def test_registries_follow_expiry_on_cluster(
    cluster: LocalCluster,
    key_prefix: str,
    client: RedisCluster,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Registry scores follow the saver's clock, set here; keys are force-expired."""
    now = [1_900_000_000_000]
    monkeypatch.setattr(saver_module, "now_ms", lambda: now[0])
    _kept_alive_story(cluster.url, key_prefix + "a", now)
    _expired_threads_story(cluster.url, key_prefix + "b", client, now)  # type: ignore[arg-type]
