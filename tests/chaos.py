"""Chaos harness, worker side: the randomized workload and the reads every check compares.

A run (driven by :mod:`tests.chaos_check`) starts two worker processes
(``python -m tests.chaos JOB``). Each holds one ``AsyncRedisSaver``, one TTL saver (same
prefix, 1 s TTL, for the ``e*`` threads) and one ``AsyncRedisStore`` for the whole run and
answers commands read from stdin, one JSON line each:

* ``phase``: run ``tasks`` concurrent asyncio tasks of ``ops`` operations each, drawn from
  a seeded RNG, on a few shared threads and namespaces (both processes write the same
  ones). Some operations are cancelled at a random point (``asyncio.wait_for`` with a
  timeout of 0-4 ms, or ``task.cancel()`` after a random delay). Replies with the log of
  every operation: what it was, its monotonic start and end (``CLOCK_MONOTONIC`` is
  shared by all processes of the machine) and whether it was acknowledged, cancelled or
  failed.
* ``warmup``: one search per prefix, so a store that lost its index can rebuild it
  before the check; errors are reported.
* ``observe``: run :func:`observe` with the worker's long-lived saver and store (a client
  whose state was poisoned by a cancellation shows it here) and reply with the result.

:func:`observe` is also run by the parent with fresh clients and on the oracle
(``InMemorySaver``/``InMemoryStore``), so all three answer the same JSON-able questions.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import math
import random
import sys
import time
import traceback
from collections import Counter
from collections.abc import Awaitable
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    CheckpointMetadata,
    CheckpointTuple,
    empty_checkpoint,
)
from langgraph.checkpoint.base.id import uuid6
from langgraph.store.base import BaseStore

THREADS = ["t0", "t:1", "t{2}"]
"""Threads both workers write (full saver, no TTL)."""
TTL_THREADS = ["e0", "e1"]
"""Threads written through the TTL saver: every checkpoint expires after ``SAVER_TTL_S``."""
SHALLOW_THREADS = ["s0", "s1"]
"""Threads written through the shallow saver (own prefix: one checkpoint per namespace)."""
SHALLOW_P = 0.25
NAMESPACES = ["", "sub:1"]
SAVER_TTL_S = 1.0
STORE_NS: list[tuple[str, ...]] = [("chaos", "a"), ("chaos", "b"), ("chaos", "b", "deep"), ("x",)]
KEYS = ["k0", "k1"]
STORE_TTL_MIN = 0.005
"""Per-item TTL (minutes, 0.3 s) of the store puts that carry one."""
WORDS = ["coffee", "tea", "jazz", "paris", "night", "rain"]
PREFIXES: list[tuple[str, ...]] = [(), ("chaos",), ("chaos", "b"), ("x",)]
QUERIES = ["coffee jazz", "rain night tea"]
DIMS = 16
CANCEL_P = 0.2


STORE_TTL: dict[str, Any] = {"refresh_on_read": False}
"""Store TTL config: reads never extend a TTL (the harness knows when each item expires).
No ``omit_expired`` and no sweeper: a namespace whose items all expired may stay listed
(documented), which the check tolerates for the namespaces that got a TTL, and only
for those."""
EXPIRY_TTL_P = (0.4, 0.25)
"""In the expiry phase: share of store puts with a TTL, and of checkpoint operations on
the TTL saver's threads (none in other phases, so only that phase waits for expiry)."""


def open_store(url: str, prefix: str) -> Any:
    """The store under test (same settings in the workers and the parent)."""
    from langgraph_redis import AsyncRedisStore

    return AsyncRedisStore(
        url,
        prefix=prefix,
        index=cast(Any, store_index()),
        ttl=cast(Any, STORE_TTL),
        recovery_timeout=20,
    )


def embed(texts: list[str]) -> list[list[float]]:
    """Bag-of-words vectors (as ``langgraph_redis.demo.HashEmbeddings``, whose module
    pulls in LangChain's chat models: seconds of start-up per worker on 2 cores)."""
    out = []
    for text in texts:
        vec = [0.0] * DIMS
        for word in text.lower().split():
            digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
            vec[int.from_bytes(digest, "little") % DIMS] += 1.0
        norm = math.sqrt(sum(v * v for v in vec)) or 1.0
        out.append([v / norm for v in vec])
    return out


def shallow_prefix(prefix: str) -> str:
    """The shallow saver's own prefix (its ``list(None)`` must not see the full saver's
    threads, nor the other way round)."""
    return f"{prefix}sh"


def store_index(exact: bool = True) -> dict[str, Any]:
    """Index config of the store under test (FLAT: scores must equal the oracle's)."""
    cfg: dict[str, Any] = {"dims": DIMS, "embed": embed, "fields": ["text"]}
    if exact:
        cfg["ann_index_config"] = {"algorithm": "flat"}
    return cfg


# -- workload ----------------------------------------------------------------------------


def draw_op(
    rng: random.Random,
    worker: int,
    op_id: str,
    heads: dict[str, str],
    expiry: bool = False,
    reopen: bool = True,
) -> dict[str, Any]:
    """One random operation (JSON-able). ``heads`` maps ``thread|ns`` to the newest
    checkpoint this worker put there and saw acknowledged (parent of its next put);
    ``expiry`` adds TTLs (:data:`EXPIRY_TTL_P`); ``reopen`` allows replacing the
    worker's store by a new client."""
    store_ttl_p, saver_ttl_p = EXPIRY_TTL_P if expiry else (0.0, 0.0)
    roll = rng.random()
    if roll < 0.50:
        ns, key = list(rng.choice(STORE_NS)), rng.choice(KEYS)
        sub = rng.random()
        if sub < 0.45:
            value = {
                "text": f"{rng.choice(WORDS)} {rng.choice(WORDS)}",
                "n": rng.randint(0, 3),
                "op": op_id,
            }
            ttl = STORE_TTL_MIN if rng.random() < store_ttl_p else None
            return {"kind": "sput", "ns": ns, "key": key, "value": value, "ttl": ttl}
        if sub < 0.78:
            return {"kind": "sdel", "ns": ns, "key": key}
        if sub < 0.80:
            return {"kind": "sget", "ns": ns, "key": key}
        if sub < 0.86 and reopen:
            # A new client (a restarted app process) whose first search is cancelled
            # at a random point: the plain engine loads every namespace into a fresh
            # snapshot then, the step a cancellation must not poison.
            prefix = list(rng.choice(PREFIXES))
            return {"kind": "reopen", "prefix": prefix, "after": rng.uniform(0, 0.006)}
        if sub < 0.96:
            query = rng.choice([None, *QUERIES])
            flt = rng.choice([None, {"n": rng.randint(0, 3)}])
            prefix = list(rng.choice(PREFIXES))
            return {"kind": "ssearch", "prefix": prefix, "query": query, "filter": flt}
        return {"kind": "slist", "prefix": list(rng.choice(PREFIXES))}
    if rng.random() < saver_ttl_p:
        tid = rng.choice(TTL_THREADS)
    else:
        tid = rng.choice(SHALLOW_THREADS if rng.random() < SHALLOW_P else THREADS)
    cns = rng.choice(NAMESPACES)
    sub = rng.random()
    if sub < 0.6:
        cid = str(uuid6())
        values = {"messages": [worker, op_id], "count": rng.randint(0, 9)}
        versions = {ch: f"{cid}.{ch}" for ch in values}  # new versions for every channel
        meta = {"source": "loop", "step": rng.randint(0, 3), "w": worker}
        return {
            "kind": "put",
            "thread": tid,
            "ns": cns,
            "cid": cid,
            "parent": heads.get(f"{tid}|{cns}"),
            "values": values,
            "versions": versions,
            "meta": meta,
        }
    if sub < 0.85 and f"{tid}|{cns}" in heads:
        writes = [["messages", f"{op_id}/{i}"] for i in range(rng.randint(1, 2))]
        return {
            "kind": "writes",
            "thread": tid,
            "ns": cns,
            "cid": heads[f"{tid}|{cns}"],
            "task": f"task-{op_id}",
            "writes": writes,
        }
    if sub < 0.93:
        return {"kind": "get", "thread": tid, "ns": cns}
    if sub < 0.97:
        return {"kind": "list", "thread": tid}
    return {"kind": "delete", "thread": tid}


def checkpoint_of(op: dict[str, Any]) -> dict[str, Any]:
    """The checkpoint a ``put`` operation writes (same object for ours and the oracle)."""
    cp = dict(empty_checkpoint())
    cp["id"] = op["cid"]
    cp["channel_values"] = dict(op["values"])
    cp["channel_versions"] = dict(op["versions"])
    return cp


def cp_config(thread: str, ns: str, cid: str | None = None) -> RunnableConfig:
    conf: dict[str, Any] = {"thread_id": thread, "checkpoint_ns": ns}
    if cid is not None:
        conf["checkpoint_id"] = cid
    return {"configurable": conf}


async def apply_op(
    op: dict[str, Any],
    saver: BaseCheckpointSaver[Any],
    ttl_saver: BaseCheckpointSaver[Any],
    store: BaseStore,
    shallow: BaseCheckpointSaver[Any] | None = None,
) -> Any:
    """Run one operation (also used by the parent to replay committed ones on the oracle)."""
    kind = op["kind"]
    if kind in ("sput", "sdel", "sget"):
        ns = tuple(op["ns"])
        if kind == "sput":
            return await store.aput(ns, op["key"], op["value"], ttl=op["ttl"])
        if kind == "sdel":
            return await store.adelete(ns, op["key"])
        return await store.aget(ns, op["key"], refresh_ttl=False)
    if kind == "ssearch":
        return await store.asearch(
            tuple(op["prefix"]), query=op["query"], filter=op["filter"], refresh_ttl=False
        )
    if kind == "slist":
        return await store.alist_namespaces(prefix=tuple(op["prefix"]) or None)
    target = saver
    if op["thread"] in TTL_THREADS:
        target = ttl_saver
    elif op["thread"] in SHALLOW_THREADS:
        assert shallow is not None
        target = shallow
    if kind == "put":
        cfg = cp_config(op["thread"], op["ns"], op["parent"])
        meta = cast(CheckpointMetadata, dict(op["meta"]))
        return await target.aput(cfg, checkpoint_of(op), meta, dict(op["versions"]))  # type: ignore[arg-type]
    if kind == "writes":
        writes = [(ch, v) for ch, v in op["writes"]]
        cfg = cp_config(op["thread"], op["ns"], op["cid"])
        return await target.aput_writes(cfg, writes, op["task"])
    if kind == "get":
        return await target.aget_tuple(cp_config(op["thread"], op["ns"]))
    if kind == "list":
        return [t async for t in target.alist({"configurable": {"thread_id": op["thread"]}})]
    if kind == "delete":
        return await target.adelete_thread(op["thread"])
    raise AssertionError(kind)


def _short(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc)[:200]}"


async def run_one(
    rng: random.Random, op: dict[str, Any], call: Awaitable[Any], cancel_p: float
) -> dict[str, Any]:
    """Run ``call``, maybe cancelling it at a random point; return its log record."""
    rec: dict[str, Any] = {**op, "s": time.monotonic(), "e": None}
    how = rng.random()
    try:
        if how < cancel_p / 2:
            await asyncio.wait_for(call, rng.uniform(0, 0.006))
        elif how < cancel_p:
            task = asyncio.ensure_future(call)
            await asyncio.sleep(rng.uniform(0, 0.006))
            task.cancel()
            await task
        else:
            await call
    except (asyncio.CancelledError, asyncio.TimeoutError):
        if asyncio.current_task() is not None and asyncio.current_task().cancelling():  # type: ignore[union-attr]
            raise  # the worker itself is being cancelled, not the operation
        rec["st"] = "cancel"
    except Exception as exc:
        rec["st"] = "error"
        rec["err"] = _short(exc)
    else:
        rec["st"] = "ok"
        rec["e"] = time.monotonic()
    return rec


# -- observation -------------------------------------------------------------------------


def canon_tuple(t: CheckpointTuple | None) -> Any:
    """A checkpoint tuple as JSON-able data; pending writes sorted (their order across
    concurrent ``put_writes`` calls is not specified)."""
    if t is None:
        return None
    conf = t.config["configurable"]
    parent = (t.parent_config or {}).get("configurable", {}).get("checkpoint_id")
    writes = sorted([str(task), str(ch), json.dumps(v)] for task, ch, v in t.pending_writes or [])
    meta = {k: v for k, v in dict(t.metadata).items() if k in ("source", "step", "w")}
    return [
        conf["thread_id"],
        conf["checkpoint_ns"],
        t.checkpoint["id"],
        json.loads(json.dumps(t.checkpoint["channel_values"], sort_keys=True)),
        meta,
        parent,
        writes,
    ]


def _item(it: Any) -> list[Any]:
    return [list(it.namespace), it.key, it.value]


async def _safe(coro: Awaitable[Any]) -> Any:
    try:
        return await coro
    except Exception as exc:
        return {"error": _short(exc)}


async def observe(
    saver: BaseCheckpointSaver[Any],
    store: BaseStore,
    shallow: BaseCheckpointSaver[Any] | None = None,
) -> Any:
    """Every question a check asks, answered by this saver and store (JSON-able).

    The TTL threads are read through the main saver (same prefix, same keys, no TTL
    config: a read refreshes nothing). An error is an answer too: ``{"error": ...}``.
    """
    out: dict[str, Any] = {}

    async def listed(config: RunnableConfig | None, s: Any = saver, **kw: Any) -> Any:
        return sorted(
            [canon_tuple(t) async for t in s.alist(config, **kw)],
            key=lambda c: (c[0], c[1], c[2]),
        )

    for tid in THREADS + TTL_THREADS:
        for ns in NAMESPACES:
            got = await _safe(saver.aget_tuple(cp_config(tid, ns)))
            out[f"cp.get {tid}|{ns}"] = got if isinstance(got, dict) else canon_tuple(got)
        out[f"cp.list {tid}"] = await _safe(listed({"configurable": {"thread_id": tid}}))
    out["cp.list *"] = await _safe(listed(None))
    out["cp.list * w=1"] = await _safe(listed(None, filter={"w": 1}))
    for tid in SHALLOW_THREADS if shallow is not None else []:
        for ns in NAMESPACES:
            got = await _safe(shallow.aget_tuple(cp_config(tid, ns)))  # type: ignore[union-attr]
            out[f"sh.get {tid}|{ns}"] = got if isinstance(got, dict) else canon_tuple(got)
        out[f"sh.list {tid}"] = await _safe(listed({"configurable": {"thread_id": tid}}, shallow))
    if shallow is not None:
        out["sh.list *"] = await _safe(listed(None, shallow))
    # Namespaces first: InMemoryStore's get creates an empty namespace it then lists.
    out["st.ns *"] = await _safe(store.alist_namespaces(limit=100))
    out["st.ns chaos d2"] = await _safe(store.alist_namespaces(prefix=("chaos",), max_depth=2))
    for ns_t in STORE_NS:
        for key in KEYS:
            got = await _safe(store.aget(ns_t, key, refresh_ttl=False))
            out[f"st.get {ns_t}/{key}"] = (
                got if got is None or isinstance(got, dict) else _item(got)
            )

    async def search(prefix: tuple[str, ...], limit: int, **kw: Any) -> Any:
        found = await store.asearch(prefix, limit=limit, refresh_ttl=False, **kw)
        return [[*_item(f), f.score] for f in found]

    for prefix in PREFIXES:
        out[f"st.search {prefix}"] = await _safe(search(prefix, 100))
        out[f"st.page {prefix}"] = await _safe(search(prefix, 2))
        out[f"st.search {prefix} n=1"] = await _safe(search(prefix, 100, filter={"n": 1}))
        for q in QUERIES:
            out[f"st.search {prefix} q={q}"] = await _safe(search(prefix, 100, query=q))
            out[f"st.page {prefix} q={q}"] = await _safe(search(prefix, 3, query=q))
    return json.loads(json.dumps(out, default=list))


# -- worker process ----------------------------------------------------------------------


class Worker:
    """One worker process: long-lived saver, TTL saver and store; runs phases."""

    def __init__(self, job: dict[str, Any]) -> None:
        from langgraph_redis import AsyncRedisSaver, AsyncShallowRedisSaver

        self.job = job
        self.index = int(job["worker"])
        opts = {"recovery_timeout": job.get("recovery_timeout", 20)}
        self.saver = AsyncRedisSaver(job["url"], prefix=job["prefix"], **opts)
        self.ttl_saver = AsyncRedisSaver(
            job["url"],
            prefix=job["prefix"],
            ttl={"default_ttl": SAVER_TTL_S / 60, "refresh_on_read": False},
            **opts,
        )
        self.shallow = AsyncShallowRedisSaver(
            job["url"], prefix=shallow_prefix(job["prefix"]), **opts
        )
        self.store = self.new_store()
        self.heads: dict[str, str] = {}

    def new_store(self) -> Any:
        return open_store(self.job["url"], self.job["prefix"])

    async def setup(self) -> dict[str, Any]:
        await self.saver.asetup()
        await self.ttl_saver.asetup()
        await self.shallow.asetup()
        await self.store.asetup()
        return {"ready": True, "engine": self.store.engine}

    async def phase(self, n: int, expiry: bool, reopen: bool) -> dict[str, Any]:
        seed = f"{self.job['seed']}/{self.index}/{n}"
        log: list[dict[str, Any]] = []

        async def task(t: int) -> None:
            rng = random.Random(f"{seed}/{t}")
            for i in range(int(self.job["ops"])):
                op_id = f"w{self.index}.p{n}.t{t}.{i}"
                op = draw_op(rng, self.index, op_id, self.heads, expiry, reopen)
                if op["kind"] == "reopen":
                    # the old client may still serve another task's call: closed later
                    retired.append(self.store)
                    self.store = self.new_store()
                    after = float(op["after"])
                    op = {"kind": "ssearch", "prefix": op["prefix"], "query": None, "filter": None}
                    call = apply_op(op, self.saver, self.ttl_saver, self.store, self.shallow)
                    task = asyncio.ensure_future(call)
                    await asyncio.sleep(after)
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
                    log.append({"id": op_id, "kind": "reopen", "st": "cancel", "s": 0, "e": None})
                    continue
                call = apply_op(op, self.saver, self.ttl_saver, self.store, self.shallow)
                rec = await run_one(rng, {"id": op_id, **op}, call, float(self.job["cancel_p"]))
                if rec["kind"] == "put" and rec["st"] == "ok":
                    key = f"{op['thread']}|{op['ns']}"
                    if self.heads.get(key, "") < op["cid"]:
                        self.heads[key] = op["cid"]
                if rec["kind"] == "delete" and rec["st"] == "ok":
                    for key in [k for k in self.heads if k.startswith(op["thread"] + "|")]:
                        del self.heads[key]
                log.append(rec)

        retired: list[Any] = []
        await asyncio.gather(*(task(t) for t in range(int(self.job["tasks"]))))
        for old in retired:
            await old.aclose()
        errors = Counter(r["err"].split(":")[0] for r in log if r["st"] == "error")
        return {"log": log, "errors": dict(errors)}

    async def warmup(self) -> dict[str, Any]:
        errors = []
        for prefix in PREFIXES:
            for q in [None, QUERIES[0]]:
                try:
                    await self.store.asearch(prefix, query=q, limit=1, refresh_ttl=False)
                except Exception as exc:
                    errors.append(f"search {prefix} q={q}: {_short(exc)}")
        return {"errors": errors}

    async def close(self) -> None:
        await self.store.aclose()
        await self.saver.aclose()
        await self.ttl_saver.aclose()
        await self.shallow.aclose()


class Warnings(logging.Handler):
    """Collects what the library logs at WARNING and above: in a run without corrupt
    data every such line is a finding (e.g. expired items reported as unreadable)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(record.getMessage()[:300])

    def take(self) -> list[str]:
        seen, self.seen = self.seen, []
        return sorted(set(seen))

    def __enter__(self) -> Warnings:
        logging.getLogger("langgraph_redis").addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger("langgraph_redis").removeHandler(self)


WARNINGS = Warnings()


def _reply(record: dict[str, Any]) -> None:
    record["warnings"] = WARNINGS.take()
    sys.stdout.write(json.dumps(record, separators=(",", ":"), default=list) + "\n")
    sys.stdout.flush()


async def worker_main(job: dict[str, Any]) -> int:
    """Answer the parent's commands until ``exit`` (or end of input)."""
    worker = Worker(job)
    loop = asyncio.get_running_loop()
    logging.getLogger("langgraph_redis").propagate = False  # kept, not printed
    try:
        _reply(await worker.setup())
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            cmd = json.loads(line)
            try:
                if cmd["cmd"] == "phase":
                    _reply(
                        await worker.phase(int(cmd["n"]), bool(cmd["expiry"]), bool(cmd["reopen"]))
                    )
                elif cmd["cmd"] == "warmup":
                    _reply(await worker.warmup())
                elif cmd["cmd"] == "observe":
                    _reply({"obs": await observe(worker.saver, worker.store, worker.shallow)})
                else:
                    return 0
            except Exception:
                _reply({"crash": traceback.format_exc()})
                return 1
        return 0
    finally:
        await worker.close()


if __name__ == "__main__":
    with WARNINGS:
        sys.exit(asyncio.run(worker_main(json.loads(sys.argv[1]))))
