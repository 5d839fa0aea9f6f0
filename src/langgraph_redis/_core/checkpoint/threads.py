"""Whole-thread plans: delete a thread, delete the checkpoints of runs, prune, copy.

Each is one script per thread, atomic on the thread's slot, working from the thread's
own key registry (never SCAN or KEYS); the scripts sit beside their plans.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any

from langgraph_redis._core.checkpoint.config import SaverConfig, _expire
from langgraph_redis._core.checkpoint.deltas import base_key, is_delta
from langgraph_redis._core.checkpoint.keys import decode as decode_part
from langgraph_redis._core.checkpoint.keys import (
    encode,
    run_index,
    run_member,
    thread_registry,
)
from langgraph_redis._core.checkpoint.listing import _first, _no_nul
from langgraph_redis._core.checkpoint.lua import LUA_CHAIN, LUA_DROP, LUA_ENCODE
from langgraph_redis._core.checkpoint.plans import _flatten, _none, _run_entry
from langgraph_redis._core.checkpoint.registry import (
    _confirm_registry,
    _replies,
    _run_index_commands,
)
from langgraph_redis._core.checkpoint.serde import (
    CorruptDataError,
    load_typed,
)
from langgraph_redis._core.plans import Batch, Command, Op, Plan, Script, batch, check
from langgraph_redis._core.replies import text as _text
from langgraph_redis._core.replies import text_pairs as _pairs

# -- Lua -------------------------------------------------------------------------------

DROP_RUNS = Script(
    "drop_runs",
    LUA_ENCODE
    + LUA_CHAIN
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
    + LUA_CHAIN
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
    for t in thread_ids:
        cfg.deltas.forget(t)  # its blobs go: extend nothing of it
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
    blobs: dict[str, Any] = {}
    named = set(blob_keys)
    while blob_keys:  # then the bases of deltas no checkpoint names (after a prune)
        blobs.update(zip(blob_keys, (yield batch([("GET", k) for k in blob_keys], _replies))))
        blob_keys = sorted({base_key(k, v) for k, v in blobs.items() if is_delta(v)} - blobs.keys())
    cmds: list[Op] = []
    # Listed like a write: with TTL, until the copy expires (pruned by later writes).
    ttl_ms = cfg.ttl_seconds * 1000
    score = now_ms + ttl_ms if ttl_ms else 0
    side: list[Command] = [("ZADD", thread_registry(cfg.prefix), score, dst.thread_id)]
    owned: list[str] = [dst.namespaces]
    for key in sorted(blobs.keys() - named):
        if blobs[key] is not None:  # a base named by no checkpoint: copied with its deltas
            new_key = dst.base + key[len(src.base) :]
            ns = decode_part(key[len(src.base) :].split(":")[1])
            cmds += [
                ("SET", new_key, blobs[key]),
                ("SADD", dst.blobs(ns), new_key),
            ]
            owned += [new_key, dst.blobs(ns)]
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
