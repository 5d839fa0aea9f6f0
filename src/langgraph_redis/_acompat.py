"""Async/sync name pairs used by the generated sync code.

The async sources import the left-hand names; ``scripts/async_to_sync.py`` maps each to
its right-hand twin, so the generator only ever renames and never rewrites logic.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from typing import Any, TypeVar

import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.asyncio.retry
import redis.asyncio.sentinel
import redis.cluster
import redis.retry
import redis.sentinel

from langgraph_redis._deadline import BlockingPool

logger = logging.getLogger(__name__)

ALock = asyncio.Lock
Lock = threading.Lock
asleep = asyncio.sleep
sleep = time.sleep

AsyncRedis = redis.asyncio.Redis
Redis = redis.Redis
AsyncRedisCluster = redis.asyncio.cluster.RedisCluster
RedisCluster = redis.cluster.RedisCluster
AsyncSentinel = redis.asyncio.sentinel.Sentinel
Sentinel = redis.sentinel.Sentinel
AsyncConnectionPool = redis.asyncio.ConnectionPool
ConnectionPool = redis.ConnectionPool
# Without a timer per call when a connection is free (see langgraph_redis._deadline).
AsyncBlockingConnectionPool = BlockingPool
BlockingConnectionPool = redis.BlockingConnectionPool
# redis-py's sync Retry handed to an async client never retries: its loop returns the
# coroutine un-awaited, so the error escapes the loop. Each side needs its own class.
AsyncRetry = redis.asyncio.retry.Retry
Retry = redis.retry.Retry


async def aqueue_command(pipe: Any, args: tuple[Any, ...]) -> None:
    """Queue one command on a pipeline.

    redis-py 8's async cluster transaction (``RedisCluster.pipeline(transaction=True)``)
    works out each queued command's slot by running ``asyncio.run`` in a new thread,
    about 0.3 ms per command, ten times the cost of the round trip itself. Here the slot
    is computed on the running loop and the command queued as the base strategy does;
    the transaction's execution (MULTI/EXEC, MOVED/ASK retries) stays redis-py's. Any
    other pipeline, or a redis-py without these internals, takes the public path.
    """
    strategy = getattr(pipe, "_execution_strategy", None)
    slots = getattr(strategy, "_pipeline_slots", None)
    if isinstance(strategy, redis.asyncio.cluster.TransactionStrategy) and isinstance(slots, set):
        client = pipe.cluster_client
        await client.initialize()
        slots.add(await client._determine_slot(*args))
        redis.asyncio.cluster.AbstractStrategy.execute_command(strategy, *args)
        return
    pipe.execute_command(*args)


def queue_command(pipe: Any, args: tuple[Any, ...]) -> None:
    """Queue one command on a pipeline.

    redis-py 8's sync cluster pipeline (not its transaction) asks a server which keys
    an EVAL/EVALSHA names (``COMMAND GETKEYS``, one more round trip per script call).
    A script call's first key is known, so it is routed to that key's node here; a
    MOVED reply is still followed by redis-py, which then routes the command itself.
    """
    strategy = getattr(pipe, "_execution_strategy", None)
    if (
        isinstance(strategy, redis.cluster.PipelineStrategy)
        and str(args[0]).upper() in ("EVAL", "EVALSHA")
        and int(args[2]) > 0
    ):
        pipe.execute_command(*args, target_nodes=pipe.get_node_from_key(args[3]))
        return
    pipe.execute_command(*args)


_T = TypeVar("_T")
_finishing: set[asyncio.Task[Any]] = set()  # the loop holds tasks only weakly
_orphans: set[asyncio.Task[Any]] = set()  # ... whose caller was cancelled


def _finished(task: asyncio.Task[Any]) -> None:
    _finishing.discard(task)
    orphan = task in _orphans
    _orphans.discard(task)
    if not task.cancelled() and (exc := task.exception()) is not None and orphan:
        logger.warning("a write whose caller was cancelled failed afterwards: %r", exc)


async def afinish(work: Coroutine[Any, Any, _T]) -> _T:
    """Await ``work``; if the caller is cancelled meanwhile, it still runs to its end.

    The caller gets its ``CancelledError`` at once (a timeout stays a timeout), while
    the work goes on in a task: a multi-step write is never cut between its steps (for
    the store, between an item script and the namespace-index upkeep after it). An
    error it meets once nobody waits for it is logged as a warning.
    """
    task = asyncio.ensure_future(work)
    _finishing.add(task)
    task.add_done_callback(_finished)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        if not task.done():
            _orphans.add(task)
        raise


def finish(work: _T) -> _T:
    """Sync twin of :func:`afinish`: the work has already run."""
    return work


__all__ = [
    "ALock",
    "AsyncBlockingConnectionPool",
    "AsyncIterator",
    "AsyncRedis",
    "AsyncRedisCluster",
    "AsyncRetry",
    "AsyncSentinel",
    "AsyncSweeper",
    "BlockingConnectionPool",
    "Iterator",
    "Lock",
    "Redis",
    "RedisCluster",
    "Retry",
    "Sentinel",
    "ThreadSweeper",
    "afinish",
    "ainit_cluster",
    "aqueue_command",
    "asleep",
    "finish",
    "init_cluster",
    "queue_command",
    "sleep",
]


async def arelease_client(client: AsyncRedis | AsyncRedisCluster) -> None:
    """Close every connection ``client`` opened; the client stays usable.

    ``Redis.aclose()`` leaves open a pool that was handed to the client (redis-py assumes
    its creator closes it), which is how the library's own clients are built; so the
    pool is disconnected here, and a Sentinel-managed client's connections to the
    sentinels too. A pool reconnects on its next use, so an object used again after its
    ``with`` block still works.
    """
    if isinstance(client, AsyncRedisCluster):
        await client.aclose()  # every node's connections; re-initialises on next use
        return
    await client.aclose()
    pool = client.connection_pool
    await pool.disconnect()
    manager = getattr(pool, "sentinel_manager", None)
    for sentinel in getattr(manager, "sentinels", ()):
        await arelease_client(sentinel)


def release_client(client: Redis | RedisCluster) -> None:
    """Sync twin of :func:`arelease_client`.

    redis-py's sync ``RedisCluster.close()`` forgets its default node, after which the
    client fails with ``AttributeError``; so a cluster client only disconnects its node
    pools and keeps its topology, and the pools reconnect on next use.
    """
    if isinstance(client, RedisCluster):
        for node in client.get_nodes():  # type: ignore[no-untyped-call]
            if node.redis_connection is not None:
                node.redis_connection.connection_pool.disconnect()
        return
    client.close()
    pool = client.connection_pool
    pool.disconnect()
    manager = getattr(pool, "sentinel_manager", None)
    for sentinel in getattr(manager, "sentinels", ()):
        release_client(sentinel)


async def ainit_cluster(client: AsyncRedisCluster) -> None:
    """Load the cluster's topology now (the async client does it on first use only)."""
    await client.initialize()


def init_cluster(client: RedisCluster) -> None:
    """Sync twin of :func:`ainit_cluster`: the sync client loads it when it is built."""


class AsyncSweeper:
    """Calls ``sweep`` every ``interval`` seconds in a task of the running loop."""

    def __init__(self, sweep: Callable[[], Awaitable[Any]], interval: float) -> None:
        self._sweep = sweep
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self._sweep()
            except Exception:  # keep sweeping after a transient failure
                logger.exception("TTL sweep failed")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class ThreadSweeper:
    """Sync twin of :class:`AsyncSweeper`: calls ``sweep`` in a daemon thread."""

    def __init__(self, sweep: Callable[[], Any], interval: float) -> None:
        self._sweep = sweep
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="langgraph-redis-ttl-sweeper", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._sweep()
            except Exception:  # keep sweeping after a transient failure
                logger.exception("TTL sweep failed")

    def stop(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()
