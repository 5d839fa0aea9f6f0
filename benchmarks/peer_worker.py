"""Runs inside the peer virtualenv: measures langgraph-checkpoint-redis, prints JSON.

Reads a request line on stdin (``url``, ``engine``, the sizes of each part), runs the
shared benchmark functions against the peer's classes and prints one JSON line:
``{"rows": [...], "notes": [...], "versions": {...}}``. A part that fails becomes a note,
so one broken peer class never hides the figures of the others.

With ``"lockstep": true`` the checkpointer is measured in turn with the parent's subjects
(``peers.LockstepWorker``): the worker says ``ready`` once warmed up and ``done`` after
each slice, and runs a slice on each ``go`` line and moves on at ``end``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import traceback
from importlib import metadata
from typing import Any

from benchmarks.checkpointer import CheckpointerSizes, bench_checkpointer
from benchmarks.stats import Leader

SUBJECT = "langgraph-checkpoint-redis"
# redis-py 8 caps an async pool at 100 connections by default (7 had no cap); the
# anchor's saver then fails at 64 tasks ("Too many connections"). It gets the cap it
# had under redis-py 7, so what is measured is the saver, not the pool default.
CONNECTION_ARGS = {"max_connections": 2**31}


def _versions() -> dict[str, str]:
    out = {}
    for dist in (
        "langgraph-checkpoint-redis",
        "redisvl",
        "langgraph-checkpoint",
        "redis",
        "hiredis",
    ):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "missing"
    return out


class _Parent(Leader):
    """The parent process, over this worker's stdin and stdout."""

    async def _expect(self, word: str) -> None:
        line = await asyncio.to_thread(sys.stdin.readline)
        if line.strip() != word:
            raise RuntimeError(f"expected {word!r} from the parent, got {line.strip()!r}")

    async def ready(self) -> None:
        print("ready", flush=True)

    async def turn(self) -> None:
        await self._expect("go")

    async def done(self) -> None:
        print("done", flush=True)

    async def released(self) -> None:
        await self._expect("end")


async def _checkpointer(req: dict[str, Any]) -> list[dict[str, Any]]:
    from langgraph.checkpoint.redis.aio import AsyncRedisSaver  # type: ignore[import-not-found,unused-ignore]

    sizes = CheckpointerSizes.from_dict(req["checkpointer"])
    async with AsyncRedisSaver.from_conn_string(
        req["url"], connection_args=CONNECTION_ARGS
    ) as saver:
        await saver.asetup()
        leader = _Parent() if req.get("lockstep") else None
        return await bench_checkpointer({SUBJECT: saver}, req["engine"], sizes, leader=leader)


async def _store(req: dict[str, Any]) -> list[dict[str, Any]]:
    from langgraph.store.redis.aio import AsyncRedisStore  # type: ignore[import-not-found,unused-ignore]

    from benchmarks.store import StoreSizes, StoreSubject, bench_store, index_config, redis_memory

    sizes = StoreSizes.from_dict(req["store"])
    async with AsyncRedisStore.from_conn_string(
        req["url"], index=index_config(sizes.dims)
    ) as store:
        await store.setup()
        return await bench_store(
            {SUBJECT: StoreSubject(store)}, req["engine"], sizes, memory=redis_memory(req["url"])
        )


async def _e2e(req: dict[str, Any]) -> list[dict[str, Any]]:
    from langgraph.checkpoint.redis.aio import AsyncRedisSaver  # type: ignore[import-not-found,unused-ignore]
    from langgraph.store.redis.aio import AsyncRedisStore  # type: ignore[import-not-found,unused-ignore]

    from benchmarks.e2e import E2ESizes, bench_e2e
    from benchmarks.store import index_config

    sizes = E2ESizes.from_dict(req["e2e"])
    async with (
        AsyncRedisSaver.from_conn_string(req["url"], connection_args=CONNECTION_ARGS) as saver,
        AsyncRedisStore.from_conn_string(req["url"], index=index_config(sizes.dims)) as store,
    ):
        await saver.asetup()
        await store.setup()
        return await bench_e2e({SUBJECT: (saver, store)}, req["engine"], sizes)


async def _storage(req: dict[str, Any]) -> list[dict[str, Any]]:
    from langgraph.checkpoint.redis.aio import AsyncRedisSaver  # type: ignore[import-not-found,unused-ignore]

    from benchmarks.storage import StorageSizes, bench_storage

    async with AsyncRedisSaver.from_conn_string(req["url"]) as saver:
        await saver.asetup()
        return await bench_storage(
            saver, SUBJECT, req["url"], StorageSizes.from_dict(req["storage"])
        )


async def main_async(req: dict[str, Any]) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    parts = (
        ("checkpointer", _checkpointer),
        ("store", _store),
        ("e2e", _e2e),
        ("storage", _storage),
    )
    for name, part in parts:
        if not req.get(name):
            continue
        try:
            rows += await part(req)
        except Exception as exc:
            last = traceback.format_exception_only(type(exc), exc)[-1].strip()
            notes.append(f"{SUBJECT} {name}: failed on {req['engine']}: {last[:300]}")
    return {"rows": rows, "notes": notes, "versions": _versions()}


def main() -> None:
    req = json.loads(sys.stdin.readline())
    print(json.dumps(asyncio.run(main_async(req))))


if __name__ == "__main__":
    main()
