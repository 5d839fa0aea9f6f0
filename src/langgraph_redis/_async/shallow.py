"""The shallow checkpointer: only the newest checkpoint of each thread namespace.

Identical to the full saver except that its put and put_writes plans are the shallow ones
(``shallow=True``: ``_core.checkpoint.plans.plan_put``), which drop older checkpoints
inside the same atomic put.
"""

from __future__ import annotations

from typing import ClassVar

from langgraph_redis._async.saver import AsyncRedisSaver


class AsyncShallowRedisSaver(AsyncRedisSaver):
    """Checkpointer that keeps one checkpoint per thread namespace (no time travel).

    With LangGraph's (beta) ``DeltaChannel``, whose value is rebuilt from the writes of
    ancestor checkpoints back to its last stored snapshot, the saver also keeps those
    ancestors (at most ``snapshot_frequency`` updates deep), so storage stays bounded
    rather than constant and nothing is lost.
    """

    _shallow: ClassVar[bool] = True
