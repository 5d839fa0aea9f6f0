"""The peer, measured in its own process, takes its slices in turn with ours.

``benchmarks.peers.LockstepWorker`` drives a worker process (here
``tests/lockstep_worker.py``, which runs the peer worker's own leader) through
:func:`benchmarks.stats.measure_paired`: the processes' calls must never overlap and the
slices must follow A B B A across both. A worker that fails must not take our figures
with it. No timing is asserted.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from benchmarks.peers import LockstepWorker
from benchmarks.stats import measure_paired

N = 40  # calls per subject per measurement: four slices of ten
MODULE = "tests.lockstep_worker"


def _runs(labels: list[str]) -> list[str]:
    """``a a b b a`` -> ``a b a``: the order in which subjects held the turn."""
    return [x for k, x in enumerate(labels) if k == 0 or labels[k - 1] != x]


@pytest.mark.timeout(60)
def test_the_worker_takes_its_slices_in_turn_never_alongside() -> None:
    spans: list[tuple[float, float, str]] = []

    def op(name: str) -> Callable[[int], Awaitable[None]]:
        async def call(i: int) -> None:
            t0 = time.monotonic()
            await asyncio.sleep(0)  # a chance for anything running alongside to show
            if i < N:  # warm-up calls have the indices after the measured ones
                spans.append((t0, time.monotonic(), name))

        return call

    async def main() -> tuple[list[dict[str, int]], dict[str, Any]]:
        worker = LockstepWorker(
            Path(sys.executable), {"n": N, "measurements": 2}, timeout=30, module=MODULE
        )
        await worker.start()
        results = []
        for _ in range(2):
            stats = await measure_paired(
                {"ours": op("ours"), "bound": op("bound"), "peer": worker}, N, 1, warmup=2
            )
            results.append({name: stat.n for name, stat in stats.items()})
        return results, await worker.finish()

    results, reply = asyncio.run(main())
    # Our figures are ours alone; the worker reports its own.
    assert results == [{"ours": N, "bound": N}] * 2
    assert reply["rows"] == [{"subject": "peer", "calls": 2 * N}]
    worker_spans = [(a, b, "peer") for a, b in reply["spans"]]
    assert len(worker_spans) == 2 * N
    timeline = sorted([*spans, *worker_spans])
    # No measured call of one subject starts before the previous subject's last ended.
    for (_, end, who), (start, _, nxt) in itertools.pairwise(timeline):
        assert who == nxt or start >= end, (who, nxt, start, end)
    order = ["ours", "bound", "peer", "peer", "bound", "ours"] * 2
    assert _runs([who for _, _, who in timeline]) == _runs(order * 2)


@pytest.mark.timeout(60)
def test_a_worker_that_fails_drops_out_and_ours_are_still_measured() -> None:
    calls: list[int] = []

    async def ours(i: int) -> None:
        calls.append(i)

    async def main() -> dict[str, Any]:
        worker = LockstepWorker(Path(sys.executable), {"fail": True}, timeout=30, module=MODULE)
        await worker.start()
        stats = await measure_paired({"ours": ours, "peer": worker}, N, 1)
        assert list(stats) == ["ours"] and stats["ours"].n == N
        return await worker.finish()

    reply = asyncio.run(main())
    assert reply["rows"] == []
    (note,) = reply["notes"]
    assert "exit 3" in note and "the peer could not start" in note
