"""Concurrent searches of one store object share a snapshot refresh (async store).

A search that waited for the snapshot lock while another refreshed the same prefix
with a round trip sent after it began needs no round trip of its own. Before: every
search sent its own, one after the other, under the lock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest_asyncio
from langgraph.store.base import PutOp

from langgraph_redis import AsyncRedisStore
from tests.roundtrips import RoundTrips


@pytest_asyncio.fixture
async def store(redis_url: str, key_prefix: str) -> AsyncIterator[AsyncRedisStore]:
    s = AsyncRedisStore(redis_url, prefix=key_prefix, engine="plain")
    await s.asetup()
    try:
        yield s
    finally:
        await s.aclose()


async def test_waiting_searches_reuse_a_refresh_sent_after_they_began(
    store: AsyncRedisStore, roundtrips: RoundTrips
) -> None:
    await store.abatch([PutOp(("co", f"u{i % 3}"), f"k{i}", {"n": i}) for i in range(30)])
    assert len(await store.asearch(("co",), limit=50)) == 30  # warm: snapshots cached
    with roundtrips as count:
        pages = await asyncio.gather(*(store.asearch(("co",), limit=50) for _ in range(8)))
    assert all(len(p) == 30 for p in pages)
    # The first search's trip was sent before the others began; the second's after:
    # the six others reuse it.
    assert count.value == 2


async def test_a_write_before_a_search_began_is_always_seen(store: AsyncRedisStore) -> None:
    await store.aput(("w",), "a", {"n": 1})
    assert len(await store.asearch(("w",))) == 1

    async def write_then_search(i: int) -> bool:
        await store.aput(("w",), f"k{i}", {"n": i})
        return f"k{i}" in {item.key for item in await store.asearch(("w",), limit=100)}

    # Each search began after its own write completed: it must see it, whether it
    # refreshed the snapshots itself or reused another search's refresh.
    assert all(await asyncio.gather(*(write_then_search(i) for i in range(10))))
    assert len(await store.asearch(("w",), limit=100)) == 11
