"""Shared fixtures: one real server per engine, a fresh key prefix per test.

``redis_url`` is parametrized over the engines of this run (``valkey``, ``redis7``,
``stack``; or only the server named by ``REDIS_URL``). Servers start once per session and
are stopped by pid at the end. Tests never FLUSHALL: each gets its own key prefix.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterator

import pytest

from tests.servers import LocalCluster, engines_for_run, server_url
from tests.topology import CLUSTER_ENGINES, shared_cluster

ENGINES = engines_for_run()


@pytest.fixture(scope="session")
def _servers() -> Iterator[dict[str, str]]:
    """Lazily started servers, keyed by engine, shared by the whole session."""
    stack = contextlib.ExitStack()
    started: dict[str, str] = {}

    class _Lazy(dict[str, str]):
        def __missing__(self, engine: str) -> str:
            url = stack.enter_context(server_url(engine))
            started[engine] = url
            self[engine] = url
            return url

    with stack:
        yield _Lazy()


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """The engine under test: ``valkey``, ``redis7``, ``stack`` (or ``env``)."""
    return str(request.param)


@pytest.fixture
def redis_url(engine: str, _servers: dict[str, str]) -> str:
    """URL of a running server of ``engine``."""
    return _servers[engine]


@pytest.fixture(params=CLUSTER_ENGINES)
def cluster(request: pytest.FixtureRequest) -> LocalCluster:
    """The shared 3+3 cluster of each cluster engine (started once per process)."""
    return shared_cluster(request.param)


@pytest.fixture
def key_prefix(request: pytest.FixtureRequest) -> str:
    """A prefix no other test uses, so tests share servers without FLUSHALL."""
    name = re.sub(r"[^A-Za-z0-9]+", "_", request.node.name)[-40:]
    return f"t_{name}_{uuid.uuid4().hex[:8]}"


from tests.roundtrips import roundtrips  # noqa: E402, F401  (fixture re-export)
