"""Timing harness: run one operation many times at a given concurrency, summarize it.

Standard library only, because the peer worker imports it from another virtualenv.
Latencies are wall-clock per call (``perf_counter``) including event-loop queueing, which
is what a caller sees; ops/s is completed calls divided by the wall time of the batch.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

Op = Callable[[int], Awaitable[object]]


@dataclass(frozen=True)
class Stat:
    """Summary of one measured batch of calls."""

    n: int
    concurrency: int
    p50_ms: float
    p99_ms: float
    mean_ms: float
    ops_s: float
    wall_s: float


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list (q in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(q / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


async def _timed(
    op: Op, indices: range, concurrency: int, deadline: float | None, latencies: list[float]
) -> float:
    """Call ``op(i)`` for ``i`` in ``indices`` from ``concurrency`` tasks, appending each
    call's latency; returns the batch's wall time."""
    next_index = iter(indices)

    async def worker() -> None:
        # One shared range iterator: asyncio runs one task at a time, so no locking.
        for i in next_index:
            if deadline is not None and time.perf_counter() > deadline:
                return
            t0 = time.perf_counter()
            await op(i)
            latencies.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(max(1, concurrency))))
    return time.perf_counter() - t0


async def _warm(op: Op, indices: range, budget_s: float | None) -> None:
    """Warm-up calls, within a quarter of the budget (after at least one): a subject that
    takes seconds per call (in-memory vector search over 100k items) spent minutes on
    20 warm-up calls of full mode, more than on its measurement."""
    deadline = None if budget_s is None else time.perf_counter() + budget_s / 4
    for k, i in enumerate(indices):
        if k and deadline is not None and time.perf_counter() > deadline:
            return
        await op(i)


def _summary(latencies: list[float], wall: float, concurrency: int) -> Stat:
    latencies.sort()
    done = len(latencies)
    return Stat(
        n=done,
        concurrency=concurrency,
        p50_ms=percentile(latencies, 50) * 1e3,
        p99_ms=percentile(latencies, 99) * 1e3,
        mean_ms=(sum(latencies) / done * 1e3) if done else float("nan"),
        ops_s=done / wall if wall > 0 else float("nan"),
        wall_s=wall,
    )


async def measure(
    op: Op,
    n: int,
    concurrency: int = 1,
    *,
    warmup: int = 0,
    budget_s: float | None = None,
    start: int = 0,
) -> Stat:
    """Call ``op(i)`` for ``i`` in ``start .. start + n`` from ``concurrency`` tasks.

    ``warmup`` calls (indices after the measured ones) run first and are not recorded, so
    connection set-up and script loading stay out of the figures. ``budget_s`` stops
    handing out work once exceeded: slow subjects (in-memory vector search over 100k
    items) report fewer samples instead of blowing the time budget of ``--quick``.
    """
    await _warm(op, range(start + n, start + n + warmup), budget_s)
    latencies: list[float] = []
    deadline = None if budget_s is None else time.perf_counter() + budget_s
    wall = await _timed(op, range(start, start + n), concurrency, deadline, latencies)
    return _summary(latencies, wall, concurrency)


class Partner:
    """A subject measured in another process, in turn with this one's subjects.

    :func:`measure_paired` gives it its turns instead of calling an op: the peer runs in
    its own virtualenv, and measured there minutes after ours its ratio to ours spread
    1.4-3.7x within one run. The other process runs the same measurements under a
    :class:`Leader`, so the two sequences of :func:`measure_paired` calls match.
    """

    async def ready(self) -> None:
        """Wait until the other process has warmed up for this measurement."""
        raise NotImplementedError

    async def turn(self) -> None:
        """Let the other process run one slice, and wait until it has."""
        raise NotImplementedError

    async def release(self) -> None:
        """Let the other process go on past this measurement."""
        raise NotImplementedError


class Leader:
    """The other end of a :class:`Partner`: the process whose slices are handed out."""

    async def ready(self) -> None:
        """Say this process has warmed up."""
        raise NotImplementedError

    async def turn(self) -> None:
        """Wait for this process's turn to run a slice."""
        raise NotImplementedError

    async def done(self) -> None:
        """Say the slice has run."""
        raise NotImplementedError

    async def released(self) -> None:
        """Wait until the leading process has run all its slices."""
        raise NotImplementedError


async def measure_paired(
    ops: Mapping[str, Op | Partner],
    n: int,
    concurrency: int = 1,
    *,
    warmup: int = 0,
    budget_s: float | None = None,
    leader: Leader | None = None,
) -> dict[str, Stat]:
    """:func:`measure` for several subjects whose figures are compared, interleaved.

    Each subject's ``n`` calls run in four slices, in the order A B B A A B B A (each
    subject warmed up first), so whatever drifts during the measurement (the server's
    keyspace growing, its allocator, the machine's other load) falls on every subject
    alike. Run one after the other, minutes apart, the same subject's time per call
    varied 1.8x from one batch to the next on the 2-core VM, which decided ratios that
    interleaved batches put at 1.0.

    A :class:`Partner` among ``ops`` is a subject of another process, which takes its
    slices in the same order (its figures are that process's to report); ``leader``
    makes this process that other one, running each slice when its leader says.

    Every slice starts from a collected heap: a full collection costs in proportion to
    everything the process holds (the benchmark's own rows included) and lands on
    whichever slice crosses the threshold, so 100 ms of it swung a 0.25 s batch by 40 %.
    Collections a slice's own allocations trigger still count against it. ``budget_s``
    is each subject's, split between its slices.
    """
    local = {name: op for name, op in ops.items() if not isinstance(op, Partner)}
    partners = {name: op for name, op in ops.items() if isinstance(op, Partner)}
    for op in local.values():
        await _warm(op, range(n, n + warmup), budget_s)
    for partner in partners.values():
        await partner.ready()
    if leader is not None:
        await leader.ready()
    names = list(ops)
    latencies: dict[str, list[float]] = {name: [] for name in local}
    walls = dict.fromkeys(local, 0.0)
    bounds = [n * k // _SLICES for k in range(_SLICES + 1)]
    for k in range(_SLICES):
        for name in names if k % 2 == 0 else names[::-1]:
            if name in partners:
                await partners[name].turn()
                continue
            if leader is not None:
                await leader.turn()
            gc.collect()
            deadline = None if budget_s is None else time.perf_counter() + budget_s / _SLICES
            part = range(bounds[k], bounds[k + 1])
            walls[name] += await _timed(local[name], part, concurrency, deadline, latencies[name])
            if leader is not None:
                await leader.done()
    for partner in partners.values():
        await partner.release()
    if leader is not None:
        await leader.released()
    return {name: _summary(latencies[name], walls[name], concurrency) for name in local}


_SLICES = 4
"""Slices per subject in :func:`measure_paired` (even: each subject leads equally often)."""


def record(
    suite: str, op: str, subject: str, engine: str, stat: Stat, **extra: Any
) -> dict[str, Any]:
    """One row of ``results.json``: what was measured, on what, and the summary."""
    return {"suite": suite, "op": op, "subject": subject, "engine": engine, **extra, **asdict(stat)}


_S = TypeVar("_S", bound="Sizes")


@dataclass(frozen=True)
class Sizes:
    """Base of each suite's sizes dataclass (how many calls, at which concurrency).

    What :func:`measure` takes from every suite; a suite may change the defaults.
    """

    concurrency: tuple[int, ...] = (1, 32)
    warmup: int = 20
    budget_s: float = 10.0

    @classmethod
    def from_dict(cls: type[_S], data: dict[str, Any]) -> _S:
        """Rebuild from JSON (the peer worker receives its sizes on stdin), whose lists
        were tuples (every list field is)."""
        fields: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in data.items()
        }
        return cls(**fields)
