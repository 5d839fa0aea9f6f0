"""The node cache: LangGraph's ``BaseCache`` on plain Redis commands.

``@task(cache_policy=CachePolicy(ttl=...))``, ``@entrypoint(cache=...)`` and
``graph.compile(cache=...)`` use it. Keys, entry format and plans live in
``_core.cache``; the round trips of each call are documented on the methods.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

from langgraph.cache.base import BaseCache, FullKey, Namespace
from langgraph.checkpoint.serde.base import SerializerProtocol
from redis.exceptions import RedisError

from langgraph_redis._async._run import AnyAsyncClient
from langgraph_redis._async.connection import ConnectionOwner, open_connection
from langgraph_redis._bridge import AsyncCacheBridge
from langgraph_redis._core import cache
from langgraph_redis._core.cache import CacheConfig
from langgraph_redis._core.probe import ServerInfo

logger = logging.getLogger(__name__)

CACHE_RECOVERY_TIMEOUT = 1.0
"""Default seconds a cache call keeps retrying: a cache that is down is a miss, not a wait."""


class AsyncRedisCache(ConnectionOwner, AsyncCacheBridge, BaseCache[Any]):
    """LangGraph node cache in Redis or Valkey (standalone, Sentinel, Cluster).

    A cache never fails a graph run for its own sake: an entry that cannot be read is a
    miss (logged once per kind), and a server that cannot be reached makes ``get``
    return nothing and ``set`` store nothing (logged); ``clear`` raises, since the
    caller asked for it explicitly.

    Args:
        conn: A Redis URL (``redis://``, ``rediss://``, ``unix://``,
            ``redis+sentinel://``) or an existing client. A URL's client is owned and
            closed by :meth:`aclose`; a client passed in stays the caller's.
        redis_url: Alias of ``conn`` (langgraph-checkpoint-redis spelling).
        redis_client: Alias of ``conn`` (an existing client).
        prefix: Key prefix, so several apps can share one database.
        serde: Serializer (LangGraph's protocol); defaults to LangGraph's cache default.
        pool_size: Upper bound on pooled connections.
        connection_args: redis-py client options as a dict; merged with ``**client_options``.
        **client_options: Passed to redis-py; ``recovery_timeout`` (seconds a call keeps
            retrying through a failover) defaults to 1 for the cache.
    """

    def __init__(
        self,
        conn: str | AnyAsyncClient | None = None,
        *,
        redis_url: str | None = None,
        redis_client: AnyAsyncClient | None = None,
        prefix: str = "lgr",
        serde: SerializerProtocol | None = None,
        pool_size: int | None = None,
        connection_args: Mapping[str, Any] | None = None,
        **client_options: Any,
    ) -> None:
        super().__init__(serde=serde)
        client_options.setdefault("recovery_timeout", CACHE_RECOVERY_TIMEOUT)
        self._conn = open_connection(
            conn, redis_url, redis_client, pool_size, connection_args, client_options
        )
        self._cfg = CacheConfig(prefix, self.serde)

    async def asetup(self) -> ServerInfo:
        """Probe the server and load the cache's scripts, once. Idempotent; no schema."""
        self._remember_loop()
        info = await self._conn.probe()
        await self._conn.ensure_scripts(cache.SCRIPTS)
        return info

    async def aget(self, keys: Sequence[FullKey]) -> dict[FullKey, Any]:
        """Cached values of these keys; missing, expired and unreadable ones are left out.

        One round trip (one GET per key, pipelined; routed per node on a cluster).
        """
        if not keys:
            return {}
        plan = cache.plan_get(self._cfg, keys)
        try:
            await self.asetup()
            found: dict[FullKey, Any] = await self._conn.run(plan)
        except RedisError as exc:
            _unavailable("get", exc)
            return {}
        return found

    async def aset(self, pairs: Mapping[FullKey, tuple[Any, int | None]]) -> None:
        """Store values with their TTL in seconds (``None``: no expiry).

        One round trip: one script per namespace plus the namespace registry.
        """
        if not pairs:
            return
        plan = cache.plan_set(self._cfg, pairs, now_ms=int(time.time() * 1000))
        try:
            await self.asetup()
            await self._conn.run(plan)
        except RedisError as exc:
            _unavailable("set", exc)

    async def aclear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        """Delete every entry of these namespaces, or of the whole cache.

        One round trip per 500 entries or namespaces; never ``KEYS``/``SCAN``.

        Raises:
            redis.exceptions.RedisError: The server could not be reached or refused.
        """
        plan = cache.plan_clear(self._cfg, namespaces)
        await self.asetup()
        await self._conn.run(plan)


_reported: set[str] = set()


def _unavailable(op: str, exc: RedisError) -> None:
    # A cache outage must not fail graph runs, but must not go unnoticed either: the
    # first failure of each kind is a warning, repeats are debug lines.
    kind = f"{op}:{type(exc).__name__}"
    level = logging.DEBUG if kind in _reported else logging.WARNING
    _reported.add(kind)
    logger.log(level, "cache %s skipped (the graph recomputes instead): %s", op, exc)
