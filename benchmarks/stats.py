"""Timing harness: run one operation many times at a given concurrency, summarize it.

Standard library only, because the peer worker imports it from another virtualenv.
Latencies are wall-clock per call (``perf_counter``) including event-loop queueing, which
is what a caller sees; ops/s is completed calls divided by the wall time of the batch.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
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
    for i in range(warmup):
        await op(start + n + i)
    latencies: list[float] = []
    next_index = iter(range(n))
    deadline = None if budget_s is None else time.perf_counter() + budget_s

    async def worker() -> None:
        # One shared range iterator: asyncio runs one task at a time, so no locking.
        for i in next_index:
            if deadline is not None and time.perf_counter() > deadline:
                return
            t0 = time.perf_counter()
            await op(start + i)
            latencies.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(max(1, concurrency))))
    wall = time.perf_counter() - t0
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
