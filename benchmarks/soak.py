"""Soak mode: the guide's chatbot driven by several worker processes against one server.

``python -m benchmarks soak [--workers 4] [--threads 1000] [--duration 120] ...``

The parent starts (or, with ``REDIS_URL``, borrows) one server, launches ``--workers``
processes (``python -m benchmarks.soak --worker``) and lets them start together once every
one has built its saver and store. Each worker drives its share of the ``--threads``
LangGraph conversation threads concurrently (one asyncio task per thread, one invocation
at a time per thread) until the deadline, through bounded pools (``--pool-size``
connections per saver and per store): tasks beyond the pool wait for a connection
(redis-py's blocking pool, 20 s timeout), they never fail for want of one.

Workers print one JSON line per interval on stdout (invocations, errors by type, every
latency, VmRSS); the parent samples the server (``used_memory``, ``DBSIZE``,
``connected_clients``) on the same clock. With ``--ttl-minutes`` every checkpoint and
item expires, so after about one TTL the server's memory should stop growing: the report
compares the slope of each memory series over the first and the last half of the run.
Output: ``soak.json``, ``soak.md`` and ``soak_memory.png``. The exit status is 1 when any
invocation failed or a worker died.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
import traceback
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MAX_DURATION_S = 1800.0
READY_TIMEOUT_S = 120.0
DEFAULT_OUT = Path(__file__).resolve().parent / "results"
ERROR_SAMPLES = 5


@dataclass(frozen=True)
class SoakSettings:
    """What one soak run does; built from the command line."""

    out: Path
    engine: str = "valkey"
    saver: str = "full"
    workers: int = 4
    threads: int = 1000
    users: int = 250
    duration_s: float = 120.0
    pool_size: int = 16
    pool_timeout_s: float = 20.0
    ttl_minutes: float = 1.0
    dims: int = 1536
    interval_s: float = 5.0


@dataclass(frozen=True)
class WorkerJob:
    """One worker's share, sent as JSON on its command line."""

    index: int
    url: str
    prefix: str
    saver: str
    tag: str
    threads: list[int]
    users: int
    pool_size: int
    pool_timeout_s: float
    ttl_minutes: float
    dims: int
    interval_s: float
    sweeper: bool


# -- worker ------------------------------------------------------------------------------


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
        index=index_config(job.dims),  # type: ignore[arg-type]
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


# -- parent ------------------------------------------------------------------------------


@dataclass
class _Collected:
    """Everything the parent gathers while the workers run."""

    reports: list[dict[str, Any]] = field(default_factory=list)
    server: list[dict[str, Any]] = field(default_factory=list)
    ready: dict[int, dict[str, Any]] = field(default_factory=dict)
    exit_codes: dict[int, int] = field(default_factory=dict)
    start: float = 0.0


async def _read_worker(
    index: int, proc: asyncio.subprocess.Process, got: _Collected, ready: asyncio.Event
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


async def _sample_server(url: str, got: _Collected, every_s: float, stop: asyncio.Event) -> None:
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


async def launch(settings: SoakSettings, url: str, out: Path) -> _Collected:
    """Launch the workers, start them together, sample the server until they exit."""
    tag = uuid.uuid4().hex[:6]
    prefix = f"lgrsoak{tag}"
    got = _Collected()
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
            "benchmarks.soak",
            "--worker",
            json.dumps(asdict(job)),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
            cwd=Path(__file__).resolve().parent.parent,
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


# -- summary -----------------------------------------------------------------------------


def slope_per_min(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of ``(seconds, value)`` points, per minute (nan under 2 points)."""
    if len(points) < 2:
        return float("nan")
    n = len(points)
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    sxx = sum((p[0] - mx) ** 2 for p in points)
    if sxx == 0:
        return float("nan")
    return sum((p[0] - mx) * (p[1] - my) for p in points) / sxx * 60


FLAT_GROWTH_PCT = 10.0


def flatness(points: list[tuple[float, float]], duration_s: float) -> dict[str, Any]:
    """Slopes over each half of the run and the growth the last half's slope implies.

    ``growth_last_half_pct`` is the last half's slope times its length, over the last
    half's mean value: how much the series grew while it should have been flat. Under
    ``FLAT_GROWTH_PCT`` counts as flat.
    """
    half = duration_s / 2
    first = [p for p in points if p[0] < half]
    last = [p for p in points if p[0] >= half]
    s1, s2 = slope_per_min(first), slope_per_min(last)
    mean_last = sum(p[1] for p in last) / len(last) if last else float("nan")
    growth = s2 * (half / 60) / mean_last * 100 if last and mean_last else float("nan")
    return {
        "start": points[0][1] if points else None,
        "mid": last[0][1] if last else None,
        "end": points[-1][1] if points else None,
        "max": max(p[1] for p in points) if points else None,
        "slope_first_half_per_min": s1,
        "slope_last_half_per_min": s2,
        "growth_last_half_pct": growth,
        "flat": bool(growth == growth and abs(growth) < FLAT_GROWTH_PCT),
    }


def summarize(settings: SoakSettings, got: _Collected, server_version: str) -> dict[str, Any]:
    """The ``soak.json`` data: totals, percentiles, timeline, memory flatness."""
    from benchmarks.stats import percentile

    t0 = got.start
    step = settings.interval_s
    lat = sorted(x for r in got.reports for x in r["lat_ms"])
    done = sum(int(r["done"]) for r in got.reports)
    errors: Counter[str] = Counter()
    for r in got.reports:
        errors.update(r["errors"])
    finals = [r for r in got.reports if r.get("final")]
    last_t = max((float(r["t"]) for r in got.reports), default=t0) - t0
    wall = max(last_t, 1e-9)

    buckets: dict[int, dict[str, Any]] = {}
    for r in got.reports:
        if r.get("final"):
            continue  # calls still in flight at the deadline: in the totals, not the timeline
        # Reports are aligned on t0: the k-th report of every worker closes interval k.
        b = max(1, round((float(r["t"]) - t0) / step))
        slot = buckets.setdefault(b, {"done": 0, "errors": 0, "lat": [], "rss": {}})
        slot["done"] += int(r["done"])
        slot["errors"] += sum(r["errors"].values())
        slot["lat"] += r["lat_ms"]
        slot["rss"][r["w"]] = int(r["rss"])
    timeline = []
    for b in sorted(buckets):
        slot = buckets[b]
        ls = sorted(slot["lat"])
        timeline.append(
            {
                "t": round(b * step, 1),
                "invocations_s": slot["done"] / step,
                "p50_ms": percentile(ls, 50),
                "p99_ms": percentile(ls, 99),
                "errors": slot["errors"],
                "client_rss": sum(slot["rss"].values()),
                "workers_reporting": len(slot["rss"]),
            }
        )
    server = [{**s, "t": round(float(s["t"]) - t0, 2)} for s in got.server]
    complete = [x for x in timeline if x["workers_reporting"] == settings.workers]
    rss_points = [(float(x["t"]), float(x["client_rss"])) for x in complete]
    memory = {
        "server_used_memory": flatness(
            [(float(s["t"]), float(s["used_memory"])) for s in server], settings.duration_s
        ),
        "server_dbsize": flatness(
            [(float(s["t"]), float(s["dbsize"])) for s in server], settings.duration_s
        ),
        "client_rss_total": flatness(rss_points, settings.duration_s),
    }
    crashed = {w: c for w, c in got.exit_codes.items() if c != 0}
    return {
        "settings": {**asdict(settings), "out": str(settings.out)},
        "server": server_version,
        "store_engine": next((r.get("engine") for r in got.ready.values() if "engine" in r), None),
        "connection_bound": settings.workers * 2 * settings.pool_size,
        "summary": {
            "invocations": done,
            "wall_s": wall,
            "invocations_s": done / wall,
            "p50_ms": percentile(lat, 50),
            "p99_ms": percentile(lat, 99),
            "max_ms": lat[-1] if lat else float("nan"),
            "errors": sum(errors.values()),
            "errors_by_type": dict(errors),
            "error_samples": [s for r in finals for s in r.get("error_samples", [])],
            "workers_finished": len(finals),
            "worker_exit_codes": got.exit_codes,
            "workers_crashed": crashed,
            "max_connected_clients": max((s["connected_clients"] for s in server), default=0),
        },
        "memory": memory,
        "timeline": timeline,
        "server_samples": server,
    }


def passed(data: dict[str, Any]) -> bool:
    """No failed invocation, every worker finished and exited 0."""
    s = data["summary"]
    return bool(
        s["errors"] == 0
        and not s["workers_crashed"]
        and s["workers_finished"] == data["settings"]["workers"]
    )


# -- command line ------------------------------------------------------------------------


def parse(argv: list[str] | None) -> SoakSettings:
    """Command line to :class:`SoakSettings`."""
    p = argparse.ArgumentParser(
        prog="python -m benchmarks soak", description=__doc__.splitlines()[0]
    )
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    p.add_argument("--engine", default="valkey", help="valkey, redis7 or stack (or REDIS_URL)")
    p.add_argument(
        "--saver",
        choices=("full", "shallow"),
        default="full",
        help="AsyncRedisSaver (every checkpoint) or AsyncShallowRedisSaver (latest only)",
    )
    p.add_argument("--workers", type=int, default=4, help="worker processes (default 4)")
    p.add_argument("--threads", type=int, default=1000, help="conversation threads in all")
    p.add_argument("--users", type=int, default=0, help="users (default threads / 4)")
    p.add_argument("--duration", type=float, default=120.0, help="seconds (max 1800)")
    p.add_argument("--pool-size", type=int, default=16, help="connections per saver and store")
    p.add_argument("--pool-timeout", type=float, default=20.0, help="seconds to wait for one")
    p.add_argument("--ttl-minutes", type=float, default=1.0, help="TTL; 0 turns it off")
    p.add_argument("--dims", type=int, default=1536, help="embedding dimensions")
    p.add_argument("--interval", type=float, default=0.0, help="report/sample seconds")
    args = p.parse_args(argv)
    if not 1 <= args.workers <= 64:
        p.error("--workers must be 1..64")
    if args.threads < args.workers:
        p.error("--threads must be at least --workers")
    if not 0 < args.duration <= MAX_DURATION_S:
        p.error(f"--duration must be in (0, {MAX_DURATION_S:.0f}] seconds")
    if args.pool_size < 1 or args.ttl_minutes < 0 or args.dims < 1:
        p.error("--pool-size and --dims must be positive, --ttl-minutes not negative")
    interval = args.interval or max(1.0, min(5.0, args.duration / 36))
    return SoakSettings(
        out=args.out,
        engine=args.engine,
        saver=args.saver,
        workers=args.workers,
        threads=args.threads,
        users=args.users or max(1, args.threads // 4),
        duration_s=args.duration,
        pool_size=args.pool_size,
        pool_timeout_s=args.pool_timeout,
        ttl_minutes=args.ttl_minutes,
        dims=args.dims,
        interval_s=interval,
    )


def main(argv: list[str] | None = None) -> int:
    """Run a soak, write ``soak.json``, ``soak.md`` and the plot; 1 on any error."""
    from benchmarks import report, servers

    settings = parse(argv)
    out = settings.out
    out.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    t0 = time.time()
    print(
        f"soak: {settings.workers} workers x {settings.threads // settings.workers} threads, "
        f"{settings.duration_s:.0f} s, pool {settings.pool_size}, "
        f"TTL {settings.ttl_minutes} min on {os.environ.get('REDIS_URL') or settings.engine}",
        flush=True,
    )
    with servers.targets([settings.engine], notes) as tgts:
        if not tgts:
            print("no server: " + "; ".join(notes), file=sys.stderr)
            return 2
        target = tgts[0]
        got = asyncio.run(launch(settings, target.url, out))
        data = summarize(settings, got, target.version)
    data["notes"] = notes
    data["run_s"] = time.time() - t0
    (out / "soak.json").write_text(json.dumps(data, indent=1, default=str) + "\n")
    png: Path | None = None
    try:
        from benchmarks.plots import soak_memory
    except ImportError as exc:  # matplotlib is a bench extra
        notes.append(f"no plot: {exc}")
    else:
        png = soak_memory(data, out)
    (out / "soak.md").write_text(report.soak_markdown(data, png.name if png else None))
    s = data["summary"]
    print(
        f"soak: {s['invocations']} invocations, {s['invocations_s']:.0f}/s, "
        f"p50 {s['p50_ms']:.1f} ms, p99 {s['p99_ms']:.1f} ms, errors {s['errors']}; "
        f"wrote {out}/soak.json, soak.md" + (f", {png.name}" if png else ""),
        flush=True,
    )
    return 0 if passed(data) else 1


def _worker_main(argv: list[str]) -> int:
    job = WorkerJob(**json.loads(argv[1]))
    return asyncio.run(run_worker(job))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        sys.exit(_worker_main(sys.argv[1:]))
    sys.exit(main(sys.argv[1:]))
