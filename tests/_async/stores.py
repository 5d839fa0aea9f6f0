"""Store helpers shared by the store tests (the sync twin is generated)."""

from __future__ import annotations

from typing import Any, cast

from langgraph_redis import AsyncRedisStore


async def close_store(store: AsyncRedisStore, prefix: str) -> None:
    """Close ``store``; on the query engine drop its index first (indexes live in db 0
    and outlast the test's keys)."""
    if store.engine == "query":
        await cast(Any, store.client).execute_command("FT.DROPINDEX", f"{prefix}:idx")
    await store.aclose()
