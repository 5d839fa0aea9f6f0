"""Runs ``_core`` plans: one pipeline per batch, one round trip per pipeline.

Scripts go out as EVALSHA; a NOSCRIPT reply (fresh server, failover, SCRIPT FLUSH) makes
the runner load the missing scripts and resend the batch once, which is safe because a
batch whose script was missing did not run that script.
"""

from __future__ import annotations

from typing import Any, TypeVar

from redis.exceptions import NoScriptError, ResponseError

from langgraph_redis._acompat import AsyncRedis, AsyncRedisCluster
from langgraph_redis._core.plans import Batch, Plan, ScriptCall, check

T = TypeVar("T")

AnyAsyncClient = AsyncRedis | AsyncRedisCluster


def _is_noscript(reply: Any) -> bool:
    return isinstance(reply, NoScriptError) or (
        isinstance(reply, ResponseError) and str(reply).startswith("NOSCRIPT")
    )


async def _send(client: AnyAsyncClient, step: Batch[Any], *, cluster: bool) -> list[Any]:
    """Send one batch; ``side`` commands ride in the same round trip when possible."""
    # Inside MULTI a NOSCRIPT error would fail one command while the rest commit, so
    # atomic batches carry the script source (EVAL); others send the SHA and retry.
    ops = [
        (op.eval() if step.atomic else op.evalsha()) if isinstance(op, ScriptCall) else op
        for op in step.commands
    ]
    inline_side: tuple[Any, ...] = step.side
    if cluster and step.side:
        # Side commands live in other slots and a cluster MULTI cannot span slots, so
        # they go first in their own pipeline: an index may briefly name data that is
        # not there yet (readers skip it), but never misses data a reader can see.
        side = client.pipeline(transaction=False)
        for cmd in step.side:
            side.execute_command(*cmd)
        check(await side.execute(raise_on_error=False))
        inline_side = ()
    if not ops and not inline_side:
        return []
    pipe = client.pipeline(transaction=step.atomic)
    for cmd in (*inline_side, *ops):
        pipe.execute_command(*cmd)
    raw = list(await pipe.execute(raise_on_error=False))
    check(raw[: len(inline_side)])
    replies = raw[len(inline_side) :]
    if not step.atomic and any(_is_noscript(r) for r in replies):
        for script in {op.script for op in step.commands if isinstance(op, ScriptCall)}:
            await client.script_load(script.source)
        return await _send(client, step, cluster=cluster)
    return replies


async def run(client: AnyAsyncClient, plan: Plan[T], *, cluster: bool = False) -> T:
    """Execute a plan and return its decoded result."""
    if isinstance(plan, Batch):
        return plan.decode(await _send(client, plan, cluster=cluster))
    try:
        step = next(plan)
        while True:
            step = plan.send(step.decode(await _send(client, step, cluster=cluster)))
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
