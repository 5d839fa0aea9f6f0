"""Concurrent writers from two processes: get, search and list_namespaces always agree.

Several clients in two processes put and delete items of the same few-item namespaces,
so one client often deletes a namespace's last item while another puts into it. After
they stop, the store is compared with an ``InMemoryStore`` holding the committed state:

* the committed state is read back per key (``get`` of every key ever written), and
  each key's state must be a legal outcome: the value of a put, or absence after a
  delete, from an operation no other operation on that key started after in real time
  (``time.monotonic`` is one clock for every process on a host);
* ``search`` and ``list_namespaces`` (on a fresh store and on every worker's warm store)
  must equal the ``InMemoryStore`` built from that state.

Not generated: it uses processes; each runs asyncio clients. Seeds are printed on failure.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from langgraph.store.memory import InMemoryStore

from langgraph_redis import AsyncRedisStore
from langgraph_redis.demo import HashEmbeddings
from tests.roundtrips import RoundTrips
from tests.servers import LocalCluster

DIMS = 8
NAMESPACES = 200
KEYS = ("a", "b", "c")
PASSES = 4
CLIENTS_PER_PROCESS = 2
BLOCK = 4
ROOT = "race"


def _index() -> Any:
    return {"dims": DIMS, "embed": HashEmbeddings(DIMS), "fields": ["text"]}


@dataclass(frozen=True)
class Done:
    """One acknowledged operation: who, what, and when it ran (monotonic seconds)."""

    client: str
    seq: int
    ns: tuple[str, ...]
    key: str
    put: bool
    start: float
    end: float


def _ns(i: int) -> tuple[str, ...]:
    return (ROOT, f"n{i}")


async def _open(url: str, prefix: str, engine: str) -> AsyncRedisStore:
    store = AsyncRedisStore(url, prefix=prefix, engine=engine, index=_index())  # type: ignore[arg-type]
    await store.asetup()
    return store


async def _step(store: AsyncRedisStore, name: str, seq: int, i: int, rng: random.Random) -> Done:
    """One random put or delete in namespace ``i``. Some values are large, so the server
    may read a write's commands in several parts and run other clients' in between."""
    ns, key, put = _ns(i), rng.choice(KEYS), rng.random() < 0.5
    start = time.monotonic()
    if put:
        pad = "x" * rng.choice((0, 20_000))
        await store.aput(ns, key, {"c": name, "s": seq, "text": f"{name} {seq}", "pad": pad})
    else:
        await store.adelete(ns, key)
    return Done(name, seq, ns, key, put, start, time.monotonic())


async def _views(store: AsyncRedisStore) -> dict[str, Any]:
    """What one store shows: every item (plain listing and vector search), namespaces."""
    found = await store.asearch((ROOT,), limit=10_000)
    scored = await store.asearch((ROOT,), query="n1 a", limit=10_000)
    spaces = await store.alist_namespaces(prefix=(ROOT,), limit=10_000)
    return {
        "items": sorted((i.namespace, i.key, i.value["c"], i.value["s"]) for i in found),
        "scored": sorted((i.namespace, i.key) for i in scored),
        "namespaces": sorted(spaces),
    }


async def _process(
    url: str, prefix: str, engine: str, pid: int, seed: int, barrier: Any
) -> tuple[list[Done], list[dict[str, Any]]]:
    """Clients of this process act on the same namespace at once; both processes meet
    at a barrier every few namespaces, so all clients keep colliding."""
    rng = random.Random(seed * 10 + pid)
    names = [f"p{pid}c{c}" for c in range(CLIENTS_PER_PROCESS)]
    stores = [await _open(url, prefix, engine) for _ in names]
    done: list[Done] = []
    seq = 0
    for _ in range(PASSES):
        for i in range(NAMESPACES):
            if i % BLOCK == 0:
                await asyncio.to_thread(barrier.wait)
            steps = []
            for store, name in zip(stores, names, strict=True):
                seq += 1
                steps.append(_step(store, name, seq, i, rng))
            done += await asyncio.gather(*steps)
            if rng.random() < 0.05:
                await stores[0].asearch((ROOT,), limit=5)  # warm snapshots race writers too
    await asyncio.to_thread(barrier.wait)  # every writer of both processes has stopped
    views = []
    for store in stores:
        views.append(await _views(store))
        await store.aclose()
    return done, views


def _worker(
    url: str, prefix: str, engine: str, pid: int, seed: int, barrier: Any, out: Any
) -> None:
    try:
        out.put((pid, asyncio.run(_process(url, prefix, engine, pid, seed, barrier))))
    except BaseException as exc:  # report, do not hang the parent
        barrier.abort()
        out.put((pid, repr(exc)))


def _run_processes(url: str, prefix: str, engine: str, seed: int) -> tuple[list[Done], list[Any]]:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    out = ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(url, prefix, engine, p, seed, barrier, out))
        for p in range(2)
    ]
    for p in procs:
        p.start()
    results = [out.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(30)
    done: list[Done] = []
    views: list[Any] = []
    for pid, result in sorted(results, key=lambda r: r[0]):
        assert not isinstance(result, str), f"process {pid} failed: {result}"
        done += result[0]
        views += result[1]
    return done, views


def _legal(history: list[Done], state: tuple[str, int] | None) -> bool:
    """Whether ``state`` (client, seq of the put it holds, or None) can end ``history``:
    it comes from an operation that no other operation started after in real time."""
    if not history:
        return state is None
    cutoff = max(d.start for d in history)  # the last operation to start
    for d in history:
        if d.end < cutoff:
            continue  # strictly followed by another operation on this key
        if state is None and not d.put:
            return True
        if state is not None and d.put and (d.client, d.seq) == state:
            return True
    return False


async def _check(url: str, prefix: str, engine: str, seed: int) -> None:
    done, worker_views = await asyncio.to_thread(_run_processes, url, prefix, engine, seed)
    assert len(done) == NAMESPACES * PASSES * 2 * CLIENTS_PER_PROCESS
    fresh = AsyncRedisStore(url, prefix=prefix, engine=engine, index=_index())  # type: ignore[arg-type]
    try:
        histories: dict[tuple[tuple[str, ...], str], list[Done]] = {}
        for d in done:
            histories.setdefault((d.ns, d.key), []).append(d)
        oracle = InMemoryStore()
        for (ns, key), history in sorted(histories.items()):
            item = await fresh.aget(ns, key)
            state = None if item is None else (item.value["c"], item.value["s"])
            assert _legal(history, state), f"seed {seed}: {ns}/{key} ended as {state}"
            if item is not None:
                oracle.put(ns, key, item.value)
        expected: dict[str, list[Any]] = {
            "items": sorted(
                (i.namespace, i.key, i.value["c"], i.value["s"])
                for i in oracle.search((ROOT,), limit=10_000)
            ),
            "namespaces": sorted(oracle.list_namespaces(prefix=(ROOT,), limit=10_000)),
        }
        expected["scored"] = sorted((ns, k) for ns, k, _, _ in expected["items"])
        assert expected["items"], "the workload should leave some items"
        views = [await _views(fresh), *worker_views]
        for who, view in zip(["fresh store", *(f"worker {i}" for i in range(4))], views):
            for part in ("namespaces", "items", "scored"):
                missing = sorted(set(expected[part]) - set(view[part]))
                extra = sorted(set(view[part]) - set(expected[part]))
                assert not missing and not extra, (
                    f"seed {seed}, {who}, {part}: {len(missing)} missing (first {missing[:3]}), "
                    f"{len(extra)} extra (first {extra[:3]})"
                )
    finally:
        await fresh.aclose()


@pytest.fixture
def seed() -> Iterator[int]:
    value = random.SystemRandom().randrange(1 << 30)
    print(f"race seed: {value}")
    yield value


@pytest.mark.parametrize("store_engine", ["plain", "auto"])
async def test_concurrent_put_and_delete_agree(
    redis_url: str, engine: str, key_prefix: str, store_engine: str, seed: int
) -> None:
    if store_engine == "auto" and engine != "stack":
        pytest.skip("the automatic engine is the plain one here")
    await _check(redis_url, key_prefix, store_engine, seed)


@pytest.mark.cluster
async def test_concurrent_put_and_delete_agree_on_cluster(
    cluster: LocalCluster, key_prefix: str, seed: int
) -> None:
    await _check(cluster.url, key_prefix, "plain", seed)


async def test_index_upkeep_costs_one_round_trip_on_standalone(
    redis_url: str, key_prefix: str, roundtrips: RoundTrips
) -> None:
    """On a standalone server a put's own script indexes its namespace, so only a delete
    that empties a namespace reconciles its entry: the entry's write and the key-set
    check share one pipeline."""
    store = AsyncRedisStore(redis_url, prefix=key_prefix, engine="plain")
    try:
        await store.asetup()
        await store.aput(("warm",), "x", {"v": 0})  # scripts loaded
        await store.adelete(("warm",), "x")
        with roundtrips as count:
            await store.aput(("rt",), "a", {"v": 1})
        assert count.value == 1  # creates the namespace: its script indexes it
        with roundtrips as count:
            await store.aput(("rt",), "b", {"v": 2})
        assert count.value == 1
        with roundtrips as count:
            await store.adelete(("rt",), "a")
        assert count.value == 1
        assert await store.alist_namespaces() == [("rt",)]
        with roundtrips as count:
            await store.adelete(("rt",), "b")
        assert count.value == 2  # empties it
        assert await store.alist_namespaces() == []
    finally:
        await store.aclose()
