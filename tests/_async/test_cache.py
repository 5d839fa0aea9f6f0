"""The node cache against real servers, standalone engines and clusters.

Covers what LangGraph's own cache tests check (set/get, batches, TTL, namespaces,
clear, empty input, corrupt entries, unavailable servers, odd keys, large values),
re-expressed here, plus what our layout promises: one round trip per ``get`` and per
``set`` batch, nothing left after ``clear``, bookkeeping that expires with its entries,
and LangGraph graphs (functional API and ``StateGraph``) using the cache. The sync twin
(``tests/_sync/test_cache.py``) is generated from this file.
"""

from __future__ import annotations

import logging
import operator
import uuid
from typing import Annotated, Any

import pytest
from langgraph.cache.base import FullKey
from langgraph.func import entrypoint, task
from langgraph.graph import START, StateGraph
from langgraph.types import CachePolicy
from redis.exceptions import ConnectionError as RedisConnectionError
from typing_extensions import TypedDict

from langgraph_redis import AsyncRedisCache
from langgraph_redis._acompat import AsyncIterator, AsyncRedis, AsyncRedisCluster, asleep
from tests.roundtrips import RoundTrips
from tests.servers import engines_for_run
from tests.topology import CLUSTER_ENGINES, shared_cluster

TARGETS = [
    *engines_for_run(),
    *(pytest.param(f"cluster-{e}", marks=pytest.mark.cluster) for e in CLUSTER_ENGINES),
]


def cluster_urls() -> set[str]:
    return {shared_cluster(e).url for e in CLUSTER_ENGINES}


async def entries_written(
    aclient: AsyncRedis | AsyncRedisCluster, prefix: str, at_least: int
) -> None:
    """Wait until a graph's cache writes landed: LangGraph's sync loop may return from
    ``invoke`` while its cache write still runs in the background."""
    for _ in range(500):
        found = [k for k in await keys_under(aclient, prefix) if b":e:" in k]
        if len(found) >= at_least:
            return
        await asleep(0.01)
    raise AssertionError(f"fewer than {at_least} cache entries were written")


@pytest.fixture(params=TARGETS)
def url(request: pytest.FixtureRequest, _servers: dict[str, str]) -> str:
    """A standalone server of each engine, and each engine's shared 3+3 cluster."""
    target = str(request.param)
    if target.startswith("cluster-"):
        return shared_cluster(target.removeprefix("cluster-")).url  # type: ignore[arg-type]
    return _servers[target]


@pytest.fixture
async def aclient(url: str) -> AsyncIterator[AsyncRedis | AsyncRedisCluster]:
    probe = AsyncRedis.from_url(url)
    try:
        info = await probe.info("cluster")
    finally:
        await probe.aclose()
    if info.get("cluster_enabled"):
        client: AsyncRedis | AsyncRedisCluster = AsyncRedisCluster.from_url(url)
    else:
        client = AsyncRedis.from_url(url)
    yield client
    await client.aclose()


@pytest.fixture
async def acache(url: str, key_prefix: str) -> AsyncIterator[AsyncRedisCache]:
    async with AsyncRedisCache.from_conn_string(url, prefix=key_prefix) as made:
        await made.asetup()
        yield made
    await made.aclose()


async def keys_under(client: AsyncRedis | AsyncRedisCluster, prefix: str) -> list[bytes]:
    """Every key of this test (SCAN in the test only; the library never scans)."""
    return sorted([k async for k in client.scan_iter(match=f"{prefix}:*", count=1000)])


async def test_set_then_get(acache: AsyncRedisCache) -> None:
    key: FullKey = (("graph", "node"), "k1")
    await acache.aset({key: ({"result": 42}, None)})
    assert await acache.aget([key]) == {key: {"result": 42}}


async def test_batch_over_namespaces_with_and_without_ttl(acache: AsyncRedisCache) -> None:
    keys: list[FullKey] = [(("g", "n1"), "a"), (("g", "n2"), "b"), (("other",), "c")]
    await acache.aset(
        {keys[0]: ({"v": 1}, None), keys[1]: ({"v": 2}, 60), keys[2]: ([1, "x"], None)}
    )
    assert await acache.aget([*keys, (("g", "n1"), "absent")]) == {
        keys[0]: {"v": 1},
        keys[1]: {"v": 2},
        keys[2]: [1, "x"],
    }


async def test_same_key_in_other_namespace_is_another_entry(
    acache: AsyncRedisCache,
) -> None:
    one: FullKey = (("graph1", "node"), "same")
    two: FullKey = (("graph2", "node"), "same")
    empty: FullKey = ((), "same")
    blank: FullKey = (("",), "same")
    await acache.aset({one: (1, None), two: (2, None), empty: (3, None), blank: (4, None)})
    assert await acache.aget([one, two, empty, blank]) == {one: 1, two: 2, empty: 3, blank: 4}


async def test_ttl_is_the_entry_expiry(
    acache: AsyncRedisCache, aclient: AsyncRedis | AsyncRedisCluster, key_prefix: str
) -> None:
    key: FullKey = (("graph", "node"), "ttl")
    await acache.aset({key: ("soon", 2)})
    assert await acache.aget([key]) == {key: "soon"}
    [entry] = [k for k in await keys_under(aclient, key_prefix) if b":e:" in k]
    assert 0 < await aclient.pttl(entry) <= 2000
    # Expire it now instead of racing the clock: the cache must report a miss.
    await aclient.pexpire(entry, 1)
    await asleep(0.05)
    assert await acache.aget([key]) == {}


async def test_zero_ttl_stores_nothing_and_drops_the_old_value(
    acache: AsyncRedisCache,
) -> None:
    key: FullKey = (("graph", "node"), "k")
    await acache.aset({key: ("old", None)})
    await acache.aset({key: ("new", 0)})
    assert await acache.aget([key]) == {}


async def test_bookkeeping_expires_with_its_entries(
    acache: AsyncRedisCache, aclient: AsyncRedis | AsyncRedisCluster, key_prefix: str
) -> None:
    await acache.aset({(("g",), "a"): (1, 30), (("g",), "b"): (2, 60)})
    for name in await keys_under(aclient, key_prefix):
        assert 0 < await aclient.pttl(name) <= 60_000, name
    await acache.aset({(("g",), "c"): (3, None)})
    kept = {n: await aclient.pttl(n) for n in await keys_under(aclient, key_prefix)}
    assert [t for n, t in kept.items() if n.endswith(b":idx")] == [-1]
    assert kept[f"{key_prefix}:cache:namespaces".encode()] == -1


async def test_clear_everything_leaves_no_key(
    acache: AsyncRedisCache, aclient: AsyncRedis | AsyncRedisCluster, key_prefix: str
) -> None:
    keys: list[FullKey] = [((f"g{i}", "node"), f"k{j}") for i in range(12) for j in range(3)]
    await acache.aset({k: (i, 60 if i % 2 else None) for i, k in enumerate(keys)})
    assert len(await acache.aget(keys)) == len(keys)
    await acache.aclear()
    assert await acache.aget(keys) == {}
    assert await keys_under(aclient, key_prefix) == []


async def test_clear_by_namespace_keeps_the_others(
    acache: AsyncRedisCache, aclient: AsyncRedis | AsyncRedisCluster, key_prefix: str
) -> None:
    keys: list[FullKey] = [(("g1", "node"), "a"), (("g2", "node"), "b"), (("g1", "other"), "c")]
    await acache.aset({k: (i, None) for i, k in enumerate(keys)})
    await acache.aclear([("g1", "node"), ("g1", "other"), ("never", "written")])
    assert await acache.aget(keys) == {keys[1]: 1}
    await acache.aclear([("g2", "node")])
    assert await keys_under(aclient, key_prefix) == []


async def test_clear_walks_large_namespaces_in_chunks(
    acache: AsyncRedisCache, aclient: AsyncRedis | AsyncRedisCluster, key_prefix: str
) -> None:
    many: dict[FullKey, tuple[Any, int | None]] = {
        (("big",), f"k{i}"): (i, None) for i in range(1_234)
    }
    await acache.aset(many)
    assert len(await acache.aget(list(many))) == 1_234
    await acache.aclear([("big",)])
    assert await keys_under(aclient, key_prefix) == []


async def test_empty_input_and_missing_keys(acache: AsyncRedisCache) -> None:
    assert await acache.aget([]) == {}
    await acache.aset({})
    assert await acache.aget([(("graph", "node"), "nothing")]) == {}
    await acache.aclear([])


async def test_odd_namespaces_and_keys_round_trip(acache: AsyncRedisCache) -> None:
    odd = ["a:b", "{tag}", "x}y{", "%41", "sp ace", "ünï", "*?[", "nul\x00x", ""]
    pairs: dict[FullKey, tuple[Any, int | None]] = {
        ((label, "n"), f"key-{i}-{label}"): (i, None) for i, label in enumerate(odd)
    }
    pairs[(("graph:with:colons", "node-with-dashes"), "key_with_underscores")] = ("s", None)
    await acache.aset(pairs)
    assert await acache.aget(list(pairs)) == {k: v for k, (v, _) in pairs.items()}


async def test_large_values(acache: AsyncRedisCache) -> None:
    key: FullKey = (("graph", "node"), "large")
    value = {"items": list(range(20_000)), "text": "x" * 100_000, "raw": b"\x00\xff" * 1000}
    await acache.aset({key: (value, None)})
    assert await acache.aget([key]) == {key: value}


async def test_unreadable_entries_are_misses_logged_once(
    acache: AsyncRedisCache,
    aclient: AsyncRedis | AsyncRedisCluster,
    key_prefix: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    good: FullKey = (("graph", "node"), "good")
    bad = [(("graph", "node"), f"bad{i}") for i in range(5)]
    await acache.aset({good: ("fine", None), **{k: ("x", None) for k in bad}})
    entries = {k.decode(): k for k in await keys_under(aclient, key_prefix) if b":e:" in k}
    name = {full: next(e for e in entries if e.endswith(f":e:{full[1]}")) for full in bad}
    await aclient.set(name[bad[0]], b"invalid:data:format:too:many:colons")
    await aclient.set(name[bad[1]], b"2\x00msgpack\x00\x81")  # a newer format
    await aclient.set(name[bad[2]], b"1\x00msgpack\x00\xc1\xc1")  # not msgpack
    await aclient.delete(name[bad[3]])
    await aclient.hset(name[bad[3]], "f", "v")  # WRONGTYPE for GET
    await aclient.set(name[bad[4]], b"1\x00no-such-type\x00abc")
    with caplog.at_level(logging.DEBUG, logger="langgraph_redis"):
        for _ in range(3):
            assert await acache.aget([good, *bad]) == {good: "fine"}
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert 1 <= len(warnings) <= 5  # at most one per kind of damage, not one per read


async def test_get_is_one_round_trip_and_set_batch_is_one(
    acache: AsyncRedisCache, url: str, roundtrips: RoundTrips
) -> None:
    one_ns: dict[FullKey, tuple[Any, int | None]] = {
        (("g", "node"), f"k{i}"): (i, 30) for i in range(20)
    }
    many_ns: dict[FullKey, tuple[Any, int | None]] = {
        ((f"g{i % 4}", "node"), f"k{i}"): (i, 30) for i in range(20)
    }
    if url in cluster_urls():
        # A cluster pipeline sends once per node it touches: one namespace is one slot,
        # plus the namespace registry's slot for a write.
        with roundtrips as count:
            await acache.aset(one_ns)
        assert count.value <= 2
        with roundtrips as count:
            assert len(await acache.aget(list(one_ns))) == 20
        assert count.value == 1
        return
    for pairs in (one_ns, many_ns):
        with roundtrips as count:
            await acache.aset(pairs)
        assert count.value == 1
        with roundtrips as count:
            assert len(await acache.aget(list(pairs))) == 20
        assert count.value == 1


async def test_bad_keys_fail_before_any_write(acache: AsyncRedisCache) -> None:
    with pytest.raises(TypeError, match="tuple"):
        await acache.aset({("graph", "k"): (1, None)})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="seconds"):
        await acache.aset({(("g",), "k"): (1, "10")})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="tuples"):
        await acache.aclear(("graph", "node"))  # type: ignore[arg-type]


async def test_unreachable_server_is_a_miss_not_a_failed_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    made: AsyncRedisCache = AsyncRedisCache(
        "redis://127.0.0.1:1", recovery_timeout=0, socket_connect_timeout=0.2
    )
    key: FullKey = (("graph", "node"), "k")
    with caplog.at_level(logging.WARNING, logger="langgraph_redis"):
        assert await made.aget([key]) == {}
        await made.aset({key: ("v", None)})
    assert any("cache" in r.getMessage() for r in caplog.records)
    with pytest.raises(RedisConnectionError):
        await made.aclear()
    await made.aclose()


# -- graphs ----------------------------------------------------------------------------


async def test_functional_api_task_is_cached(
    acache: AsyncRedisCache, aclient: AsyncRedis | AsyncRedisCluster, key_prefix: str
) -> None:
    calls: list[int] = []
    policy: CachePolicy[Any] = CachePolicy(ttl=120)

    @task(cache_policy=policy)
    def double(x: int) -> int:
        calls.append(x)
        return 2 * x

    @entrypoint(cache=acache)
    def flow(xs: list[int]) -> list[int]:
        return [double(x).result() for x in xs]

    assert await flow.ainvoke([1, 2]) == [2, 4]
    await entries_written(aclient, key_prefix, 2)
    assert await flow.ainvoke([2, 3, 1]) == [4, 6, 2]
    await entries_written(aclient, key_prefix, 3)
    assert sorted(calls) == [1, 2, 3]
    await double.aclear_cache(acache)
    assert await flow.ainvoke([1]) == [2]
    assert sorted(calls) == [1, 1, 2, 3]


class State(TypedDict):
    x: int
    seen: Annotated[list[int], operator.add]


async def test_state_graph_node_cache_and_clear(
    acache: AsyncRedisCache, aclient: AsyncRedis | AsyncRedisCluster, key_prefix: str
) -> None:
    runs: list[int] = []

    def slow(state: State) -> dict[str, Any]:
        runs.append(state["x"])
        return {"seen": [state["x"] * 10]}

    builder = StateGraph(State)
    builder.add_node("slow", slow, cache_policy=CachePolicy(ttl=None))
    builder.add_edge(START, "slow")
    graph = builder.compile(cache=acache)
    first = await graph.ainvoke({"x": 3, "seen": []})
    again = await graph.ainvoke({"x": 3, "seen": []})
    assert first == again == {"x": 3, "seen": [30]}
    assert runs == [3]
    await graph.ainvoke({"x": 4, "seen": []})
    assert runs == [3, 4]
    await entries_written(aclient, key_prefix, 2)
    await graph.aclear_cache()
    await graph.ainvoke({"x": 3, "seen": []})
    assert runs == [3, 4, 3]


async def test_cache_is_shared_between_cache_objects(url: str, key_prefix: str) -> None:
    """Two objects (as two processes would) see each other's entries."""
    key: FullKey = (("graph", "node"), uuid.uuid4().hex)
    async with AsyncRedisCache.from_conn_string(url, prefix=key_prefix) as writer:
        await writer.aset({key: ({"n": 1}, 60)})
    async with AsyncRedisCache.from_conn_string(url, prefix=key_prefix) as reader:
        assert await reader.aget([key]) == {key: {"n": 1}}
        await reader.aclear()
