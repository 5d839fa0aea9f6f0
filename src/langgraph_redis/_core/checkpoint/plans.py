"""Checkpointer writes: ``put`` and ``put_writes``, each beside its script.

The other plans are in :mod:`.reads` (get_tuple), :mod:`.listing` (list) and
:mod:`.threads` (delete, prune, copy); what rides beside or follows a write in other
slots (thread registry, run indexes) is in :mod:`.registry`. :mod:`.full` gathers the
plans for the full saver, :mod:`.shallow` for the shallow one.
Round trips and atomicity, per call:

- ``put``: one script call (``PUT``). The checkpoint hash, the blobs of changed channels
  only (one key per channel and version, written once; a grown list as a delta, see
  ``deltas.py``), the index entry and the TTLs commit together, so no reader ever sees a
  checkpoint without its blobs; on one server the thread registry and run index too.
  A second call only when a delta's base vanished.
- ``put_writes``: one script call (``PUT_WRITES``); regular writes use HSETNX (first write
  wins, as in LangGraph's savers) and special channels (errors, interrupts) overwrite.
- ``get_tuple``: one script call. Reading the latest id, the checkpoint, its writes and
  the blobs it names (and the links of delta chains) are dependent reads; a script does
  them next to the data, so the cost is O(log n + channels + links + writes),
  independent of thread length.
- ``list``: one round trip per page of ids (plus one for metadata when filtering).
- ``delete_thread``, ``delete_for_runs``, ``prune``: one script call per thread, each
  atomic; the scripts delete from the thread's own key registry, never SCAN or KEYS.

Everything here is I/O-free: functions return :class:`~langgraph_redis._core.plans.Batch`
objects or generator plans for the runner in ``_async/_run.py``.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    get_checkpoint_metadata,
)

from langgraph_redis._core.checkpoint.config import (
    SaverConfig,
    _config,
    target,
)
from langgraph_redis._core.checkpoint.deltas import (
    Written,
    blob_value,
    is_delta,
)
from langgraph_redis._core.checkpoint.keys import (
    encode,
    run_index,
    run_member,
    thread_registry,
)
from langgraph_redis._core.checkpoint.lua import LUA_CHAIN, LUA_DROP, LUA_ENCODE
from langgraph_redis._core.checkpoint.registry import (
    _after_write,
    _registry_commands,
    _run_index_commands,
)
from langgraph_redis._core.checkpoint.serde import (
    EMPTY,
    FORMAT_VERSION,
    dump_typed,
    dump_write,
)
from langgraph_redis._core.plans import Batch, Command, Plan, Script, batch, check
from langgraph_redis._core.replies import text as _text

# -- Lua -------------------------------------------------------------------------------
# Shared fragments are in :mod:`.lua`; each script below sits beside its plan.

PRUNE = 8
"""Index entries a write inspects for expired keys (TTL only); see the ``PUT`` script."""

PUT = Script(
    "put",
    LUA_ENCODE
    + LUA_CHAIN
    + LUA_DROP
    + f"local PRUNE = {PRUNE}\n"
    + r"""
-- KEYS: checkpoint hash, index zset, namespace set, key registry, blob set; on one
--       server only, then the thread registry and (with a run id) the run's index
-- ARGV: id, ns, ttl, shallow (0/1), registry score, registry prune bound (now, ms),
--       thread id, n fields, field/value pairs, n blobs, key/value pairs, then blob
--       keys named by the checkpoint (TTL refresh)
-- Returns 0 when a delta's base is gone (nothing written, below); else {1 (or 2 when
-- the thread had no checkpoint before: no namespace set; on a cluster the caller then
-- confirms the thread registry entry, see plan_put), then the runs the shallow drop left
-- with nothing in this thread}.
local cid, ns, ttl, shallow = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4] == '1'
local created = redis.call('EXISTS', KEYS[3]) == 0
local i = 9
local nf = tonumber(ARGV[8])
-- A delta extends a blob this writer stored: if that blob is gone (pruned, deleted,
-- expired) or is not the one the writer stored (another length), write nothing and
-- return 0; the saver then resends the checkpoint with full values.
local j = i + 2 * nf + 1
for _ = 1, tonumber(ARGV[i + 2 * nf]) do
  local v = ARGV[j + 1]
  if string.sub(v, 1, 6) == DELTA then
    local e = string.find(v, '\0', 7, true)
    local b = base_key(ARGV[j], v)
    local len = tonumber(string.sub(v, e + 1, string.find(v, '\0', e + 1, true) - 1))
    if redis.call('STRLEN', b) ~= len or (len == 0) then return 0 end
  end
  j = j + 2
end
-- The first write must be one the server refuses at its memory limit (SADD is; UNLINK
-- is not, and after any write a script runs to its end unchecked).
redis.call('SADD', KEYS[4], KEYS[1])
if KEYS[6] then
  -- One server: the thread registry and the run index join this atomic write (on a
  -- cluster they live in other slots and go beside it, see plan_put). Without TTL the
  -- registry entry (score 0) of a thread that has checkpoints is already there: on one
  -- server only delete_thread removes it, in the same script that empties the thread.
  -- (a saver with TTL on the same prefix may have left a score: reset it to 0, or its
  -- registry pruning would unlist this thread whose data does not expire)
  if ttl > 0 or created or redis.call('ZSCORE', KEYS[6], ARGV[7]) ~= '0' then
    redis.call('ZADD', KEYS[6], ARGV[5], ARGV[7])
  end
  if ttl > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[6], 1, ARGV[6]) end
  if KEYS[7] then
    redis.call('SADD', KEYS[7], '\0' .. ARGV[7])  -- keys.run_member
    if ttl > 0 then redis.call('EXPIRE', KEYS[7], ttl) end
  end
end
redis.call('UNLINK', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, i, i + 2 * nf - 1))
i = i + 2 * nf
local nb = tonumber(ARGV[i])
i = i + 1
local owned = {KEYS[1], KEYS[2], KEYS[3], KEYS[5]}
for _ = 1, nb do
  -- A blob key names one version and is written once; a delta never replaces a value
  -- already there (a re-put of the same version), so no chain can loop back on itself.
  if string.sub(ARGV[i + 1], 1, 6) ~= DELTA or redis.call('EXISTS', ARGV[i]) == 0 then
    redis.call('SET', ARGV[i], ARGV[i + 1])
  end
  table.insert(owned, ARGV[i])
  redis.call('SADD', KEYS[5], ARGV[i])
  i = i + 2
end
redis.call('ZADD', KEYS[2], 0, cid)
redis.call('SADD', KEYS[3], ns)
local run = redis.call('HGET', KEYS[1], 'r')
if run then
  -- what the run wrote is listed in the thread's slot; the run index names the thread
  local base = string.sub(KEYS[2], 1, #KEYS[2] - #('idx:' .. enc(ns)))
  local rkey = base .. 'run:' .. enc(run)
  redis.call('SADD', rkey, 'c:' .. enc(ns) .. ':' .. enc(cid))
  redis.call('SADD', base .. 'runs', run)
  table.insert(owned, rkey)
  table.insert(owned, base .. 'runs')
end
redis.call('SADD', KEYS[4], unpack(owned))
if shallow then
  -- shallow saver: drop every older checkpoint of the namespace (but the ancestors the
  -- new one's delta channels are rebuilt from), their writes and unnamed blobs
  local base = string.sub(KEYS[2], 1, #KEYS[2] - #('idx:' .. enc(ns)))
  local keep = needed(base, enc(ns), cid)
  GONE = {}
  local older = {}
  for _, other in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
    if not keep[other] then table.insert(older, other) end
  end
  drop(base, KEYS[4], enc(ns), older)
end
if ttl > 0 then
  -- TTL inside the same atomic write (a failed EXPIRE after a committed write is how
  -- interrupt writes were lost in other savers); blobs of unchanged channels too: the
  -- newest checkpoint must never outlive a blob it names
  for _, k in ipairs(owned) do redis.call('EXPIRE', k, ttl) end
  redis.call('EXPIRE', KEYS[4], ttl)
  for j = i, #ARGV do
    redis.call('EXPIRE', ARGV[j], ttl)
    -- a delta's bases live at least as long as it does
    for _, link in ipairs(chain(ARGV[j])) do redis.call('EXPIRE', link, ttl) end
  end
  -- Keys expire one by one while the thread's indexes live on (every write refreshes
  -- them), so each write prunes a few entries whose key is gone: the oldest ids, and a
  -- random sample of the key and blob registries. Removals outpace additions once a
  -- fraction of the entries is dead, so the indexes stay proportional to live data.
  local base = string.sub(KEYS[2], 1, #KEYS[2] - #('idx:' .. enc(ns)))
  local tail = enc(ns) .. ':'
  for _, old in ipairs(redis.call('ZRANGE', KEYS[2], '-', '+', 'BYLEX', 'LIMIT', 0, PRUNE)) do
    local cpk = base .. 'cp:' .. tail .. enc(old)
    if old ~= cid and redis.call('EXISTS', cpk) == 0 then
      redis.call('ZREM', KEYS[2], old)
      redis.call('SREM', KEYS[4], cpk, base .. 'w:' .. tail .. enc(old))
    end
  end
  for _, set in ipairs({KEYS[4], KEYS[5]}) do
    for _, m in ipairs(redis.call('SRANDMEMBER', set, 2 * PRUNE)) do
      if redis.call('EXISTS', m) == 0 then
        redis.call('SREM', KEYS[4], m)
        redis.call('SREM', KEYS[5], m)
      end
    end
  end
end
local out = {created and 2 or 1}
for _, run in ipairs(GONE or {}) do table.insert(out, run) end
return out
""",
)


def delta_replay(
    metadata: Mapping[str, Any], versions: Mapping[str, Any], values: Mapping[str, Any]
) -> list[str]:
    """Delta channels whose value at this checkpoint is rebuilt from its ancestors.

    LangGraph's ``DeltaChannel`` (beta) stores a value only every few steps (a
    ``_DeltaSnapshot``); in between, readers replay the writes stored on the ancestor
    checkpoints back to the nearest stored value. Its metadata lists the delta channels
    written since their last snapshot (``counters_since_delta_snapshot``), which only
    the serializer can read; the checkpoint hash repeats the names that have no value
    here as plain ``d:<channel>`` fields, so prune and the shallow put, in Lua, keep
    the ancestors those channels need (the ``needed`` walk in ``LUA_DROP``).
    """
    counters = metadata.get("counters_since_delta_snapshot")
    if not isinstance(counters, Mapping):
        return []
    return [str(c) for c in counters if c in versions and c not in values]


def plan_put(
    cfg: SaverConfig,
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    new_versions: ChannelVersions,
    *,
    shallow: bool = False,
    now_ms: int = 0,
    cluster: bool = False,
) -> Plan[RunnableConfig]:
    """One round trip: a script stores the checkpoint and its changed channel values.

    The script makes the write atomic; serialization happens here, before any I/O, so a
    value the serializer rejects raises ``ValueError`` and nothing is written. With
    ``shallow`` (the shallow saver) the same script drops the namespace's older
    checkpoints, their writes and the blobs the new checkpoint no longer names, so
    storage stays constant per thread and the swap is atomic; only the ancestors a
    ``DeltaChannel`` of the new checkpoint is rebuilt from are kept (``delta_replay``
    and the ``needed`` walk in ``LUA_DROP``). ``now_ms`` (the
    caller's clock) matters only with TTL, for the thread registry's expiry scores.

    On one server the script also writes the thread registry and the run index (their
    keys are in its KEYS), so a put is one ``EVALSHA`` with nothing beside it: the
    registry ``ZADD`` only when it changes something (the put creates the thread, or
    TTL moves its score), after the write a server at its memory limit refuses.

    A list channel that extends what this saver last stored for it is written as a
    delta (``deltas.py``). If the script finds that delta's base gone (another process
    pruned or deleted the thread), it writes nothing and a second round trip, rare,
    resends the checkpoint with full values.

    On a ``cluster`` the registry ``ZADD`` goes first, in a round trip of its own (see
    ``_send_once``), and a put whose script finds the thread without checkpoints (its
    first put, or the first after a delete) confirms the registry entry after it: see
    :func:`_confirm_registry` for why that keeps every committed thread listed. A
    shallow put that leaves an earlier run with nothing in the thread takes the thread
    out of that run's index after it (:func:`_after_write`).
    """
    thread_id, _, _ = target(config, "put")
    if not isinstance(checkpoint, Mapping) or "id" not in checkpoint:
        raise ValueError("put: checkpoint must be a Checkpoint dict with an 'id'")
    first = _put_batch(
        cfg, config, checkpoint, metadata, new_versions, shallow, now_ms, True, cluster
    )
    result = first.result
    if not (first.deltas or cluster or shallow):
        # The common case: one script call, nothing to follow up (never refused: no delta).
        written = first.batch

        def stored(replies: list[Any]) -> RunnableConfig:
            written.decode(replies)
            return result

        return batch(written.commands, stored, side=written.side, writes=True)

    def with_follow_ups() -> Generator[Batch[Any], Any, RunnableConfig]:
        outcome = yield first.batch
        if outcome is None:
            # A base was gone or replaced: forget the thread, resend with full values.
            cfg.deltas.forget(thread_id)
            again = _put_batch(
                cfg, config, checkpoint, metadata, new_versions, shallow, now_ms, False, cluster
            )
            outcome = yield again.batch
        assert outcome is not None  # full values are never refused
        created, gone = outcome
        yield from _after_write(cfg, thread_id, created, gone, now_ms, cluster=cluster)
        return result

    return with_follow_ups()


@dataclass(frozen=True)
class _PutBatch:
    batch: Batch[tuple[bool, list[str]] | None]
    """Decodes to None when the script refused a delta, else (created, runs left)."""
    deltas: bool
    """Some blob is a delta (the script may refuse it: see ``PUT``)."""
    result: RunnableConfig


def _put_batch(
    cfg: SaverConfig,
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    new_versions: ChannelVersions,
    shallow: bool,
    now_ms: int,
    use_deltas: bool,
    cluster: bool,
) -> _PutBatch:
    thread_id, ns, parent_id = target(config, "put")
    cid = str(checkpoint["id"])
    keys = cfg.keys(thread_id)
    stored = dict(checkpoint)
    values = cast(dict[str, Any], stored.pop("channel_values", None) or {})
    versions: Mapping[str, Any] = checkpoint.get("channel_versions") or {}
    merged = get_checkpoint_metadata(config, metadata)

    blob_args: list[bytes | str] = []
    remember: dict[str, Written | None] = {}
    any_delta = False
    for channel, version in new_versions.items():
        blob_key = keys.blob(ns, channel, str(version))
        blob_args.append(blob_key)
        if channel in values:
            prev = cfg.deltas.get(thread_id, ns, channel) if use_deltas else None
            raw, remember[channel] = blob_value(cfg.serde, blob_key, channel, values[channel], prev)
            any_delta = any_delta or is_delta(raw)
            blob_args.append(raw)
        else:
            remember[channel] = None
            blob_args.append(EMPTY)
    fields: list[bytes | str] = [
        "fmt",
        FORMAT_VERSION,
        "c",
        dump_typed(cfg.serde, stored, "checkpoint"),
        "m",
        dump_typed(cfg.serde, merged, "metadata"),
    ]
    if parent_id:
        fields += ["p", parent_id]
    referenced = [keys.blob(ns, channel, str(version)) for channel, version in versions.items()]
    for channel, blob_key in zip(versions, referenced):
        fields += ["b:" + channel, blob_key]
    for channel in delta_replay(merged, versions, values):
        fields += ["d:" + channel, "1"]
    if run_id := merged.get("run_id"):
        fields += ["r", str(run_id)]

    run_id = merged.get("run_id")
    script_keys = [
        keys.checkpoint(ns, cid),
        keys.index(ns),
        keys.namespaces,
        keys.registry,
        keys.blobs(ns),
    ]
    side: list[Command] = []
    if cluster:
        # the registry and the run index live in other slots: beside the script
        side = _registry_commands(cfg, thread_id, ns, cid, run_id, now_ms)
    else:
        # one server: the script writes them itself, atomically and only when needed
        script_keys.append(thread_registry(cfg.prefix))
        if run_id:
            script_keys.append(run_index(cfg.prefix, str(run_id)))
    ttl_ms = cfg.ttl_seconds * 1000
    call = PUT.call(
        script_keys,
        [
            cid,
            ns,
            cfg.ttl_seconds,
            int(shallow),
            now_ms + ttl_ms if ttl_ms else 0,
            now_ms,
            thread_id,
            len(fields) // 2,
            *fields,
            len(blob_args) // 2,
            *blob_args,
            *(referenced if cfg.ttl_seconds else ()),
        ],
    )
    result = _config(thread_id, ns, cid)

    def decode(replies: list[Any]) -> tuple[bool, list[str]] | None:
        check(replies)
        reply = replies[0]
        if reply == 0:
            return None  # a delta's base is gone: nothing was written
        cfg.deltas.update(thread_id, ns, remember)
        return int(reply[0]) == 2, [_text(r) for r in reply[1:]]

    return _PutBatch(batch([call], decode, side=side, writes=True), any_delta, result)


def _flatten(fields: Mapping[str, bytes | str]) -> list[bytes | str]:
    out: list[bytes | str] = []
    for k, v in fields.items():
        out += [k, v]
    return out


def _run_entry(kind: str, ns: str, cid: str) -> str:
    """An entry of a run's set in a thread: ``c`` its checkpoint, ``w`` its writes on one."""
    return f"{kind}:{encode(ns)}:{encode(cid)}"


# -- put_writes ------------------------------------------------------------------------

PUT_WRITES = Script(
    "put_writes",
    r"""
-- KEYS: writes hash, key registry, write -> run hash, the run's set in this thread, the
-- thread's run ids, the namespace's index; on one server with a run id, the run's
-- index. ARGV: ttl, run id ('' if none), the run set entry, the checkpoint id if the
-- saver is shallow (else ''), the run index entry, then (replace 0/1, field, value)
-- triples.
-- Shallow: writes for a checkpoint a newer put already dropped are not stored (writes
-- may arrive after that put; nothing could read or ever delete them).
local cid = ARGV[4]
if cid ~= '' and #redis.call('ZRANGE', KEYS[6], '[' .. cid, '[' .. cid, 'BYLEX') == 0 then
  local newest = redis.call('ZRANGE', KEYS[6], '+', '-', 'BYLEX', 'REV', 'LIMIT', 0, 1)[1]
  if newest and newest > cid then return 0 end
end
-- Regular writes keep the first value stored for (task, idx), like LangGraph's own
-- savers; special channels (error, interrupt, resume) are replaced. A field belongs to
-- the run that stored its value, so delete_for_runs removes exactly that run's writes.
local run = ARGV[2]
local mine = false
for i = 6, #ARGV, 3 do
  local field = ARGV[i + 1]
  if ARGV[i] == '1' then
    redis.call('HSET', KEYS[1], field, ARGV[i + 2])
    if run == '' then redis.call('HDEL', KEYS[3], field) end
  end
  if (ARGV[i] == '1' or redis.call('HSETNX', KEYS[1], field, ARGV[i + 2]) == 1) and run ~= '' then
    redis.call('HSET', KEYS[3], field, run)
    mine = true
  end
end
local owned = {KEYS[1]}
if mine then
  redis.call('SADD', KEYS[4], ARGV[3])
  redis.call('SADD', KEYS[5], run)
  owned = {KEYS[1], KEYS[3], KEYS[4], KEYS[5]}
end
redis.call('SADD', KEYS[2], unpack(owned))
local ttl = tonumber(ARGV[1])
if mine and KEYS[7] then
  -- one server: the run index in the same atomic write (beside it on a cluster)
  redis.call('SADD', KEYS[7], ARGV[5])
  if ttl > 0 then redis.call('EXPIRE', KEYS[7], ttl) end
end
if ttl > 0 then
  for _, k in ipairs(owned) do redis.call('EXPIRE', k, ttl) end
  redis.call('EXPIRE', KEYS[2], ttl)
end
return 1
""",
)


def plan_put_writes(
    cfg: SaverConfig,
    config: RunnableConfig,
    writes: Sequence[tuple[str, Any]],
    task_id: str,
    task_path: str = "",
    *,
    shallow: bool = False,
    cluster: bool = False,
) -> Batch[None]:
    """One round trip, one atomic script; idempotent, so a retry never duplicates.

    ``shallow``: writes for a checkpoint that a newer put already dropped are ignored.
    With a run id the run index names the thread: on one server the script adds it
    (when the run stored something here); on a ``cluster`` it lives in another slot, so
    its ``SADD`` goes beside the script, sent first.
    """
    thread_id, ns, cid = target(config, "put_writes")
    if not cid:
        raise ValueError('put_writes: config["configurable"]["checkpoint_id"] is required')
    keys = cfg.keys(thread_id)
    meta = config.get("metadata")
    run_id = str(meta.get("run_id") or "") if isinstance(meta, Mapping) else ""
    args: list[bytes | str | int] = [
        cfg.ttl_seconds,
        run_id,
        _run_entry("w", ns, cid),
        cid if shallow else "",
        run_member(thread_id),
    ]
    for idx, (channel, value) in enumerate(writes):
        slot = WRITES_IDX_MAP.get(channel, idx)
        args += [
            int(slot < 0),
            f"{task_id}\0{slot}",
            dump_write(cfg.serde, channel, value, task_path),
        ]
    if len(args) == 5:
        return batch([], lambda _: None)
    script_keys = [
        keys.writes(ns, cid),
        keys.registry,
        keys.write_runs(ns, cid),
        keys.run(run_id),
        keys.runs,
        keys.index(ns),
    ]
    if run_id and not cluster:
        script_keys.append(run_index(cfg.prefix, run_id))
    side = _run_index_commands(cfg, thread_id, run_id) if cluster else []
    return batch([PUT_WRITES.call(script_keys, args)], _none, side=side, writes=True)


# -- get_tuple -------------------------------------------------------------------------


def _none(replies: list[Any]) -> None:
    check(replies)
