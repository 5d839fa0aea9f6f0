# WARNING: generated from tests/_async/stores.py by scripts/async_to_sync.py.
# DO NOT EDIT: change the async source and regenerate.
"""Store helpers shared by the store tests (the sync twin is generated)."""

from __future__ import annotations

from typing import Any, cast

from langgraph_redis import RedisStore


def close_store(store: RedisStore, prefix: str) -> None:
    """Close ``store``; on the query engine drop its index first (indexes live in db 0
    and outlast the test's keys)."""
    if store.engine == "query":
        cast(Any, store.client).execute_command("FT.DROPINDEX", f"{prefix}:idx")
    store.close()
