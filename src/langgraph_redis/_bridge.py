"""Cross-calling between the sync and async APIs, for the savers, the store and the cache.

LangGraph may call a saver's sync methods from a worker thread while the async saver's
connections belong to an event loop (``graph.invoke`` on an async saver), or call async
methods on a sync saver (``graph.ainvoke`` with ``RedisSaver``). The async classes run
their coroutines on the loop that owns their connections (from the loop's own thread
they raise instead of deadlocking); the sync classes run their blocking methods in the
default executor. Hand-written (not generated): the two directions are genuinely
different code.

Each mixin annotates ``self`` with a Protocol naming the methods it calls, so mypy
checks every call against the class the mixin ends up in.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable, Iterator
from typing import Any, Protocol, TypeVar

from langgraph.store.base import Op, Result

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


class ThreadBound:
    """The sync classes' side of :class:`LoopBound`: no loop to remember."""

    def _remember_loop(self) -> None:
        """Nothing to do: a sync object runs its blocking calls in any thread."""


async def in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking method in the default executor."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, lambda: fn(*args, **kwargs))


def run_async(fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
    """Run an async method to completion on a fresh event loop (tests and scripts)."""

    async def main() -> T:
        return await fn(*args, **kwargs)

    return asyncio.run(main())


# --- What each mixin needs from the class it is mixed into ---------------------------


class _OnLoop(Protocol):
    def _call_on_loop(self, coro: Coroutine[Any, Any, T]) -> T: ...

    def _iter_on_loop(self, agen: AsyncIterator[T]) -> Iterator[T]: ...


class _AsyncSaver(_OnLoop, Protocol):
    async def asetup(self) -> Any: ...
    async def aget_tuple(self, config: Any) -> Any: ...
    def alist(
        self, config: Any, *, filter: Any = None, before: Any = None, limit: Any = None
    ) -> AsyncIterator[Any]: ...
    async def aput(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any: ...
    async def aput_writes(
        self, config: Any, writes: Any, task_id: str, task_path: str = ""
    ) -> None: ...
    async def adelete_thread(self, thread_id: str) -> None: ...
    async def adelete_for_runs(self, run_ids: Any) -> None: ...
    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None: ...
    async def aprune(self, thread_ids: Any, *, strategy: str = "keep_latest") -> None: ...


class _SyncSaver(Protocol):
    def setup(self) -> Any: ...
    def get_tuple(self, config: Any) -> Any: ...
    def list(
        self, config: Any, *, filter: Any = None, before: Any = None, limit: Any = None
    ) -> Iterator[Any]: ...
    def put(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any: ...
    def put_writes(self, config: Any, writes: Any, task_id: str, task_path: str = "") -> None: ...
    def delete_thread(self, thread_id: str) -> None: ...
    def delete_for_runs(self, run_ids: Any) -> None: ...
    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None: ...
    def prune(self, thread_ids: Any, *, strategy: str = "keep_latest") -> None: ...


class _AsyncCache(_OnLoop, Protocol):
    async def asetup(self) -> Any: ...
    async def aget(self, keys: Any) -> Any: ...
    async def aset(self, pairs: Any) -> None: ...
    async def aclear(self, namespaces: Any = None) -> None: ...


class _SyncCache(Protocol):
    def setup(self) -> Any: ...
    def get(self, keys: Any) -> Any: ...
    def set(self, pairs: Any) -> None: ...
    def clear(self, namespaces: Any = None) -> None: ...


class _AsyncStore(_OnLoop, Protocol):
    async def abatch(self, ops: Iterable[Op]) -> list[Result]: ...
    async def asetup(self) -> None: ...
    async def asweep_ttl(self) -> int: ...
    async def astart_ttl_sweeper(self, sweep_interval_minutes: float | None = None) -> None: ...
    async def astop_ttl_sweeper(self) -> None: ...


class _SyncStore(Protocol):
    def batch(self, ops: Iterable[Op]) -> list[Result]: ...


# --- Savers ----------------------------------------------------------------------------


class AsyncSaverBridge(LoopBound):
    """Sync methods of the async savers: run the coroutine on the owning loop."""

    def get_tuple(self: _AsyncSaver, config: Any) -> Any:
        return self._call_on_loop(self.aget_tuple(config))

    def list(self: _AsyncSaver, config: Any, **kwargs: Any) -> Iterator[Any]:
        return self._iter_on_loop(self.alist(config, **kwargs))

    def put(
        self: _AsyncSaver, config: Any, checkpoint: Any, metadata: Any, new_versions: Any
    ) -> Any:
        return self._call_on_loop(self.aput(config, checkpoint, metadata, new_versions))

    def put_writes(
        self: _AsyncSaver, config: Any, writes: Any, task_id: str, task_path: str = ""
    ) -> None:
        self._call_on_loop(self.aput_writes(config, writes, task_id, task_path))

    def delete_thread(self: _AsyncSaver, thread_id: str) -> None:
        self._call_on_loop(self.adelete_thread(thread_id))

    def delete_for_runs(self: _AsyncSaver, run_ids: Any) -> None:
        self._call_on_loop(self.adelete_for_runs(run_ids))

    def copy_thread(self: _AsyncSaver, source_thread_id: str, target_thread_id: str) -> None:
        self._call_on_loop(self.acopy_thread(source_thread_id, target_thread_id))

    def prune(self: _AsyncSaver, thread_ids: Any, *, strategy: str = "keep_latest") -> None:
        self._call_on_loop(self.aprune(thread_ids, strategy=strategy))

    async def setup(self: _AsyncSaver) -> None:
        """Same as ``asetup``: LangGraph's async savers spell it ``await saver.setup()``."""
        await self.asetup()


class SyncSaverBridge(ThreadBound):
    """Async methods of the sync savers: run the blocking method in a worker thread."""

    async def aget_tuple(self: _SyncSaver, config: Any) -> Any:
        return await in_thread(self.get_tuple, config)

    async def alist(self: _SyncSaver, config: Any, **kwargs: Any) -> AsyncIterator[Any]:
        items = await in_thread(lambda: [*self.list(config, **kwargs)])
        for item in items:
            yield item

    async def aput(
        self: _SyncSaver, config: Any, checkpoint: Any, metadata: Any, new_versions: Any
    ) -> Any:
        return await in_thread(self.put, config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self: _SyncSaver, config: Any, writes: Any, task_id: str, task_path: str = ""
    ) -> None:
        await in_thread(self.put_writes, config, writes, task_id, task_path)

    async def adelete_thread(self: _SyncSaver, thread_id: str) -> None:
        await in_thread(self.delete_thread, thread_id)

    async def adelete_for_runs(self: _SyncSaver, run_ids: Any) -> None:
        await in_thread(self.delete_for_runs, run_ids)

    async def acopy_thread(self: _SyncSaver, source_thread_id: str, target_thread_id: str) -> None:
        await in_thread(self.copy_thread, source_thread_id, target_thread_id)

    async def aprune(self: _SyncSaver, thread_ids: Any, *, strategy: str = "keep_latest") -> None:
        await in_thread(self.prune, thread_ids, strategy=strategy)

    async def asetup(self: _SyncSaver) -> None:
        await in_thread(self.setup)


# --- Cache -----------------------------------------------------------------------------


class AsyncCacheBridge(LoopBound):
    """Sync methods of the async cache: run the coroutine on the owning loop."""

    def get(self: _AsyncCache, keys: Any) -> Any:
        return self._call_on_loop(self.aget(keys))

    def set(self: _AsyncCache, pairs: Any) -> None:
        self._call_on_loop(self.aset(pairs))

    def clear(self: _AsyncCache, namespaces: Any = None) -> None:
        self._call_on_loop(self.aclear(namespaces))

    async def setup(self: _AsyncCache) -> None:
        """Same as ``asetup``, in the spelling of LangGraph's async classes."""
        await self.asetup()


class SyncCacheBridge(ThreadBound):
    """Async methods of the sync cache: run the blocking method in a worker thread."""

    async def aget(self: _SyncCache, keys: Any) -> Any:
        return await in_thread(self.get, keys)

    async def aset(self: _SyncCache, pairs: Any) -> None:
        await in_thread(self.set, pairs)

    async def aclear(self: _SyncCache, namespaces: Any = None) -> None:
        await in_thread(self.clear, namespaces)

    async def asetup(self: _SyncCache) -> None:
        await in_thread(self.setup)


# --- Store -----------------------------------------------------------------------------


class AsyncStoreBridge(LoopBound):
    """``batch`` for the async store: run ``abatch`` on the owning event loop."""

    def batch(self: _AsyncStore, ops: Iterable[Op]) -> list[Result]:
        return self._call_on_loop(self.abatch(list(ops)))

    # LangGraph's async stores (postgres, sqlite) spell these without the ``a``, as
    # coroutines; code written for them runs unchanged.
    async def setup(self: _AsyncStore) -> None:
        await self.asetup()

    async def sweep_ttl(self: _AsyncStore) -> int:
        return await self.asweep_ttl()

    async def start_ttl_sweeper(
        self: _AsyncStore, sweep_interval_minutes: float | None = None
    ) -> None:
        await self.astart_ttl_sweeper(sweep_interval_minutes)

    async def stop_ttl_sweeper(self: _AsyncStore) -> None:
        await self.astop_ttl_sweeper()


class SyncStoreBridge(ThreadBound):
    """``abatch`` for the sync store: run ``batch`` in a worker thread."""

    async def abatch(self: _SyncStore, ops: Iterable[Op]) -> list[Result]:
        return await in_thread(self.batch, list(ops))
