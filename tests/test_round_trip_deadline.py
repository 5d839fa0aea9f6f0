"""``socket_timeout`` as one deadline per round trip on the async clients we make.

Async only: the sync client's socket timeout is the kernel's and is left as it is.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis.asyncio.connection
from redis.exceptions import TimeoutError as RedisTimeoutError

from langgraph_redis import AsyncRedisSaver, AsyncRedisStore, RecoveryTimeout
from tests._async.test_saver import config, snapshot
from tests.connections import unique_name
from tests.proxy import saver_behind_proxy
from tests.servers import LocalServer, require_engine, start_server

HANG_GUARD = 60.0
"""A call still running after this long hangs (the bounds tested are under 2 s)."""


class TimerCount:
    def __init__(self) -> None:
        self.calls = 0


@pytest.fixture
def asyncio_timeouts(monkeypatch: pytest.MonkeyPatch) -> Iterator[TimerCount]:
    """Counts the per-call timeouts redis-py's asyncio connection sets up (a spy: the
    real functions still run)."""
    count = TimerCount()

    def spy(original: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            count.calls += 1
            return original(*args, **kwargs)

        return counted

    module = redis.asyncio.connection
    monkeypatch.setattr(module, "async_timeout", spy(getattr(module, "async_timeout")))  # noqa: B009
    monkeypatch.setattr(asyncio, "wait_for", spy(asyncio.wait_for))
    yield count


async def test_round_trips_set_up_no_per_call_timeout(
    redis_url: str, key_prefix: str, asyncio_timeouts: TimerCount
) -> None:
    """Fails before: one ``wait_for`` per send, one ``timeout`` per reply read and one
    per pool checkout."""
    async with AsyncRedisSaver.from_conn_string(redis_url, prefix=key_prefix) as saver:
        async with AsyncRedisStore.from_conn_string(redis_url, prefix=key_prefix) as store:
            tid = str(uuid.uuid4())
            await saver.aput(config(tid), snapshot({"a": 1}), {}, {"a": "1"})
            await store.aput(("d",), "k", {"v": 1})
            asyncio_timeouts.calls = 0
            for i in range(3):
                await saver.aput(config(tid), snapshot({"a": i}), {}, {"a": str(i + 2)})
                assert await saver.aget_tuple(config(tid)) is not None
                await store.aput(("d",), "k", {"v": i})
                assert await store.aget(("d",), "k") is not None
            assert asyncio_timeouts.calls == 0  # (closing the pools sets up some)


@pytest.fixture
def valkey_server() -> Iterator[LocalServer]:
    require_engine("valkey")
    with start_server("valkey") as server:
        yield server


async def test_a_stalled_round_trip_times_out_then_recovers(valkey_server: LocalServer) -> None:
    """A server that stops answering mid round trip: the wait ends by the deadline
    (no per-call timeout is left to end it), and the next call after it resumes works."""
    async with saver_behind_proxy(
        valkey_server, "dl", socket_timeout=0.3, recovery_timeout=0.0, retries=0
    ) as (proxy, saver):
        await saver.aput(config("t"), snapshot({"a": 1}), {}, {"a": "1"})
        proxy.stall()
        with pytest.raises(RecoveryTimeout, match="TimeoutError: Timeout reading") as info:
            await asyncio.wait_for(saver.aget_tuple(config("t")), HANG_GUARD)
        assert isinstance(info.value.__cause__, RedisTimeoutError)
        proxy.resume()
        got = await asyncio.wait_for(saver.aget_tuple(config("t")), HANG_GUARD)
        assert got is not None and got.checkpoint["channel_values"] == {"a": 1}


async def test_an_idle_connection_is_not_cut_by_its_deadline(
    redis_url: str, key_prefix: str
) -> None:
    """The deadline bounds a round trip, not a connection's life: a pooled connection
    left idle past it is reused, not aborted."""
    name = unique_name("idle")
    async with AsyncRedisStore.from_conn_string(
        redis_url, prefix=key_prefix, client_name=name, socket_timeout=0.05
    ) as store:
        await store.aput(("i",), "k", {"v": 1})
        before = await _ids(store, name)
        await asyncio.sleep(0.3)  # several deadlines pass while the pool is idle
        assert await store.aget(("i",), "k") is not None
        assert await _ids(store, name) == before


async def _ids(store: AsyncRedisStore, name: str) -> set[int]:
    """Ids of the store's own connections, as the server lists them."""
    listed = await store.client.client_list()  # type: ignore[union-attr, unused-ignore]
    return {int(c["id"]) for c in listed if c.get("name") == name}
