# WARNING: generated from tests/_async/test_cache.py by scripts/async_to_sync.py.
# DO NOT EDIT: change the async source and regenerate.
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

from langgraph_redis import RedisCache
from langgraph_redis._acompat import Iterator, Redis, RedisCluster, sleep
from tests.roundtrips import RoundTrips
from tests.servers import engines_for_run
from tests.topology import CLUSTER_ENGINES, shared_cluster

TARGETS = [
    *engines_for_run(),
    *(pytest.param(f"cluster-{e}", marks=pytest.mark.cluster) for e in CLUSTER_ENGINES),
]


def cluster_urls() -> set[str]:
    return {shared_cluster(e).url for e in CLUSTER_ENGINES}


def entries_written(
    client: Redis | RedisCluster, prefix: str, at_least: int
) -> None:
    """Wait until a graph's cache writes landed: LangGraph's sync loop may return from
    ``invoke`` while its cache write still runs in the background."""
    for _ in range(500):
        found = [k for k in keys_under(client, prefix) if b":e:" in k]
        if len(found) >= at_least:
            return
        sleep(0.01)
    raise AssertionError(f"fewer than {at_least} cache entries were written")


@pytest.fixture(params=TARGETS)
def url(request: pytest.FixtureRequest, _servers: dict[str, str]) -> str:
    """A standalone server of each engine, and each engine's shared 3+3 cluster."""
    target = str(request.param)
    if target.startswith("cluster-"):
        return shared_cluster(target.removeprefix("cluster-")).url  # type: ignore[arg-type]
    return _servers[target]


@pytest.fixture
def client(url: str) -> Iterator[Redis | RedisCluster]:
    probe = Redis.from_url(url)
    try:
        info = probe.info("cluster")
    finally:
        probe.close()
    if info.get("cluster_enabled"):
        client: Redis | RedisCluster = RedisCluster.from_url(url)
    else:
        client = Redis.from_url(url)
    yield client
    client.close()


@pytest.fixture
def cache(url: str, key_prefix: str) -> Iterator[RedisCache]:
    with RedisCache.from_conn_string(url, prefix=key_prefix) as made:
        made.setup()
        yield made
    made.close()


def keys_under(client: Redis | RedisCluster, prefix: str) -> list[bytes]:
    """Every key of this test (SCAN in the test only; the library never scans)."""
    return sorted([k for k in client.scan_iter(match=f"{prefix}:*", count=1000)])


def test_set_then_get(cache: RedisCache) -> None:
    key: FullKey = (("graph", "node"), "k1")
    cache.set({key: ({"result": 42}, None)})
    assert cache.get([key]) == {key: {"result": 42}}


def test_batch_over_namespaces_with_and_without_ttl(cache: RedisCache) -> None:
    keys: list[FullKey] = [(("g", "n1"), "a"), (("g", "n2"), "b"), (("other",), "c")]
    cache.set(
        {keys[0]: ({"v": 1}, None), keys[1]: ({"v": 2}, 60), keys[2]: ([1, "x"], None)}
    )
    assert cache.get([*keys, (("g", "n1"), "absent")]) == {
        keys[0]: {"v": 1},
        keys[1]: {"v": 2},
        keys[2]: [1, "x"],
    }


def test_same_key_in_other_namespace_is_another_entry(
    cache: RedisCache,
) -> None:
    one: FullKey = (("graph1", "node"), "same")
    two: FullKey = (("graph2", "node"), "same")
    empty: FullKey = ((), "same")
    blank: FullKey = (("",), "same")
    cache.set({one: (1, None), two: (2, None), empty: (3, None), blank: (4, None)})
    assert cache.get([one, two, empty, blank]) == {one: 1, two: 2, empty: 3, blank: 4}


def test_ttl_is_the_entry_expiry(
    cache: RedisCache, client: Redis | RedisCluster, key_prefix: str
) -> None:
    key: FullKey = (("graph", "node"), "ttl")
    cache.set({key: ("soon", 2)})
    assert cache.get([key]) == {key: "soon"}
    [entry] = [k for k in keys_under(client, key_prefix) if b":e:" in k]
    assert 0 < client.pttl(entry) <= 2000
    # Expire it now instead of racing the clock: the cache must report a miss.
    client.pexpire(entry, 1)
    sleep(0.05)
    assert cache.get([key]) == {}


def test_zero_ttl_stores_nothing_and_drops_the_old_value(
    cache: RedisCache,
) -> None:
    key: FullKey = (("graph", "node"), "k")
    cache.set({key: ("old", None)})
    cache.set({key: ("new", 0)})
    assert cache.get([key]) == {}


def test_bookkeeping_expires_with_its_entries(
    cache: RedisCache, client: Redis | RedisCluster, key_prefix: str
) -> None:
    cache.set({(("g",), "a"): (1, 30), (("g",), "b"): (2, 60)})
    for name in keys_under(client, key_prefix):
        assert 0 < client.pttl(name) <= 60_000, name
    cache.set({(("g",), "c"): (3, None)})
    kept = {n: client.pttl(n) for n in keys_under(client, key_prefix)}
    assert [t for n, t in kept.items() if n.endswith(b":idx")] == [-1]
    assert kept[f"{key_prefix}:cache:namespaces".encode()] == -1


def test_clear_everything_leaves_no_key(
    cache: RedisCache, client: Redis | RedisCluster, key_prefix: str
) -> None:
    keys: list[FullKey] = [((f"g{i}", "node"), f"k{j}") for i in range(12) for j in range(3)]
    cache.set({k: (i, 60 if i % 2 else None) for i, k in enumerate(keys)})
    assert len(cache.get(keys)) == len(keys)
    cache.clear()
    assert cache.get(keys) == {}
    assert keys_under(client, key_prefix) == []


def test_clear_by_namespace_keeps_the_others(
    cache: RedisCache, client: Redis | RedisCluster, key_prefix: str
) -> None:
    keys: list[FullKey] = [(("g1", "node"), "a"), (("g2", "node"), "b"), (("g1", "other"), "c")]
    cache.set({k: (i, None) for i, k in enumerate(keys)})
    cache.clear([("g1", "node"), ("g1", "other"), ("never", "written")])
    assert cache.get(keys) == {keys[1]: 1}
    cache.clear([("g2", "node")])
    assert keys_under(client, key_prefix) == []


def test_clear_walks_large_namespaces_in_chunks(
    cache: RedisCache, client: Redis | RedisCluster, key_prefix: str
) -> None:
    many: dict[FullKey, tuple[Any, int | None]] = {
        (("big",), f"k{i}"): (i, None) for i in range(1_234)
    }
    cache.set(many)
    assert len(cache.get(list(many))) == 1_234
    cache.clear([("big",)])
    assert keys_under(client, key_prefix) == []


def test_empty_input_and_missing_keys(cache: RedisCache) -> None:
    assert cache.get([]) == {}
    cache.set({})
    assert cache.get([(("graph", "node"), "nothing")]) == {}
    cache.clear([])


def test_odd_namespaces_and_keys_round_trip(cache: RedisCache) -> None:
    odd = ["a:b", "{tag}", "x}y{", "%41", "sp ace", "ünï", "*?[", "nul\x00x", ""]
    pairs: dict[FullKey, tuple[Any, int | None]] = {
        ((label, "n"), f"key-{i}-{label}"): (i, None) for i, label in enumerate(odd)
    }
    pairs[(("graph:with:colons", "node-with-dashes"), "key_with_underscores")] = ("s", None)
    cache.set(pairs)
    assert cache.get(list(pairs)) == {k: v for k, (v, _) in pairs.items()}


def test_large_values(cache: RedisCache) -> None:
    key: FullKey = (("graph", "node"), "large")
    value = {"items": list(range(20_000)), "text": "x" * 100_000, "raw": b"\x00\xff" * 1000}
    cache.set({key: (value, None)})
    assert cache.get([key]) == {key: value}


def test_unreadable_entries_are_misses_logged_once(
    cache: RedisCache,
    client: Redis | RedisCluster,
    key_prefix: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    good: FullKey = (("graph", "node"), "good")
    bad = [(("graph", "node"), f"bad{i}") for i in range(5)]
    cache.set({good: ("fine", None), **{k: ("x", None) for k in bad}})
    entries = {k.decode(): k for k in keys_under(client, key_prefix) if b":e:" in k}
    name = {full: next(e for e in entries if e.endswith(f":e:{full[1]}")) for full in bad}
    client.set(name[bad[0]], b"invalid:data:format:too:many:colons")
    client.set(name[bad[1]], b"2\x00msgpack\x00\x81")  # a newer format
    client.set(name[bad[2]], b"1\x00msgpack\x00\xc1\xc1")  # not msgpack
    client.delete(name[bad[3]])
    client.hset(name[bad[3]], "f", "v")  # WRONGTYPE for GET
    client.set(name[bad[4]], b"1\x00no-such-type\x00abc")
    with caplog.at_level(logging.DEBUG, logger="langgraph_redis"):
        for _ in range(3):
            assert cache.get([good, *bad]) == {good: "fine"}
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert 1 <= len(warnings) <= 5  # at most one per kind of damage, not one per read


def test_get_is_one_round_trip_and_set_batch_is_one(
    cache: RedisCache, url: str, roundtrips: RoundTrips
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
            cache.set(one_ns)
        assert count.value <= 2
        with roundtrips as count:
            assert len(cache.get(list(one_ns))) == 20
        assert count.value == 1
        return
    for pairs in (one_ns, many_ns):
        with roundtrips as count:
            cache.set(pairs)
        assert count.value == 1
        with roundtrips as count:
            assert len(cache.get(list(pairs))) == 20
        assert count.value == 1


def test_bad_keys_fail_before_any_write(cache: RedisCache) -> None:
    with pytest.raises(TypeError, match="tuple"):
        cache.set({("graph", "k"): (1, None)})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="seconds"):
        cache.set({(("g",), "k"): (1, "10")})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="tuples"):
        cache.clear(("graph", "node"))  # type: ignore[arg-type]


def test_unreachable_server_is_a_miss_not_a_failed_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    made: RedisCache = RedisCache(
        "redis://127.0.0.1:1", recovery_timeout=0, socket_connect_timeout=0.2
    )
    key: FullKey = (("graph", "node"), "k")
    with caplog.at_level(logging.WARNING, logger="langgraph_redis"):
        assert made.get([key]) == {}
        made.set({key: ("v", None)})
    assert any("cache" in r.getMessage() for r in caplog.records)
    with pytest.raises(RedisConnectionError):
        made.clear()
    made.close()


# -- graphs ----------------------------------------------------------------------------


def test_functional_api_task_is_cached(
    cache: RedisCache, client: Redis | RedisCluster, key_prefix: str
) -> None:
    calls: list[int] = []
    policy: CachePolicy[Any] = CachePolicy(ttl=120)

    @task(cache_policy=policy)
    def double(x: int) -> int:
        calls.append(x)
        return 2 * x

    @entrypoint(cache=cache)
    def flow(xs: list[int]) -> list[int]:
        return [double(x).result() for x in xs]

    assert flow.invoke([1, 2]) == [2, 4]
    entries_written(client, key_prefix, 2)
    assert flow.invoke([2, 3, 1]) == [4, 6, 2]
    entries_written(client, key_prefix, 3)
    assert sorted(calls) == [1, 2, 3]
    double.clear_cache(cache)
    assert flow.invoke([1]) == [2]
    assert sorted(calls) == [1, 1, 2, 3]


class State(TypedDict):
    x: int
    seen: Annotated[list[int], operator.add]


def test_state_graph_node_cache_and_clear(
    cache: RedisCache, client: Redis | RedisCluster, key_prefix: str
) -> None:
    runs: list[int] = []

    def slow(state: State) -> dict[str, Any]:
        runs.append(state["x"])
        return {"seen": [state["x"] * 10]}

    builder = StateGraph(State)
    builder.add_node("slow", slow, cache_policy=CachePolicy(ttl=None))
    builder.add_edge(START, "slow")
    graph = builder.compile(cache=cache)
    first = graph.invoke({"x": 3, "seen": []})
    again = graph.invoke({"x": 3, "seen": []})
    assert first == again == {"x": 3, "seen": [30]}
    assert runs == [3]
    graph.invoke({"x": 4, "seen": []})
    assert runs == [3, 4]
    entries_written(client, key_prefix, 2)
    graph.clear_cache()
    graph.invoke({"x": 3, "seen": []})
    assert runs == [3, 4, 3]


def test_cache_is_shared_between_cache_objects(url: str, key_prefix: str) -> None:
    """Two objects (as two processes would) see each other's entries."""
    key: FullKey = (("graph", "node"), uuid.uuid4().hex)
    with RedisCache.from_conn_string(url, prefix=key_prefix) as writer:
        writer.set({key: ({"n": 1}, 60)})
    with RedisCache.from_conn_string(url, prefix=key_prefix) as reader:
        assert reader.get([key]) == {key: {"n": 1}}
        reader.clear()
