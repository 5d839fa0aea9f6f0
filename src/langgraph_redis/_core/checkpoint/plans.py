"""Checkpointer plans: ``put``, ``put_writes`` and ``get_tuple``, each beside its script.

The other plans are in :mod:`.listing` (list) and :mod:`.threads` (delete, prune,
copy); :mod:`.full` gathers them for the full saver, :mod:`.shallow` for the shallow one.
Round trips and atomicity, per call:

- ``put``: one script call (``PUT``). The checkpoint hash, the blobs of changed channels
  only (one key per channel and version, written once; a grown list as a delta, see
  ``deltas.py``), the index entry and the TTLs commit together, so no reader ever sees a
  checkpoint without its blobs. A second call only when a delta's base vanished.
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

from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    PendingWrite,
    get_checkpoint_metadata,
    writes_sort_key,
)

from langgraph_redis._core.checkpoint.config import (
    SaverConfig,
    _config,
    target,
)
from langgraph_redis._core.checkpoint.deltas import (
    Written,
    assemble,
    blob_value,
    is_delta,
)
from langgraph_redis._core.checkpoint.keys import (
    encode,
    run_index,
    run_member,
    thread_registry,
)
from langgraph_redis._core.checkpoint.lua import LUA_CHAIN, LUA_DROP, LUA_ENCODE, LUA_TTL
from langgraph_redis._core.checkpoint.serde import (
    EMPTY,
    FORMAT_VERSION,
    CorruptDataError,
    UnsupportedFormatError,
    check_format,
    dump_typed,
    dump_write,
    load_typed,
    load_write,
)
from langgraph_redis._core.plans import Batch, Command, Op, Plan, Script, T, batch, check
from langgraph_redis._core.replies import text as _text

# -- Lua -------------------------------------------------------------------------------
# Shared fragments are in :mod:`.lua`; each script below sits beside its plan.

GET_TUPLE = Script(
    "get_tuple",
    LUA_ENCODE
    + LUA_CHAIN
    + LUA_TTL
    + r"""
-- KEYS[1] index zset; ARGV: checkpoint id or '', thread base, encoded ns, ttl, keys to touch
local cid = ARGV[1]
if cid == '' then
  local last = redis.call('ZRANGE', KEYS[1], '+', '-', 'BYLEX', 'REV', 'LIMIT', 0, 1)
  if #last == 0 then return false end
  cid = last[1]
end
local tail = ARGV[3] .. ':' .. enc(cid)
local cpkey = ARGV[2] .. 'cp:' .. tail
local cp = redis.call('HGETALL', cpkey)
if #cp == 0 then return false end
local wkey = ARGV[2] .. 'w:' .. tail
local writes = redis.call('HGETALL', wkey)
local chans, bkeys = {}, {}
for i = 1, #cp, 2 do
  if string.sub(cp[i], 1, 2) == 'b:' then
    table.insert(chans, string.sub(cp[i], 3))
    table.insert(bkeys, cp[i + 1])
  end
end
local vals = {}
if #bkeys > 0 then vals = redis.call('MGET', unpack(bkeys)) end
-- A delta's value is replaced by its chain: {the delta, its base, ..., a full value};
-- a missing link ends the chain with false (the client reports it).
local links = {}
for j = 1, #bkeys do
  local v = vals[j]
  if v and string.sub(v, 1, 6) == DELTA then
    local parts, k = {v}, bkeys[j]
    while v and string.sub(v, 1, 6) == DELTA and #parts <= 10000 do
      k = base_key(k, v)
      table.insert(links, k)
      v = redis.call('GET', k)
      table.insert(parts, v)
    end
    vals[j] = parts
  end
end
local ttl = tonumber(ARGV[4])
if ttl > 0 then
  touch(ttl, {cpkey, wkey, ARGV[2] .. 'wr:' .. tail, KEYS[1]})
  touch(ttl, bkeys)
  touch(ttl, links)
  for i = 1, #cp, 2 do
    if cp[i] == 'r' then redis.call('EXPIRE', ARGV[2] .. 'run:' .. enc(cp[i + 1]), ttl) end
  end
  for i = 5, #ARGV do redis.call('EXPIRE', ARGV[i], ttl) end
end
return {cid, cp, writes, chans, vals}
""",
)


# -- put -------------------------------------------------------------------------------

PRUNE = 8
"""Index entries a write inspects for expired keys (TTL only); see the ``PUT`` script."""

PUT = Script(
    "put",
    LUA_ENCODE
    + LUA_CHAIN
    + LUA_DROP
    + f"local PRUNE = {PRUNE}\n"
    + r"""
-- KEYS: checkpoint hash, index zset, namespace set, key registry, blob set
-- ARGV: id, ns, ttl, shallow (0/1), n fields, field/value pairs, n blobs, key/value
--       pairs, then blob keys named by the checkpoint (TTL refresh)
-- Returns 0 when a delta's base is gone (nothing written, below); else {1 (or 2 when
-- the thread had no checkpoint before: no namespace set; on a cluster the caller then
-- confirms the thread registry entry, see plan_put), then the runs the shallow drop left
-- with nothing in this thread}.
local cid, ns, ttl, shallow = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4] == '1'
local created = redis.call('EXISTS', KEYS[3]) == 0
local i = 6
local nf = tonumber(ARGV[5])
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
    ``shallow`` the same script drops the namespace's older checkpoints. ``now_ms`` (the
    caller's clock) matters only with TTL, for the thread registry's expiry scores.

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
    first = _put_batch(cfg, config, checkpoint, metadata, new_versions, shallow, now_ms, True)
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
                cfg, config, checkpoint, metadata, new_versions, shallow, now_ms, False
            )
            outcome = yield again.batch
        assert outcome is not None  # full values are never refused
        created, gone = outcome
        yield from _after_write(cfg, thread_id, created, gone, now_ms, cluster=cluster)
        return result

    return with_follow_ups()


def _replies(replies: list[Any]) -> list[Any]:
    check(replies)
    return replies


CONFIRM_REGISTRY = Script(
    "confirm_registry",
    r"""
-- KEYS[1] thread registry; ARGV: score, thread id. Names a thread whose checkpoint is
-- already stored (see _confirm_registry). Nothing is written when the entry is there
-- (the common case). Otherwise its ZADD must not be refused at the memory limit, which
-- would hide stored data, so the script first writes with a command the server allows
-- there (a ZREM of the absent member): after a write, a script runs to its end.
if redis.call('ZSCORE', KEYS[1], ARGV[2]) then return 0 end
redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
return 1
""",
)


def _confirm_registry(
    cfg: SaverConfig, thread_id: str, write: Batch[bool], result: T, now_ms: int
) -> Generator[Batch[Any], Any, T]:
    """A cluster write, then, if it created the thread, its registry entry again.

    On a cluster the thread registry lives in another slot than the thread, so nothing
    is atomic across them: a write sends its registry ``ZADD`` first, and a cluster
    ``delete_thread`` its ``ZREM`` first, each before its script. The one interleaving
    that could hide a thread: write W's ``ZADD``, then delete D's ``ZREM`` and script,
    then W's script, which stores checkpoints the registry no longer names.

    Why no committed thread stays unlisted. Every ``ZREM`` of the thread comes from a
    cluster delete, which sends it, waits for it, then sends its script, and runs to
    its end even when cancelled; every write sends its ``ZADD``, waits for it, then its
    script. Take the thread with checkpoints at rest. If no delete script ever ran in
    its slot, no ``ZREM`` did either (but of deletes that raised, see below), and the
    registry holds the ``ZADD`` of every write. Otherwise let S be the last delete
    script: it emptied the thread, so the first write script after S, W's, found no
    namespace set and reported ``created``, and W sent this confirming ``ZADD`` after
    its script ran, so after S ran, so after every ``ZREM`` whose script ran no later
    than S. A ``ZREM`` after W's confirmation would belong to a delete whose script runs
    after it, after S: there is none. So the registry names the thread. The caller runs
    this plan to its end when cancelled (``afinish``), so no cancellation point falls
    between the script and the confirmation. Left open: a process killed right there,
    or a delete that raised after its ``ZREM`` (repeating it finishes it); and, with
    TTL only, a write that sits longer than its TTL between its ``ZADD`` and its script
    (another write's pruning may remove the entry meanwhile).
    Cost: one more round trip, only when a write creates the thread; any other put is
    still its registry round trip and one script call.
    """
    created = yield write
    if created:
        yield batch([_confirmation(cfg, thread_id, now_ms)], _replies, writes=True)
    return result


def _confirmation(cfg: SaverConfig, thread_id: str, now_ms: int) -> Op:
    ttl_ms = cfg.ttl_seconds * 1000
    score = now_ms + ttl_ms if ttl_ms else 0
    return CONFIRM_REGISTRY.call([thread_registry(cfg.prefix)], [score, thread_id])


@dataclass(frozen=True)
class _PutBatch:
    batch: Batch[tuple[bool, list[str]] | None]
    """Decodes to None when the script refused a delta, else (created, runs left)."""
    deltas: bool
    """Some blob is a delta (the script may refuse it: see ``PUT``)."""
    result: RunnableConfig


def _after_write(
    cfg: SaverConfig,
    thread_id: str,
    created: bool,
    gone: list[str],
    now_ms: int,
    *,
    cluster: bool,
) -> Generator[Batch[Any], Any, None]:
    """After a write, in one more round trip and only when needed: the registry
    confirmation of a thread it created on a cluster (:func:`_confirm_registry`), and
    the thread out of the run indexes of runs a shallow put left with nothing here
    (their run ids already left the thread's run set in the script).

    A run index naming a thread without anything of the run costs ``delete_for_runs``
    one no-op script; if this second step is lost (a process killed between), the
    entry stays, harmless, until the run's index expires (with TTL) or forever.
    """
    follow: list[Op] = []
    if cluster and created:
        follow.append(_confirmation(cfg, thread_id, now_ms))
    follow += [("SREM", run_index(cfg.prefix, r), run_member(thread_id)) for r in gone]
    if follow:
        yield batch(follow, _replies, writes=True)


def _put_batch(
    cfg: SaverConfig,
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    new_versions: ChannelVersions,
    shallow: bool,
    now_ms: int,
    use_deltas: bool,
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

    call = PUT.call(
        [keys.checkpoint(ns, cid), keys.index(ns), keys.namespaces, keys.registry, keys.blobs(ns)],
        [
            cid,
            ns,
            cfg.ttl_seconds,
            int(shallow),
            len(fields) // 2,
            *fields,
            len(blob_args) // 2,
            *blob_args,
            *(referenced if cfg.ttl_seconds else ()),
        ],
    )
    side = _registry_commands(cfg, thread_id, ns, cid, merged.get("run_id"), now_ms)
    result = _config(thread_id, ns, cid)

    def decode(replies: list[Any]) -> tuple[bool, list[str]] | None:
        check(replies)
        reply = replies[0]
        if reply == 0:
            return None  # a delta's base is gone: nothing was written
        cfg.deltas.update(thread_id, ns, remember)
        return int(reply[0]) == 2, [_text(r) for r in reply[1:]]

    return _PutBatch(batch([call], decode, side=side, writes=True), any_delta, result)


def _registry_commands(
    cfg: SaverConfig, thread_id: str, ns: str, cid: str, run_id: Any, now_ms: int
) -> list[Command]:
    """Cross-slot index updates of a write: the thread registry and the run index.

    The run index names the thread only (what the run wrote there is listed in the
    thread's slot, see ``ThreadKeys.run``), so it does not grow with the thread.

    Without TTL, thread entries have score 0 and run sets no expiry. With TTL, a thread's
    score is the time its last write (or, with ``refresh_on_read``, read) expires, and
    entries past it are pruned by every write; a run set expires with the last
    checkpoint written under it.
    """
    threads = thread_registry(cfg.prefix)
    ttl_ms = cfg.ttl_seconds * 1000
    cmds: list[Command] = [("ZADD", threads, now_ms + ttl_ms if ttl_ms else 0, thread_id)]
    if ttl_ms:
        cmds.append(("ZREMRANGEBYSCORE", threads, 1, now_ms))
    return cmds + _run_index_commands(cfg, thread_id, run_id)


def _run_index_commands(cfg: SaverConfig, thread_id: str, run_id: Any) -> list[Command]:
    if not run_id:
        return []
    key = run_index(cfg.prefix, str(run_id))
    cmds: list[Command] = [("SADD", key, run_member(thread_id))]
    if cfg.ttl_seconds:
        cmds.append(("EXPIRE", key, cfg.ttl_seconds))
    return cmds


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
-- thread's run ids, the namespace's index. ARGV: ttl, run id ('' if none), the run set
-- entry, the checkpoint id if the saver is shallow (else ''), then
-- (replace 0/1, field, value) triples.
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
for i = 5, #ARGV, 3 do
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
) -> Batch[None]:
    """One round trip, one atomic script; idempotent, so a retry never duplicates.

    ``shallow``: writes for a checkpoint that a newer put already dropped are ignored.
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
    ]
    for idx, (channel, value) in enumerate(writes):
        slot = WRITES_IDX_MAP.get(channel, idx)
        args += [
            int(slot < 0),
            f"{task_id}\0{slot}",
            dump_write(cfg.serde, channel, value, task_path),
        ]
    if len(args) == 4:
        return batch([], lambda _: None)
    call = PUT_WRITES.call(
        [
            keys.writes(ns, cid),
            keys.registry,
            keys.write_runs(ns, cid),
            keys.run(run_id),
            keys.runs,
            keys.index(ns),
        ],
        args,
    )
    return batch([call], _none, side=_run_index_commands(cfg, thread_id, run_id), writes=True)


# -- get_tuple -------------------------------------------------------------------------


def _get_call(cfg: SaverConfig, thread_id: str, ns: str, cid: str | None) -> Op:
    keys = cfg.keys(thread_id)
    ttl = cfg.ttl_seconds if cfg.refresh_on_read else 0
    touch = [keys.namespaces, keys.registry, keys.blobs(ns), keys.runs] if ttl else []
    return GET_TUPLE.call([keys.index(ns)], [cid or "", keys.base, encode(ns), ttl, *touch])


def _refresh_listing(cfg: SaverConfig, thread_id: str, now_ms: int) -> list[Command]:
    """With ``refresh_on_read``, a read extends the thread's registry entry as it extends
    its keys, so a thread kept alive by reads stays in ``list(None)``. ``XX``: a read
    never lists a thread that is not there; ``GT``: never shortens a later expiry."""
    if not (cfg.refresh_on_read and cfg.ttl_seconds):
        return []
    expiry = now_ms + cfg.ttl_seconds * 1000
    return [("ZADD", thread_registry(cfg.prefix), "XX", "GT", expiry, thread_id)]


def decode_tuple(
    cfg: SaverConfig, thread_id: str, ns: str, reply: Any, cid: str | None = None
) -> CheckpointTuple | None:
    """Turn the GET_TUPLE script reply into a ``CheckpointTuple`` (None if absent).

    ``cid`` is the id asked for (None: the latest), to name the key in errors.

    Raises:
        CorruptDataError: The stored data is damaged or foreign: a key of the wrong type,
            a field missing, a payload the serializer cannot read. The message names the
            thread, checkpoint and Redis key, never a stored value.
        UnsupportedFormatError: The checkpoint was written by a newer format.
    """
    if reply is None:
        return None
    keys = cfg.keys(thread_id)
    if _is_wrong_type(reply):
        named = (
            f"{keys.checkpoint(ns, cid)!r} or {keys.writes(ns, cid)!r}"
            if cid
            else f"{keys.index(ns)!r} or the latest checkpoint's hash or writes"
        )
        raise CorruptDataError(
            f"checkpoint {cid or '(latest)'!r} of thread {thread_id!r}: a key holds the "
            f"wrong type (foreign or damaged data): {named}"
        ) from reply
    if isinstance(reply, BaseException):
        raise reply
    try:
        return _decode_tuple(cfg, thread_id, ns, reply)
    except (CorruptDataError, UnsupportedFormatError):
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        named = keys.checkpoint(ns, cid) if cid else keys.index(ns)
        raise CorruptDataError(
            f"checkpoint {cid or '(latest)'!r} of thread {thread_id!r} (key {named!r}): "
            f"damaged data ({type(exc).__name__})"
        ) from exc


def _decode_tuple(cfg: SaverConfig, thread_id: str, ns: str, reply: Any) -> CheckpointTuple:
    raw_cid, cp_flat, w_flat, chans, vals = reply
    cid = _text(raw_cid)
    keys = cfg.keys(thread_id)
    cp = {_text(cp_flat[i]): cp_flat[i + 1] for i in range(0, len(cp_flat), 2)}
    where = f"checkpoint {cid!r} of thread {thread_id!r} (key {keys.checkpoint(ns, cid)!r})"
    check_format(cp.get("fmt"), where)
    try:
        checkpoint = cast(Checkpoint, load_typed(cfg.serde, cp["c"], where))
        metadata = cast(CheckpointMetadata, load_typed(cfg.serde, cp["m"], f"{where}, metadata"))
    except KeyError as exc:
        raise CorruptDataError(f"{where}: missing field {exc}") from exc
    if not isinstance(checkpoint, Mapping) or not isinstance(metadata, Mapping):
        raise CorruptDataError(f"{where}: checkpoint or metadata is not a mapping")
    channel_values: dict[str, Any] = {}
    for chan, val in zip(chans, vals):
        if val is not None and val != EMPTY:
            channel = _text(chan)
            what = f"{where}, channel {channel!r} (key {_text(cp['b:' + channel])!r})"
            if isinstance(val, list):  # a delta chain, newest first (GET_TUPLE)
                channel_values[channel] = assemble(cfg.serde, val, what)
            else:
                channel_values[channel] = load_typed(cfg.serde, val, what)
    pending: list[tuple[tuple[str, str, int], PendingWrite]] = []
    wkey = keys.writes(ns, cid)
    for i in range(0, len(w_flat), 2):
        field = _text(w_flat[i])
        task_id, sep, slot = field.rpartition("\0")
        if not sep or not slot.lstrip("-").isdigit():
            raise CorruptDataError(f"pending write {field!r} (key {wkey!r}): not a task and index")
        channel, value, task_path = load_write(
            cfg.serde, w_flat[i + 1], f"pending write {field!r} (key {wkey!r})"
        )
        pending.append((writes_sort_key(task_path, task_id, int(slot)), (task_id, channel, value)))
    pending.sort(key=lambda item: item[0])
    parent = cp.get("p")
    return CheckpointTuple(
        config=_config(thread_id, ns, cid),
        checkpoint={**checkpoint, "channel_values": channel_values},
        metadata=metadata,
        parent_config=_config(thread_id, ns, _text(parent)) if parent else None,
        pending_writes=[write for _, write in pending],
    )


def _is_wrong_type(reply: Any) -> bool:
    """A WRONGTYPE error (plain, or wrapped in a script error by Redis 6.2)."""
    return isinstance(reply, BaseException) and "WRONGTYPE" in str(reply)


def _typed(keys_named: Sequence[str]) -> Callable[[list[Any]], list[Any]]:
    """A decoder naming the key whose reply is WRONGTYPE (foreign or damaged data)."""

    def decode(replies: list[Any]) -> list[Any]:
        for key, reply in zip(keys_named, replies):
            if _is_wrong_type(reply):
                raise CorruptDataError(
                    f"key {key!r} holds the wrong type (foreign or damaged data)"
                ) from reply
        check(replies)
        return replies

    return decode


def plan_get_tuple(
    cfg: SaverConfig, config: RunnableConfig, *, now_ms: int = 0
) -> Batch[CheckpointTuple | None]:
    """One script call: latest (or given) checkpoint, its blobs and pending writes.

    ``now_ms`` (the caller's clock) matters only with ``refresh_on_read``.
    """
    thread_id, ns, cid = target(config, "get_tuple")

    def decode(replies: list[Any]) -> CheckpointTuple | None:
        return decode_tuple(cfg, thread_id, ns, replies[0], cid)

    return batch(
        [_get_call(cfg, thread_id, ns, cid)],
        decode,
        side=_refresh_listing(cfg, thread_id, now_ms),
    )


def _none(replies: list[Any]) -> None:
    check(replies)
