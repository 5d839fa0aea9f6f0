"""Cross-calling for the stores, and the TTL sweeper's two runtimes.

``AsyncRedisStore.batch`` runs ``abatch`` on the loop that owns the store's connections
(from another thread; from the loop's own thread it raises instead of deadlocking);
``RedisStore.abatch`` runs ``batch`` in the default executor. The sweeper is an asyncio
task for the async store and a daemon thread for the sync one. Hand-written (not
generated): each pair is genuinely different code.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from langgraph.store.base import Op, Result

from langgraph_redis._bridge import LoopBound, in_thread

logger = logging.getLogger("langgraph_redis")
T = TypeVar("T")


def run_async(fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
    """Run an async method to completion on a fresh event loop (tests and scripts)."""

    async def main() -> T:
        return await fn(*args, **kwargs)

    return asyncio.run(main())


class AsyncStoreBridge(LoopBound):
    """``batch`` for the async store: run ``abatch`` on the owning event loop."""

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        result: list[Result] = self._call_on_loop(self.abatch(list(ops)))  # type: ignore[attr-defined]
        return result

    # LangGraph's async stores (postgres, sqlite) spell these without the ``a``, as
    # coroutines; code written for them runs unchanged.
    async def setup(self) -> None:
        await self.asetup()  # type: ignore[attr-defined]

    async def sweep_ttl(self) -> int:
        swept: int = await self.asweep_ttl()  # type: ignore[attr-defined]
        return swept

    async def start_ttl_sweeper(self, sweep_interval_minutes: float | None = None) -> None:
        await self.astart_ttl_sweeper(sweep_interval_minutes)  # type: ignore[attr-defined]

    async def stop_ttl_sweeper(self) -> None:
        await self.astop_ttl_sweeper()  # type: ignore[attr-defined]


class SyncStoreBridge:
    """``abatch`` for the sync store: run ``batch`` in a worker thread."""

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        result: list[Result] = await in_thread(self.batch, list(ops))  # type: ignore[attr-defined]
        return result


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
                logger.exception("langgraph_redis TTL sweep failed")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class ThreadSweeper:
    """Calls ``sweep`` every ``interval`` seconds in a daemon thread."""

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
                logger.exception("langgraph_redis TTL sweep failed")

    def stop(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()
