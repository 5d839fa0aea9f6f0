"""The plain engine's client-side snapshots stay under ``snapshot_cache_bytes``.

Least recently searched namespaces are evicted first; a prefix that alone exceeds the
cap is logged once and not kept; results never change because of eviction (an evicted
namespace is read again). Runs on every engine with ``engine="plain"`` forced.
"""

from __future__ import annotations

import logging

import pytest
from langgraph.store.base import PutOp

from langgraph_redis._async.store import AsyncRedisStore
from langgraph_redis._core.store import keys as sk
from langgraph_redis._core.store.snapshot import SNAPSHOT_CACHE_BYTES, trim_cache
from tests._async.test_store import FakeEmbeddings, index_config

NAMESPACES = [("cap", f"u{i}") for i in range(4)]


async def _filled(redis_url: str, key_prefix: str, cap: int) -> AsyncRedisStore:
    emb = FakeEmbeddings(dims=64)
    store = AsyncRedisStore(
        redis_url,
        index=index_config(emb, dims=64),
        prefix=key_prefix,
        engine="plain",
        snapshot_cache_bytes=cap,
    )
    await store.abatch(
        [PutOp(ns, f"k{j}", {"text": f"{ns[1]} note {j}"}) for ns in NAMESPACES for j in range(60)]
    )
    return store


def _cached(store: AsyncRedisStore) -> list[str]:
    return list(store._cache)


def _size(store: AsyncRedisStore) -> int:
    return sum(s.nbytes for s in store._cache.values())


async def test_least_recently_searched_namespaces_are_evicted(
    redis_url: str, key_prefix: str
) -> None:
    probe = await _filled(redis_url, key_prefix, SNAPSHOT_CACHE_BYTES)
    try:
        await probe.asearch(NAMESPACES[0], query="u0 note 1")
        one = _size(probe)
        assert one > 0
    finally:
        await probe.aclose()
    # Room for two namespaces' snapshots, not three.
    store = await _filled(redis_url, key_prefix, int(one * 2.5))
    try:
        reference = [await store.asearch(ns, query=f"{ns[1]} note 3") for ns in NAMESPACES]
        names = [sk.ns_text(ns) for ns in NAMESPACES]
        assert _cached(store) == names[2:]  # u0 and u1 were searched longest ago
        assert _size(store) <= int(one * 2.5)
        await store.asearch(NAMESPACES[2], query="touch")  # u2 becomes the newest
        await store.asearch(NAMESPACES[0], query="again")  # u3, now the oldest, goes
        assert _cached(store) == [names[2], names[0]]
        # Eviction never changes results: an evicted namespace is read again.
        again = [await store.asearch(ns, query=f"{ns[1]} note 3") for ns in NAMESPACES]
        assert [[(i.key, i.score) for i in r] for r in again] == [
            [(i.key, i.score) for i in r] for r in reference
        ]
    finally:
        await store.aclose()


async def test_a_prefix_larger_than_the_cap_is_logged_once_and_not_kept(
    redis_url: str, key_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="langgraph_redis")
    store = await _filled(redis_url, key_prefix, 64 * 1024)
    try:
        first = await store.asearch(("cap",), query="u1 note 5", limit=5)
        second = await store.asearch(("cap",), query="u1 note 5", limit=5)
        assert [i.key for i in first] == [i.key for i in second] and first[0].key == "k5"
        assert _size(store) <= 64 * 1024 and len(store._cache) < len(NAMESPACES)
        warnings = [r for r in caplog.records if "snapshot_cache_bytes" in r.getMessage()]
        assert len(warnings) == 1 and "('cap',)" in warnings[0].getMessage()
    finally:
        await store.aclose()


def test_trim_keeps_what_fits() -> None:
    assert trim_cache({}, 0, (), set()) == []
