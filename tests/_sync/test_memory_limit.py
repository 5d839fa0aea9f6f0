# WARNING: generated from tests/_async/test_memory_limit.py by scripts/async_to_sync.py.
# DO NOT EDIT: change the async source and regenerate.
"""Writes against a server at its memory limit (``maxmemory`` + ``noeviction``).

A write the server refuses must leave nothing behind and raise an error naming the
memory limit; a write that returns normally must be stored. Each test starts its own
server (or cluster) per engine, lowers ``maxmemory`` to a little above what it uses,
fills it with raw filler keys to just below the limit, then runs many writes while
deleting a filler key now and then, so refusals and successes interleave at the edge.
The sync twin (``tests/_sync/test_memory_limit.py``) is generated from this file.
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Generator, Iterator
from typing import Any, Literal, cast

import pytest
import redis
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.base.id import uuid6
from redis.exceptions import OutOfMemoryError

import langgraph_redis
from langgraph_redis import RedisSaver, RedisStore
from langgraph_redis._core.checkpoint.keys import run_index
from langgraph_redis._core.store import keys as sk
from tests._sync.test_store import FakeEmbeddings, index_config
from tests.servers import LocalCluster, require_engine, start_cluster, start_server
from tests.topology import CLUSTER_ENGINES

MARGIN = 2 * 1024 * 1024
"""Bytes each node may use above its idle footprint."""

FILLER = 48 * 1024
PAYLOAD = 12 * 1024
OPS = 160
SLACK = 512 * 1024
"""How far above the limit memory may go: one write (the server checks before it, not
after), client buffers and a keyspace hash table that doubles when it fills; far below
the growth of an unchecked write stream (one write per step, well over 1 MB here)."""

QUERY_ENGINE_SLACK = 1024 * 1024
"""Redis Stack's query engine grows its index (vector blocks, doc table) after a write the
server accepted, so its memory goes further over than one write."""


class Nodes:
    """Admin access to the primaries of a dedicated server or cluster (sync redis-py)."""

    def __init__(self, urls: list[str], cluster_url: str | None = None) -> None:
        self.nodes = [redis.Redis.from_url(u) for u in urls]
        self.cluster = redis.RedisCluster.from_url(cluster_url) if cluster_url else None
        self.limits: list[int] = []
        self.fillers: list[str] = []
        self.worst = -(1 << 62)

    def used(self) -> list[int]:
        return [int(n.info("memory")["used_memory"]) for n in self.nodes]

    def limit(self) -> None:
        for n in self.nodes:
            n.flushall()
        self.limits = [u + MARGIN for u in self.used()]
        for n, lim in zip(self.nodes, self.limits, strict=True):
            n.config_set("maxmemory-policy", "noeviction")
            n.config_set("maxmemory", lim)

    def unlimit(self) -> None:
        for n in self.nodes:
            n.config_set("maxmemory", 0)

    def _writer(self) -> Any:
        return self.cluster if self.cluster is not None else self.nodes[0]

    def fill(self) -> None:
        """Filler keys until every node is within two fillers of its limit."""
        writer = self._writer()
        for i in range(10_000):
            gaps = [lim - u for lim, u in zip(self.limits, self.used(), strict=True)]
            if all(g < 2 * FILLER for g in gaps):
                return
            key = f"fill:{i}"
            try:
                writer.set(key, os.urandom(FILLER))
            except OutOfMemoryError:
                continue
            self.fillers.append(key)
        raise AssertionError("could not fill the server to its limit")

    def free_one(self, rng: random.Random) -> None:
        if self.fillers:
            self._writer().delete(self.fillers.pop(rng.randrange(len(self.fillers))))

    def sample(self) -> None:
        over = max(u - lim for u, lim in zip(self.used(), self.limits, strict=True))
        self.worst = max(self.worst, over)

    def close(self) -> None:
        for n in self.nodes:
            n.close()
        if self.cluster is not None:
            self.cluster.close()


def _standalone(engine: str) -> Generator[tuple[str, Nodes], None, None]:
    with start_server(require_engine(engine)) as server:
        nodes = Nodes([server.url])
        try:
            yield server.url, nodes
        finally:
            nodes.close()


def _cluster(engine: str) -> Generator[tuple[str, Nodes], None, None]:
    require_engine(engine)
    started: LocalCluster = start_cluster(engine, masters=3, replicas_per_master=0)  # type: ignore[arg-type]
    with started:
        nodes = Nodes([n.url for n in started.masters], started.url)
        try:
            yield started.url, nodes
        finally:
            nodes.close()


TOPOLOGIES = [
    "valkey",
    "redis7",
    "stack",
    *(pytest.param(f"cluster-{e}", marks=pytest.mark.cluster) for e in CLUSTER_ENGINES),
]


@pytest.fixture(params=TOPOLOGIES)
def limited(request: pytest.FixtureRequest) -> Iterator[tuple[str, Nodes]]:
    """``(url, nodes)`` of a dedicated server or cluster with its memory limit set; the
    test fills it (after its setup, which writes) with ``nodes.fill()``."""
    name = str(request.param)
    make = _cluster(name.removeprefix("cluster-")) if name.startswith("cluster-") else None
    gen = make if make is not None else _standalone(name)
    url, nodes = next(gen)
    nodes.limit()
    try:
        yield url, nodes
    finally:
        nodes.unlimit()
        gen.close()


def _refused(exc: BaseException) -> None:
    """The error a refused write raises: the public class (an OOM error), naming the limit."""
    assert isinstance(exc, langgraph_redis.MemoryLimitError), repr(exc)
    assert isinstance(exc, (OutOfMemoryError, langgraph_redis.LangGraphRedisError)), repr(exc)
    assert "maxmemory" in str(exc), str(exc)


def _checkpoint(payload: str) -> Any:
    cp = empty_checkpoint()
    cp["id"] = str(uuid6())
    cp["channel_values"] = {"v": payload}
    cp["channel_versions"] = {"v": cp["id"]}
    return cp


def test_saver_writes_at_memory_limit(limited: tuple[str, Nodes]) -> None:
    """Every put and put_writes either returns and is stored, or raises and left nothing."""
    url, nodes = limited
    rng = random.Random(7)
    prefix = f"oom{uuid.uuid4().hex[:6]}"
    stored: dict[tuple[str, str], str] = {}
    refused: list[tuple[str, str, str]] = []
    writes_ok: dict[tuple[str, str, str], str] = {}
    writes_refused: list[tuple[str, str, str]] = []
    with RedisSaver.from_conn_string(url, prefix=prefix) as saver:
        saver.setup()
        nodes.fill()
        for i in range(OPS):
            thread = f"t{i % 12}"
            payload = os.urandom(PAYLOAD // 2).hex()
            cp = _checkpoint(payload)
            conf: Any = {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}
            run = f"run-{i}"
            try:
                saver.put(conf, cp, {"run_id": run}, {"v": cp["id"]})
            except Exception as exc:
                _refused(exc)
                refused.append((thread, cp["id"], run))
            else:
                stored[(thread, cp["id"])] = payload
            if stored and i % 3 == 0:
                thread, cid = rng.choice(sorted(stored))
                task = f"task{i}"
                wconf: Any = {
                    "configurable": {"thread_id": thread, "checkpoint_ns": "", "checkpoint_id": cid}
                }
                value = os.urandom(PAYLOAD // 2).hex()
                try:
                    saver.put_writes(wconf, [("w", value)], task)
                except Exception as exc:
                    _refused(exc)
                    writes_refused.append((thread, cid, task))
                else:
                    writes_ok[(thread, cid, task)] = value
            nodes.sample()
            if i % 4 == 3:
                nodes.free_one(rng)
        for thread, cid, _run in refused:
            conf = {
                "configurable": {"thread_id": thread, "checkpoint_ns": "", "checkpoint_id": cid}
            }
            assert saver.get_tuple(conf) is None, "a refused put was stored"
        pending: dict[tuple[str, str, str], Any] = {}
        for (thread, cid), payload in stored.items():
            conf = {
                "configurable": {"thread_id": thread, "checkpoint_ns": "", "checkpoint_id": cid}
            }
            found = saver.get_tuple(conf)
            assert found is not None, "a put that returned was not stored"
            assert found.checkpoint["channel_values"] == {"v": payload}
            for task, _chan, value in found.pending_writes or []:
                pending[(thread, cid, task)] = value
        assert pending == writes_ok
        assert nodes.worst <= SLACK, f"memory went {nodes.worst} bytes over the limit"
        assert refused and stored, (len(refused), len(stored))
        assert writes_refused and writes_ok, (len(writes_refused), len(writes_ok))
        listed = {
            (t.config["configurable"]["thread_id"], t.config["configurable"]["checkpoint_id"])
            for t in saver.list(None)
        }
        assert listed == set(stored)

        # No run index may name a refused checkpoint (on a cluster the run index lives on
        # another node: see docs/reliability.md for what may remain there).
        if nodes.cluster is None:
            for _thread, _cid, run in refused:
                assert not nodes.nodes[0].exists(run_index(prefix, run))
        saver.delete_for_runs([run for _, _, run in refused])
        assert {
            (t.config["configurable"]["thread_id"], t.config["configurable"]["checkpoint_id"])
            for t in saver.list(None)
        } == set(stored)

        # Still at the limit: a copy is whole or absent; prune and delete free memory.
        nodes.fill()
        source = next(t for t, _ in stored)
        try:
            saver.copy_thread(source, "copy")
        except Exception as exc:
            _refused(exc)
            assert [t for t in saver.list({"configurable": {"thread_id": "copy"}})] == []
        else:
            copied = [t for t in saver.list({"configurable": {"thread_id": "copy"}})]
            assert len(copied) == len([1 for t, _ in stored if t == source])
        saver.prune([t for t, _ in stored], strategy="keep_latest")
        for thread in {t for t, _ in stored}:
            saver.delete_thread(thread)
        left = {t.config["configurable"]["thread_id"] for t in saver.list(None)}
        assert left <= {"copy"}


def test_store_writes_at_memory_limit(limited: tuple[str, Nodes]) -> None:
    """Every store put either returns and is stored, or raises and changed nothing."""
    url, nodes = limited
    rng = random.Random(11)
    prefix = f"oom{uuid.uuid4().hex[:6]}"
    expect: dict[tuple[tuple[str, ...], str], Any] = {}
    refused = stored = updates_refused = 0
    embed = index_config(FakeEmbeddings())
    with RedisStore.from_conn_string(url, prefix=prefix, index=embed) as store:
        store.setup()
        nodes.fill()
        vectored: list[tuple[tuple[str, ...], str]] = []
        for i in range(OPS):
            ns: tuple[str, ...]
            index: Literal[False] | None
            if i % 2 == 0 or not vectored:
                # A new namespace: its index entry must not outlive a refused put.
                ns, key, index = ("oom", f"n{i}"), f"k{i % 5}", None
                size = PAYLOAD // 2
            else:
                # An update that drops the item's vector (index=False) and grows its
                # value: its script deletes a vector key, which must not come before the
                # write the server checks (else it is never refused and memory grows).
                ns, key = vectored[rng.randrange(len(vectored))]
                index, size = False, PAYLOAD
            value = {"text": f"entry {i}", "blob": os.urandom(size).hex()}
            try:
                store.put(ns, key, value, index=index)
            except Exception as exc:
                _refused(exc)
                refused += 1
                updates_refused += index is False
            else:
                stored += 1
                expect[(ns, key)] = value
                if index is None:
                    vectored.append((ns, key))
                else:
                    vectored.remove((ns, key))
            nodes.sample()
            if i % 4 == 3:
                nodes.free_one(rng)
        namespaces = {ns for ns, _ in expect}
        assert set(store.list_namespaces(prefix=("oom",), limit=1000)) == namespaces
        found = {
            (tuple(it.namespace), it.key): it.value
            for ns in namespaces
            for it in store.search(ns, limit=100)
        }
        assert found == expect
        for i in range(OPS):
            for k in range(5):
                ns, key = ("oom", f"n{i}"), f"k{k}"
                item = store.get(ns, key)
                assert (item.value if item else None) == expect.get((ns, key))
        slack = QUERY_ENGINE_SLACK if store.engine == "query" else SLACK
        assert nodes.worst <= slack, f"memory went {nodes.worst} bytes over the limit"
        assert refused and stored, (refused, stored)
        assert updates_refused, "no update was refused at the limit: was it checked at all?"
        if nodes.cluster is None:
            members = {
                sk.ns_from_text(m.decode())
                for m in cast(list[bytes], nodes.nodes[0].zrange(sk.ns_index_key(prefix), 0, -1))
            }
            assert members == namespaces
