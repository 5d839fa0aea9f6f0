"""Checkpointer plans for the shallow saver: only the newest checkpoint per namespace.

Same function names as :mod:`langgraph_redis._core.checkpoints`; only ``plan_put``
differs. It appends a script to the put's MULTI/EXEC that drops every older checkpoint
of the namespace, their writes and the blobs the new checkpoint no longer names, so
storage stays constant per thread and the swap is atomic.
"""

from __future__ import annotations

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import ChannelVersions, Checkpoint, CheckpointMetadata

from langgraph_redis._core.checkpoints import (
    LUA_DROP,
    LUA_ENCODE,
    SaverConfig,
    plan_copy_thread,
    plan_delete_for_runs,
    plan_delete_thread,
    plan_get_tuple,
    plan_list_page,
    plan_list_scopes,
    plan_prune,
    plan_put_writes,
    put_batch,
    put_commands,
    target,
)
from langgraph_redis._core.keys import encode
from langgraph_redis._core.plans import Batch, Script

KEEP_ONLY = Script(
    "keep_only",
    LUA_ENCODE
    + LUA_DROP
    + r"""
-- KEYS[1] thread key registry; ARGV: thread base, encoded ns, id to keep
local ids = {}
for _, cid in ipairs(redis.call('ZRANGE', ARGV[1] .. 'idx:' .. ARGV[2], 0, -1)) do
  if cid ~= ARGV[3] then table.insert(ids, cid) end
end
drop(ARGV[1], KEYS[1], ARGV[2], ids)
return 1
""",
)


def plan_put(
    cfg: SaverConfig,
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    new_versions: ChannelVersions,
) -> Batch[RunnableConfig]:
    """One atomic round trip: write the checkpoint, then drop its predecessors."""
    cmds, side, result = put_commands(cfg, config, checkpoint, metadata, new_versions)
    thread_id, ns, _ = target(config, "put")
    keys = cfg.keys(thread_id)
    cmds.append(KEEP_ONLY.call([keys.registry], [keys.base, encode(ns), str(checkpoint["id"])]))
    return put_batch(cmds, side, result)


__all__ = [
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
