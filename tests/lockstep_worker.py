"""A stand-in for ``benchmarks.peer_worker`` in lock step, for ``test_bench_lockstep``.

Runs ``measurements`` calls of :func:`benchmarks.stats.measure_paired` under the parent
(the peer worker's own :class:`Leader`), recording the monotonic span of every measured
call (warm-up calls have indices from ``n`` on; the clock is the machine's, so the parent
compares spans across processes), and prints them as its JSON reply. ``"fail": true`` makes it exit before it is ready.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from benchmarks.peer_worker import _Parent
from benchmarks.stats import measure_paired


async def _main(req: dict[str, Any]) -> dict[str, Any]:
    spans: list[tuple[float, float]] = []

    async def op(i: int) -> None:
        t0 = time.monotonic()
        await asyncio.sleep(0)
        if i < req["n"]:
            spans.append((t0, time.monotonic()))

    for _ in range(req["measurements"]):
        await measure_paired({"peer": op}, req["n"], 1, warmup=2, leader=_Parent())
    return {"rows": [{"subject": "peer", "calls": len(spans)}], "spans": spans}


def main() -> None:
    req = json.loads(sys.stdin.readline())
    if req.get("fail"):
        print("the peer could not start", file=sys.stderr)
        raise SystemExit(3)
    print(json.dumps(asyncio.run(_main(req))), flush=True)


if __name__ == "__main__":
    main()
