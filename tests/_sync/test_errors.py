# WARNING: generated from tests/_async/test_errors.py by scripts/async_to_sync.py.
# DO NOT EDIT: change the async source and regenerate.
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
from collections.abc import Iterator, Iterator
from typing import Any, cast
from urllib.parse import urlsplit

import pytest
import redis.exceptions
from langgraph.checkpoint.base import empty_checkpoint

import langgraph_redis
import langgraph_redis.errors
from langgraph_redis import RedisSaver, RedisStore, LangGraphRedisError
from langgraph_redis._acompat import Redis
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
def client(redis_url: str) -> Iterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    client.close()


def drop_index(store: RedisStore, client: Redis, prefix: str) -> None:
    """Drop the FT index if the query engine (Redis Stack) made one for ``prefix``."""
    if store.engine == "query":
        with contextlib.suppress(redis.exceptions.ResponseError):  # none without ``index=``
            cast(Any, client).execute_command("FT.DROPINDEX", sk.index_name(prefix))


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


def test_recovery_timeout(redis_url: str, key_prefix: str, client: Redis) -> None:
    """The server goes away (the proxy stops): calls give up after ``recovery_timeout``."""
    with proxy_for(redis_url) as (proxy, url):
        saver = RedisSaver(url, prefix=key_prefix, recovery_timeout=0.2)
        store = RedisStore(url, prefix=key_prefix, recovery_timeout=0.2)
        try:
            saver.setup()
            store.setup()
            proxy.stop()
            with raises_public("RecoveryTimeout"):
                saver.get_tuple(config("t"))
            with raises_public("RecoveryTimeout"):
                store.get(("ns",), "k")
        finally:
            saver.close()
            store.close()
            drop_index(store, client, key_prefix)


def test_pool_timeout(redis_url: str, key_prefix: str, client: Redis) -> None:
    """The only pooled connection is held elsewhere: the call fails after ``pool_timeout``."""
    saver = RedisSaver(redis_url, prefix=key_prefix, pool_size=1, pool_timeout=0.1)
    store = RedisStore(redis_url, prefix=key_prefix, pool_size=1, pool_timeout=0.1)
    try:
        for owner in (saver, store):
            owner.setup()
        pool = cast(Any, saver._conn.client).connection_pool  # standalone here
        held = pool.get_connection()
        try:
            with raises_public("PoolTimeout"):
                saver.get_tuple(config("t"))
        finally:
            pool.release(held)
        pool = cast(Any, store._conn.client).connection_pool
        held = pool.get_connection()
        try:
            with raises_public("PoolTimeout"):
                store.get(("ns",), "k")
        finally:
            pool.release(held)
    finally:
        saver.close()
        store.close()
        drop_index(store, client, key_prefix)


def test_not_replicated(redis_url: str, key_prefix: str) -> None:
    """Asking for more replicas than the server has: the write is applied, then refused."""
    with RedisSaver.from_conn_string(
        redis_url, prefix=key_prefix, wait_replicas=(100, 10)
    ) as saver:
        tid = str(uuid.uuid4())
        with raises_public("NotReplicatedError"):
            saver.put(config(tid), empty_checkpoint(), {"step": 0}, {})
        assert saver.get_tuple(config(tid)) is not None


def test_corrupt_data(redis_url: str, key_prefix: str, client: Redis) -> None:
    """A damaged checkpoint payload, and a store item key holding a foreign string."""
    with RedisSaver.from_conn_string(redis_url, prefix=key_prefix) as saver:
        tid = str(uuid.uuid4())
        stored = saver.put(config(tid), empty_checkpoint(), {"step": 0}, {})
        key = ThreadKeys(key_prefix, tid).checkpoint("", stored["configurable"]["checkpoint_id"])
        client.hset(key, "c", b"damaged: no type marker")
        with raises_public("CorruptDataError"):
            saver.get_tuple(config(tid))
    store = RedisStore(redis_url, prefix=key_prefix)
    try:
        store.put(("ns",), "k", {"v": 1})
        item = sk.item_key(key_prefix, sk.ns_text(("ns",)), "k")
        client.delete(item)
        client.set(item, "not a store item")
        with raises_public("CorruptDataError"):
            store.get(("ns",), "k")
    finally:
        store.close()
        drop_index(store, client, key_prefix)


def test_unsupported_format(redis_url: str, key_prefix: str, client: Redis) -> None:
    """Data marked with a newer format version is refused by the saver and the store."""
    with RedisSaver.from_conn_string(redis_url, prefix=key_prefix) as saver:
        tid = str(uuid.uuid4())
        stored = saver.put(config(tid), empty_checkpoint(), {"step": 0}, {})
        key = ThreadKeys(key_prefix, tid).checkpoint("", stored["configurable"]["checkpoint_id"])
        client.hset(key, "fmt", "99")
        with raises_public("UnsupportedFormatError"):
            saver.get_tuple(config(tid))
    store = RedisStore(redis_url, prefix=key_prefix)
    try:
        store.put(("ns",), "k", {"v": 1})
        client.hset(sk.item_key(key_prefix, sk.ns_text(("ns",)), "k"), "fmt", "99")
        with raises_public("UnsupportedFormatError"):
            store.get(("ns",), "k")
    finally:
        store.close()
        drop_index(store, client, key_prefix)
