"""Client construction, pool ownership and the one-time capability probe.

A URL gives a client we own and close; a client handed in stays the caller's. Cluster
mode is discovered (``INFO cluster``) rather than configured, so the same URL works
whether it points at a standalone server or at any node of a cluster.

Timeouts are on by default (``socket_timeout`` 10 s, ``socket_connect_timeout`` 5 s): a
stalled server or a dropped packet makes a call fail after a bounded time instead of
hanging. On the async clients we make, ``socket_timeout`` bounds each round trip (send
to last reply) through one lazily checked deadline per connection instead of an asyncio
timeout around every send and every reply (``langgraph_redis._deadline``). A server never reached yet is a configuration problem, not an outage: the
first contact fails within about 2 s (one connect timeout for a TLS mismatch) with
:class:`ServerUnreachable` saying what to check, while a server that answered once
gets the whole ``recovery_timeout``. Closing closes every connection we opened (the
pool, and a Sentinel client's connections to the sentinels), never a client passed in. Log lines name the server product, version and mode, never a URL, credential
or stored value.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio.connection import SSLConnection
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import AuthenticationError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from typing_extensions import Self

from langgraph_redis._acompat import (
    ALock,
    AsyncBlockingConnectionPool,
    AsyncIterator,
    AsyncRedis,
    AsyncRedisCluster,
    AsyncRetry,
    AsyncSentinel,
    ainit_cluster,
    arelease_client,
    asleep,
)
from langgraph_redis._async._run import (
    RECOVERY_TIMEOUT,
    AnyAsyncClient,
    load_scripts,
    run,
)
from langgraph_redis._core.plans import Plan, Script, T
from langgraph_redis._core.probe import (
    FIRST_CONTACT_TIMEOUT,
    ServerInfo,
    classify_first_contact,
    plan_probe,
    require_supported,
)
from langgraph_redis._core.urls import parse_sentinel_url
from langgraph_redis._deadline import with_deadlines
from langgraph_redis.errors import ServerUnreachable

logger = logging.getLogger(__name__)

SOCKET_TIMEOUT = 10.0
CONNECT_TIMEOUT = 5.0

_logged: set[str] = set()


def default_retry(retries: int = 3) -> AsyncRetry:
    """Exponential backoff on connection errors and timeouts.

    Every write the library sends is idempotent (keyed by checkpoint id, task id and
    index, or item key), so resending a pipeline after a dropped connection never
    duplicates data.
    """
    return AsyncRetry(ExponentialBackoff(cap=1.0, base=0.05), retries)


def _client_options(options: dict[str, Any]) -> dict[str, Any]:
    opts = dict(options)
    retry = opts.pop("retry", None)
    opts.setdefault("retry", retry if retry is not None else default_retry())
    opts.setdefault("retry_on_error", [RedisConnectionError, RedisTimeoutError])
    opts.setdefault("socket_timeout", SOCKET_TIMEOUT)
    opts.setdefault("socket_connect_timeout", CONNECT_TIMEOUT)
    return opts


POOL_TIMEOUT = 20.0
"""Seconds a caller waits for a pooled connection before :class:`PoolTimeout`.

Every call holds a connection for one round trip only, so in a healthy application a
connection is free again within milliseconds even under a burst of many concurrent
calls, and within one ``socket_timeout`` (10 s) when the server stalls. Twice that is
long enough never to fail a burst, and short enough that a connection that is never
returned (held by a PubSub, a blocking command or an unfinished iterator on a shared
client) surfaces as an error naming the pool instead of looking like a hang.
"""


def open_client(url: str, *, pool_size: int | None = None, **options: Any) -> AnyAsyncClient:
    """Make a standalone or Sentinel-managed client for ``url`` (no I/O yet).

    Args:
        url: ``redis://``, ``rediss://``, ``unix://`` or ``redis+sentinel://h:p,h:p/service``.
        pool_size: Upper bound on pooled connections; callers beyond it wait for a free
            connection (up to ``pool_timeout`` seconds, default 20) instead of failing.
        **options: Passed to redis-py (``socket_timeout``, ``retry``, ``username``...).
    """
    opts = _client_options(options)
    pool_timeout = opts.pop("pool_timeout", POOL_TIMEOUT)
    if url.startswith(("redis+sentinel://", "rediss+sentinel://")):
        target = parse_sentinel_url(url)
        auth: dict[str, Any] = {
            k: v for k, v in (("username", target.username), ("password", target.password)) if v
        }
        # Timeouts, and the client name so every connection we open can be told apart
        # in CLIENT LIST, apply to the connections to the sentinels as well.
        shared = {
            k: opts[k]
            for k in ("socket_timeout", "socket_connect_timeout", "client_name")
            if k in opts
        }
        sentinel = AsyncSentinel(  # type: ignore[no-untyped-call]
            list(target.hosts), sentinel_kwargs={**auth, **shared}, **opts
        )
        client: AnyAsyncClient = sentinel.master_for(  # type: ignore[no-untyped-call, unused-ignore]
            target.service, db=target.db, ssl=target.ssl, **auth
        )
        return with_deadlines(client)  # type: ignore[no-any-return]
    pool = AsyncBlockingConnectionPool.from_url(
        url, max_connections=pool_size or 64, timeout=pool_timeout, **opts
    )
    return with_deadlines(AsyncRedis(connection_pool=pool))  # type: ignore[no-any-return]


@dataclass
class Connection:
    """A client, whether we own it, and the server facts probed once."""

    client: AnyAsyncClient
    owned: bool
    url: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    info: ServerInfo | None = None
    recovery_timeout: float = RECOVERY_TIMEOUT
    _lock: ALock = field(default_factory=ALock)
    _loaded: set[str] = field(default_factory=set)
    _reached: bool = False

    @property
    def cluster(self) -> bool:
        return isinstance(self.client, AsyncRedisCluster)

    async def probe(self) -> ServerInfo:
        """Probe once (one round trip); switch to a cluster client if the node says so."""
        if self.info is not None:
            return self.info
        async with self._lock:
            if self.info is None:
                if not self._reached:
                    await self._first_contact()
                info = await self._probe_replies()
                require_supported(info)
                if info.cluster and not self.cluster:
                    if not self.owned or self.url is None:
                        raise ValueError(
                            "this server runs in cluster mode: pass a RedisCluster client "
                            "or a URL so the library can make one"
                        )
                    await arelease_client(self.client)
                    opts = _client_options(self.options)
                    opts.pop("pool_timeout", None)
                    opts.pop("retry_on_error", None)  # cluster clients retry on their own list
                    if pool_size := opts.pop("pool_size", None):
                        opts["max_connections"] = pool_size
                    self.client = with_deadlines(AsyncRedisCluster.from_url(self.url, **opts))
                if isinstance(self.client, AsyncRedisCluster):
                    await ainit_cluster(self.client)
                    info = ServerInfo(info.product, info.version, True, info.search)
                described = info.describe()
                # One line per server kind per process, not one per saver.
                logger.log(
                    logging.DEBUG if described in _logged else logging.INFO,
                    "connected: %s",
                    described,
                )
                _logged.add(described)
                self.info = info
        return self.info

    async def _first_contact(self) -> None:
        """Tell "never reachable" from "temporarily down" before the first probe.

        One connection with no redis-py retry and the connect timeout for its handshake
        too, then PING; retried while the failure may be passing (refused while the
        server starts, name not resolved, connection dropped), for
        ``FIRST_CONTACT_TIMEOUT`` at most; a timeout or a TLS failure is final. Without
        this, a wrong port or scheme waits out redis-py's retries (four connect timeouts
        for a TLS mismatch) and then the whole ``recovery_timeout``, and ends in a
        generic timeout. Any reply, even an error (NOAUTH, LOADING), proves the server
        reachable; the probe then reports it. Cluster clients skip this: their
        ``initialize()`` is their first contact.
        """
        pool = getattr(self.client, "connection_pool", None)
        if pool is None:
            self._reached = True
            return
        kwargs = dict(pool.connection_kwargs)
        connect_timeout = float(kwargs.get("socket_connect_timeout") or CONNECT_TIMEOUT)
        kwargs.update(retry=AsyncRetry(NoBackoff(), 0), socket_timeout=connect_timeout)
        tls = issubclass(pool.connection_class, SSLConnection)
        budget = min(self.recovery_timeout, FIRST_CONTACT_TIMEOUT)
        started = time.monotonic()
        attempt = 0
        while True:
            conn = pool.connection_class(**kwargs)
            try:
                await conn.connect()
                await conn.send_command("PING")
                await conn.read_response()
                break
            except (AuthenticationError, ResponseError):
                break  # it answered
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                verdict = classify_first_contact(
                    str(exc),
                    timed_out=isinstance(exc, (RedisTimeoutError, TimeoutError)),
                    address=_address(pool, kwargs),
                    tls=tls,
                    connect_timeout=connect_timeout,
                )
                elapsed = time.monotonic() - started
                delay = min(0.5, 0.05 * 2**attempt)
                if not verdict.retry or elapsed + delay > budget:
                    raise ServerUnreachable(
                        f"{verdict.message} (never reached; gave up after {elapsed:.1f}s "
                        f"and {attempt + 1} attempts)"
                    ) from exc
            finally:
                await conn.disconnect()
            attempt += 1
            await asleep(delay)
        self._reached = True

    async def _probe_replies(self) -> ServerInfo:
        probe = plan_probe()
        client = self.client
        if not isinstance(client, AsyncRedisCluster):
            return await run(client, probe, recovery_timeout=self.recovery_timeout)
        # A cluster pipeline refuses keyless commands, so each probe command goes on
        # its own to one node (setup only; errors such as NOPERM are data here).
        await ainit_cluster(client)
        replies: list[Any] = []
        for cmd in probe.commands:
            try:
                node = client.get_random_node()  # type: ignore[no-untyped-call, unused-ignore]
                reply = await client.execute_command(*cmd, target_nodes=node)  # type: ignore[misc, no-untyped-call, unused-ignore]
            except ResponseError as exc:
                reply = exc
            replies.append(reply)
        return probe.decode(replies)

    async def ensure_scripts(self, scripts: Iterable[Script]) -> None:
        """Load the scripts a component uses, once per connection.

        Loading up front keeps calls at one round trip from the first one; a server
        that loses them later (restart, failover, SCRIPT FLUSH) answers NOSCRIPT and the
        runner loads them again.
        """
        missing = [s for s in scripts if s.sha not in self._loaded]
        if missing:
            await load_scripts(self.client, missing)
            self._loaded.update(s.sha for s in missing)

    async def run(self, plan: Plan[T], *, wait: tuple[int, int] | None = None) -> T:
        """Probe if needed, then run ``plan`` with this connection's recovery policy."""
        info = await self.probe()
        if wait is not None and info.cluster:
            raise ValueError(
                "wait_replicas is not supported on Redis Cluster: redis-py's cluster "
                "transaction has no place for WAIT on the same connection after EXEC"
            )
        try:
            return await run(
                self.client,
                plan,
                cluster=info.cluster,
                wait=wait,
                recovery_timeout=self.recovery_timeout,
            )
        except RuntimeError as exc:
            if "different loop" in str(exc) or "Event loop is closed" in str(exc):
                raise RuntimeError(_OTHER_LOOP) from exc
            raise

    async def aclose(self) -> None:
        """Close every connection we opened; a client passed in is left alone.

        Used at the end of a ``from_conn_string`` block and by ``aclose()``. LangGraph's
        guides keep using a saver or store after its ``with`` block, so the client
        stays usable: its pools reconnect on the next call (and are closed again by the
        next ``aclose()``).
        """
        if self.owned:
            await arelease_client(self.client)


def _address(pool: Any, kwargs: Mapping[str, Any]) -> str:
    """Where a pool's connections go, for messages (never credentials)."""
    manager = getattr(pool, "sentinel_manager", None)
    if manager is not None:
        sentinels = ", ".join(
            f"{s.connection_pool.connection_kwargs.get('host')}:"
            f"{s.connection_pool.connection_kwargs.get('port')}"
            for s in manager.sentinels
        )
        return f"the primary of {pool.service_name!r} (sentinels {sentinels})"
    if kwargs.get("path"):
        return str(kwargs["path"])
    return f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"


def check_wait_replicas(value: tuple[int, int] | None) -> tuple[int, int] | None:
    """Validate ``wait_replicas=(replicas, timeout_ms)``."""
    if value is None:
        return None
    replicas, timeout_ms = value
    if replicas < 1 or timeout_ms < 1:
        raise ValueError(
            f"wait_replicas must be (replicas >= 1, timeout_ms >= 1), got {value!r}; "
            "a timeout of 0 would block forever"
        )
    return int(replicas), int(timeout_ms)


_OTHER_LOOP = (
    "this object's connections belong to another event loop (redis.asyncio connections "
    "are bound to the loop that opened them): create the saver or store inside the loop "
    "that uses it, or use the sync class from synchronous code"
)

_DECODED = (
    "the client decodes replies to str (decode_responses=True); checkpoints are binary: "
    "pass a client made with decode_responses=False (the default)"
)


def connection_for(
    conn: str | AnyAsyncClient,
    *,
    pool_size: int | None = None,
    recovery_timeout: float = RECOVERY_TIMEOUT,
    **options: Any,
) -> Connection:
    """Wrap a URL (owned client) or an existing client (borrowed).

    Args:
        conn: A URL or a redis-py client (standalone, Sentinel-managed or cluster).
        pool_size: Upper bound on pooled connections.
        recovery_timeout: Seconds a call keeps resending a batch that failed transiently
            (failover, resharding, restart) before raising ``RecoveryTimeout``.
        **options: Passed to redis-py.
    """
    if recovery_timeout < 0:
        raise ValueError(f"recovery_timeout must be >= 0 seconds, got {recovery_timeout!r}")
    if options.get("decode_responses"):
        raise ValueError(_DECODED)
    if isinstance(conn, str):
        return Connection(
            open_client(conn, pool_size=pool_size, **options),
            owned=True,
            url=conn,
            options={"pool_size": pool_size, **options} if pool_size else dict(options),
            recovery_timeout=recovery_timeout,
        )
    if isinstance(conn, (AsyncRedis, AsyncRedisCluster)):
        if conn.get_connection_kwargs().get("decode_responses"):
            raise ValueError(_DECODED)
        return Connection(conn, owned=False, recovery_timeout=recovery_timeout)
    raise TypeError(
        f"expected a Redis URL or a redis client, got {type(conn).__name__}; "
        "sync classes take redis.Redis / redis.cluster.RedisCluster, "
        "async classes take redis.asyncio clients"
    )


def open_connection(
    conn: str | AnyAsyncClient | None,
    redis_url: str | None,
    redis_client: AnyAsyncClient | None,
    pool_size: int | None,
    connection_args: Mapping[str, Any] | None,
    client_options: Mapping[str, Any],
) -> Connection:
    """The constructors' argument handling, shared by savers and store.

    ``redis_url=``/``redis_client=`` and ``connection_args=`` are langgraph-checkpoint-redis
    spellings, accepted so code written for it runs unchanged.
    """
    target = conn if conn is not None else (redis_client if redis_client is not None else redis_url)
    if target is None:
        raise ValueError("pass a Redis URL or client (conn=..., redis_url=... or redis_client=...)")
    return connection_for(
        target, pool_size=pool_size, **{**(connection_args or {}), **client_options}
    )


class ConnectionOwner:
    """Context-manager protocol and client access for objects holding a :class:`Connection`.

    The savers, the store and the cache all own one; they share this, not a base class
    of their own.
    """

    _conn: Connection

    @classmethod
    @asynccontextmanager
    async def from_conn_string(
        cls, conn_string: str | None = None, **options: Any
    ) -> AsyncIterator[Self]:
        """Open one for ``conn_string``; the connections it opened close when the block ends.

        It stays usable after the block: a later call opens a connection again, as
        LangGraph's cross-thread-persistence guide expects. ``redis_url=`` is accepted in
        place of ``conn_string`` (langgraph-checkpoint-redis spelling); ``options`` go to
        the constructor.
        """
        made = cls(conn_string, **options)  # type: ignore[call-arg]
        try:
            yield made
        finally:
            await made.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close connections this object opened; a client passed in is left open."""
        await self._conn.aclose()

    async def _aprobe(self) -> ServerInfo:
        """The server's facts, probed once per connection (after it, :attr:`client` is a
        cluster client on a cluster)."""
        return await self._conn.probe()

    @property
    def client(self) -> AnyAsyncClient:
        """The redis-py client in use."""
        return self._conn.client
