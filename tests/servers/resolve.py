"""Where the test servers come from: ``REDIS_URL``, Docker, or local binaries.

Resolution order for :func:`server_url`:

1. ``REDIS_URL`` set -> only that server is used (pseudo-engine ``"env"``);
   nothing is started or stopped, so a developer can point the suite at any
   server (Redis 8, a managed instance, ...).
2. A Docker engine answers -> testcontainers with the reference images, so
   results match what users run in production.
3. Otherwise -> the local binaries via :mod:`tests.servers.process`
   (``.ci/install-servers.sh`` installs what pip does not).

``LANGGRAPH_REDIS_SERVERS=local|docker`` forces step 2 or 3.

A missing engine is a hard failure when ``CI`` is truthy (a silently skipped
engine would make a green CI run meaningless) and a ``pytest.skip`` with the
reason everywhere else.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

from tests.servers.binaries import ENGINES, Engine, ServerNotAvailable, find_binary
from tests.servers.process import start_server

ENV_ENGINE = "env"
"""Pseudo-engine used when ``REDIS_URL`` names the (only) server to test."""

DOCKER_IMAGES: dict[str, str] = {
    "valkey": "valkey/valkey:9",
    "redis7": "redis:7.0",
    "stack": "redis/redis-stack-server:7.4.0-v1",
    # The official image has the query engine built in; the local build has not.
    "redis8": "redis:8.0",
}


def in_ci() -> bool:
    """True when env ``CI`` is set to a truthy value (GitHub Actions sets ``true``)."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes", "on"}


def engines_for_run() -> list[str]:
    """Engines the suite parametrizes over: ``["env"]``, or the local engines.

    ``LANGGRAPH_REDIS_ENGINES=valkey,stack`` narrows the local engines (a quick local
    run, or the lowest-versions run in CI); unknown names are an error, not a skip.
    """
    if os.environ.get("REDIS_URL"):
        return [ENV_ENGINE]
    chosen = os.environ.get("LANGGRAPH_REDIS_ENGINES", "").strip()
    if not chosen:
        return list(ENGINES)
    names = [n.strip() for n in chosen.split(",") if n.strip()]
    unknown = sorted(set(names) - set(ENGINES))
    if unknown:
        raise ValueError(
            f"LANGGRAPH_REDIS_ENGINES names unknown engines {unknown}; known: {ENGINES}"
        )
    return names


@functools.cache
def docker_available() -> bool:
    """Whether a Docker engine answers ``docker info`` within a few seconds.

    Cached: probing costs a subprocess, and the answer does not change during
    a run.
    """
    choice = os.environ.get("LANGGRAPH_REDIS_SERVERS", "").strip().lower()
    if choice == "local":
        return False
    if choice == "docker":
        return True
    if shutil.which("docker") is None:
        return False
    try:
        result = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0 and bool(result.stdout.strip())


def unavailable(reason: str) -> None:
    """Fail on CI, skip elsewhere: the single policy for a missing engine.

    pytest is imported here, not at module level, so the benchmarks can use this package
    without the test extra.
    """
    if in_ci():
        raise RuntimeError(f"{reason} (CI=true: missing servers are errors, not skips)")
    import pytest

    pytest.skip(reason)


def require_engine(engine: str) -> Engine:
    """Check that a local binary for ``engine`` exists (skip/fail otherwise).

    For tests that need the local process machinery itself (cluster,
    sentinel, kill/restart), which Docker or ``REDIS_URL`` cannot provide.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}")
    try:
        find_binary(engine)
    except ServerNotAvailable as exc:
        unavailable(str(exc))
    return engine


@contextlib.contextmanager
def _docker_server(engine: str) -> Iterator[str]:
    from testcontainers.community.redis import RedisContainer

    container: Any = RedisContainer(DOCKER_IMAGES[engine])
    with container:
        host = container.get_container_host_ip()
        port = container.get_exposed_port(container.port)
        yield f"redis://{host}:{port}"


@contextlib.contextmanager
def server_url(engine: str) -> Iterator[str]:
    """Yield the URL of a running ``engine`` server for the duration of the block.

    ``engine`` is one of :func:`engines_for_run`.  Servers we start are
    stopped (by pid, or by removing the container) on exit.
    """
    if engine == ENV_ENGINE:
        url = os.environ.get("REDIS_URL")
        if not url:
            raise RuntimeError("engine 'env' requested but REDIS_URL is not set")
        yield url
        return
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; expected one of {ENGINES}")
    if docker_available():
        with _docker_server(engine) as url:
            yield url
        return
    local = require_engine(engine)
    with start_server(local) as server:
        yield server.url
