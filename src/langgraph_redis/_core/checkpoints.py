"""Checkpointer plans for the full saver (every checkpoint kept).

Round trips and atomicity, per call:

- ``put``: one script call (``PUT``). The checkpoint hash, the blobs of changed channels
  only (one key per channel and version, written once), the index entry and the TTLs
  commit together, so no reader ever sees a checkpoint without its blobs.
- ``put_writes``: one script call (``PUT_WRITES``); regular writes use HSETNX (first write
  wins, as in LangGraph's savers) and special channels (errors, interrupts) overwrite.
- ``get_tuple``: one script call. Reading the latest id, the checkpoint, its writes and
  the blobs it names are dependent reads; a script does them next to the data, so the
  cost is O(log n + channels + writes), independent of thread length.
- ``list``: one round trip per page of ids (plus one for metadata when filtering).
- ``delete_thread``, ``delete_for_runs``, ``prune``: one script call per thread, each
  atomic; the scripts delete from the thread's own key registry, never SCAN or KEYS.

Everything here is I/O-free: functions return :class:`~langgraph_redis._core.plans.Batch`
objects or generator plans for the runner in ``_async/_run.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

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
from langgraph.checkpoint.serde.base import SerializerProtocol

from langgraph_redis._core.keys import (
    ThreadKeys,
    check_prefix,
    encode,
    run_index,
    run_member,
    thread_registry,
)
from langgraph_redis._core.plans import Batch, Command, Op, Plan, Script, batch, check
from langgraph_redis._core.serde import (
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

T = TypeVar("T")

# -- Lua -------------------------------------------------------------------------------
# Scripts touch only keys of one thread (one hash tag), so they are Cluster-safe: keys
# derived inside a script hash to the slot of the key passed in KEYS.
#
# Memory limit (maxmemory, noeviction): a server checks a script (without shebang flags,
# which Redis 6.2 lacks) only at its first write, and only if that command is one it
# denies when full (SET, HSET, SADD, ZADD, ... but not DEL, UNLINK, EXPIRE, SREM). So a
# script that stores data starts with such a command: at the limit it is refused before
# it wrote anything; deleting scripts write nothing first and keep working at the limit.

LUA_ENCODE = r"""
local function enc(s)
  return (string.gsub(s, '[%%{}:%c]', function(c) return string.format('%%%02X', string.byte(c)) end))
end
"""

LUA_TTL = r"""
local function touch(ttl, keys)
  if ttl > 0 then
    for _, k in ipairs(keys) do redis.call('EXPIRE', k, ttl) end
  end
end
"""

GET_TUPLE = Script(
    "get_tuple",
    LUA_ENCODE
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
local ttl = tonumber(ARGV[4])
if ttl > 0 then
  touch(ttl, {cpkey, wkey, ARGV[2] .. 'wr:' .. tail, KEYS[1]})
  touch(ttl, bkeys)
  for i = 1, #cp, 2 do
    if cp[i] == 'r' then redis.call('EXPIRE', ARGV[2] .. 'run:' .. enc(cp[i + 1]), ttl) end
  end
  for i = 5, #ARGV do redis.call('EXPIRE', ARGV[i], ttl) end
end
return {cid, cp, writes, chans, vals}
""",
)

LUA_DROP = r"""
-- The ids checkpoint `cid` of one namespace needs: itself and, for every delta channel
-- it stores no value of (its 'd:<channel>' fields, see plan_put), each ancestor up to
-- and including the nearest one holding a value of that channel -- the seed where
-- LangGraph's get_delta_channel_history stops; the writes stored on those ancestors are
-- the deltas it replays. A missing ancestor ends the walk (nothing older is reachable).
local function needed(base, ens, cid)
  local keep = {[cid] = true}
  local need, n, parent = {}, 0, nil
  local cp = redis.call('HGETALL', base .. 'cp:' .. ens .. ':' .. enc(cid))
  for i = 1, #cp, 2 do
    if string.sub(cp[i], 1, 2) == 'd:' then
      need[string.sub(cp[i], 3)] = true
      n = n + 1
    elseif cp[i] == 'p' then
      parent = cp[i + 1]
    end
  end
  while n > 0 and parent and not keep[parent] do
    local flat = redis.call('HGETALL', base .. 'cp:' .. ens .. ':' .. enc(parent))
    if #flat == 0 then break end
    keep[parent] = true
    local f = {}
    for i = 1, #flat, 2 do f[flat[i]] = flat[i + 1] end
    for ch in pairs(need) do
      local b = f['b:' .. ch]
      if b then  -- a stored value: neither missing nor the EMPTY marker (serde.py)
        local v = redis.call('GET', b)
        if v and v ~= 'empty\0' then
          need[ch] = nil
          n = n - 1
        end
      end
    end
    parent = f['p']
  end
  return keep
end

-- Runs that a shallow put left with nothing in this thread; only PUT sets it (to a
-- table): they leave the thread's run set, and PUT returns them so its caller takes
-- the thread out of their run indexes (other slots).
local GONE = nil

-- Take `member` out of run `run`'s set of what it wrote in this thread.
local function unlist(base, registry, run, member)
  local rkey = base .. 'run:' .. enc(run)
  redis.call('SREM', rkey, member)
  if redis.call('EXISTS', rkey) == 0 then
    redis.call('SREM', registry, rkey)
    if GONE then
      redis.call('SREM', base .. 'runs', run)
      table.insert(GONE, run)
    end
  end
end

-- Before a checkpoint (tail '<ns>:<id>') is dropped: unlist it from its run ('r' field)
-- and from the runs of its pending writes, and drop the hash naming those runs.
local function forget(base, registry, tail)
  local run = redis.call('HGET', base .. 'cp:' .. tail, 'r')
  if run then unlist(base, registry, run, 'c:' .. tail) end
  local wr = base .. 'wr:' .. tail
  local seen = {}
  local flat = redis.call('HGETALL', wr)
  for i = 2, #flat, 2 do
    if not seen[flat[i]] then
      seen[flat[i]] = true
      unlist(base, registry, flat[i], 'w:' .. tail)
    end
  end
  redis.call('UNLINK', wr)
  redis.call('SREM', registry, wr)
end

-- Delete checkpoints (and their writes) of one namespace, then every blob of that
-- namespace that no remaining checkpoint names.
local function drop(base, registry, ens, ids)
  local idx = base .. 'idx:' .. ens
  for _, cid in ipairs(ids) do
    local tail = ens .. ':' .. enc(cid)
    forget(base, registry, tail)
    redis.call('UNLINK', base .. 'cp:' .. tail, base .. 'w:' .. tail)
    redis.call('SREM', registry, base .. 'cp:' .. tail, base .. 'w:' .. tail)
    redis.call('ZREM', idx, cid)
  end
  local keep = {}
  for _, cid in ipairs(redis.call('ZRANGE', idx, 0, -1)) do
    local cp = redis.call('HGETALL', base .. 'cp:' .. ens .. ':' .. enc(cid))
    for i = 1, #cp, 2 do
      if string.sub(cp[i], 1, 2) == 'b:' then keep[cp[i + 1]] = true end
    end
  end
  local bset = base .. 'blobs:' .. ens
  for _, b in ipairs(redis.call('SMEMBERS', bset)) do
    if not keep[b] then
      redis.call('UNLINK', b)
      redis.call('SREM', bset, b)
      redis.call('SREM', registry, b)
    end
  end
end
"""

DROP_RUNS = Script(
    "drop_runs",
    LUA_ENCODE
    + LUA_DROP
    + r"""
-- KEYS[1] thread key registry, KEYS[2] the thread's run ids.
-- ARGV: thread base, n, n run ids, then (encoded ns, id) pairs (run index entries
-- written by earlier releases). Each run's checkpoints go; its pending writes on other
-- runs' checkpoints go too, so nothing of the run is replayed later.
local function dec(s)
  return (string.gsub(s, '%%(%x%x)', function(h) return string.char(tonumber(h, 16)) end))
end
local base, n = ARGV[1], tonumber(ARGV[2])
local by_ns = {}
local function add(ens, cid)
  by_ns[ens] = by_ns[ens] or {}
  table.insert(by_ns[ens], cid)
end
for i = 3, 2 + n do
  local run = ARGV[i]
  local rkey = base .. 'run:' .. enc(run)
  for _, m in ipairs(redis.call('SMEMBERS', rkey)) do
    local kind, ens, ecid = string.match(m, '^(%a):([^:]*):(.*)$')
    if kind == 'c' then
      add(ens, dec(ecid))
    elseif kind == 'w' then
      local tail = ens .. ':' .. ecid
      local w, wr = base .. 'w:' .. tail, base .. 'wr:' .. tail
      local flat = redis.call('HGETALL', wr)
      for j = 1, #flat, 2 do
        if flat[j + 1] == run then redis.call('HDEL', w, flat[j]) redis.call('HDEL', wr, flat[j]) end
      end
      if redis.call('EXISTS', w) == 0 then redis.call('SREM', KEYS[1], w) end
      if redis.call('EXISTS', wr) == 0 then redis.call('SREM', KEYS[1], wr) end
    end
  end
  redis.call('UNLINK', rkey)
  redis.call('SREM', KEYS[1], rkey)
  redis.call('SREM', KEYS[2], run)
end
for i = 3 + n, #ARGV, 2 do add(ARGV[i], ARGV[i + 1]) end
for ens, ids in pairs(by_ns) do drop(base, KEYS[1], ens, ids) end
return 1
""",
)

KEEP_LATEST = Script(
    "keep_latest",
    LUA_ENCODE
    + LUA_DROP
    + r"""
-- KEYS[1] thread key registry, KEYS[2] thread namespace set; ARGV[1] thread base.
-- Keeps the newest checkpoint of every namespace (with its writes and blobs).
-- Ancestors that checkpoint's delta channels are rebuilt from are kept too (needed).
local base = ARGV[1]
for _, ns in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local ens = enc(ns)
  local ids = redis.call('ZRANGE', base .. 'idx:' .. ens, 0, -1)
  if #ids > 0 then
    local keep = needed(base, ens, ids[#ids])
    local older = {}
    for _, id in ipairs(ids) do
      if not keep[id] then table.insert(older, id) end
    end
    drop(base, KEYS[1], ens, older)
  end
end
return 1
""",
)

DELETE_THREAD = Script(
    "delete_thread",
    r"""
-- KEYS[1] thread key registry: every key the thread owns, itself included;
-- KEYS[2] the thread's run ids, returned so the caller unlists the thread from those
-- run indexes (they live in other slots); KEYS[3], on one server only, the thread
-- registry, so the thread leaves it in the same atomic step (ARGV[1]: thread id).
local runs = redis.call('SMEMBERS', KEYS[2])
local keys = redis.call('SMEMBERS', KEYS[1])
for i = 1, #keys, 500 do
  redis.call('UNLINK', unpack(keys, i, math.min(i + 499, #keys)))
end
redis.call('UNLINK', KEYS[1], KEYS[2])
if KEYS[3] then redis.call('ZREM', KEYS[3], ARGV[1]) end
return runs
""",
)


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


# -- options and config ----------------------------------------------------------------


@dataclass(frozen=True)
class SaverConfig:
    """Per-saver settings every plan needs."""

    serde: SerializerProtocol
    prefix: str = "lgr"
    ttl_seconds: int = 0
    refresh_on_read: bool = False

    def __post_init__(self) -> None:
        check_prefix(self.prefix)

    def keys(self, thread_id: str) -> ThreadKeys:
        return ThreadKeys(self.prefix, thread_id)


def ttl_seconds(ttl: Mapping[str, Any] | None) -> tuple[int, bool]:
    """Read LangGraph's TTL config (``default_ttl`` in minutes, ``refresh_on_read``)."""
    if not ttl:
        return 0, False
    unknown = set(ttl) - {"default_ttl", "refresh_on_read"}
    if unknown:
        raise ValueError(f"unknown checkpointer ttl options: {sorted(unknown)}")
    minutes = ttl.get("default_ttl")
    if minutes is not None and (not isinstance(minutes, (int, float)) or minutes <= 0):
        raise ValueError(f"default_ttl must be a positive number of minutes, got {minutes!r}")
    seconds = max(1, round(float(minutes) * 60)) if minutes else 0
    return seconds, bool(ttl.get("refresh_on_read", False))


def _configurable(config: RunnableConfig | None, what: str) -> dict[str, Any]:
    if not isinstance(config, Mapping):
        raise TypeError(f"{what}: config must be a dict, got {type(config).__name__}")
    conf = config.get("configurable")
    if not isinstance(conf, Mapping):
        raise ValueError(f'{what}: config needs a "configurable" dict with a "thread_id"')
    return dict(conf)


def _thread_id(conf: Mapping[str, Any], what: str) -> str:
    tid = conf.get("thread_id")
    if tid is None or tid == "":
        raise ValueError(
            f'{what}: config["configurable"]["thread_id"] is required '
            '(e.g. {"configurable": {"thread_id": "1"}})'
        )
    return str(tid)


def _ns(conf: Mapping[str, Any]) -> str:
    ns = conf.get("checkpoint_ns") or ""
    if not isinstance(ns, str):
        raise ValueError(f"checkpoint_ns must be a string, got {type(ns).__name__}")
    return ns


def _checkpoint_id(conf: Mapping[str, Any]) -> str | None:
    cid = conf.get("checkpoint_id") or conf.get("thread_ts")
    return str(cid) if cid else None


def target(config: RunnableConfig, what: str) -> tuple[str, str, str | None]:
    """``(thread_id, checkpoint_ns, checkpoint_id)`` from a config, validated."""
    conf = _configurable(config, what)
    return _thread_id(conf, what), _ns(conf), _checkpoint_id(conf)


def _config(thread_id: str, ns: str, checkpoint_id: str) -> RunnableConfig:
    return {
        "configurable": {
            "thread_id": thread_id,
            "checkpoint_ns": ns,
            "checkpoint_id": checkpoint_id,
        }
    }


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _expire(keys: Iterable[str], seconds: int) -> list[Command]:
    return [("EXPIRE", k, seconds) for k in keys] if seconds else []


# -- put -------------------------------------------------------------------------------

PRUNE = 8
"""Index entries a write inspects for expired keys (TTL only); see the ``PUT`` script."""

PUT = Script(
    "put",
    LUA_ENCODE
    + LUA_DROP
    + f"local PRUNE = {PRUNE}\n"
    + r"""
-- KEYS: checkpoint hash, index zset, namespace set, key registry, blob set
-- ARGV: id, ns, ttl, shallow (0/1), n fields, field/value pairs, n blobs, key/value
--       pairs, then blob keys named by the checkpoint (TTL refresh)
-- Returns {1 (or 2 when the thread had no checkpoint before: no namespace set; on a
-- cluster the caller then confirms the thread registry entry, see plan_put), then the
-- runs the shallow drop left with nothing in this thread}.
local cid, ns, ttl, shallow = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4] == '1'
local created = redis.call('EXISTS', KEYS[3]) == 0
local i = 6
local nf = tonumber(ARGV[5])
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
  redis.call('SET', ARGV[i], ARGV[i + 1])
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
  for j = i, #ARGV do redis.call('EXPIRE', ARGV[j], ttl) end
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

    On a ``cluster`` the registry ``ZADD`` goes first, in a round trip of its own (see
    ``_send_once``), and a put whose script finds the thread without checkpoints (its
    first put, or the first after a delete) confirms the registry entry after it: see
    :func:`_confirm_registry` for why that keeps every committed thread listed. A
    shallow put that leaves an earlier run with nothing in the thread takes the thread
    out of that run's index after it (:func:`_after_write`).
    """
    thread_id, ns, parent_id = target(config, "put")
    if not isinstance(checkpoint, Mapping) or "id" not in checkpoint:
        raise ValueError("put: checkpoint must be a Checkpoint dict with an 'id'")
    cid = str(checkpoint["id"])
    keys = cfg.keys(thread_id)
    stored = dict(checkpoint)
    values = cast(dict[str, Any], stored.pop("channel_values", None) or {})
    versions: Mapping[str, Any] = checkpoint.get("channel_versions") or {}
    merged = get_checkpoint_metadata(config, metadata)

    blob_args: list[bytes | str] = []
    for channel, version in new_versions.items():
        blob_args.append(keys.blob(ns, channel, str(version)))
        blob_args.append(
            dump_typed(cfg.serde, values[channel], f"channel {channel!r}")
            if channel in values
            else EMPTY
        )
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

    def decode(replies: list[Any]) -> RunnableConfig:
        check(replies)
        return result

    if not cluster and not shallow:
        return batch([call], decode, side=side, writes=True)
    write = batch([call], _put_outcome, side=side, writes=True)
    return _after_write(cfg, thread_id, write, result, now_ms, cluster=cluster)


def _put_outcome(replies: list[Any]) -> tuple[bool, list[str]]:
    """The PUT script's reply: whether it created the thread, and the runs it left."""
    check(replies)
    reply = replies[0]
    return int(reply[0]) == 2, [_text(r) for r in reply[1:]]


def _after_write(
    cfg: SaverConfig,
    thread_id: str,
    write: Batch[tuple[bool, list[str]]],
    result: T,
    now_ms: int,
    *,
    cluster: bool,
) -> Generator[Batch[Any], Any, T]:
    """A write, then, in one more round trip and only when needed: the registry
    confirmation of a thread it created on a cluster (:func:`_confirm_registry`), and
    the thread out of the run indexes of runs a shallow put left with nothing here
    (their run ids already left the thread's run set in the script).

    A run index naming a thread without anything of the run costs ``delete_for_runs``
    one no-op script; if this second step is lost (a process killed between), the
    entry stays, harmless, until the run's index expires (with TTL) or forever.
    """
    created, gone = yield write
    follow: list[Op] = []
    if cluster and created:
        follow.append(_confirmation(cfg, thread_id, now_ms))
    follow += [("SREM", run_index(cfg.prefix, r), run_member(thread_id)) for r in gone]
    if follow:
        yield batch(follow, _replies, writes=True)
    return result


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
            channel_values[channel] = load_typed(
                cfg.serde, val, f"{where}, channel {channel!r} (key {_text(cp['b:' + channel])!r})"
            )
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


# -- list ------------------------------------------------------------------------------

PAGE = 100


@dataclass(frozen=True)
class ListQuery:
    """A validated ``list`` call."""

    thread_id: str | None
    ns: str | None
    checkpoint_id: str | None
    before: str | None
    filter: Mapping[str, Any]
    limit: int | None


def list_query(
    config: RunnableConfig | None,
    *,
    filter: Mapping[str, Any] | None,
    before: RunnableConfig | None,
    limit: int | None,
) -> ListQuery:
    """Validate ``list`` arguments. ``limit`` None or negative means no limit."""
    if limit is not None and not isinstance(limit, int):
        raise TypeError(f"list: limit must be an int or None, got {type(limit).__name__}")
    if filter is not None and not isinstance(filter, Mapping):
        raise TypeError("list: filter must be a dict of metadata key -> value")
    before_id = _checkpoint_id(_configurable(before, "list(before=...)")) if before else None
    thread_id = ns = cid = None
    if config is not None:
        conf = _configurable(config, "list")
        thread_id = _thread_id(conf, "list") if conf.get("thread_id") is not None else None
        raw_ns = conf.get("checkpoint_ns")
        ns = None if raw_ns is None else _ns(conf)
        cid = _checkpoint_id(conf)
    return ListQuery(
        thread_id,
        ns,
        cid,
        before_id,
        {k: _no_nul(v) for k, v in (filter or {}).items()},
        None if limit is None or limit < 0 else limit,
    )


def plan_list_scopes(
    cfg: SaverConfig, query: ListQuery
) -> Generator[Batch[Any], Any, list[tuple[str, str]]]:
    """``(thread, namespace)`` pairs to walk, from the registries (never SCAN)."""
    if query.thread_id is not None and query.ns is not None:
        return [(query.thread_id, query.ns)]
    if query.thread_id is not None:
        thread_ids = [query.thread_id]
    else:
        raw = yield batch([("ZRANGE", thread_registry(cfg.prefix), 0, -1)], _first)
        thread_ids = [_text(t) for t in raw]
    if not thread_ids:
        return []
    nss = [cfg.keys(t).namespaces for t in thread_ids]
    members = yield batch([("SMEMBERS", k) for k in nss], _typed(nss))
    return [
        (tid, ns)
        for tid, group in zip(thread_ids, members)
        for ns in sorted(_text(m) for m in group)
        if query.ns is None or ns == query.ns
    ]


class ListMerge:
    """Merges the namespaces of one thread into one newest-first listing.

    Each namespace is paged separately (its own index); the caller fetches the pages
    :meth:`needs` asks for, :meth:`feed` s them, and takes tuples from :meth:`pop`, which
    always returns the newest checkpoint id among the namespaces' heads -- the order SQL
    savers give a thread listed without a namespace.
    """

    def __init__(self, namespaces: Sequence[str]) -> None:
        self._buffers: dict[str, list[CheckpointTuple]] = {ns: [] for ns in namespaces}
        self._cursors: dict[str, str | None] = dict.fromkeys(namespaces)
        self._unread = set(namespaces)  # not fetched yet: their cursor None means "start"

    def needs(self) -> list[tuple[str, str | None]]:
        """``(namespace, cursor)`` pairs to fetch: empty buffers with more to read."""
        return [
            (ns, cursor)
            for ns, cursor in self._cursors.items()
            if (cursor is not None or ns in self._unread) and not self._buffers[ns]
        ]

    def feed(self, ns: str, page: list[CheckpointTuple], cursor: str | None) -> None:
        self._buffers[ns].extend(page)
        self._cursors[ns] = cursor
        self._unread.discard(ns)

    def pop(self) -> CheckpointTuple | None:
        """The newest remaining tuple, or None when every namespace is exhausted."""
        heads = [ns for ns, buf in self._buffers.items() if buf]
        if not heads:
            return None
        newest = max(
            heads, key=lambda n: self._buffers[n][0].config["configurable"]["checkpoint_id"]
        )
        return self._buffers[newest].pop(0)


def by_thread(scopes: Sequence[tuple[str, str]]) -> list[tuple[str, list[str]]]:
    """Group ``(thread, namespace)`` scopes by thread, keeping their order."""
    grouped: dict[str, list[str]] = {}
    for thread_id, ns in scopes:
        grouped.setdefault(thread_id, []).append(ns)
    return list(grouped.items())


def _no_nul(value: Any) -> Any:
    """Metadata strings as LangGraph stores them: without NUL (``get_checkpoint_metadata``)."""
    return value.replace("\0", "") if isinstance(value, str) else value


def _matches(metadata: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    return all(metadata.get(k) == v for k, v in wanted.items())


def plan_list_page(
    cfg: SaverConfig,
    query: ListQuery,
    thread_id: str,
    ns: str,
    after: str | None,
    want: int | None,
    *,
    now_ms: int = 0,
) -> Generator[Batch[Any], Any, tuple[list[CheckpointTuple], str | None]]:
    """One page of a scope, newest first: ``(tuples, cursor or None when done)``.

    ``after`` is the last id already returned (exclusive); ``before`` is exclusive too.
    """
    keys = cfg.keys(thread_id)
    if query.checkpoint_id is not None:
        if after is not None:
            return [], None
        ids = [query.checkpoint_id]
        if query.before is not None and query.checkpoint_id >= query.before:
            ids = []
        cursor = None
    else:
        bounds = [b for b in (after, query.before) if b is not None]
        upper = "(" + min(bounds) if bounds else "+"
        page = PAGE if want is None or query.filter else max(1, min(PAGE, want))
        ids = [
            _text(x)
            for x in (
                (
                    yield batch(
                        [("ZRANGE", keys.index(ns), upper, "-", "BYLEX", "REV", "LIMIT", 0, page)],
                        _typed([keys.index(ns)]),
                    )
                )[0]
            )
        ]
        cursor = ids[-1] if len(ids) == page else None
    if ids and query.filter:
        cps = [keys.checkpoint(ns, i) for i in ids]
        raws = yield batch([("HGET", k, "m") for k in cps], _typed(cps))
        kept = []
        for cid, raw, key in zip(ids, raws, cps):
            if raw is None:
                continue  # deleted or expired between the two round trips
            meta = load_typed(cfg.serde, raw, f"metadata of checkpoint {cid!r} (key {key!r})")
            if not isinstance(meta, Mapping):
                raise CorruptDataError(
                    f"metadata of checkpoint {cid!r} (key {key!r}): not a mapping"
                )
            if _matches(meta, query.filter):
                kept.append(cid)
        ids = kept
    if want is not None:
        ids = ids[:want]
    if not ids:
        return [], cursor
    # Not checked here: decode_tuple turns an error reply into CorruptDataError.
    replies = yield batch(
        [_get_call(cfg, thread_id, ns, i) for i in ids],
        side=_refresh_listing(cfg, thread_id, now_ms),
    )
    tuples = [
        t
        for t in (decode_tuple(cfg, thread_id, ns, r, i) for r, i in zip(replies, ids))
        if t is not None
    ]
    return tuples, cursor


def _first(replies: list[Any]) -> Any:
    check(replies)
    return replies[0]


def _replies(replies: list[Any]) -> list[Any]:
    check(replies)
    return replies


# -- delete, prune, copy ---------------------------------------------------------------


def plan_delete_thread(
    cfg: SaverConfig, thread_id: str, *, cluster: bool = False
) -> Generator[Batch[Any], Any, None]:
    """One atomic script call deleting every key the thread owns (see :func:`_delete`)."""
    yield from _delete(cfg, [str(thread_id)], cluster)


def _delete(
    cfg: SaverConfig, thread_ids: Sequence[str], cluster: bool
) -> Generator[Batch[Any], Any, None]:
    """Delete threads: one script each, all in one round trip.

    On one server each script also takes its thread out of the thread registry, so a
    put racing the delete, or a server dying mid-pipeline, can never leave checkpoints
    that ``list(None)`` does not see. On a cluster the registry lives in another slot:
    its ``ZREM`` is a side command sent first (a racing put's entry then outlives the
    delete, or is removed before that put's data lands; see docs/reliability.md).
    Each script returns the runs whose index names its thread; a second round trip, only
    when there are some, takes the thread out of those run indexes (other slots), so no
    index keeps naming a deleted thread.
    """
    if not thread_ids:
        return
    registry = thread_registry(cfg.prefix)
    if cluster:
        runs = yield batch(
            [DELETE_THREAD.call([cfg.keys(t).registry, cfg.keys(t).runs]) for t in thread_ids],
            _replies,
            side=[("ZREM", registry, *thread_ids)],
        )
    else:
        runs = yield batch(
            [
                DELETE_THREAD.call([cfg.keys(t).registry, cfg.keys(t).runs, registry], [t])
                for t in thread_ids
            ],
            _replies,
        )
    unlist: list[Op] = [
        ("SREM", run_index(cfg.prefix, _text(r)), run_member(t))
        for t, thread_runs in zip(thread_ids, runs)
        for r in thread_runs
    ]
    if unlist:
        yield batch(unlist, _replies)


def plan_delete_for_runs(
    cfg: SaverConfig, run_ids: Sequence[str]
) -> Generator[Batch[Any], Any, None]:
    """Read the run indexes, then one script per affected thread, all in one pipeline."""
    # LangGraph stores metadata strings without NUL (get_checkpoint_metadata), so the
    # run id a put recorded is the caller's id without NUL: match it the same way.
    run_ids = [_no_nul(str(r)) for r in run_ids]
    if not run_ids:
        return
    members = yield batch([("SMEMBERS", run_index(cfg.prefix, r)) for r in run_ids], _replies)
    runs: dict[str, list[str]] = {}
    legacy: dict[str, list[str]] = {}  # entries naming one checkpoint (earlier releases)
    for run_id, group in zip(run_ids, members):
        for raw in group:
            member = _text(raw)
            if member.startswith("\0"):
                runs.setdefault(member[1:], []).append(run_id)
            else:
                parts = member.rsplit("\0", 2)
                if len(parts) != 3:
                    raise CorruptDataError(
                        f"run index {run_index(cfg.prefix, run_id)!r}: member is neither "
                        "a thread entry nor an earlier release's checkpoint entry"
                    )
                tid, ns, cid = parts
                legacy.setdefault(tid, []).extend([encode(ns), cid])
    calls: list[Op] = []
    for tid in dict.fromkeys([*runs, *legacy]):
        keys = cfg.keys(tid)
        thread_runs = runs.get(tid, [])
        args: list[str | int] = [keys.base, len(thread_runs), *thread_runs, *legacy.get(tid, [])]
        calls.append(DROP_RUNS.call([keys.registry, keys.runs], args))
    calls += [("UNLINK", run_index(cfg.prefix, r)) for r in run_ids]
    yield batch(calls, _replies)


def plan_prune(
    cfg: SaverConfig, thread_ids: Sequence[str], strategy: str, *, cluster: bool = False
) -> Plan[None]:
    """``keep_latest``: newest checkpoint per namespace survives; ``delete``: all goes."""
    if strategy == "delete":
        return _delete(cfg, [str(t) for t in thread_ids], cluster)
    if strategy != "keep_latest":
        raise ValueError(f"prune: unknown strategy {strategy!r} (use 'keep_latest' or 'delete')")
    return batch(
        [
            KEEP_LATEST.call(
                [cfg.keys(str(t)).registry, cfg.keys(str(t)).namespaces], [cfg.keys(str(t)).base]
            )
            for t in thread_ids
        ],
        _none,
    )


def _none(replies: list[Any]) -> None:
    check(replies)


def plan_copy_thread(
    cfg: SaverConfig, source: str, target_id: str, *, now_ms: int = 0, cluster: bool = False
) -> Generator[Batch[Any], Any, None]:
    """Read the whole source thread, then write the copy in one atomic batch.

    Blob key names are stored inside checkpoint hashes, so a copy cannot be a raw
    DUMP/RESTORE: every name is rebuilt for the target's hash tag. The copy is filed
    under the runs of the source (run index, run sets) like the writes that made it.
    On a ``cluster`` the copy is a write like a put: when it creates the target, its
    registry entry is confirmed after it (:func:`_confirm_registry`).
    """
    src, dst = cfg.keys(str(source)), cfg.keys(str(target_id))
    nss = [_text(n) for n in (yield batch([("SMEMBERS", src.namespaces)], _first))]
    if not nss:
        return
    id_lists = yield batch([("ZRANGE", src.index(ns), 0, -1) for ns in nss], _replies)
    scope = [(ns, _text(cid)) for ns, ids in zip(nss, id_lists) for cid in ids]
    raw = yield batch(
        [
            c
            for ns, cid in scope
            for c in (
                ("HGETALL", src.checkpoint(ns, cid)),
                ("HGETALL", src.writes(ns, cid)),
                ("HGETALL", src.write_runs(ns, cid)),
            )
        ],
        _replies,
    )
    blob_keys = sorted({_text(v) for h in raw[0::3] for f, v in _pairs(h) if f.startswith("b:")})
    blob_vals = (yield batch([("GET", k) for k in blob_keys], _replies)) if blob_keys else []
    blobs = dict(zip(blob_keys, blob_vals))
    cmds: list[Op] = []
    # Listed like a write: with TTL, until the copy expires (pruned by later writes).
    ttl_ms = cfg.ttl_seconds * 1000
    score = now_ms + ttl_ms if ttl_ms else 0
    side: list[Command] = [("ZADD", thread_registry(cfg.prefix), score, dst.thread_id)]
    owned: list[str] = [dst.namespaces]
    for (ns, cid), cp_flat, w_flat, wr_flat in zip(scope, raw[0::3], raw[1::3], raw[2::3]):
        if not cp_flat:
            continue
        fields: dict[str, bytes | str] = {}
        for f, v in _pairs(cp_flat):
            if f.startswith("b:"):
                new_key = dst.base + _text(v)[len(src.base) :]
                if blobs.get(_text(v)) is not None:
                    cmds.append(("SET", new_key, blobs[_text(v)]))
                    cmds.append(("SADD", dst.blobs(ns), new_key))
                    owned.append(new_key)
                fields[f] = new_key
            else:
                fields[f] = v
        cp_key = dst.checkpoint(ns, cid)
        cmds += [("UNLINK", cp_key), ("HSET", cp_key, *_flatten(fields))]
        cmds += [("ZADD", dst.index(ns), 0, cid), ("SADD", dst.namespaces, ns)]
        owned += [cp_key, dst.index(ns), dst.blobs(ns)]
        if w_flat:
            wkey = dst.writes(ns, cid)
            cmds += [("UNLINK", wkey), ("HSET", wkey, *[x for kv in _pairs(w_flat) for x in kv])]
            owned.append(wkey)
        wr_key = dst.write_runs(ns, cid)
        cmds.append(("UNLINK", wr_key))
        if wr_flat:
            cmds.append(("HSET", wr_key, *[x for kv in _pairs(wr_flat) for x in kv]))
            owned.append(wr_key)
        meta = load_typed(
            cfg.serde, fields["m"] if isinstance(fields["m"], bytes) else b"", "metadata"
        )
        entries = [(str(r), "w") for r in {_text(v) for _, v in _pairs(wr_flat)}]
        if run_id := meta.get("run_id"):
            cmds.append(("HSET", cp_key, "r", str(run_id)))
            entries.append((str(run_id), "c"))
        for run, kind in entries:
            cmds += [
                ("SADD", dst.run(run), _run_entry(kind, ns, cid)),
                ("SADD", dst.runs, run),
            ]
            owned += [dst.run(run), dst.runs]
            side += _run_index_commands(cfg, dst.thread_id, run)
    if not cmds:
        return
    owned = list(dict.fromkeys(owned))
    side = list(dict.fromkeys(side))
    cmds.append(("SADD", dst.registry, *owned))
    cmds += _expire([*owned, dst.registry], cfg.ttl_seconds)
    if not cluster:
        yield batch(cmds, _replies, atomic=True, side=side)
        return
    # the same transaction first tells whether the target had checkpoints
    cmds.insert(0, ("EXISTS", dst.namespaces))
    write = batch(cmds, _target_was_empty, atomic=True, side=side)
    yield from _confirm_registry(cfg, dst.thread_id, write, None, now_ms)


def _target_was_empty(replies: list[Any]) -> bool:
    check(replies)
    return int(replies[0]) == 0


def _pairs(reply: Any) -> list[tuple[str, Any]]:
    """HGETALL reply as pairs: redis-py gives a dict, a script gives a flat list."""
    if isinstance(reply, Mapping):
        return [(_text(k), v) for k, v in reply.items()]
    return [(_text(reply[i]), reply[i + 1]) for i in range(0, len(reply), 2)]


SCRIPTS = (PUT, PUT_WRITES, GET_TUPLE, DROP_RUNS, KEEP_LATEST, DELETE_THREAD, CONFIRM_REGISTRY)
"""Every script the savers send, loaded once at setup."""
