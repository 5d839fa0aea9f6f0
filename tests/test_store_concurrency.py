"""Store under concurrency and the spellings other LangGraph stores use (not generated)."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from langgraph.store.base import SearchItem

from langgraph_redis import AsyncRedisStore, RedisStore
from langgraph_redis.demo import HashEmbeddings

INDEX: dict[str, object] = {"dims": 32, "embed": HashEmbeddings(32)}


def test_sync_store_shared_by_threads(redis_url: str, key_prefix: str) -> None:
    """Searches refresh a shared snapshot cache while other threads empty and refill the
    namespaces it holds; no thread may see the cache half-updated."""
    with RedisStore.from_conn_string(redis_url, index=INDEX, prefix=key_prefix) as store:  # type: ignore[arg-type]
        store.setup()
        with ThreadPoolExecutor(10) as pool:
            futures: list[Future[Any]] = []
            for i in range(1500):
                ns = ("t", str(i % 2))
                futures += [
                    pool.submit(store.put, ns, f"k{i}", {"text": f"item {i} topic {i % 3}"}),
                    pool.submit(store.search, ("t",), query=f"topic {i % 3}", limit=5),
                    pool.submit(store.search, ("t",)),
                    pool.submit(store.delete, ns, f"k{i}"),
                ]
            errors = [f.exception() for f in futures if f.exception() is not None]
        assert errors == []
        store.put(("t", "0"), "last", {"text": "topic 1"})
        fresh = RedisStore(redis_url, index=INDEX, prefix=key_prefix)  # type: ignore[arg-type]
        ours = store.search(("t",), query="topic 1", limit=1000)
        theirs = fresh.search(("t",), query="topic 1", limit=1000)

        # same items and scores; the order among equal scores is unspecified
        def ranked(items: list[SearchItem]) -> list[tuple[float, str]]:
            return sorted((-round(i.score or 0, 5), i.key) for i in items)

        assert ranked(ours) == ranked(theirs)


async def test_async_store_many_concurrent_ops_queue(redis_url: str, key_prefix: str) -> None:
    """Far more concurrent calls than pooled connections: callers wait, none fail."""
    async with AsyncRedisStore.from_conn_string(
        redis_url=redis_url, prefix=key_prefix, pool_size=4
    ) as store:
        await store.setup()  # the coroutine spelling of LangGraph's async stores
        ns = ("bulk", uuid.uuid4().hex)
        await asyncio.gather(*(store.aput(ns, f"k{i}", {"i": i}) for i in range(3000)))
        got = await asyncio.gather(*(store.aget(ns, f"k{i}") for i in range(3000)))
        assert [g.value["i"] for g in got if g is not None] == list(range(3000))
        assert await store.sweep_ttl() == 0
        await store.start_ttl_sweeper(1)
        await store.stop_ttl_sweeper()
