"""Client construction, pool ownership and the one-time capability probe.

A URL gives a client we own and close; a client handed in stays the caller's. Cluster
mode is discovered (``INFO cluster``) rather than configured, so the same URL works
whether it points at a standalone server or at any node of a cluster.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from langgraph_redis._acompat import (
    ALock,
    AsyncBlockingConnectionPool,
    AsyncRedis,
    AsyncRedisCluster,
    AsyncSentinel,
)
from langgraph_redis._async._run import AnyAsyncClient, run
from langgraph_redis._core.server import (
    ServerInfo,
    parse_sentinel_url,
    plan_probe,
    require_supported,
)

logger = logging.getLogger("langgraph_redis")


def default_retry(retries: int = 3) -> Retry:
    """Exponential backoff on connection errors and timeouts.

    Every write the library sends is idempotent (keyed by checkpoint id, task id and
    index, or item key), so resending a pipeline after a dropped connection never
    duplicates data.
    """
    return Retry(ExponentialBackoff(cap=1.0, base=0.05), retries)


def _client_options(options: dict[str, Any]) -> dict[str, Any]:
    opts = dict(options)
    retry = opts.pop("retry", None)
    opts.setdefault("retry", retry if retry is not None else default_retry())
    opts.setdefault("retry_on_error", [RedisConnectionError, RedisTimeoutError])
    return opts


def open_client(url: str, *, pool_size: int | None = None, **options: Any) -> AnyAsyncClient:
    """Make a standalone or Sentinel-managed client for ``url`` (no I/O yet).

    Args:
        url: ``redis://``, ``rediss://``, ``unix://`` or ``redis+sentinel://h:p,h:p/service``.
        pool_size: Upper bound on pooled connections; callers beyond it wait for a free
            connection (up to ``pool_timeout`` seconds, default 20) instead of failing.
        **options: Passed to redis-py (``socket_timeout``, ``retry``, ``username``...).
    """
    opts = _client_options(options)
    pool_timeout = opts.pop("pool_timeout", 20)
    if url.startswith(("redis+sentinel://", "rediss+sentinel://")):
        target = parse_sentinel_url(url)
        auth: dict[str, Any] = {
            k: v for k, v in (("username", target.username), ("password", target.password)) if v
        }
        sentinel = AsyncSentinel(  # type: ignore[no-untyped-call]
            list(target.hosts), sentinel_kwargs=dict(auth), **opts
        )
        client: AnyAsyncClient = sentinel.master_for(  # type: ignore[no-untyped-call, unused-ignore]
            target.service, db=target.db, ssl=target.ssl, **auth
        )
        return client
    pool = AsyncBlockingConnectionPool.from_url(
        url, max_connections=pool_size or 64, timeout=pool_timeout, **opts
    )
    return AsyncRedis(connection_pool=pool)


@dataclass
class Connection:
    """A client, whether we own it, and the server facts probed once."""

    client: AnyAsyncClient
    owned: bool
    url: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    info: ServerInfo | None = None
    _lock: ALock = field(default_factory=ALock)

    @property
    def cluster(self) -> bool:
        return isinstance(self.client, AsyncRedisCluster)

    async def probe(self) -> ServerInfo:
        """Probe once (one round trip); switch to a cluster client if the node says so."""
        if self.info is not None:
            return self.info
        async with self._lock:
            if self.info is None:
                info = await run(self.client, plan_probe())
                require_supported(info)
                if info.cluster and not self.cluster:
                    if not self.owned or self.url is None:
                        raise ValueError(
                            "this server runs in cluster mode: pass a RedisCluster client "
                            "or a URL so the library can make one"
                        )
                    await self.client.aclose()
                    opts = _client_options(self.options)
                    opts.pop("pool_timeout", None)
                    if pool_size := opts.pop("pool_size", None):
                        opts["max_connections"] = pool_size
                    self.client = AsyncRedisCluster.from_url(self.url, **opts)
                logger.info("langgraph_redis connected: %s", info.describe())
                self.info = info
        return self.info

    async def aclose(self) -> None:
        """Close the client only if we made it."""
        if self.owned:
            await self.client.aclose()


def connection_for(
    conn: str | AnyAsyncClient, *, pool_size: int | None = None, **options: Any
) -> Connection:
    """Wrap a URL (owned client) or an existing client (borrowed)."""
    if isinstance(conn, str):
        return Connection(
            open_client(conn, pool_size=pool_size, **options),
            owned=True,
            url=conn,
            options={"pool_size": pool_size, **options} if pool_size else dict(options),
        )
    if isinstance(conn, (AsyncRedis, AsyncRedisCluster)):
        return Connection(conn, owned=False)
    raise TypeError(
        f"expected a Redis URL or a redis client, got {type(conn).__name__}; "
        "sync classes take redis.Redis / redis.cluster.RedisCluster, "
        "async classes take redis.asyncio clients"
    )
