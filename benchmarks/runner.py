"""Orchestration: which subjects run where, in what order, with which sizes.

Order matters on a small machine: everything runs one subject at a time (the peer worker
too), and servers we own are flushed between subjects, so no measurement shares the CPU
or the server's memory with another.
"""

from __future__ import annotations

import asyncio
import contextlib
import platform
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import asdict, dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks import peers, servers
from benchmarks.checkpointer import CheckpointerSizes, bench_checkpointer
from benchmarks.e2e import E2ESizes, bench_e2e
from benchmarks.lower_bound_store import HandWrittenStore
from benchmarks.store import (
    ClusteredEmbeddings,
    StoreSizes,
    StoreSubject,
    bench_recall,
    bench_store,
    index_config,
    recall_index_config,
    redis_memory,
)
from langgraph_redis import AsyncRedisStore

PARTS = ("checkpointer", "store", "e2e")
OURS = "langgraph-redis"
BOUND = "lower-bound"
PEER = "langgraph-checkpoint-redis"
LOCAL_STORE_MAX = 10_000
"""Largest store size InMemoryStore is measured at."""


@dataclass(frozen=True)
class Settings:
    """Everything a run needs; built from the command line."""

    mode: str
    out: Path
    engines: tuple[str, ...]
    parts: tuple[str, ...]
    peers: bool
    checkpointer: CheckpointerSizes
    store: StoreSizes
    e2e: E2ESizes
    repeats: int = 3
    """Repetitions of every measurement in one run; the report takes their median."""


def sizes_for(mode: str) -> tuple[CheckpointerSizes, StoreSizes, E2ESizes]:
    """Sizes per mode: ``full`` as the issue asks, ``quick`` fits 10 min on 2 cores."""
    if mode == "smoke":
        return (
            CheckpointerSizes(
                ops=20,
                ops_concurrent=40,
                concurrency=(1, 4),
                history=(10, 20),
                history_ops=10,
                warmup=2,
                budget_s=5,
            ),
            StoreSizes(
                sizes=(60, 150),
                dims=16,
                ops=10,
                concurrency=(1,),
                warmup=2,
                budget_s=5,
                recall_size=300,
                recall_dims=32,
                recall_queries=10,
            ),
            E2ESizes(
                invocations=12,
                concurrency=(1, 4),
                threads=4,
                users=2,
                dims=16,
                warmup=2,
                budget_s=10,
            ),
        )
    if mode == "quick":
        return (
            CheckpointerSizes(ops=400, ops_concurrent=1500, history_ops=300, warmup=30, budget_s=4),
            StoreSizes(
                sizes=(1_000, 10_000),
                ops=200,
                concurrency=(1, 32),
                warmup=10,
                budget_s=2.5,
                recall_size=4_000,
                recall_queries=100,
            ),
            E2ESizes(invocations=400, warmup=10, budget_s=6),
        )
    return CheckpointerSizes(), StoreSizes(), E2ESizes()


@dataclass
class Run:
    """What a run collects: result rows, notes for the report, environment facts."""

    settings: Settings
    rows: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    servers: dict[str, str] = field(default_factory=dict)
    peer_versions: dict[str, str] = field(default_factory=dict)
    started: float = field(default_factory=time.time)

    def log(self, message: str) -> None:
        print(f"[{time.time() - self.started:6.1f}s] {message}", flush=True)


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "missing"


def machine() -> dict[str, Any]:
    """CPU model, cores, Python and package versions, for the report."""
    cpu = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    import os

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": {
            d: _version(d)
            for d in (
                "langgraph-redis",
                "langgraph",
                "langgraph-checkpoint",
                "redis",
                "hiredis",
                "langgraph-checkpoint-sqlite",
                "numpy",
            )
        },
    }


# -- subjects ------------------------------------------------------------------------------


def _server_usec(url: str) -> tuple[float, int]:
    """Server CPU time so far (``INFO cpu``, user + system, µs) and commands run
    (``INFO commandstats``, the INFO calls left out).

    CPU comes from ``INFO cpu``, not from the ``usec`` of ``commandstats``: there a
    command run inside EXEC or a script counts in its own line *and* in the EXEC's or
    EVALSHA's, so a transaction would be counted two or three times over.
    """
    import redis

    with redis.Redis.from_url(url) as conn:
        cpu = conn.info("cpu")
        stats = conn.info("commandstats")
    calls = sum(
        int(stat.get("calls", 0))
        for name, stat in stats.items()
        if name != "cmdstat_info" and isinstance(stat, dict)
    )
    usec = (float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])) * 1e6
    return usec, calls


async def _server_cpu_per_put(
    saver: Any, subject: str, target: servers.Target, puts: int
) -> dict[str, Any]:
    """Server CPU per checkpoint put, from ``INFO cpu`` around a batch of puts at 1 task
    on a server nothing else uses (CPU time, not wall clock). A row whose
    ``p50_ms`` holds the milliseconds of server CPU per put, so the report's time ratio
    against the lower bound is the server-CPU ratio."""
    from benchmarks.workload import ThreadWriter

    writer = ThreadWriter(f"cpu-{uuid.uuid4().hex[:6]}", saver.get_next_version)
    args = [writer.next() for _ in range(puts + 10)]
    for a in args[:10]:  # warm: scripts loaded, registries created
        await saver.aput(*a)
    before, calls_before = _server_usec(target.url)
    for a in args[10:]:
        await saver.aput(*a)
    after, calls_after = _server_usec(target.url)
    per_put_ms = (after - before) / puts / 1000
    return {
        "suite": "server_cpu",
        "op": "put",
        "subject": subject,
        "engine": target.engine,
        "concurrency": 1,
        "n": puts,
        # One figure per batch: p50, p99 and mean are all the per-put average.
        "p50_ms": per_put_ms,
        "p99_ms": per_put_ms,
        "mean_ms": per_put_ms,
        "ops_s": 1000 / per_put_ms if per_put_ms > 0 else float("nan"),
        "commands_per_put": (calls_after - calls_before) / puts,
    }


async def _ours_checkpointer(run: Run, target: servers.Target, *, peer: bool) -> None:
    """Ours and the lower bound interleaved on one server, and with ``peer`` the peer's
    saver too, from its worker process in lock step (:class:`peers.LockstepWorker`)."""
    from benchmarks.lower_bound import HandWrittenSaver
    from langgraph_redis import AsyncRedisSaver

    sizes = run.settings.checkpointer
    partner = await _lockstep_peer(run, target) if peer else None
    puts = min(500, sizes.ops)
    try:
        async with AsyncRedisSaver.from_conn_string(
            target.url, prefix=f"lgrbench{uuid.uuid4().hex[:6]}"
        ) as saver:
            await saver.asetup()
            bound = HandWrittenSaver(target.url)
            try:
                await bound.load_scripts()
                # Interleaved on one server (distinct prefixes): the ratio pairs batches
                # seconds apart, not minutes.
                savers = {OURS: saver, BOUND: bound}
                partners = {PEER: partner} if partner else {}
                run.rows += await bench_checkpointer(
                    savers, target.engine, sizes, partners=partners
                )
                if partner:  # its exit must not fall inside the server-CPU batches
                    _take_reply(run, await partner.finish())
                    partner = None
                for subject, one in savers.items():
                    servers.flush(target)
                    run.rows.append(await _server_cpu_per_put(one, subject, target, puts))
            finally:
                await bound.aclose()
    finally:
        if partner:
            _take_reply(run, await partner.finish())
    servers.flush(target)


async def _lockstep_peer(run: Run, target: servers.Target) -> peers.LockstepWorker | None:
    python = await asyncio.to_thread(peers.ensure_venv, run.notes)
    if python is None:
        return None
    worker = peers.LockstepWorker(python, _peer_request(run, target, ("checkpointer",)), 900)
    await worker.start()
    return worker


async def _local_checkpointers(run: Run, tmp: Path) -> None:
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    sizes = run.settings.checkpointer
    run.rows += await bench_checkpointer({"InMemorySaver": InMemorySaver()}, "local", sizes)
    async with AsyncSqliteSaver.from_conn_string(str(tmp / "cp.sqlite")) as saver:
        await saver.setup()
        run.rows += await bench_checkpointer({"SqliteSaver": saver}, "local", sizes)


async def _ours_store(run: Run, target: servers.Target, recall: bool = True) -> None:
    """Our store and its hand-written lower bound, measured interleaved on one server.

    The bound works on a prefix our store (the loader) created and loaded, with the
    same vector settings: it times single-item put and, on the query engine,
    filter-only search. None on the vector-set engine, which has no bound.
    """
    sizes = run.settings.store
    async with (
        _bound_on_our_index(target, sizes.dims) as (loader, bound),
        AsyncRedisStore.from_conn_string(
            target.url,
            index=index_config(sizes.dims),
            prefix=f"lgrbench{uuid.uuid4().hex[:6]}",
            snapshot_cache_bytes=_snapshot_cap(sizes),
        ) as store,
    ):
        await store.asetup()
        run.log(f"  store engine on {target.engine}: {store.engine}")
        subjects = {OURS: StoreSubject(store)}
        if bound is None:
            note = f"store lower bound not measured on {target.engine}: none for the {store.engine} engine"
            if note not in run.notes:
                run.notes.append(note)
        else:
            only = ("put", "search_filter") if loader.engine == "query" else ("put",)
            subjects[BOUND] = StoreSubject(bound, only=only, loader=loader)
        rows = await bench_store(subjects, target.engine, sizes, memory=redis_memory(target.url))
    for row in rows:
        row["store_engine"] = store.engine
    run.rows += rows
    if store.engine in ("query", "vset") and recall:  # measured once per run
        servers.flush(target)
        await _recall(run, target, store.engine)


def _snapshot_cap(sizes: StoreSizes) -> int:
    """The plain engine's snapshot cap for these sizes: room for the largest prefix.

    Its default (128 MiB) is below a 100k x 1,536 prefix (~1 GB with the row index), so
    every search would read the whole prefix again, as the store's warning says; a user
    with that much data raises the cap (or uses a server-side engine), and so does the
    benchmark, which then measures the engine's search rather than a reload.
    """
    return max(128 << 20, 2 * max(sizes.sizes) * sizes.dims * 4)


@contextlib.asynccontextmanager
async def _bound_on_our_index(
    target: servers.Target, dims: int
) -> AsyncIterator[tuple[AsyncRedisStore, HandWrittenStore | None]]:
    """Our store set up on a fresh prefix (it creates the index the bound searches and,
    in the store suite, loads the items: not timed), and the store's lower bound on that
    prefix with the same vector settings, or ``None`` on the vector-set engine, which
    has none. The server is flushed first."""
    servers.flush(target)
    cfg = index_config(dims)
    prefix = f"lgrbound{uuid.uuid4().hex[:6]}"
    async with AsyncRedisStore.from_conn_string(target.url, index=cfg, prefix=prefix) as ours:
        await ours.asetup()
        vcfg = ours._vector_config
        if ours.engine not in ("query", "plain") or vcfg is None:
            yield ours, None
            return
        bound = HandWrittenStore(
            target.url,
            prefix,
            dims=dims,
            embed=cfg["embed"],
            engine="query" if ours.engine == "query" else "plain",
            hnsw=vcfg.algorithm == "hnsw",
            ef_runtime=vcfg.ef_runtime,
        )
        try:
            await bound.load_scripts()
            yield ours, bound
        finally:
            await bound.aclose()


async def _recall(run: Run, target: servers.Target, engine: str = "query") -> None:
    """recall@10 of the query or vector-set engine (HNSW, and FLAT: the default) against
    the exact plain engine, on the same clustered vectors (docs/engines.md quotes it)."""
    sizes = run.settings.store
    embed = ClusteredEmbeddings(sizes.recall_size, sizes.recall_queries, sizes.recall_dims)
    async with contextlib.AsyncExitStack() as stack:
        stores = {}
        for algo in ("hnsw", "flat"):
            stores[f"{OURS} {engine} {algo.upper()}"] = await stack.enter_async_context(
                AsyncRedisStore.from_conn_string(
                    target.url,
                    index=recall_index_config(embed, algo),
                    prefix=f"lgrrecall{algo}{uuid.uuid4().hex[:6]}",
                )
            )
        exact = await stack.enter_async_context(
            AsyncRedisStore.from_conn_string(
                target.url,
                index=recall_index_config(embed, "flat"),
                prefix=f"lgrrecallexact{uuid.uuid4().hex[:6]}",
                engine="plain",
            )
        )
        run.rows += await bench_recall(stores, exact, embed, target.engine)
    servers.flush(target)


async def _local_stores(run: Run, tmp: Path) -> None:
    from langgraph.store.memory import InMemoryStore

    sizes = run.settings.store
    # Up to 10k items: at 100k a vector search in Python takes seconds per call, and one
    # repetition of full mode spent 7 of its 27 minutes there, for no target.
    sizes = replace(sizes, sizes=tuple(n for n in sizes.sizes if n <= LOCAL_STORE_MAX))
    store: Any = InMemoryStore(index=index_config(sizes.dims))
    run.rows += await bench_store({"InMemoryStore": StoreSubject(store)}, "local", sizes)


async def _ours_e2e(run: Run, target: servers.Target) -> None:
    """The chatbot on our saver and store and, on the query engine, on the hand-written
    ones (the bound has no plain-engine search), measured interleaved on one server."""
    from benchmarks.lower_bound import HandWrittenSaver
    from langgraph_redis import AsyncRedisSaver

    sizes = run.settings.e2e
    prefix = f"lgrbench{uuid.uuid4().hex[:6]}"
    async with (
        _bound_on_our_index(target, sizes.dims) as (setup, bound_store),
        AsyncRedisSaver.from_conn_string(target.url, prefix=prefix) as saver,
        AsyncRedisStore.from_conn_string(
            target.url, index=index_config(sizes.dims), prefix=prefix
        ) as store,
    ):
        await saver.asetup()
        await store.asetup()
        subjects: dict[str, tuple[Any, Any]] = {OURS: (saver, store)}
        bound = None
        if setup.engine == "query" and bound_store is not None:
            bound = HandWrittenSaver(target.url, prefix=setup._prefix)
            await bound.load_scripts()
            subjects[BOUND] = (bound, bound_store)
        try:
            run.rows += await bench_e2e(subjects, target.engine, sizes)
        finally:
            if bound is not None:
                await bound.aclose()
    servers.flush(target)


async def _local_e2e(run: Run, tmp: Path) -> None:
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
    from langgraph.store.memory import InMemoryStore

    sizes = run.settings.e2e
    mem_store: Any = InMemoryStore(index=index_config(sizes.dims))
    run.rows += await bench_e2e(
        {"InMemorySaver+InMemoryStore": (InMemorySaver(), mem_store)}, "local", sizes
    )
    async with AsyncSqliteSaver.from_conn_string(str(tmp / "e2e.sqlite")) as saver:
        await saver.setup()
        mem_store = InMemoryStore(index=index_config(sizes.dims))
        run.rows += await bench_e2e(
            {"SqliteSaver+InMemoryStore": (saver, mem_store)}, "local", sizes
        )


def _peer(run: Run, target: servers.Target, parts: tuple[str, ...]) -> None:
    python = peers.ensure_venv(run.notes)
    if python is None:
        return
    _take_reply(run, peers.run_worker(python, _peer_request(run, target, parts), timeout=900))


def _peer_request(run: Run, target: servers.Target, parts: tuple[str, ...]) -> dict[str, Any]:
    """What the peer worker measures: the server, and each part's sizes."""
    s = run.settings
    request: dict[str, Any] = {"url": target.url, "engine": target.engine}
    if "checkpointer" in parts:
        request["checkpointer"] = asdict(s.checkpointer)
    if "store" in parts:
        request["store"] = asdict(s.store)
    if "e2e" in parts:
        request["e2e"] = asdict(s.e2e)
    return request


def _take_reply(run: Run, reply: dict[str, Any]) -> None:
    run.rows += reply.get("rows", [])
    run.notes += [n for n in reply.get("notes", []) if n not in run.notes]
    run.peer_versions.update(reply.get("versions", {}))


# -- the run -------------------------------------------------------------------------------


async def _step(run: Run, what: str, coro: Coroutine[Any, Any, None]) -> None:
    t0 = time.perf_counter()
    run.log(f"{what} ...")
    try:
        await coro
    except Exception as exc:  # one failing subject must not lose the others' figures
        run.notes.append(f"{what} failed: {type(exc).__name__}: {str(exc)[:300]}")
        run.log(f"{what} FAILED: {exc!r}")
    run.log(f"{what} done in {time.perf_counter() - t0:.1f}s")


async def _repetition(
    run: Run, tgts: list[servers.Target], tmp: Path, *, recall: bool, done: Callable[[], None]
) -> None:
    """One repetition of every part and subject, the peer's right after ours.

    Right after: the peer runs each part on a server as soon as ours has (a worker
    process per part), not once all parts are done, so a ratio against it pairs
    figures a minute apart rather than ten (batch put against it spread 4.4-6.8x).
    ``done`` is called after each part, so a run that stops keeps what it measured.
    """
    s = run.settings
    for part in PARTS:
        if part not in s.parts:
            continue
        for t in tgts:
            servers.flush(t)
            lockstep = part == "checkpointer" and s.peers and t.search
            if part == "checkpointer":
                await _step(
                    run,
                    f"checkpointer: ours + lower bound{' + ' + PEER if lockstep else ''}"
                    f" on {t.engine}",
                    _ours_checkpointer(run, t, peer=lockstep),
                )
            elif part == "store":
                await _step(
                    run, f"store: ours + lower bound on {t.engine}", _ours_store(run, t, recall)
                )
            elif part == "e2e":
                await _step(run, f"e2e: ours + lower bound on {t.engine}", _ours_e2e(run, t))
            if s.peers and t.search and not lockstep:
                servers.flush(t)
                t0 = time.perf_counter()
                run.log(f"{PEER} {part} on {t.engine} (worker process) ...")
                await asyncio.to_thread(_peer, run, t, (part,))
                run.log(f"{PEER} done in {time.perf_counter() - t0:.1f}s")
        if part == "checkpointer":
            await _step(
                run, "checkpointer: InMemorySaver, SqliteSaver", _local_checkpointers(run, tmp)
            )
        elif part == "store":
            await _step(run, "store: InMemoryStore", _local_stores(run, tmp))
        else:
            await _step(run, "e2e: in-memory and SQLite", _local_e2e(run, tmp))
        done()


async def run_all(run: Run, report: Callable[[Run], None]) -> None:
    """Every part, every subject; ``report`` is called after each part (partial results)."""
    s = run.settings
    with servers.targets(s.engines, run.notes) as tgts, tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        run.servers = {t.engine: t.version for t in tgts}
        for rep in range(s.repeats):
            if s.repeats > 1:
                run.log(f"repetition {rep + 1} of {s.repeats}")

            def done(rep: int = rep) -> None:
                for row in run.rows:
                    row.setdefault("rep", rep)
                report(run)

            await _repetition(run, tgts, tmp, recall=rep == 0, done=done)
        if not s.peers:
            run.notes.append("langgraph-checkpoint-redis not measured (--no-peers or --smoke).")
        elif not any(t.search for t in tgts):
            run.notes.append(
                "langgraph-checkpoint-redis not measured: it needs Redis Stack (no query engine here)."
            )
        report(run)
