"""Multi-process topologies (Cluster, Sentinel) shared by the async and generated sync tests.

A session fixture defined in a test module exists once per module, so the async file and
its generated sync twin would each start their own cluster. These caches start one
healthy cluster per engine per process instead; ``tests.servers`` stops every
process it started when the interpreter exits. Fault tests that break a topology start
their own.
"""

from __future__ import annotations

import atexit
import os
import threading

from tests.servers import (
    Engine,
    LocalCluster,
    ServerNotAvailable,
    require_engine,
    start_cluster,
    unavailable,
)


def _cluster_engines() -> list[Engine]:
    """Valkey, Redis 7 and Redis 8 clusters; ``LANGGRAPH_REDIS_ENGINES`` narrows them too
    (a run restricted to some engines gets their clusters only)."""
    every: list[Engine] = ["valkey", "redis7", "redis8"]
    chosen = os.environ.get("LANGGRAPH_REDIS_ENGINES", "").strip()
    if not chosen:
        return every
    names = {n.strip() for n in chosen.split(",")}
    return [e for e in every if e in names]


CLUSTER_ENGINES: list[Engine] = _cluster_engines()

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
