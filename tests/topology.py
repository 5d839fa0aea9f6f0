"""Multi-process topologies (Cluster, Sentinel) shared by the async and generated sync tests.

A session fixture defined in a test module exists once per module, so the async file and
its generated sync twin would each start their own cluster. These caches start one
healthy cluster per engine per process instead; ``tests.servers`` stops every
process it started when the interpreter exits. Fault tests that break a topology start
their own.
"""

from __future__ import annotations

import atexit
import threading

from tests.servers import (
    Engine,
    LocalCluster,
    ServerNotAvailable,
    require_engine,
    start_cluster,
    unavailable,
)

CLUSTER_ENGINES: list[Engine] = ["valkey", "redis7", "redis8"]

_lock = threading.Lock()
_clusters: dict[str, LocalCluster] = {}


def shared_cluster(engine: Engine) -> LocalCluster:
    """A 3-master, 3-replica cluster of ``engine``, started on first use."""
    require_engine(engine)
    with _lock:
        found = _clusters.get(engine)
        if found is None:
            try:
                found = start_cluster(engine, masters=3, replicas_per_master=1)
            except ServerNotAvailable as exc:  # pragma: no cover - require_engine checked
                unavailable(str(exc))
                raise
            _clusters[engine] = found
            atexit.register(found.stop)
        return found
