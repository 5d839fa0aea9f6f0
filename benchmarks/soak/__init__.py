"""Soak mode: the guide's chatbot driven by several worker processes against one server.

``python -m benchmarks soak [--workers 4] [--threads 1000] [--duration 120] ...``

The parent starts (or, with ``REDIS_URL``, borrows) one server, launches ``--workers``
processes (``python -m benchmarks.soak.worker``) and lets them start together once every
one has built its saver and store. Each worker drives its share of the ``--threads``
LangGraph conversation threads concurrently (one asyncio task per thread, one invocation
at a time per thread) until the deadline, through bounded pools (``--pool-size``
connections per saver and per store): tasks beyond the pool wait for a connection
(redis-py's blocking pool, 20 s timeout), they never fail for want of one.

Workers print one JSON line per interval on stdout (invocations, errors by type, every
latency, VmRSS); the parent samples the server (``used_memory``, ``DBSIZE``,
``connected_clients``) on the same clock. With ``--ttl-minutes`` every checkpoint and
item expires, so after about one TTL the server's memory should stop growing: the report
compares the slope of each memory series over the first and the last half of the run.
Output: ``soak.json``, ``soak.md`` and ``soak_memory.png``. The exit status is 1 when any
invocation failed or a worker died.

Modules: :mod:`~benchmarks.soak.__main__` (command line), :mod:`~benchmarks.soak.parent`
(launch the workers, sample the server), :mod:`~benchmarks.soak.worker` (one process's
conversations), :mod:`~benchmarks.soak.analysis` (summary and pass/fail) and
:mod:`~benchmarks.soak.report` (``soak.md``); the settings shared by all are here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MAX_DURATION_S = 1800.0
READY_TIMEOUT_S = 120.0
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "results"
ERROR_SAMPLES = 5


@dataclass(frozen=True)
class SoakSettings:
    """What one soak run does; built from the command line."""

    out: Path
    engine: str = "valkey"
    saver: str = "full"
    workers: int = 4
    threads: int = 1000
    users: int = 250
    duration_s: float = 120.0
    pool_size: int = 16
    pool_timeout_s: float = 20.0
    ttl_minutes: float = 1.0
    dims: int = 1536
    interval_s: float = 5.0


@dataclass(frozen=True)
class WorkerJob:
    """One worker's share, sent as JSON on its command line."""

    index: int
    url: str
    prefix: str
    saver: str
    tag: str
    threads: list[int]
    users: int
    pool_size: int
    pool_timeout_s: float
    ttl_minutes: float
    dims: int
    interval_s: float
    sweeper: bool
