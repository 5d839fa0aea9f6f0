"""Sync savers under async graphs and async savers under sync calls (not generated)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.func import entrypoint

from langgraph_redis import AsyncRedisSaver, RedisSaver


async def test_sync_saver_under_ainvoke(redis_url: str, key_prefix: str) -> None:
    with RedisSaver.from_conn_string(redis_url, prefix=key_prefix) as saver:

        @entrypoint(checkpointer=saver)
        async def count(n: int, *, previous: int | None = None) -> int:
            return (previous or 0) + n

        cfg: Any = {"configurable": {"thread_id": str(uuid.uuid4())}}
        assert await count.ainvoke(2, cfg) == 2
        assert await count.ainvoke(3, cfg) == 5
        assert saver.get_tuple(cfg) is not None


async def test_async_saver_sync_methods_from_a_thread(redis_url: str, key_prefix: str) -> None:
    async with AsyncRedisSaver.from_conn_string(redis_url, prefix=key_prefix) as saver:
        await saver.asetup()
        tid = str(uuid.uuid4())
        cfg: Any = {"configurable": {"thread_id": tid, "checkpoint_ns": ""}}

        def blocking() -> Any:
            stored = saver.put(cfg, empty_checkpoint(), {"step": 0}, {})
            return saver.get_tuple(stored), list(saver.list(cfg))

        found, listed = await asyncio.to_thread(blocking)
        assert found is not None and len(listed) == 1
        with pytest.raises(asyncio.InvalidStateError, match="event loop"):
            saver.get_tuple(cfg)


def test_async_saver_on_a_second_loop_says_why(redis_url: str, key_prefix: str) -> None:
    saver = AsyncRedisSaver(redis_url, prefix=key_prefix)
    cfg: Any = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
    first = asyncio.new_event_loop()
    try:
        first.run_until_complete(saver.aput(cfg, empty_checkpoint(), {"step": 0}, {}))
        with pytest.raises(RuntimeError, match="another event loop"):
            asyncio.run(saver.aget_tuple(cfg))
        first.run_until_complete(saver.aclose())  # its connections close on their own loop
    finally:
        first.close()
