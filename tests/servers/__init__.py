"""Test servers: local Valkey/Redis/Stack processes, TLS, Cluster, Sentinel, and the resolver.

Development infrastructure shared by the tests and the benchmarks; it is not part of the
installed package (the demo has its own small launcher, ``langgraph_redis.demo.embedded``).

- :mod:`.binaries`: find each engine's executable (``find_binary``), ``Engine``, errors;
- :mod:`.process`: one server process we own (``LocalServer``, ``start_server``,
  ``start_tls_server``);
- :mod:`.cluster`: ``start_cluster`` (3+3 by default), formed without ``valkey-cli``;
- :mod:`.sentinel`: ``start_sentinel_group``;
- :mod:`.resolve`: which server a test run uses (``REDIS_URL``, Docker or local binaries).
"""

from __future__ import annotations

from tests.servers.binaries import (
    ENGINES,
    HOST,
    Engine,
    ServerBinary,
    ServerNotAvailable,
    ServerStartError,
    find_binary,
)
from tests.servers.cluster import CLUSTER_SLOTS, LocalCluster, start_cluster
from tests.servers.process import (
    DEFAULT_STARTUP_TIMEOUT,
    LocalServer,
    start_server,
    start_tls_server,
)
from tests.servers.resolve import (
    DOCKER_IMAGES,
    ENV_ENGINE,
    docker_available,
    engines_for_run,
    in_ci,
    require_engine,
    server_url,
    unavailable,
)
from tests.servers.sentinel import SentinelGroup, start_sentinel_group

__all__ = [
    "CLUSTER_SLOTS",
    "DEFAULT_STARTUP_TIMEOUT",
    "DOCKER_IMAGES",
    "ENGINES",
    "ENV_ENGINE",
    "HOST",
    "Engine",
    "LocalCluster",
    "LocalServer",
    "SentinelGroup",
    "ServerBinary",
    "ServerNotAvailable",
    "ServerStartError",
    "docker_available",
    "engines_for_run",
    "find_binary",
    "in_ci",
    "require_engine",
    "server_url",
    "start_cluster",
    "start_sentinel_group",
    "start_server",
    "start_tls_server",
    "unavailable",
]
