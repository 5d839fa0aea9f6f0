"""One soak worker process: its share of the conversation threads, reported as JSON lines.

Started by :mod:`benchmarks.soak.parent` as ``python -m benchmarks.soak.worker JOB_JSON``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.soak import ERROR_SAMPLES, WorkerJob


def rss_bytes() -> int:
    """This process's resident set size (``VmRSS`` in ``/proc/self/status``), 0 if unknown."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _emit(record: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(record, separators=(",", ":")) + "\n")
    sys.stdout.flush()


@dataclass
class _Interval:
    """What a worker collected since its last report."""

    done: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)


async def run_worker(job: WorkerJob) -> int:
    """Build the chatbot, say ready, wait for the start line, drive the threads, report."""
    from benchmarks.e2e import MESSAGES, build_chatbot
    from benchmarks.store import index_config
    from langgraph_redis import AsyncRedisSaver, AsyncRedisStore, AsyncShallowRedisSaver

    ttl_cp = {"default_ttl": job.ttl_minutes, "refresh_on_read": True} if job.ttl_minutes else None
    ttl_st: Any = (
        {
            "default_ttl": job.ttl_minutes,
            "refresh_on_read": True,
            "sweep_interval_minutes": job.ttl_minutes / 2,
        }
        if job.ttl_minutes
        else None
    )
    saver_cls = AsyncShallowRedisSaver if job.saver == "shallow" else AsyncRedisSaver
    saver = saver_cls(
        job.url,
        prefix=job.prefix,
        ttl=ttl_cp,
        pool_size=job.pool_size,
        pool_timeout=job.pool_timeout_s,
    )
    store = AsyncRedisStore(
        job.url,
        index=index_config(job.dims),
        ttl=ttl_st,
        prefix=job.prefix,
        pool_size=job.pool_size,
        pool_timeout=job.pool_timeout_s,
    )
    try:
        await saver.asetup()
        await store.asetup()
        if job.sweeper and job.ttl_minutes:
            # One sweeper for the whole run: it removes key-set entries of expired items.
            await store.astart_ttl_sweeper()
        app = build_chatbot(saver, store)
        _emit({"w": job.index, "ready": True, "engine": store.engine, "rss": rss_bytes()})
        line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        if not line:
            return 2
        start = json.loads(line)
        deadline = float(start["end"])
        current = _Interval()
        samples: list[str] = []

        async def drive(i: int) -> None:
            # Thread i belongs to user i % users: each user has several threads, spread
            # over the workers, so memories written in one are searched from another.
            config = {"configurable": {"thread_id": f"{job.tag}-t{i}"}}
            user = f"{job.tag}-u{i % job.users}"
            turn = 0
            while time.time() < deadline:
                inputs = {"user_id": user, "message": MESSAGES[turn % len(MESSAGES)].format(n=turn)}
                t0 = time.perf_counter()
                try:
                    reply = await app.ainvoke(inputs, config)
                    if not isinstance(reply, str):
                        raise TypeError(f"reply is {type(reply).__name__}, not str")
                except Exception as exc:  # counted and reported; the thread carries on
                    current.errors[type(exc).__name__] += 1
                    if len(samples) < ERROR_SAMPLES:
                        samples.append(f"{type(exc).__name__}: {str(exc)[:300]}")
                        traceback.print_exc(file=sys.stderr)
                else:
                    current.latencies.append((time.perf_counter() - t0) * 1e3)
                    current.done += 1
                turn += 1

        def report(final: bool = False) -> None:
            nonlocal current
            got, current = current, _Interval()
            record = {
                "w": job.index,
                "t": time.time(),
                "done": got.done,
                "errors": dict(got.errors),
                "lat_ms": [round(x, 2) for x in got.latencies],
                "rss": rss_bytes(),
            }
            if final:
                record |= {"final": True, "error_samples": samples}
            _emit(record)

        async def reporter() -> None:
            # Aligned on the common start, so every worker's k-th report covers the
            # same interval and the parent can add them up.
            k = 1
            while True:
                await asyncio.sleep(max(0.0, start_at + k * job.interval_s - time.time()))
                report()
                k += 1

        start_at = float(start["start"])
        await asyncio.sleep(max(0.0, start_at - time.time()))
        ticker = asyncio.create_task(reporter())
        # Spread the first calls over one second: 250 simultaneous first invocations
        # would measure connection set-up, not the steady state.
        tasks = [
            asyncio.create_task(_staggered(drive(i), n / len(job.threads)))
            for n, i in enumerate(job.threads)
        ]
        await asyncio.gather(*tasks)
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
        report(final=True)
        return 0
    finally:
        await store.aclose()
        await saver.aclose()


async def _staggered(coro: Any, delay_s: float) -> None:
    await asyncio.sleep(delay_s)
    await coro


def _worker_main(argv: list[str]) -> int:
    job = WorkerJob(**json.loads(argv[0]))
    return asyncio.run(run_worker(job))


if __name__ == "__main__":
    sys.exit(_worker_main(sys.argv[1:]))
