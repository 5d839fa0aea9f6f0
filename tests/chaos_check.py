"""Chaos harness, parent side: drive two workers, inject faults, resolve the truth, compare.

One run = ``phases`` phases. In each, both workers (:mod:`tests.chaos`) run their random
operations on the same threads and namespaces at once while the parent may inject one
fault at a random moment: a SIGKILL + restart of the server (AOF, ``appendfsync always``,
so every acknowledged write must survive) or ``FT.DROPINDEX`` of the store's index (query
engine). Store items with a TTL and the TTL saver's threads expire on their own: before a
check the parent waits until every TTL written in the phase has run out (an explicit wait
for the data's own deadline, nothing is timed or asserted about it).

After each phase, with no client writing, the truth is resolved and checked:

* Every item and checkpoint touched is a register: each write (put, delete, a put with a
  TTL, a ``delete_thread``) has an outcome (its value, or absent) and a real-time interval
  ``[start, end]`` on the machine-wide monotonic clock; an operation that was cancelled or
  failed has ``end = inf`` (it may have been applied, at any time before the check). Every
  script is atomic, so the state read back (``get``, ``get_tuple`` by id) must be the
  prior state (only if no write was acknowledged) or the outcome of a write that no
  acknowledged write started after it ended. Anything else is an acknowledged write lost
  (or an expired one still there): a disagreement. The state read is then the truth.
* The oracle (``InMemorySaver``/``InMemoryStore``) is rebuilt from that truth by replaying
  the committed operations, and :func:`tests.chaos.observe` is run on it, on fresh
  clients of the parent and on each worker's long-lived clients; every answer
  (``get_tuple``/``list`` of every thread, ``get``/``search``/``list_namespaces`` of every
  namespace and prefix, full pages and short pages) must equal the oracle's.

Cancelled operations are therefore never false alarms: whether they committed is read
back, not assumed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

import redis
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore

from langgraph_redis import AsyncRedisSaver, AsyncShallowRedisSaver
from tests.chaos import (
    SAVER_TTL_S,
    SHALLOW_THREADS,
    STORE_TTL_MIN,
    TTL_THREADS,
    Warnings,
    apply_op,
    cp_config,
    observe,
    open_store,
    shallow_prefix,
    store_index,
)
from tests.chaos_oracle import Write, compare, possible, write_of
from tests.servers import LocalServer

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SEED = 20261201
REPLY_TIMEOUT_S = 180.0


@dataclass(frozen=True)
class ChaosSettings:
    """Size of one run: CI default fits in about 15 s per engine on 2 cores."""

    phases: int = 4
    tasks: int = 3
    ops: int = 30
    cancel_p: float = 0.2


@dataclass
class ChaosResult:
    """What one run did and found."""

    target: str
    seed: int
    store_engine: str = ""
    ops: dict[str, int] = field(default_factory=dict)
    faults: list[str] = field(default_factory=list)
    errors_surfaced: dict[str, int] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)
    disagreements: list[dict[str, Any]] = field(default_factory=list)
    lost: int = 0
    hidden: int = 0
    seconds: float = 0.0

    def describe(self, limit: int = 25) -> str:
        lines = [
            f"chaos {self.target}: CHAOS_SEED={self.seed} ({self.store_engine} store engine), "
            f"{sum(self.ops.values())} operations {self.ops}, faults {self.faults}, "
            f"errors surfaced {self.errors_surfaced} {self.error_samples[:5]}, "
            f"{len(self.disagreements)} disagreements "
            f"(lost {self.lost}, hidden {self.hidden}) in {self.seconds:.1f} s",
        ]
        for d in self.disagreements[:limit]:
            lines.append("  " + json.dumps(d, default=str)[:700])
        if len(self.disagreements) > limit:
            lines.append(f"  ... {len(self.disagreements) - limit} more")
        lines.append(
            f"reproduce: CHAOS_SEED={self.seed} pytest 'tests/test_chaos.py::test_chaos[{self.target}]'"
        )
        return "\n".join(lines)


# -- worker processes --------------------------------------------------------------------


class WorkerProc:
    """A ``python -m tests.chaos`` process we started, spoken to by JSON lines."""

    def __init__(self, proc: asyncio.subprocess.Process, log: Any) -> None:
        self.proc = proc
        self.log = log

    @classmethod
    async def start(cls, job: dict[str, Any]) -> WorkerProc:
        log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.chaos",
            json.dumps(job),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
            cwd=ROOT,
            limit=2**26,
        )
        return cls(proc, log)

    def stderr_tail(self) -> str:
        self.log.seek(0)
        text: str = self.log.read().decode(errors="replace")
        return text[-3000:]

    async def read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), REPLY_TIMEOUT_S)
        if not line:
            raise RuntimeError(f"chaos worker exited:\n{self.stderr_tail()}")
        reply: dict[str, Any] = json.loads(line)
        if "crash" in reply:
            raise RuntimeError(f"chaos worker crashed:\n{reply['crash']}")
        return reply

    async def send(self, cmd: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(cmd) + "\n").encode())
        await self.proc.stdin.drain()

    async def ask(self, cmd: dict[str, Any]) -> dict[str, Any]:
        await self.send(cmd)
        return await self.read()

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.send({"cmd": "exit"})
            await asyncio.wait_for(self.proc.wait(), 20)
        if self.proc.returncode is None:
            self.proc.kill()  # our own child, by its pid
            await self.proc.wait()
        self.log.close()


@dataclass
class Model:
    """The truth so far: store items, checkpoints (their put op) and their writes."""

    items: dict[tuple[tuple[str, ...], str], Any] = field(default_factory=dict)
    cps: dict[str, dict[str, Any]] = field(default_factory=dict)
    writes: dict[str, dict[str, list[list[Any]]]] = field(default_factory=dict)
    tainted: set[tuple[str, ...]] = field(default_factory=set)
    """Namespaces that got a store put with a TTL (may stay listed once it expired)."""


# -- one run -----------------------------------------------------------------------------


class Run:
    """State of one chaos run (see :func:`run_chaos`)."""

    def __init__(
        self,
        target: str,
        url: str,
        seed: int,
        server: LocalServer | None,
        settings: ChaosSettings,
    ) -> None:
        self.url = url
        self.server = server
        self.settings = settings
        self.rng = random.Random(seed)
        self.prefix = f"chaos{seed}x{uuid.uuid4().hex[:6]}"
        self.result = ChaosResult(target, seed)
        self.model = Model()
        self.ops: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.workers: list[WorkerProc] = []
        self.index_dropped: list[int] = []  # phases whose fault dropped the FT index

    def warned(self, n: int, observer: str, reply: dict[str, Any]) -> None:
        for line in reply.get("warnings", []):
            if self._expected(n, line):
                continue
            self.disagree("warning", n, observer=observer, got=line)

    def _expected(self, n: int, line: str) -> bool:
        """The one warning an injected fault should cause: after the index was dropped,
        the store that finds it missing says so while it recreates it (an operator must
        learn that the index was lost)."""
        dropped = any(p <= n for p in self.index_dropped)
        return dropped and "is missing" in line and "recreating it" in line

    def disagree(self, kind: str, phase: int, **detail: Any) -> None:
        self.result.disagreements.append({"kind": kind, "phase": phase, **detail})
        if kind == "lost":
            self.result.lost += 1
        elif kind == "hidden":
            self.result.hidden += 1

    async def fault(
        self, n: int, kind: str, delay: float, running: Sequence[asyncio.Future[Any]]
    ) -> None:
        await asyncio.sleep(delay)
        mid = not all(f.done() for f in running)
        if kind == "restart":
            assert self.server is not None
            server = self.server

            def restart() -> None:
                server.kill()
                server.restart(timeout=60)  # a loaded CI machine may load slowly

            await asyncio.to_thread(restart)
            text = "SIGKILL + restart (AOF always)"
        else:
            with redis.Redis.from_url(self.url) as conn:
                conn.execute_command("FT.DROPINDEX", f"{self.prefix}:idx")
            self.index_dropped.append(n)
            text = "FT.DROPINDEX"
        late = "" if mid else " (after the phase's operations)"
        self.result.faults.append(f"phase {n}: {text}{late}")

    def active_expire(self, on: bool) -> None:
        """Turn the server's active expiry off (expired keys stay until touched: the
        state a search meets right after a mass expiry) or back on."""
        with redis.Redis.from_url(self.url) as conn:
            conn.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", int(on))

    async def phase(self, n: int, fault: str | None) -> list[dict[str, Any]]:
        if fault == "expiry":
            # The last phase: namespaces that got a TTL may stay listed after their items
            # expired (documented, no sweeper here), so earlier phases keep them clean.
            text = "TTLs (store 0.3 s on 40% of puts, saver 1 s on 2 threads)"
            if self.server is not None:
                self.active_expire(False)
                text += ", active expiry off"
            self.result.faults.append(f"phase {n}: {text}")
        for w in self.workers:
            # No new clients in the index-drop phase: a new store recreates the index
            # at set-up, which would hide whether the long-lived ones can.
            cmd = {
                "cmd": "phase",
                "n": n,
                "expiry": fault == "expiry",
                "reopen": fault != "dropindex",
            }
            await w.send(cmd)
        replies = [asyncio.ensure_future(w.read()) for w in self.workers]
        injected = None
        if fault in ("restart", "dropindex"):
            injected = asyncio.ensure_future(
                self.fault(n, fault, self.rng.uniform(0.01, 0.12), replies)
            )
        got = await asyncio.gather(*replies)
        if injected is not None:
            await injected
        log = [rec for r in got for rec in r["log"]]
        for i, r in enumerate(got):
            self.errors.update(r["errors"])
            for rec in r["log"]:
                sample = f"{rec['kind']}: {rec.get('err')}"
                if rec["st"] == "error" and sample not in self.result.error_samples:
                    self.result.error_samples.append(sample)
            self.warned(n, f"worker{i}", r)
        for rec in log:
            if rec["kind"] == "sput" and rec["ttl"]:
                self.model.tainted.add(tuple(rec["ns"]))
        self.ops.update(f"{rec['kind']}:{rec['st']}" for rec in log)
        return log

    async def settle(self, log: list[dict[str, Any]]) -> None:
        """Wait until every TTL written in the phase has run out (plus a margin)."""
        wait = 0.05
        if any(r["kind"] == "sput" and r["ttl"] for r in log):
            wait = max(wait, STORE_TTL_MIN * 60 + 0.3)
        if any(r["kind"] in ("put", "writes") and r["thread"] in TTL_THREADS for r in log):
            wait = max(wait, SAVER_TTL_S + 0.4)
        await asyncio.sleep(wait)

    async def resolve(self, n: int, log: list[dict[str, Any]]) -> None:
        """Read back every register the phase touched; check it; make it the truth."""
        saver, shallow, store = self.fresh_clients()
        try:
            await self._resolve_items(n, log, store)
            await self._resolve_checkpoints(n, log, saver, shallow)
        finally:
            await store.aclose()
            await saver.aclose()
            await shallow.aclose()

    def fresh_clients(self) -> tuple[Any, Any, Any]:
        """New clients of the parent: saver, shallow saver, store."""
        saver = AsyncRedisSaver(self.url, prefix=self.prefix, recovery_timeout=20)
        shallow = AsyncShallowRedisSaver(
            self.url, prefix=shallow_prefix(self.prefix), recovery_timeout=20
        )
        return saver, shallow, open_store(self.url, self.prefix)

    async def _resolve_items(self, n: int, log: list[dict[str, Any]], store: Any) -> None:
        regs: dict[tuple[tuple[str, ...], str], list[Write]] = {}
        for r in log:
            if r["kind"] in ("sput", "sdel"):
                out = r["value"] if r["kind"] == "sput" and not r["ttl"] else None
                regs.setdefault((tuple(r["ns"]), r["key"]), []).append(write_of(r, out))
        for reg, writes in regs.items():
            item = await store.aget(reg[0], reg[1], refresh_ttl=False)
            state = None if item is None else item.value
            prior = self.model.items.get(reg)
            if state not in possible(prior, writes):
                self.disagree(
                    "lost" if state is None or prior == state else "stale",
                    n,
                    register=f"item {reg}",
                    read=state,
                    prior=prior,
                    writes=[asdict(w) for w in writes],
                )
            self.model.items[reg] = state

    async def _resolve_checkpoints(
        self, n: int, log: list[dict[str, Any]], saver: Any, shallow: Any
    ) -> None:
        """Every checkpoint is a register (present or not), and so are the writes of one
        ``put_writes``. A shallow put also writes "absent" to every other checkpoint of
        its namespace (the script drops them), whichever id they have."""
        m = self.model
        puts = {r["cid"]: r for r in log if r["kind"] == "put"}
        deletes: dict[str, list[Write]] = {}
        for r in log:
            if r["kind"] == "delete":
                deletes.setdefault(r["thread"], []).append(write_of(r, False))
        records = {**m.cps, **puts}
        touched = set(puts) | {c for c, r in m.cps.items() if r["thread"] in deletes}
        swaps: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for r in puts.values():
            if r["thread"] in SHALLOW_THREADS:
                swaps.setdefault((r["thread"], r["ns"]), []).append(r)
        touched |= {c for c, r in m.cps.items() if (r["thread"], r["ns"]) in swaps}
        writes_ops = [r for r in log if r["kind"] == "writes"]
        touched |= {r["cid"] for r in writes_ops if r["cid"] in records}
        reads: dict[str, Any] = {}
        for cid in sorted(touched):
            rec = records[cid]
            reader = shallow if rec["thread"] in SHALLOW_THREADS else saver
            reads[cid] = await reader.aget_tuple(cp_config(rec["thread"], rec["ns"], cid))
            writes = list(deletes.get(rec["thread"], []))
            if cid in puts:
                writes.append(write_of(puts[cid], rec["thread"] not in TTL_THREADS))
            for other in swaps.get((rec["thread"], rec["ns"]), []):
                if other["cid"] != cid:
                    writes.append(write_of(other, False))
            state = reads[cid] is not None
            if state not in possible(cid in m.cps, writes):
                self.disagree(
                    "lost" if not state else "stale",
                    n,
                    register=f"checkpoint {rec['thread']}|{rec['ns']}|{cid}",
                    read=state,
                    prior=cid in m.cps,
                    writes=[asdict(w) for w in writes],
                )
            if state:
                m.cps[cid] = rec
            else:
                m.cps.pop(cid, None)
                m.writes.pop(cid, None)
        kept: dict[tuple[str, str], list[str]] = {}
        for cid, rec in m.cps.items():
            if rec["thread"] in SHALLOW_THREADS:
                kept.setdefault((rec["thread"], rec["ns"]), []).append(cid)
        for where, cids in kept.items():
            if len(cids) > 1:
                self.disagree("stale", n, register=f"shallow {where}", read=sorted(cids))
        for r in writes_ops:
            cid = r["cid"]
            if cid not in m.cps:
                continue  # its checkpoint is gone (or never committed): unobservable
            found = reads[cid]
            pending = [[t, ch, v] for t, ch, v in found.pending_writes if t == r["task"]]
            state = bool(pending)
            if pending and pending != [[r["task"], ch, v] for ch, v in r["writes"]]:
                self.disagree("torn", n, register=f"writes {cid}/{r['task']}", read=pending)
            writes = [*deletes.get(r["thread"], []), write_of(r, True)]
            if state not in possible(False, writes):
                self.disagree(
                    "lost",
                    n,
                    register=f"writes {r['thread']}|{r['ns']}|{cid}/{r['task']}",
                    read=state,
                    writes=[asdict(w) for w in writes],
                )
            if state:
                m.writes.setdefault(cid, {})[r["task"]] = r["writes"]

    async def expected(self) -> Any:
        """The oracle, rebuilt from the truth by replaying the committed operations."""
        saver, shallow, none = InMemorySaver(), InMemorySaver(), cast(Any, None)
        for cid in sorted(self.model.cps):
            await apply_op(self.model.cps[cid], saver, saver, none, shallow)
        for cid, tasks in self.model.writes.items():
            rec = self.model.cps[cid]
            for task, writes in tasks.items():
                op = {"kind": "writes", "thread": rec["thread"], "ns": rec["ns"], "cid": cid}
                await apply_op({**op, "task": task, "writes": writes}, saver, saver, none, shallow)
        store = InMemoryStore(index=store_index(exact=False))  # type: ignore[arg-type]
        for (ns, key), value in self.model.items.items():
            if value is not None:
                await store.aput(ns, key, value)
        return await observe(saver, store, shallow)

    async def wait_index(self) -> None:
        """Query engine: wait until the index (if it exists) has indexed every document,
        so a check never races the background scan after a restart or a rebuild."""
        deadline = time.monotonic() + 30
        with redis.Redis.from_url(self.url, decode_responses=True) as conn:
            while time.monotonic() < deadline:
                try:
                    info = conn.execute_command("FT.INFO", f"{self.prefix}:idx")
                except redis.ResponseError:
                    return  # no index: the observations will say so
                fields = info if isinstance(info, dict) else dict(zip(info[::2], info[1::2]))
                if str(fields.get("indexing", "0")) in ("0", "0.0"):
                    return
                await asyncio.sleep(0.05)

    async def check(self, n: int, log: list[dict[str, Any]], search: bool) -> None:
        await self.settle(log)
        # The workers' long-lived stores search first: a fresh client would recreate a
        # lost index at set-up and hide that the long-lived ones cannot.
        warm = [await w.ask({"cmd": "warmup"}) for w in self.workers]
        for i, reply in enumerate(warm):
            self.warned(n, f"worker{i}", reply)
            for err in reply["errors"]:
                self.disagree("error", n, observer=f"worker{i}", check="warmup", got=err)
        await self.resolve(n, log)
        if search:
            await self.wait_index()
        want = await self.expected()
        observers: dict[str, Any] = {}
        saver, shallow, store = self.fresh_clients()
        try:
            with Warnings() as warnings:
                observers["fresh"] = await observe(saver, store, shallow)
            self.warned(n, "fresh", {"warnings": warnings.take()})
        finally:
            await store.aclose()
            await saver.aclose()
            await shallow.aclose()
        for i, w in enumerate(self.workers):
            reply = await w.ask({"cmd": "observe"})
            self.warned(n, f"worker{i}", reply)
            observers[f"worker{i}"] = reply["obs"]
        tolerated = {
            json.dumps(list(ns[:depth]))
            for ns in self.model.tainted
            for depth in range(len(ns) + 1)
        }
        for name, got in observers.items():
            for question, answer in want.items():
                for kind, detail in compare(question, got.get(question), answer, want, tolerated):
                    self.disagree(kind, n, observer=name, check=question, **detail)


async def run_chaos(
    target: str,
    url: str,
    seed: int,
    *,
    server: LocalServer | None = None,
    search: bool = False,
    settings: ChaosSettings | None = None,
) -> ChaosResult:
    """One chaos run against ``url``; ``server`` (ours) enables the restart fault and
    ``search`` (query engine present) the index drop."""
    settings = settings or ChaosSettings()
    run = Run(target, url, seed, server, settings)
    started = time.monotonic()
    kinds = ["restart"] if server is not None else []
    kinds += ["dropindex"] if search else []
    last = settings.phases - 1
    where = run.rng.sample(range(last), k=min(len(kinds), last))
    schedule = dict(zip(where, kinds, strict=False))
    schedule[last] = "expiry"
    job = {
        "url": url,
        "prefix": run.prefix,
        "seed": seed,
        "tasks": settings.tasks,
        "ops": settings.ops,
        "cancel_p": settings.cancel_p,
    }
    run.workers = list(
        await asyncio.gather(*(WorkerProc.start({**job, "worker": i}) for i in range(2)))
    )
    try:
        ready = await asyncio.gather(*(w.read() for w in run.workers))
        run.result.store_engine = str(ready[0]["engine"])
        for n in range(settings.phases):
            log = await run.phase(n, schedule.get(n))
            await run.check(n, log, search and run.result.store_engine == "query")
            if schedule.get(n) == "expiry" and server is not None:
                run.active_expire(True)
    finally:
        await asyncio.gather(*(w.close() for w in run.workers))
    run.result.ops = dict(sorted(run.ops.items()))
    run.result.errors_surfaced = dict(run.errors)
    run.result.seconds = time.monotonic() - started
    return run.result
