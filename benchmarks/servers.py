"""The servers a run measures against, and what we read from them (version, memory).

Servers come from :mod:`tests.servers` on loopback and are stopped by pid when
the run ends; ``REDIS_URL`` replaces them with that one server, which is never flushed
(keys are written under bench prefixes, so point it at a disposable database).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import redis

from tests.servers import ENGINES, LocalServer, ServerNotAvailable, start_server


@dataclass
class Target:
    """One server under test."""

    engine: str
    url: str
    version: str
    search: bool
    owned: bool


def describe(url: str) -> tuple[str, bool]:
    """``("valkey 9.0.1", has_query_engine)`` from INFO and a probe of ``FT._LIST``."""
    with redis.Redis.from_url(url) as conn:
        info: dict[str, Any] = conn.info("server")
        name = "valkey" if "valkey_version" in info else "redis"
        version = str(info.get("valkey_version") or info.get("redis_version"))
        try:
            # Probe the command itself, as the library does (MODULE LIST may be denied).
            conn.execute_command("FT._LIST")
            search = True
        except redis.ResponseError:
            search = False
    return f"{name} {version}" + (" + search" if search else ""), search


def used_memory(url: str) -> int:
    """``used_memory`` in bytes (INFO memory)."""
    with redis.Redis.from_url(url) as conn:
        return int(conn.info("memory")["used_memory"])


def flush(target: Target) -> None:
    """Empty a server we started (never one given by ``REDIS_URL``)."""
    if target.owned:
        # No read timeout: dropping 100k vectors and their indexes took Redis Stack over
        # redis-py's default 5 s, and the exception ended a full run 27 minutes in.
        with redis.Redis.from_url(target.url, socket_timeout=None) as conn:
            # SYNC: Valkey frees lazily by default, and memory still being freed in the
            # background would make the next "memory per item" reading negative.
            conn.execute_command("FLUSHALL", "SYNC")


@contextlib.contextmanager
def targets(engines: Sequence[str], notes: list[str]) -> Iterator[list[Target]]:
    """Start each engine (or use ``REDIS_URL``); stop what was started on exit."""
    env_url = os.environ.get("REDIS_URL")
    if env_url:
        version, search = describe(env_url)
        notes.append(f"REDIS_URL given: measured only {env_url} ({version}); nothing started.")
        yield [Target("env", env_url, version, search, owned=False)]
        return
    started: list[LocalServer] = []
    out: list[Target] = []
    try:
        for engine in engines:
            if engine not in ENGINES:
                raise ValueError(f"unknown engine {engine!r}; choose from {ENGINES}")
            try:
                server = start_server(engine)
            except ServerNotAvailable as exc:
                notes.append(f"engine {engine} skipped: {exc}")
                continue
            started.append(server)
            version, search = describe(server.url)
            out.append(Target(engine, server.url, version, search, owned=True))
        yield out
    finally:
        for server in started:
            server.stop()
