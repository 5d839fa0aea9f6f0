"""Checkpointer benchmarks, written against LangGraph's saver interface only.

The same functions measure our savers, the in-memory and SQLite savers, the hand-written
lower bound and (from ``peer_worker``, in another virtualenv) langgraph-checkpoint-redis,
so every subject does exactly the same calls with the same inputs. No import of this
project here.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from benchmarks.stats import Sizes, measure, record
from benchmarks.workload import WRITES, ThreadWriter, thread_config, write_config


class SaverLike(Protocol):
    """The part of ``BaseCheckpointSaver`` the benchmarks call."""

    async def aput(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any: ...

    async def aput_writes(
        self, config: Any, writes: Any, task_id: str, task_path: str = ""
    ) -> None: ...

    async def aget_tuple(self, config: Any) -> Any: ...

    def alist(
        self, config: Any, *, filter: Any = None, before: Any = None, limit: Any = None
    ) -> AsyncIterator[Any]: ...

    def get_next_version(self, current: Any, channel: None) -> Any: ...


@dataclass(frozen=True)
class CheckpointerSizes(Sizes):
    """How many calls to make; ``--quick`` and ``--smoke`` shrink these."""

    ops: int = 2000
    ops_concurrent: int = 6000
    concurrency: tuple[int, ...] = (1, 64)
    history: tuple[int, ...] = (10, 100, 1000)
    history_ops: int = 1000
    warmup: int = 50
    budget_s: float = 20.0


@dataclass
class _Seeded:
    """Threads written before timing starts, so reads have something to read."""

    latest: list[tuple[str, str]] = field(default_factory=list)


async def _gather_chunked(calls: Sequence[Callable[[], Awaitable[Any]]], width: int = 16) -> None:
    for i in range(0, len(calls), width):
        await asyncio.gather(*(c() for c in calls[i : i + width]))


async def _seed_threads(saver: SaverLike, prefix: str, threads: int, depth: int) -> _Seeded:
    """``threads`` threads of ``depth`` checkpoints each; the latest gets pending writes."""
    seeded = _Seeded()
    writers = [ThreadWriter(f"{prefix}-{j}", saver.get_next_version) for j in range(threads)]
    for _ in range(depth):
        args = [w.next() for w in writers]
        await _gather_chunked([functools.partial(saver.aput, *a) for a in args])
    for w in writers:
        assert w.parent_id is not None
        seeded.latest.append((w.thread_id, w.parent_id))
    await _gather_chunked(
        [
            functools.partial(saver.aput_writes, write_config(t, c), WRITES, "seed-task")
            for t, c in seeded.latest
        ]
    )
    return seeded


async def _drain(items: AsyncIterator[Any]) -> int:
    count = 0
    async for _ in items:
        count += 1
    return count


async def bench_checkpointer(
    saver: SaverLike, subject: str, engine: str, sizes: CheckpointerSizes
) -> list[dict[str, Any]]:
    """put, put_writes, get_tuple and list(limit=10) at each concurrency, then history."""
    tag = uuid.uuid4().hex[:6]
    rows: list[dict[str, Any]] = []
    reads = await _seed_threads(saver, f"{tag}-r", threads=100, depth=2)
    listed = await _seed_threads(saver, f"{tag}-l", threads=8, depth=12)

    for conc in sizes.concurrency:
        n = sizes.ops if conc == 1 else sizes.ops_concurrent
        total = n + sizes.warmup
        writers = [ThreadWriter(f"{tag}-p{conc}-{j}", saver.get_next_version) for j in range(64)]
        put_args = [writers[i % 64].next() for i in range(total)]

        async def put(i: int, args: list[Any] = put_args) -> None:
            await saver.aput(*args[i])

        async def put_writes(i: int, c: int = conc) -> None:
            thread, cid = reads.latest[i % len(reads.latest)]
            await saver.aput_writes(write_config(thread, cid), WRITES, f"task-{c}-{i}")

        async def get_tuple(i: int) -> None:
            thread, _ = reads.latest[i % len(reads.latest)]
            found = await saver.aget_tuple(thread_config(thread))
            assert found is not None, f"{subject}: seeded thread {thread} not found"

        async def list10(i: int) -> None:
            thread, _ = listed.latest[i % len(listed.latest)]
            got = await _drain(saver.alist(thread_config(thread), limit=10))
            assert got == 10, f"{subject}: list(limit=10) returned {got}"

        ops: dict[str, Callable[[int], Awaitable[None]]] = {
            "put": put,
            "put_writes": put_writes,
            "get_tuple": get_tuple,
            "list": list10,
        }
        for name, op in ops.items():
            stat = await measure(op, n, conc, warmup=sizes.warmup, budget_s=sizes.budget_s)
            rows.append(record("checkpointer", name, subject, engine, stat))

    for depth in sizes.history:
        hist = await _seed_threads(saver, f"{tag}-h{depth}", threads=1, depth=depth)
        thread = hist.latest[0][0]

        async def get_latest(i: int, t: str = thread) -> None:
            assert await saver.aget_tuple(thread_config(t)) is not None

        stat = await measure(
            get_latest, sizes.history_ops, 1, warmup=sizes.warmup, budget_s=sizes.budget_s
        )
        rows.append(record("history", "get_tuple", subject, engine, stat, history=depth))
    return rows
