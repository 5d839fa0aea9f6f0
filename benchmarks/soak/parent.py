"""The soak's parent: launch the workers, start them together, sample the server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.soak import READY_TIMEOUT_S, SoakSettings, WorkerJob


@dataclass
class Collected:
    """Everything the parent gathers while the workers run."""

    reports: list[dict[str, Any]] = field(default_factory=list)
    server: list[dict[str, Any]] = field(default_factory=list)
    ready: dict[int, dict[str, Any]] = field(default_factory=dict)
    exit_codes: dict[int, int] = field(default_factory=dict)
    start: float = 0.0


async def _read_worker(
    index: int, proc: asyncio.subprocess.Process, got: Collected, ready: asyncio.Event
) -> None:
    assert proc.stdout is not None
    async for raw in proc.stdout:
        try:
            record = json.loads(raw)
        except ValueError:
            continue
        if record.get("ready"):
            got.ready[index] = record
            ready.set()
        else:
            got.reports.append(record)
    got.exit_codes[index] = await proc.wait()


async def _sample_server(url: str, got: Collected, every_s: float, stop: asyncio.Event) -> None:
    import redis.asyncio as aredis

    async with aredis.Redis.from_url(url) as conn:
        while True:
            memory = await conn.info("memory")
            clients = await conn.info("clients")
            got.server.append(
                {
                    "t": time.time(),
                    "used_memory": int(memory["used_memory"]),
                    "dbsize": int(await conn.dbsize()),
                    "connected_clients": int(clients["connected_clients"]),
                }
            )
            if stop.is_set():
                return  # the sample just taken is the one after the workers finished
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), every_s)


def split_threads(threads: int, workers: int) -> list[list[int]]:
    """Thread numbers dealt round-robin to the workers."""
    return [list(range(w, threads, workers)) for w in range(workers)]


async def launch(settings: SoakSettings, url: str, out: Path) -> Collected:
    """Launch the workers, start them together, sample the server until they exit."""
    tag = uuid.uuid4().hex[:6]
    prefix = f"lgrsoak{tag}"
    got = Collected()
    procs: list[asyncio.subprocess.Process] = []
    readers: list[asyncio.Task[None]] = []
    ready = asyncio.Event()
    logs = []
    for w, ids in enumerate(split_threads(settings.threads, settings.workers)):
        job = WorkerJob(
            index=w,
            url=url,
            prefix=prefix,
            saver=settings.saver,
            tag=tag,
            threads=ids,
            users=settings.users,
            pool_size=settings.pool_size,
            pool_timeout_s=settings.pool_timeout_s,
            ttl_minutes=settings.ttl_minutes,
            dims=settings.dims,
            interval_s=settings.interval_s,
            sweeper=w == 0,
        )
        log = (out / f"soak_worker{w}.log").open("wb")
        logs.append(log)
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "benchmarks.soak.worker",
            json.dumps(asdict(job)),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
            cwd=Path(__file__).resolve().parents[2],
            limit=2**26,
        )
        procs.append(proc)
        readers.append(asyncio.create_task(_read_worker(w, proc, got, ready)))
    stop = asyncio.Event()
    sampler: asyncio.Task[None] | None = None
    try:
        deadline = time.time() + READY_TIMEOUT_S
        while len(got.ready) < len(procs):
            if time.time() > deadline or any(p.returncode is not None for p in procs):
                raise RuntimeError(
                    f"only {len(got.ready)} of {len(procs)} workers became ready; "
                    f"see {out}/soak_worker*.log"
                )
            ready.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(ready.wait(), 1.0)
        start = time.time() + 0.5
        got.server.clear()
        sampler = asyncio.create_task(_sample_server(url, got, settings.interval_s, stop))
        line = json.dumps({"start": start, "end": start + settings.duration_s}) + "\n"
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write(line.encode())
            await proc.stdin.drain()
        got.start = start
        await asyncio.gather(*readers)
    finally:
        stop.set()
        if sampler is not None:
            await sampler
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        for log in logs:
            log.close()
    return got
