"""Runs ``_core`` plans: one pipeline per batch, one round trip per pipeline.

Scripts go out as EVALSHA; a NOSCRIPT reply (fresh server, failover, SCRIPT FLUSH) makes
the runner load the missing scripts and resend the batch once, which is safe because a
batch whose script was missing did not run that script.

Recovery: every command the plans send is idempotent (keyed writes, HSETNX, set and
sorted-set adds, deletes), so a batch that failed with a *transient* error (connection
lost, timeout, failover in progress, MOVED/ASK/TRYAGAIN during resharding, CLUSTERDOWN,
LOADING after a restart, READONLY from a demoted primary) is resent, with backoff, until
it succeeds or ``recovery_timeout`` seconds have passed; then :class:`RecoveryTimeout`
says what failed and for how long. redis-py's own ``retry`` still handles single dropped
connections inside each attempt.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable
from typing import Any, TypeVar

from redis.exceptions import (
    AskError,
    BusyLoadingError,
    ClusterDownError,
    ClusterError,
    NoScriptError,
    OutOfMemoryError,
    ReadOnlyError,
    RedisError,
    ResponseError,
    SlotNotCoveredError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from langgraph_redis._acompat import AsyncRedis, AsyncRedisCluster, aqueue_command, asleep
from langgraph_redis._core.plans import Batch, Plan, Script, ScriptCall, check
from langgraph_redis.errors import (
    MemoryLimitError,
    NotReplicatedError,
    PoolTimeout,
    RecoveryTimeout,
)

T = TypeVar("T")

AnyAsyncClient = AsyncRedis | AsyncRedisCluster

RECOVERY_TIMEOUT = 10.0
"""Default seconds a call keeps resending a batch through a failover or resharding."""

# Errors after which the same batch may succeed if sent again. AskError covers MovedError
# (its subclass); ClusterDownError covers MasterDownError.
TRANSIENT: tuple[type[BaseException], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    ReadOnlyError,
    BusyLoadingError,
    AskError,
    TryAgainError,
    ClusterDownError,
    ClusterError,
    SlotNotCoveredError,
    ConnectionError,  # OSError subclasses raised below redis-py's wrappers
)


def _pool_exhausted(exc: BaseException) -> bool:
    # redis-py's BlockingConnectionPool says so after waiting its full timeout; waiting
    # again would double the caller's bound, so this is not retried.
    return isinstance(exc, RedisConnectionError) and "No connection available" in str(exc)


MEMORY_LIMIT_MESSAGE = (
    "write refused: the server is at its memory limit (used memory above 'maxmemory', "
    "and its maxmemory-policy evicts nothing), so the write was not applied. Free memory "
    "(delete or prune threads, delete items), raise maxmemory, or choose an eviction policy"
)


def _memory_limit(reply: Any) -> Any:
    """A memory-limit refusal as :class:`MemoryLimitError`; any other reply unchanged.

    Redis >= 7 and Valkey keep the ``OOM`` code of an error raised inside a script (redis-py
    maps it to ``OutOfMemoryError``); Redis 6.2 wraps it in a generic script error, so the
    server's wording is matched too.
    """
    if isinstance(reply, MemoryLimitError) or not isinstance(reply, ResponseError):
        return reply
    if isinstance(reply, OutOfMemoryError) or "OOM command not allowed" in str(reply):
        error = MemoryLimitError(f"{MEMORY_LIMIT_MESSAGE} (server said: {reply})")
        error.__cause__ = reply
        return error
    return reply


def _pool_timeout_message(client: AnyAsyncClient) -> str:
    pool = getattr(client, "connection_pool", None)
    size = getattr(pool, "max_connections", "?")
    wait = getattr(pool, "timeout", None)
    waited = f"{wait:g}s" if isinstance(wait, (int, float)) else "?"
    return (
        f"no pooled connection became free within pool_timeout={waited} (pool_size={size}, "
        "all in use). Each call of this library holds a connection for one round trip, so "
        "look for connections that are held and never returned: a PubSub, MONITOR, "
        "blocking command (BLPOP, XREAD BLOCK) or unfinished pipeline or iterator "
        "(scan_iter) on a client shared with this object; or more concurrent calls than "
        "pool_size against a server that stopped answering. Raise pool_size or "
        "pool_timeout only once nothing holds connections."
    )


def _is_noscript(reply: Any) -> bool:
    return isinstance(reply, NoScriptError) or (
        isinstance(reply, ResponseError) and str(reply).startswith("NOSCRIPT")
    )


def _ops(step: Batch[Any]) -> list[Any]:
    # Inside MULTI a NOSCRIPT error would fail one command while the rest commit, so
    # atomic batches carry the script source (EVAL); others send the SHA and retry.
    return [
        (op.eval() if step.atomic else op.evalsha()) if isinstance(op, ScriptCall) else op
        for op in step.commands
    ]


async def _send(
    client: AnyAsyncClient,
    step: Batch[Any],
    *,
    cluster: bool,
    wait: tuple[int, int] | None = None,
    reloaded: bool = False,
) -> list[Any]:
    """Send one batch; ``side`` commands ride in the same round trip when possible.

    A server at its memory limit refuses a write as :class:`MemoryLimitError`, whether
    the refusal comes back as a reply or aborts a transaction.
    """
    try:
        replies = await _send_once(client, step, cluster=cluster, wait=wait)
    except ResponseError as exc:
        error = _memory_limit(exc)
        if error is exc:
            raise
        raise error from exc
    replies = [_memory_limit(r) for r in replies]
    if not step.atomic and not reloaded and any(_is_noscript(r) for r in replies):
        # A script that was not loaded did not run: load it and send the batch once more
        # (a second NOSCRIPT reaches the decoder as the error it is).
        await load_scripts(
            client, {op.script for op in step.commands if isinstance(op, ScriptCall)}
        )
        return await _send(client, step, cluster=cluster, wait=wait, reloaded=True)
    return replies


async def _send_once(
    client: AnyAsyncClient,
    step: Batch[Any],
    *,
    cluster: bool,
    wait: tuple[int, int] | None,
) -> list[Any]:
    ops = _ops(step)
    inline_side: tuple[Any, ...] = step.side
    if cluster and step.side:
        # Side commands live in other slots and a cluster MULTI cannot span slots, so
        # they go first in their own pipeline: an index may briefly name data that is
        # not there yet (readers skip it), but never misses data a reader can see. So a
        # side command that failed (a node at its memory limit) stops the batch here.
        side = client.pipeline(transaction=False)
        for cmd in step.side:
            await aqueue_command(side, cmd)
        side_replies = [_memory_limit(r) for r in await side.execute(raise_on_error=False)]
        _raise_transient(side_replies)
        check(side_replies)
        inline_side = ()
    if not ops and not inline_side:
        return []
    # A write with side commands on one server goes inside MULTI/EXEC: a server at its
    # memory limit then refuses the side commands and the write together (EXEC of a
    # transaction holding a write is checked as a whole), so an index entry never
    # outlives a refused write and a written item never lacks its index entry. Deletes
    # (not ``writes``) stay outside MULTI, which a server at its limit would refuse.
    grouped = bool(inline_side) and bool(ops) and step.writes and not step.atomic
    if wait is not None and step.writes and ops and not cluster:
        if grouped:
            raw = await _send_waiting(client, (), [*inline_side, *ops], wait, atomic=True)
            check([_memory_limit(r) for r in raw[: len(inline_side)]])
            return raw[len(inline_side) :]
        replies = await _send_waiting(client, inline_side, ops, wait, atomic=step.atomic)
    elif len(ops) == 1 and not inline_side and not step.atomic and not cluster:
        # A lone command skips the pipeline machinery: same round trip, less overhead.
        try:
            replies = [await client.execute_command(*ops[0])]  # type: ignore[no-untyped-call, unused-ignore]
        except ResponseError as exc:  # error replies are data here, as in a pipeline
            replies = [exc]
        _raise_transient(replies)
    else:
        pipe = client.pipeline(transaction=step.atomic or grouped)
        for cmd in (*inline_side, *ops):
            await aqueue_command(pipe, cmd)
        raw = list(await pipe.execute(raise_on_error=False))
        _raise_transient(raw)
        check([_memory_limit(r) for r in raw[: len(inline_side)]])
        replies = raw[len(inline_side) :]
    return replies


async def load_scripts(client: AnyAsyncClient, scripts: Iterable[Script]) -> None:
    """SCRIPT LOAD each script (on a cluster, redis-py sends it to every primary)."""
    for script in scripts:
        await client.script_load(script.source)


async def _send_waiting(
    client: AnyAsyncClient,
    side: tuple[Any, ...],
    ops: list[Any],
    wait: tuple[int, int],
    *,
    atomic: bool,
) -> list[Any]:
    """The batch (inside MULTI/EXEC when atomic), then WAIT, in one pipeline.

    WAIT counts the replicas that acknowledged this connection's writes, so it must
    follow the writes on the same connection; redis-py's transactional pipeline has no
    place after EXEC, hence the explicit MULTI/EXEC in a plain pipeline.
    """
    replicas, timeout_ms = wait
    body = [("MULTI",), *ops, ("EXEC",)] if atomic else ops
    pipe = client.pipeline(transaction=False)
    for cmd in (*side, *body, ("WAIT", replicas, timeout_ms)):
        await aqueue_command(pipe, cmd)
    raw = list(await pipe.execute(raise_on_error=False))
    _raise_transient(raw)
    check(raw[: len(side)])
    acked = raw[-1]
    if atomic:
        queued, executed = raw[len(side) : len(side) + len(ops) + 1], raw[-2]
        _raise_transient(queued)
        if isinstance(executed, BaseException):
            # EXECABORT says only that a queued command failed: raise that failure
            # (a command refused at the memory limit, say), as redis-py does.
            raise next((q for q in queued if isinstance(q, BaseException)), executed)
        if executed is None:  # pragma: no cover - no WATCH is ever used
            raise ResponseError("EXEC returned nil")
        _raise_transient(executed)
        replies = list(executed)
    else:
        replies = raw[len(side) : -1]
    if isinstance(acked, BaseException):
        raise acked
    if int(acked) < replicas:
        raise NotReplicatedError(
            f"write applied on the primary but acknowledged by {int(acked)} of {replicas} "
            f"replicas within {timeout_ms} ms (wait_replicas); it may be lost on failover"
        )
    return replies


def _raise_transient(replies: Any) -> None:
    """Raise the first reply that says "try again" so the whole batch is resent."""
    for reply in replies:
        if isinstance(reply, TRANSIENT):
            raise reply


async def _send_recovering(
    client: AnyAsyncClient,
    step: Batch[Any],
    *,
    cluster: bool,
    wait: tuple[int, int] | None,
    recovery_timeout: float,
) -> list[Any]:
    """:func:`_send`, resent with backoff while the error is transient (see module doc)."""
    started = time.monotonic()
    attempt = 0
    while True:
        try:
            return await _send(client, step, cluster=cluster, wait=wait)
        except TRANSIENT as exc:
            if _pool_exhausted(exc):
                raise PoolTimeout(_pool_timeout_message(client)) from exc
            elapsed = time.monotonic() - started
            if elapsed >= recovery_timeout:
                raise RecoveryTimeout(
                    f"gave up after {elapsed:.1f}s and {attempt + 1} attempts "
                    f"(recovery_timeout={recovery_timeout:g}s); last error: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            delay = min(0.5, 0.025 * 2**attempt, max(0.0, recovery_timeout - elapsed))
            attempt += 1
            await asleep(delay)
            if isinstance(client, AsyncRedisCluster):
                await _refresh_topology(client)


async def _refresh_topology(client: AsyncRedisCluster) -> None:
    """Re-read the slot map (after MOVED, a failover or a dead node); best effort."""
    # Best effort: if it fails, the next attempt fails the same way and is retried.
    with contextlib.suppress(RedisError, OSError):
        await client.nodes_manager.initialize()


async def run(
    client: AnyAsyncClient,
    plan: Plan[T],
    *,
    cluster: bool = False,
    wait: tuple[int, int] | None = None,
    recovery_timeout: float = RECOVERY_TIMEOUT,
) -> T:
    """Execute a plan and return its decoded result.

    Args:
        client: A standalone, Sentinel-managed or cluster client.
        plan: A batch or a generator plan.
        cluster: Whether ``client`` talks to a cluster (side commands go separately).
        wait: ``(replicas, timeout_ms)``: follow each atomic batch with WAIT on the same
            connection (standalone and Sentinel); :class:`NotReplicatedError` if fewer
            replicas acknowledged.
        recovery_timeout: Seconds to keep resending a batch that failed transiently.
    """
    if isinstance(plan, Batch):
        replies = await _send_recovering(
            client, plan, cluster=cluster, wait=wait, recovery_timeout=recovery_timeout
        )
        return plan.decode(replies)
    try:
        step = next(plan)
        while True:
            replies = await _send_recovering(
                client, step, cluster=cluster, wait=wait, recovery_timeout=recovery_timeout
            )
            step = plan.send(step.decode(replies))
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
