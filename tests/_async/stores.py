"""Store helpers shared by the store tests (the sync twin is generated)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from langgraph_redis import AsyncRedisStore


async def close_store(store: AsyncRedisStore, prefix: str) -> None:
    """Close ``store``; on the query engine drop its index first (indexes live in db 0
    and outlast the test's keys)."""
    if store.engine == "query":
        await cast(Any, store.client).execute_command("FT.DROPINDEX", f"{prefix}:idx")
    await store.aclose()


async def put_and_read_back(
    store: AsyncRedisStore, namespaces: Sequence[tuple[str, ...]], keys: Sequence[str]
) -> None:
    """Put an item under every key in every namespace, then get each: its namespace, key
    and value come back as written (names that need escaping must round-trip)."""
    for ns in namespaces:
        for key in keys:
            await store.aput(ns, key, {"text": f"{ns}/{key}", "k": key})
    for ns in namespaces:
        for key in keys:
            item = await store.aget(ns, key)
            assert item is not None and (item.namespace, item.key) == (ns, key)
            assert item.value == {"text": f"{ns}/{key}", "k": key}
