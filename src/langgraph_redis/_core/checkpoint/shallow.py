"""Checkpointer plans for the shallow saver: only the newest checkpoint per namespace.

Same function names as :mod:`langgraph_redis._core.checkpoint.full`; ``plan_put_writes``
ignores writes for a checkpoint already dropped (they can arrive after the next put),
and ``plan_put`` differs: its script also drops every older checkpoint of the namespace, their writes and
the blobs the new checkpoint no longer names, so storage stays constant per thread and
the swap is atomic. The exception: ancestors a ``DeltaChannel`` of the new checkpoint is
rebuilt from are kept (see ``delta_replay`` and the ``needed`` walk in ``LUA_DROP``).
"""

from __future__ import annotations

from functools import partial

from langgraph_redis._core.checkpoint import plans as checkpoints
from langgraph_redis._core.checkpoint.full import (
    SCRIPTS,
    plan_copy_thread,
    plan_delete_for_runs,
    plan_delete_thread,
    plan_get_tuple,
    plan_list_page,
    plan_list_scopes,
    plan_prune,
)

plan_put = partial(checkpoints.plan_put, shallow=True)
plan_put_writes = partial(checkpoints.plan_put_writes, shallow=True)

__all__ = [
    "SCRIPTS",
    "plan_copy_thread",
    "plan_delete_for_runs",
    "plan_delete_thread",
    "plan_get_tuple",
    "plan_list_page",
    "plan_list_scopes",
    "plan_prune",
    "plan_put",
    "plan_put_writes",
]
