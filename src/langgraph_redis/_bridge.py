"""Cross-calling between the sync and async APIs.

LangGraph may call a saver's sync methods from a worker thread while the async saver's
connections belong to an event loop (``graph.invoke`` on an async saver), or call async
methods on a sync saver (``graph.ainvoke`` with ``RedisSaver``). The async classes run
their coroutines on the loop that owns their connections; the sync classes run their
blocking methods in the default executor. Hand-written (not generated): the two
directions are genuinely different code.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


class LoopBound:
    """Remembers the event loop that owns the connections, to run coroutines on it."""

    _loop: asyncio.AbstractEventLoop | None = None

    def _remember_loop(self) -> None:
        with contextlib.suppress(RuntimeError):
            self._loop = asyncio.get_running_loop()

    def _call_on_loop(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the owning loop from another thread and wait for it."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        loop = self._loop
        if running is not None and (loop is None or running is loop):
            coro.close()
            raise asyncio.InvalidStateError(
                "sync methods of an async langgraph-redis object cannot be called from its "
                "event loop; await the async method (e.g. aget_tuple) or use the sync class"
            )
        if loop is None or loop.is_closed() or not loop.is_running():
            coro.close()
            raise asyncio.InvalidStateError(
                "the async object's event loop is not running; use the sync class "
                "(RedisSaver / RedisStore) from synchronous code"
            )
        return asyncio.run_coroutine_threadsafe(coro, loop).result()

    def _iter_on_loop(self, agen: AsyncIterator[T]) -> Iterator[T]:
        async def collect() -> list[T]:
            return [item async for item in agen]

        yield from self._call_on_loop(collect())


async def in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking method in the default executor."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, lambda: fn(*args, **kwargs))


class AsyncSaverBridge(LoopBound):
    """Sync methods of the async savers: run the coroutine on the owning loop."""

    def get_tuple(self, config: Any) -> Any:
        return self._call_on_loop(self.aget_tuple(config))  # type: ignore[attr-defined]

    def list(self, config: Any, **kwargs: Any) -> Iterator[Any]:
        return self._iter_on_loop(self.alist(config, **kwargs))  # type: ignore[attr-defined]

    def put(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        return self._call_on_loop(self.aput(config, checkpoint, metadata, new_versions))  # type: ignore[attr-defined]

    def put_writes(self, config: Any, writes: Any, task_id: str, task_path: str = "") -> None:
        self._call_on_loop(self.aput_writes(config, writes, task_id, task_path))  # type: ignore[attr-defined]

    def delete_thread(self, thread_id: str) -> None:
        self._call_on_loop(self.adelete_thread(thread_id))  # type: ignore[attr-defined]

    def delete_for_runs(self, run_ids: Any) -> None:
        self._call_on_loop(self.adelete_for_runs(run_ids))  # type: ignore[attr-defined]

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        self._call_on_loop(self.acopy_thread(source_thread_id, target_thread_id))  # type: ignore[attr-defined]

    def prune(self, thread_ids: Any, *, strategy: str = "keep_latest") -> None:
        self._call_on_loop(self.aprune(thread_ids, strategy=strategy))  # type: ignore[attr-defined]

    async def setup(self) -> None:
        """Same as ``asetup``: LangGraph's async savers spell it ``await saver.setup()``."""
        await self.asetup()  # type: ignore[attr-defined]


class SyncSaverBridge:
    """Async methods of the sync savers: run the blocking method in a worker thread."""

    async def aget_tuple(self, config: Any) -> Any:
        return await in_thread(self.get_tuple, config)  # type: ignore[attr-defined]

    async def alist(self, config: Any, **kwargs: Any) -> AsyncIterator[Any]:
        items = await in_thread(lambda: [*self.list(config, **kwargs)])  # type: ignore[attr-defined]
        for item in items:
            yield item

    async def aput(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        return await in_thread(self.put, config, checkpoint, metadata, new_versions)  # type: ignore[attr-defined]

    async def aput_writes(
        self, config: Any, writes: Any, task_id: str, task_path: str = ""
    ) -> None:
        await in_thread(self.put_writes, config, writes, task_id, task_path)  # type: ignore[attr-defined]

    async def adelete_thread(self, thread_id: str) -> None:
        await in_thread(self.delete_thread, thread_id)  # type: ignore[attr-defined]

    async def adelete_for_runs(self, run_ids: Any) -> None:
        await in_thread(self.delete_for_runs, run_ids)  # type: ignore[attr-defined]

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        await in_thread(self.copy_thread, source_thread_id, target_thread_id)  # type: ignore[attr-defined]

    async def aprune(self, thread_ids: Any, *, strategy: str = "keep_latest") -> None:
        await in_thread(self.prune, thread_ids, strategy=strategy)  # type: ignore[attr-defined]

    async def asetup(self) -> None:
        await in_thread(self.setup)  # type: ignore[attr-defined]


class AsyncCacheBridge(LoopBound):
    """Sync methods of the async cache: run the coroutine on the owning loop."""

    def get(self, keys: Any) -> Any:
        return self._call_on_loop(self.aget(keys))  # type: ignore[attr-defined]

    def set(self, pairs: Any) -> None:
        self._call_on_loop(self.aset(pairs))  # type: ignore[attr-defined]

    def clear(self, namespaces: Any = None) -> None:
        self._call_on_loop(self.aclear(namespaces))  # type: ignore[attr-defined]

    async def setup(self) -> None:
        """Same as ``asetup``, in the spelling of LangGraph's async classes."""
        await self.asetup()  # type: ignore[attr-defined]


class SyncCacheBridge:
    """Async methods of the sync cache: run the blocking method in a worker thread."""

    async def aget(self, keys: Any) -> Any:
        return await in_thread(self.get, keys)  # type: ignore[attr-defined]

    async def aset(self, pairs: Any) -> None:
        await in_thread(self.set, pairs)  # type: ignore[attr-defined]

    async def aclear(self, namespaces: Any = None) -> None:
        await in_thread(self.clear, namespaces)  # type: ignore[attr-defined]

    async def asetup(self) -> None:
        await in_thread(self.setup)  # type: ignore[attr-defined]
