"""One time limit per round trip for redis.asyncio connections, at almost no cost.

redis-py's asyncio connection turns ``socket_timeout`` into an ``asyncio.wait_for`` around
every send (a new task on Python 3.11) and an ``asyncio.timeout`` around every reply it
reads: a pipeline of n commands pays n + 1 timer set-ups and tear-downs, 25-40 µs per
round trip, most of a small write's client cost. The guarantee wanted is only that a
call cannot hang on a dead server or a stalled proxy.

Here a connection keeps ``socket_timeout`` as the limit of one round trip, from its send
to its last reply, and checks it lazily: a send only records the deadline (one clock
read), and one timer per connection, re-armed only when it fires, looks at the
connection. A connection still waiting for the server past its deadline is aborted, and
the wait raises redis-py's ``TimeoutError`` as a socket timeout would (the connection is
dropped; the retry policy and ``recovery_timeout`` then apply as before). A connection
that is idle when the timer fires lets it lapse; the next send arms it again.

The sync client is left as it is: its socket timeout is the kernel's, which costs
nothing per call.
"""

from __future__ import annotations

import asyncio
from typing import Any

import redis.asyncio
import redis.asyncio.cluster
import redis.asyncio.connection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from langgraph_redis._packing import PackingMixin


class DeadlineMixin:
    """Mixed into a redis.asyncio connection class by :func:`with_deadlines`."""

    def __init__(self, *args: Any, socket_timeout: float | None = None, **kwargs: Any) -> None:
        # redis-py derives the connect timeout from socket_timeout when none is given;
        # keep that before the per-call timeouts are switched off.
        if kwargs.get("socket_connect_timeout") is None:
            kwargs["socket_connect_timeout"] = socket_timeout
        super().__init__(*args, socket_timeout=None, **kwargs)  # type: ignore[call-arg]
        self.round_trip_timeout = socket_timeout
        self._deadline = 0.0
        self._waiting = 0
        self._timer: asyncio.TimerHandle | None = None
        self._expired = False

    def _arm(self) -> None:
        loop = asyncio.get_running_loop()
        self._deadline = loop.time() + (self.round_trip_timeout or 0.0)
        self._expired = False
        if self._timer is None:
            self._timer = loop.call_at(self._deadline, self._check)

    def _check(self) -> None:
        self._timer = None
        if not self._waiting:
            return  # idle (or between round trips): the next send arms the timer again
        loop = asyncio.get_running_loop()
        if loop.time() < self._deadline:  # a later send moved the deadline
            self._timer = loop.call_at(self._deadline, self._check)
            return
        self._expired = True
        writer = getattr(self, "_writer", None)
        if writer is not None:
            writer.transport.abort()  # the pending read or drain fails at once

    def _wait_begins(self) -> None:
        self._waiting += 1
        if self._timer is None:  # the timer lapsed while the connection was not waiting
            loop = asyncio.get_running_loop()
            self._timer = loop.call_at(max(self._deadline, loop.time()), self._check)

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        if not self.round_trip_timeout:
            await super().send_packed_command(command, check_health)  # type: ignore[misc]
            return
        self._arm()
        self._wait_begins()
        try:
            await super().send_packed_command(command, check_health)  # type: ignore[misc]
        except RedisConnectionError as exc:
            if self._expired:
                raise RedisTimeoutError("Timeout writing to socket") from exc
            raise
        finally:
            self._waiting -= 1

    async def read_response(
        self,
        disable_decoding: bool = False,
        timeout: float | None = None,
        *,
        disconnect_on_error: bool = True,
        push_request: bool | None = False,
    ) -> Any:
        # An explicit timeout (PubSub, blocking reads) keeps redis-py's own handling.
        if timeout is not None or not self.round_trip_timeout:
            return await super().read_response(  # type: ignore[misc]
                disable_decoding,
                timeout,
                disconnect_on_error=disconnect_on_error,
                push_request=push_request,
            )
        self._wait_begins()
        try:
            return await super().read_response(  # type: ignore[misc]
                disable_decoding,
                None,
                disconnect_on_error=disconnect_on_error,
                push_request=push_request,
            )
        except (RedisConnectionError, OSError) as exc:
            if self._expired:
                raise RedisTimeoutError(
                    f"Timeout reading from {self._host_error()}"  # type: ignore[attr-defined]
                ) from exc
            raise
        finally:
            self._waiting -= 1


_classes: dict[type[Any], type[Any]] = {}


def deadline_class(cls: type[Any]) -> type[Any]:
    """``cls`` with :class:`DeadlineMixin` and hiredis packing
    (:class:`~langgraph_redis._packing.PackingMixin`) mixed in; one class per base, cached."""
    if issubclass(cls, DeadlineMixin):
        return cls
    if cls not in _classes:
        _classes[cls] = type(f"Deadline{cls.__name__}", (DeadlineMixin, PackingMixin, cls), {})
    return _classes[cls]


def with_deadlines(client: Any) -> Any:
    """Give a client we made per-round-trip deadlines instead of per-call timeouts
    (and commands packed by hiredis: see :mod:`langgraph_redis._packing`).

    Works on a standalone or Sentinel-managed redis.asyncio client (its pool's
    connection class) and on a redis.asyncio cluster client (the class its nodes are
    made with); a sync client is returned unchanged. Call it before the first command.
    """
    if isinstance(client, redis.asyncio.cluster.RedisCluster):
        kwargs = client.nodes_manager.connection_kwargs
        kwargs["connection_class"] = deadline_class(
            kwargs.get("connection_class", redis.asyncio.connection.Connection)
        )
    elif isinstance(client, redis.asyncio.Redis):
        pool = client.connection_pool
        pool.connection_class = deadline_class(pool.connection_class)
    return client


class BlockingPool(redis.asyncio.BlockingConnectionPool):
    """redis-py's blocking pool, without a timer when a connection is free.

    Its ``get_connection`` takes a condition lock and sets up an asyncio timeout (the
    ``pool_timeout`` wait) on every call, even when a free connection is at hand: one
    more timer per round trip. Here a free connection is taken directly; only a caller
    that must wait goes through redis-py's path (waiters re-check after each wake-up,
    so taking a connection outside the lock cannot hand one connection out twice).
    """

    async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        if self._available_connections and not getattr(self, "_in_maintenance", False):
            connection = self._available_connections.pop()
            self._in_use_connections.add(connection)
            try:
                await self.ensure_connection(connection)
            except BaseException:
                await self.release(connection)
                raise
            return connection
        return await super().get_connection(*args, **kwargs)  # type: ignore[no-untyped-call]
