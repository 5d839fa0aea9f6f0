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

from langgraph_redis._core.checkpoint import plans

# ``name as name``: re-exported unchanged from the full saver's plans.
from langgraph_redis._core.checkpoint.full import SCRIPTS as SCRIPTS
from langgraph_redis._core.checkpoint.full import plan_copy_thread as plan_copy_thread
from langgraph_redis._core.checkpoint.full import plan_delete_for_runs as plan_delete_for_runs
from langgraph_redis._core.checkpoint.full import plan_delete_thread as plan_delete_thread
from langgraph_redis._core.checkpoint.full import plan_get_tuple as plan_get_tuple
from langgraph_redis._core.checkpoint.full import plan_list_page as plan_list_page
from langgraph_redis._core.checkpoint.full import plan_list_scopes as plan_list_scopes
from langgraph_redis._core.checkpoint.full import plan_prune as plan_prune

plan_put = partial(plans.plan_put, shallow=True)
plan_put_writes = partial(plans.plan_put_writes, shallow=True)
