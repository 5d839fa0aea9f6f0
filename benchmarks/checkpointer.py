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
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from benchmarks.stats import Leader, Op, Partner, Sizes, measure_paired, record
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
    savers: Mapping[str, SaverLike],
    engine: str,
    sizes: CheckpointerSizes,
    *,
    partners: Mapping[str, Partner] | None = None,
    leader: Leader | None = None,
) -> list[dict[str, Any]]:
    """put, put_writes, get_tuple and list(limit=10) at each concurrency, then history.

    ``savers`` maps subject names to savers on one server (distinct prefixes); subjects
    whose figures are compared (ours and the lower bound) are measured interleaved by
    :func:`measure_paired`, each with its own threads and inputs. ``partners`` are
    subjects of another process running this function under a ``leader``, with the
    same sizes, interleaved with these (the peer, from its own virtualenv).
    """
    partners = partners or {}
    tag = uuid.uuid4().hex[:6]
    rows: list[dict[str, Any]] = []
    names = list(savers)
    reads = {s: await _seed_threads(savers[s], f"{tag}{k}-r", 100, 2) for k, s in enumerate(names)}
    listed = {s: await _seed_threads(savers[s], f"{tag}{k}-l", 8, 12) for k, s in enumerate(names)}

    for conc in sizes.concurrency:
        n = sizes.ops if conc == 1 else sizes.ops_concurrent
        ops: dict[str, dict[str, Op | Partner]] = {
            "put": {},
            "put_writes": {},
            "get_tuple": {},
            "list": {},
        }
        for k, subject in enumerate(names):
            saver = savers[subject]
            ops["put"][subject] = _puts(saver, f"{tag}{k}-p{conc}", n + sizes.warmup)
            ops["put_writes"][subject] = functools.partial(_put_writes, saver, reads[subject], conc)
            ops["get_tuple"][subject] = functools.partial(_get_tuple, saver, reads[subject])
            ops["list"][subject] = functools.partial(_list10, saver, listed[subject])
        for name, pair in ops.items():
            stats = await measure_paired(
                {**pair, **partners},
                n,
                conc,
                warmup=sizes.warmup,
                budget_s=sizes.budget_s,
                leader=leader,
            )
            rows += [record("checkpointer", name, s, engine, stat) for s, stat in stats.items()]

    for depth in sizes.history:
        latest: dict[str, Op | Partner] = {}
        for k, subject in enumerate(names):
            hist = await _seed_threads(savers[subject], f"{tag}{k}-h{depth}", 1, depth)
            latest[subject] = functools.partial(_get_tuple, savers[subject], hist)
        stats = await measure_paired(
            {**latest, **partners},
            sizes.history_ops,
            1,
            warmup=sizes.warmup,
            budget_s=sizes.budget_s,
            leader=leader,
        )
        rows += [
            record("history", "get_tuple", s, engine, stat, history=depth)
            for s, stat in stats.items()
        ]
    return rows


def _puts(saver: SaverLike, prefix: str, total: int) -> Op:
    """``put`` over 64 threads, the ``total`` checkpoints built before timing starts."""
    writers = [ThreadWriter(f"{prefix}-{j}", saver.get_next_version) for j in range(64)]
    args = [writers[i % 64].next() for i in range(total)]

    async def put(i: int) -> None:
        await saver.aput(*args[i])

    return put


async def _put_writes(saver: SaverLike, seeded: _Seeded, conc: int, i: int) -> None:
    thread, cid = seeded.latest[i % len(seeded.latest)]
    await saver.aput_writes(write_config(thread, cid), WRITES, f"task-{conc}-{i}")


async def _get_tuple(saver: SaverLike, seeded: _Seeded, i: int) -> None:
    thread, _ = seeded.latest[i % len(seeded.latest)]
    found = await saver.aget_tuple(thread_config(thread))
    assert found is not None, f"seeded thread {thread} not found"


async def _list10(saver: SaverLike, seeded: _Seeded, i: int) -> None:
    thread, _ = seeded.latest[i % len(seeded.latest)]
    got = await _drain(saver.alist(thread_config(thread), limit=10))
    assert got == 10, f"list(limit=10) returned {got}"
