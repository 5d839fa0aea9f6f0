# WARNING: generated from tests/_async/test_store_snapshot_cap.py by scripts/async_to_sync.py.
# DO NOT EDIT: change the async source and regenerate.
"""The plain engine's client-side snapshots stay under ``snapshot_cache_bytes``.

Least recently searched namespaces are evicted first; a prefix that alone exceeds the
cap is logged once and not kept; results never change because of eviction (an evicted
namespace is read again). Runs on every engine with ``engine="plain"`` forced.
"""

from __future__ import annotations

import logging

import pytest
from langgraph.store.base import PutOp

from langgraph_redis._sync.store import RedisStore
from langgraph_redis._core.store import keys as sk
from langgraph_redis._core.store.snapshot import SNAPSHOT_CACHE_BYTES, trim_cache
from tests._sync.test_store import FakeEmbeddings, index_config

NAMESPACES = [("cap", f"u{i}") for i in range(4)]


def _filled(redis_url: str, key_prefix: str, cap: int) -> RedisStore:
    emb = FakeEmbeddings(dims=64)
    store = RedisStore(
        redis_url,
        index=index_config(emb, dims=64),
        prefix=key_prefix,
        engine="plain",
        snapshot_cache_bytes=cap,
    )
    store.batch(
        [PutOp(ns, f"k{j}", {"text": f"{ns[1]} note {j}"}) for ns in NAMESPACES for j in range(60)]
    )
    return store


def _cached(store: RedisStore) -> list[str]:
    return list(store._cache)


def _size(store: RedisStore) -> int:
    return sum(s.nbytes for s in store._cache.values())


def test_least_recently_searched_namespaces_are_evicted(
    redis_url: str, key_prefix: str
) -> None:
    probe = _filled(redis_url, key_prefix, SNAPSHOT_CACHE_BYTES)
    try:
        probe.search(NAMESPACES[0], query="u0 note 1")
        one = _size(probe)
        assert one > 0
    finally:
        probe.close()
    # Room for two namespaces' snapshots, not three.
    store = _filled(redis_url, key_prefix, int(one * 2.5))
    try:
        reference = [store.search(ns, query=f"{ns[1]} note 3") for ns in NAMESPACES]
        names = [sk.ns_text(ns) for ns in NAMESPACES]
        assert _cached(store) == names[2:]  # u0 and u1 were searched longest ago
        assert _size(store) <= int(one * 2.5)
        store.search(NAMESPACES[2], query="touch")  # u2 becomes the newest
        store.search(NAMESPACES[0], query="again")  # u3, now the oldest, goes
        assert _cached(store) == [names[2], names[0]]
        # Eviction never changes results: an evicted namespace is read again.
        again = [store.search(ns, query=f"{ns[1]} note 3") for ns in NAMESPACES]
        assert [[(i.key, i.score) for i in r] for r in again] == [
            [(i.key, i.score) for i in r] for r in reference
        ]
    finally:
        store.close()


def test_a_prefix_larger_than_the_cap_is_logged_once_and_not_kept(
    redis_url: str, key_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="langgraph_redis")
    store = _filled(redis_url, key_prefix, 64 * 1024)
    try:
        first = store.search(("cap",), query="u1 note 5", limit=5)
        second = store.search(("cap",), query="u1 note 5", limit=5)
        assert [i.key for i in first] == [i.key for i in second] and first[0].key == "k5"
        assert _size(store) <= 64 * 1024 and len(store._cache) < len(NAMESPACES)
        warnings = [r for r in caplog.records if "snapshot_cache_bytes" in r.getMessage()]
        assert len(warnings) == 1 and "('cap',)" in warnings[0].getMessage()
    finally:
        store.close()


def test_trim_keeps_what_fits() -> None:
    assert trim_cache({}, 0, (), set()) == []
