"""A search interrupted while it loads snapshots leaves the store as if it never ran.

The plain engine keeps a client-side snapshot per namespace and loads it over several
round trips (namespace index, bookkeeping, then the items). These tests interrupt that
load at every reply it reads: by cancelling the task (what ``asyncio.timeout``, a client
disconnect or a cancelled run do), by cutting the TCP connection, and by a sync search
that fails. The next search on the same store object must return every item.

Not generated: cancellation is async-only and the sync failure uses a sync hook.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis.asyncio.connection
import redis.connection
from langgraph.store.base import PutOp
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from langgraph_redis import AsyncRedisStore, RedisStore
from langgraph_redis._acompat import AsyncRetry, Retry, _finishing
from langgraph_redis._core.store.snapshot import DELTA_LIMIT
from langgraph_redis.demo import HashEmbeddings
from tests.proxy import FaultProxy
from tests.servers import LocalCluster

N = 3000
NS = ("load", "big")
INDEX: dict[str, object] = {"dims": 8, "embed": HashEmbeddings(8)}


class ReplyHook:
    """Calls ``action`` when the armed client reads its ``at``-th reply (1-based).

    Wraps redis-py's ``read_response`` (async and sync); nothing is mocked: the real
    read follows, so an interruption lands wherever the real I/O next waits.
    """

    def __init__(self) -> None:
        self.at = 0
        self.seen = 0
        self.fired = False
        self.action: Any = None

    def arm(self, at: int, action: Any) -> None:
        self.at, self.seen, self.fired, self.action = at, 0, False, action

    def disarm(self) -> None:
        self.at = 0

    def tick(self) -> None:
        if self.at:
            self.seen += 1
            if self.seen == self.at:
                self.fired = True
                self.action()


@pytest.fixture
def hook(monkeypatch: pytest.MonkeyPatch) -> Iterator[ReplyHook]:
    h = ReplyHook()
    a_orig = redis.asyncio.connection.AbstractConnection.read_response
    s_orig = redis.connection.AbstractConnection.read_response

    async def a_read(self: Any, *args: Any, **kwargs: Any) -> Any:
        h.tick()
        return await a_orig(self, *args, **kwargs)

    def s_read(self: Any, *args: Any, **kwargs: Any) -> Any:
        h.tick()
        return s_orig(self, *args, **kwargs)

    monkeypatch.setattr(redis.asyncio.connection.AbstractConnection, "read_response", a_read)
    monkeypatch.setattr(redis.connection.AbstractConnection, "read_response", s_read)
    yield h
    h.disarm()


def _values(found: list[Any]) -> dict[str, int]:
    return {i.key: i.value["i"] for i in found}


def _scores(found: list[Any]) -> dict[str, float]:
    return {i.key: round(i.score, 5) for i in found}


def _expected(gen: int = 0) -> dict[str, int]:
    return {f"k{j}": j + gen for j in range(N)}


def _with_vectors(url: str, prefix: str) -> AbstractAsyncContextManager[AsyncRedisStore]:
    """A plain-engine store embedding ``text``; its connections close when the block ends."""
    return AsyncRedisStore.from_conn_string(url, prefix=prefix, engine="plain", index=INDEX)  # type: ignore[arg-type]


async def _fill(url: str, prefix: str, gen: int = 0, count: int = N) -> None:
    async with _with_vectors(url, prefix) as writer:
        ops = [PutOp(NS, f"k{j}", {"i": j + gen, "text": f"t{j}"}) for j in range(count)]
        for i in range(0, len(ops), 500):
            await writer.abatch(ops[i : i + 500])


async def _reads_of_one_load(url: str, prefix: str, hook: ReplyHook) -> int:
    """How many replies a first search reads (the points where it can be interrupted)."""
    store = AsyncRedisStore(url, prefix=prefix, engine="plain", index=INDEX)  # type: ignore[arg-type]
    try:
        await store.asetup()
        hook.arm(10**9, lambda: None)
        assert len(await store.asearch(NS, limit=N + 10)) == N
        return hook.seen
    finally:
        hook.disarm()
        await store.aclose()


async def _cancelled_search(store: AsyncRedisStore, hook: ReplyHook, at: int) -> Any:
    """Run a search in a task that is cancelled at its ``at``-th reply read.

    Returns the task (done). A reply that needed no wait may let the search finish
    before the cancellation lands; ``hook.fired`` says whether reply ``at`` was reached.
    """
    return await _cancelled(store.asearch(NS, limit=N + 10), hook, at)


async def _cancelled(work: Any, hook: ReplyHook, at: int) -> Any:
    task: asyncio.Task[Any] | None = None

    def cancel() -> None:
        assert task is not None
        task.cancel()

    hook.arm(at, cancel)
    task = asyncio.ensure_future(work)
    await asyncio.wait([task])
    hook.disarm()
    return task


async def test_cancelled_writes_keep_the_namespace_index_right(
    redis_url: str, key_prefix: str, hook: ReplyHook
) -> None:
    """A delete that empties a namespace, or a put that creates one, cancelled at each
    reply it reads: once the write has run its course, list_namespaces agrees with get
    (the write goes on after its caller's cancellation; nothing is cut half-way)."""
    store = AsyncRedisStore(redis_url, prefix=key_prefix, engine="plain", pool_size=2)
    try:
        await store.asetup()
        await store.aput(("warm",), "x", {"v": 0})  # scripts loaded
        cancelled = 0
        for at in range(1, 6):
            emptied, created = ("gone", str(at)), ("made", str(at))
            await store.aput(emptied, "only", {"v": 1})
            for ns, work in (
                (emptied, store.adelete(emptied, "only")),
                (created, store.aput(created, "k", {"v": 2})),
            ):
                task = await _cancelled(work, hook, at)
                cancelled += task.cancelled()
                await asyncio.gather(*_finishing)  # what the cancelled calls left running
                held = await store.aget(ns, "only" if ns == emptied else "k") is not None
                listed = ns in await store.alist_namespaces(prefix=ns[:1])
                assert listed == held, f"{ns} after a cancel at reply {at}"
        assert cancelled >= 2
    finally:
        await store.aclose()


@pytest.mark.parametrize("vectors", [False, True])
async def test_search_cancelled_at_every_reply_of_the_first_load(
    redis_url: str, key_prefix: str, hook: ReplyHook, vectors: bool
) -> None:
    await _cancel_at_every_reply(redis_url, key_prefix, hook, vectors)


@pytest.mark.cluster
async def test_search_cancelled_at_every_reply_on_a_cluster(
    cluster: LocalCluster, key_prefix: str, hook: ReplyHook
) -> None:
    await _cancel_at_every_reply(cluster.url, key_prefix, hook, True)


async def _cancel_at_every_reply(
    redis_url: str, key_prefix: str, hook: ReplyHook, vectors: bool
) -> None:
    await _fill(redis_url, key_prefix)
    reads = await _reads_of_one_load(redis_url, key_prefix, hook)
    assert reads >= 3  # index, bookkeeping, items
    cancelled = 0
    scores: dict[str, float] = {}
    if vectors:
        async with _with_vectors(redis_url, key_prefix) as clean:
            scores = _scores(await clean.asearch(NS, query="t7", limit=N + 10))
        assert len(scores) == N
    for at in range(1, reads + 1):
        store = AsyncRedisStore(
            redis_url,
            prefix=key_prefix,
            engine="plain",
            index=INDEX if vectors else None,  # type: ignore[arg-type]
            pool_size=2,
        )
        try:
            await store.asetup()
            task = await _cancelled_search(store, hook, at)
            assert hook.fired
            if task.cancelled():
                cancelled += 1
            else:  # finished before the cancellation landed
                assert _values(task.result()) == _expected()
            found = await store.asearch(NS, limit=N + 10)
            assert _values(found) == _expected(), f"after a cancel at reply {at} of {reads}"
            if vectors:
                hits = await store.asearch(NS, query="t7", limit=N + 10)
                assert _scores(hits) == scores, f"after a cancel at reply {at} of {reads}"
        finally:
            await store.aclose()
    assert cancelled >= 3


async def test_search_cancelled_while_reloading_a_changed_namespace(
    redis_url: str, key_prefix: str, hook: ReplyHook
) -> None:
    """A warm snapshot far behind (more than DELTA_LIMIT writes) is reloaded; cancelling
    that reload must not leave the old snapshot claiming the new version."""
    await _fill(redis_url, key_prefix)
    store = AsyncRedisStore(redis_url, prefix=key_prefix, engine="plain", pool_size=2)
    try:
        await store.asetup()
        assert _values(await store.asearch(NS, limit=N + 10)) == _expected()
        gen = 0
        at = 1
        cancelled = 0
        while True:
            gen += 1
            await _fill(redis_url, key_prefix, gen=gen, count=N)
            assert N > DELTA_LIMIT
            task = await _cancelled_search(store, hook, at)
            if not hook.fired:  # past the last reply of a reload
                break
            cancelled += task.cancelled()
            found = await store.asearch(NS, limit=N + 10)
            assert _values(found) == _expected(gen), f"after a cancel at reply {at}"
            at += 1
        assert cancelled >= 3
    finally:
        await store.aclose()


async def test_search_under_timeouts_spread_over_the_load(redis_url: str, key_prefix: str) -> None:
    """``asyncio.wait_for`` deadlines from 0 to past the load's duration."""
    await _fill(redis_url, key_prefix)
    loop = asyncio.get_running_loop()
    probe = AsyncRedisStore(redis_url, prefix=key_prefix, engine="plain")
    try:
        await probe.asetup()
        started = loop.time()
        assert len(await probe.asearch(NS, limit=N + 10)) == N
        took = loop.time() - started
    finally:
        await probe.aclose()
    for step in range(12):
        store = AsyncRedisStore(redis_url, prefix=key_prefix, engine="plain", pool_size=2)
        try:
            await store.asetup()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(store.asearch(NS, limit=N + 10), took * step / 10)
            assert _values(await store.asearch(NS, limit=N + 10)) == _expected()
        finally:
            await store.aclose()


def _upstream(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


class _InThread:
    """A :class:`RedisStore` behind the async store's method names: each call runs in a
    worker thread (the reply hook fires there just the same)."""

    def __init__(self, store: RedisStore) -> None:
        self.store = store

    async def asetup(self) -> None:
        await asyncio.to_thread(self.store.setup)

    async def asearch(self, namespace: tuple[str, ...], *, limit: int) -> list[Any]:
        return await asyncio.to_thread(self.store.search, namespace, limit=limit)

    async def aclose(self) -> None:
        await asyncio.to_thread(self.store.close)


@pytest.mark.parametrize("sync", [False, True], ids=["async", "sync"])
async def test_connection_cut_mid_load(
    redis_url: str, key_prefix: str, hook: ReplyHook, sync: bool
) -> None:
    """The TCP connection dies at each reply of the load, with recovery off so the
    search fails; the next search (new connection) returns every item, and no
    half-loaded snapshot is left behind."""
    await _fill(redis_url, key_prefix)
    reads = await _reads_of_one_load(redis_url, key_prefix, hook)
    failed = 0
    with FaultProxy(*_upstream(redis_url)) as proxy:
        for at in range(1, reads + 1):
            # pool_size=1: no idle connection the cut killed is handed out next.
            options: Any = {"prefix": key_prefix, "engine": "plain", "recovery_timeout": 0}
            store: AsyncRedisStore | _InThread = (
                _InThread(
                    RedisStore(proxy.url, retry=Retry(NoBackoff(), 0), pool_size=1, **options)
                )
                if sync
                else AsyncRedisStore(
                    proxy.url, retry=AsyncRetry(NoBackoff(), 0), pool_size=1, **options
                )
            )
            try:
                await store.asetup()
                hook.arm(at, proxy.cut)
                try:
                    await store.asearch(NS, limit=N + 10)
                except (RedisConnectionError, ConnectionError):
                    failed += 1
                hook.disarm()
                for _ in range(3):  # a connection the cut closed after its reply fails once
                    with contextlib.suppress(RedisConnectionError, ConnectionError):
                        found = await store.asearch(NS, limit=N + 10)
                        break
                assert _values(found) == _expected(), f"after a cut at reply {at} of {reads}"
            finally:
                hook.disarm()
                await store.aclose()
    assert failed >= 2
