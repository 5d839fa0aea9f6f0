"""Every public error, raised for real, is the class ``langgraph_redis`` exports.

``except langgraph_redis.<Name>`` and ``except langgraph_redis.LangGraphRedisError`` must
catch what the savers and the store raise, and each error keeps the base it always had
(``ValueError``, redis-py's ``ConnectionError``...). The sync twin
(``tests/_sync/test_errors.py``) is generated from this file: it is the one that failed
while the connection errors were defined in the async runner, which the generator copies
into the sync package as distinct classes.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any, cast
from urllib.parse import urlsplit

import pytest
import redis.exceptions
from langgraph.checkpoint.base import empty_checkpoint

import langgraph_redis
import langgraph_redis.errors
from langgraph_redis import AsyncRedisSaver, AsyncRedisStore, LangGraphRedisError
from langgraph_redis._acompat import AsyncRedis
from langgraph_redis._core.checkpoint.keys import ThreadKeys
from langgraph_redis._core.store import keys as sk
from tests.proxy import FaultProxy

OLD_BASES: dict[str, type[BaseException]] = {
    "CorruptDataError": ValueError,
    "UnsupportedFormatError": ValueError,
    "RecoveryTimeout": redis.exceptions.ConnectionError,
    "PoolTimeout": redis.exceptions.ConnectionError,
    "NotReplicatedError": redis.exceptions.RedisError,
    # raised from both shells in tests/_async/test_memory_limit.py (needs its own servers)
    "MemoryLimitError": redis.exceptions.OutOfMemoryError,
    # raised from both shells in tests/_async/test_connections.py
    "ServerUnreachable": redis.exceptions.ConnectionError,
}


@contextlib.contextmanager
def raises_public(name: str) -> Iterator[None]:
    """The block raises an error caught by ``except langgraph_redis.<name>``.

    Any other exception (such as a same-named copy of the class) propagates and fails
    the test.
    """
    public = getattr(langgraph_redis, name)
    assert getattr(langgraph_redis.errors, name) is public
    try:
        yield
    except public as exc:
        # isinstance is what an ``except`` clause checks
        assert isinstance(exc, LangGraphRedisError), type(exc).__mro__
        assert isinstance(exc, OLD_BASES[name]), type(exc).__mro__
        return
    raise AssertionError(f"{name} was not raised")


def config(thread_id: str) -> Any:
    return {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}


@pytest.fixture
async def aclient(redis_url: str) -> AsyncIterator[AsyncRedis]:
    client = AsyncRedis.from_url(redis_url)
    yield client
    await client.aclose()


async def drop_index(store: AsyncRedisStore, client: AsyncRedis, prefix: str) -> None:
    """Drop the FT index if the query engine (Redis Stack) made one for ``prefix``."""
    if store.engine == "query":
        with contextlib.suppress(redis.exceptions.ResponseError):  # none without ``index=``
            await cast(Any, client).execute_command("FT.DROPINDEX", sk.index_name(prefix))


@contextlib.contextmanager
def proxy_for(redis_url: str) -> Iterator[tuple[FaultProxy, str]]:
    """A proxy in front of the test server, and the server URL rewritten to go through it."""
    parts = urlsplit(redis_url)
    if parts.scheme != "redis" or parts.hostname is None or parts.port is None:
        pytest.skip(f"needs a plain redis:// URL to put a proxy in front of, got {parts.scheme}")
    with FaultProxy(parts.hostname, parts.port) as proxy:
        auth = parts.netloc.rpartition("@")[0]
        netloc = f"{auth}@127.0.0.1:{proxy.port}" if auth else f"127.0.0.1:{proxy.port}"
        yield proxy, parts._replace(netloc=netloc).geturl()


async def test_recovery_timeout(redis_url: str, key_prefix: str, aclient: AsyncRedis) -> None:
    """The server goes away (the proxy stops): calls give up after ``recovery_timeout``."""
    with proxy_for(redis_url) as (proxy, url):
        saver = AsyncRedisSaver(url, prefix=key_prefix, recovery_timeout=0.2)
        store = AsyncRedisStore(url, prefix=key_prefix, recovery_timeout=0.2)
        try:
            await saver.asetup()
            await store.asetup()
            proxy.stop()
            with raises_public("RecoveryTimeout"):
                await saver.aget_tuple(config("t"))
            with raises_public("RecoveryTimeout"):
                await store.aget(("ns",), "k")
        finally:
            await saver.aclose()
            await store.aclose()
            await drop_index(store, aclient, key_prefix)


async def test_pool_timeout(redis_url: str, key_prefix: str, aclient: AsyncRedis) -> None:
    """The only pooled connection is held elsewhere: the call fails after ``pool_timeout``."""
    saver = AsyncRedisSaver(redis_url, prefix=key_prefix, pool_size=1, pool_timeout=0.1)
    store = AsyncRedisStore(redis_url, prefix=key_prefix, pool_size=1, pool_timeout=0.1)
    try:
        for owner in (saver, store):
            await owner.asetup()
        pool = cast(Any, saver._conn.client).connection_pool  # standalone here
        held = await pool.get_connection()
        try:
            with raises_public("PoolTimeout"):
                await saver.aget_tuple(config("t"))
        finally:
            await pool.release(held)
        pool = cast(Any, store._conn.client).connection_pool
        held = await pool.get_connection()
        try:
            with raises_public("PoolTimeout"):
                await store.aget(("ns",), "k")
        finally:
            await pool.release(held)
    finally:
        await saver.aclose()
        await store.aclose()
        await drop_index(store, aclient, key_prefix)


async def test_not_replicated(redis_url: str, key_prefix: str) -> None:
    """Asking for more replicas than the server has: the write is applied, then refused."""
    async with AsyncRedisSaver.from_conn_string(
        redis_url, prefix=key_prefix, wait_replicas=(100, 10)
    ) as saver:
        tid = str(uuid.uuid4())
        with raises_public("NotReplicatedError"):
            await saver.aput(config(tid), empty_checkpoint(), {"step": 0}, {})
        assert await saver.aget_tuple(config(tid)) is not None


async def test_corrupt_data(redis_url: str, key_prefix: str, aclient: AsyncRedis) -> None:
    """A damaged checkpoint payload, and a store item key holding a foreign string."""
    async with AsyncRedisSaver.from_conn_string(redis_url, prefix=key_prefix) as saver:
        tid = str(uuid.uuid4())
        stored = await saver.aput(config(tid), empty_checkpoint(), {"step": 0}, {})
        key = ThreadKeys(key_prefix, tid).checkpoint("", stored["configurable"]["checkpoint_id"])
        await aclient.hset(key, "c", b"damaged: no type marker")
        with raises_public("CorruptDataError"):
            await saver.aget_tuple(config(tid))
    store = AsyncRedisStore(redis_url, prefix=key_prefix)
    try:
        await store.aput(("ns",), "k", {"v": 1})
        item = sk.item_key(key_prefix, sk.ns_text(("ns",)), "k")
        await aclient.delete(item)
        await aclient.set(item, "not a store item")
        with raises_public("CorruptDataError"):
            await store.aget(("ns",), "k")
    finally:
        await store.aclose()
        await drop_index(store, aclient, key_prefix)


async def test_unsupported_format(redis_url: str, key_prefix: str, aclient: AsyncRedis) -> None:
    """Data marked with a newer format version is refused by the saver and the store."""
    async with AsyncRedisSaver.from_conn_string(redis_url, prefix=key_prefix) as saver:
        tid = str(uuid.uuid4())
        stored = await saver.aput(config(tid), empty_checkpoint(), {"step": 0}, {})
        key = ThreadKeys(key_prefix, tid).checkpoint("", stored["configurable"]["checkpoint_id"])
        await aclient.hset(key, "fmt", "99")
        with raises_public("UnsupportedFormatError"):
            await saver.aget_tuple(config(tid))
    store = AsyncRedisStore(redis_url, prefix=key_prefix)
    try:
        await store.aput(("ns",), "k", {"v": 1})
        await aclient.hset(sk.item_key(key_prefix, sk.ns_text(("ns",)), "k"), "fmt", "99")
        with raises_public("UnsupportedFormatError"):
            await store.aget(("ns",), "k")
    finally:
        await store.aclose()
        await drop_index(store, aclient, key_prefix)
