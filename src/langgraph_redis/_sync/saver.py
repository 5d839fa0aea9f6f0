# WARNING: generated from src/langgraph_redis/_async/saver.py by scripts/async_to_sync.py.
# DO NOT EDIT: change the async source and regenerate.
"""The checkpointer: LangGraph's ``BaseCheckpointSaver`` over plain Redis commands.

Works on Redis >= 6.2, Valkey >= 7.2, Redis Stack, Redis 8 and Cluster; needs no
module. Each method builds a plan in ``_core.checkpoint`` and runs it; the round trips
and atomicity of each call are documented there and in ``docs/design.md``.
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, ClassVar

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)
from langgraph.checkpoint.serde.base import SerializerProtocol

from langgraph_redis._acompat import Iterator, finish
from langgraph_redis._sync._run import AnySyncClient
from langgraph_redis._sync.connection import (
    ConnectionOwner,
    check_wait_replicas,
    open_connection,
)
from langgraph_redis._bridge import SyncSaverBridge
from langgraph_redis._core.checkpoint import saver as checkpoints
from langgraph_redis._core.checkpoint.config import SaverConfig, ttl_seconds
from langgraph_redis._core.checkpoint.listing import ListMerge, by_thread, list_query
from langgraph_redis._core.plans import Plan, T
from langgraph_redis._core.probe import ServerInfo


def now_ms() -> int:
    """Wall clock in milliseconds (TTL bookkeeping)."""
    return int(time.time() * 1000)


class RedisSaver(ConnectionOwner, SyncSaverBridge, BaseCheckpointSaver[str]):
    """Checkpointer keeping every checkpoint of every thread in Redis or Valkey.

    Args:
        conn: A Redis URL (``redis://``, ``rediss://``, ``unix://``,
            ``redis+sentinel://``) or an existing client. A URL's client is owned and
            closed by :meth:`close`; a client passed in stays the caller's.
        redis_url: Alias of ``conn`` for code written for langgraph-checkpoint-redis.
        redis_client: Alias of ``conn`` (an existing client).
        prefix: Key prefix, so several apps can share one database.
        ttl: ``{"default_ttl": minutes, "refresh_on_read": bool}``; applied inside the
            same transaction as each write.
        serde: Serializer (LangGraph's protocol); defaults to ``JsonPlusSerializer``.
        pool_size: Upper bound on pooled connections (default 64); when all are busy,
            callers wait up to ``pool_timeout`` seconds (default 20) for one, then
            ``PoolTimeout``.
        connection_args: redis-py client options as a dict (langgraph-checkpoint-redis
            spelling); merged with ``**client_options``.
        wait_replicas: ``(replicas, timeout_ms)``: after each ``put``/``put_writes``
            transaction, WAIT on the same connection, in the same round trip, until that
            many replicas acknowledged it; fewer raises ``NotReplicatedError`` (the
            write is applied on the primary either way). Standalone and Sentinel only;
            see ``docs/reliability.md`` for what this does and does not guarantee.
        recovery_timeout: Seconds a call keeps resending through a failover,
            resharding or restart before raising ``RecoveryTimeout`` (default 10).
        **client_options: Passed to redis-py (``socket_timeout``, ``retry``, ...).
    """

    _shallow: ClassVar[bool] = False
    """The shallow saver's put and put_writes drop older checkpoints (``plan_put``)."""

    def __init__(
        self,
        conn: str | AnySyncClient | None = None,
        *,
        redis_url: str | None = None,
        redis_client: AnySyncClient | None = None,
        prefix: str = "lgr",
        ttl: Mapping[str, Any] | None = None,
        serde: SerializerProtocol | None = None,
        pool_size: int | None = None,
        wait_replicas: tuple[int, int] | None = None,
        connection_args: Mapping[str, Any] | None = None,
        **client_options: Any,
    ) -> None:
        super().__init__(serde=serde)
        self._conn = open_connection(
            conn, redis_url, redis_client, pool_size, connection_args, client_options
        )
        self._wait = check_wait_replicas(wait_replicas)
        seconds, refresh = ttl_seconds(ttl)
        self._cfg = SaverConfig(self.serde, prefix, seconds, refresh)

    def setup(self) -> ServerInfo:
        """Probe the server and load the saver's scripts, once. Idempotent; no schema."""
        self._remember_loop()
        info = self._conn.probe()
        self._conn.ensure_scripts(checkpoints.SCRIPTS)
        return info

    def _run(
        self,
        plan: Plan[T] | Callable[[bool], Plan[T]],
        *,
        wait: bool = False,
        registered: bool = False,
    ) -> T:
        """Set up (once), then run ``plan``, or the plan ``plan(cluster)`` makes for
        what setup found (several plans differ on a cluster).

        ``registered``: the plan writes or removes a thread registry entry. On a cluster
        the registry lives in another slot than the thread, so such a plan is two or
        more round trips (registry, then the thread, then on a write creating the thread
        a confirmation); once started it runs to its end even if this call is cancelled,
        so no cancellation lands between them (see ``checkpoints._confirm_registry``).
        On one server it is one atomic round trip.
        """
        self.setup()
        cluster = self._conn.cluster
        if callable(plan):
            plan = plan(cluster)
        ran = self._conn.run(plan, wait=self._wait if wait else None)
        if registered and cluster:
            return finish(ran)
        return ran

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """Latest checkpoint of the thread (or the one named by ``checkpoint_id``).

        One round trip (a server-side script); cost independent of thread length.
        """
        found: CheckpointTuple | None = self._run(
            # with refresh_on_read the plan differs on a cluster
            lambda cluster: checkpoints.plan_get_tuple(
                self._cfg, config, now_ms=now_ms(), cluster=cluster
            )
        )
        return found

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """Checkpoints newest first, filtered by metadata equality, ``before`` exclusive.

        Within a thread, namespaces are merged by checkpoint id (newest first); threads
        follow one another. One round trip per page of 100 ids per namespace (two with a
        metadata filter); never SCAN.
        ``limit`` None or negative returns everything.
        """
        query = list_query(config, filter=filter, before=before, limit=limit)
        remaining = query.limit
        if remaining == 0:
            return
        scopes = self._run(checkpoints.plan_list_scopes(self._cfg, query))
        for thread_id, namespaces in by_thread(scopes):
            # one thread's namespaces are merged newest first (each is paged on its own)
            merge = ListMerge(namespaces)
            while True:
                while needs := merge.needs():
                    for ns, cursor in needs:
                        page, after = self._run(
                            checkpoints.plan_list_page(
                                self._cfg, query, thread_id, ns, cursor, remaining, now_ms=now_ms()
                            )
                        )
                        merge.feed(ns, page, after)
                listed = merge.pop()
                if listed is None:
                    break
                item = listed.load()  # decoded as taken (see Listed)
                if item is None:
                    continue  # deleted since its page was read
                yield item
                if remaining is not None:
                    remaining -= 1
                    if remaining <= 0:
                        return

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Store a checkpoint; only channels in ``new_versions`` are written.

        One round trip: one script, atomic on the thread's slot. On a cluster: the thread
        registry entry, then the script, then, only when the put creates the thread, a
        confirmation of the entry (so a racing ``delete_thread`` cannot hide the thread).
        """
        stored: RunnableConfig = self._run(
            lambda cluster: checkpoints.plan_put(
                self._cfg,
                config,
                checkpoint,
                metadata,
                new_versions,
                shallow=self._shallow,
                now_ms=now_ms(),
                cluster=cluster,
            ),
            wait=True,
            registered=True,
        )
        return stored

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Store pending writes of a task. One atomic, idempotent round trip."""
        self._run(
            lambda cluster: checkpoints.plan_put_writes(
                self._cfg,
                config,
                writes,
                task_id,
                task_path,
                shallow=self._shallow,
                cluster=cluster,
            ),
            wait=True,
        )

    def delete_thread(self, thread_id: str) -> None:
        """Delete every checkpoint, write and blob of a thread. One atomic script.

        A second round trip, only when runs wrote to the thread, unlists it from those
        run indexes.
        """
        self._run(
            lambda cluster: checkpoints.plan_delete_thread(self._cfg, thread_id, cluster=cluster),
            registered=True,
        )

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Delete checkpoints and pending writes recorded under these run ids.

        Writes a run stored on another run's checkpoint (a resume's answer) go too.
        Two round trips: read the run indexes, then one atomic script per thread.
        """
        self._run(checkpoints.plan_delete_for_runs(self._cfg, run_ids))

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Copy all checkpoints, writes and blobs of a thread under a new thread id."""
        self._run(
            lambda cluster: checkpoints.plan_copy_thread(
                self._cfg, source_thread_id, target_thread_id, now_ms=now_ms(), cluster=cluster
            ),
            registered=True,
        )

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """Keep only the newest checkpoint per namespace, or delete the threads.

        ``keep_latest`` also keeps the ancestors the newest checkpoint's ``DeltaChannel``
        values are rebuilt from. One round trip (``delete``: two when the threads are in
        run indexes); each thread is pruned atomically by a script.
        """
        self._run(
            lambda cluster: checkpoints.plan_prune(
                self._cfg, thread_ids, strategy, cluster=cluster
            ),
            registered=True,
        )

    def with_allowlist(
        self, extra_allowlist: Collection[tuple[str, ...]]
    ) -> BaseCheckpointSaver[str]:
        """A copy whose serializer also allows these types (LangGraph calls this on compile).

        The base class swaps ``serde`` on a shallow copy; our plans read the serializer
        from ``_cfg``, so the copy gets its own ``_cfg`` too.
        """
        clone = super().with_allowlist(extra_allowlist)
        if clone is not self and isinstance(clone, RedisSaver):
            clone._cfg = dataclasses.replace(self._cfg, serde=clone.serde)
        return clone

    def get_next_version(self, current: str | None, channel: None) -> str:
        """Zero-padded counter plus a random tiebreak: versions sort as strings."""
        if current is None:
            current_v = 0
        elif isinstance(current, int):
            current_v = current
        else:
            current_v = int(str(current).split(".")[0])
        return f"{current_v + 1:032}.{random.random():016}"
