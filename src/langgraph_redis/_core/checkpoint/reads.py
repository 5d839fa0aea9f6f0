"""Checkpointer reads: ``get_tuple`` (the ``GET_TUPLE`` script, its plan and the decoding
every read shares, :mod:`.listing` included).

One script call: reading the latest id, the checkpoint, its writes and the blobs it names
(and the links of delta chains) are dependent reads; a script does them next to the data,
so the cost is O(log n + channels + links + writes), independent of thread length.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    PendingWrite,
    writes_sort_key,
)

from langgraph_redis._core.checkpoint.config import (
    SaverConfig,
    _config,
    target,
)
from langgraph_redis._core.checkpoint.deltas import (
    assemble,
)
from langgraph_redis._core.checkpoint.keys import (
    encode,
    thread_registry,
)
from langgraph_redis._core.checkpoint.lua import LUA_CHAIN, LUA_ENCODE, LUA_TTL
from langgraph_redis._core.checkpoint.serde import (
    EMPTY,
    CorruptDataError,
    UnsupportedFormatError,
    check_format,
    load_typed,
    load_write,
)
from langgraph_redis._core.plans import Batch, Command, Op, Script, batch, check
from langgraph_redis._core.replies import text as _text

GET_TUPLE = Script(
    "get_tuple",
    LUA_ENCODE
    + LUA_CHAIN
    + LUA_TTL
    + r"""
-- KEYS[1] index zset; ARGV: checkpoint id or '', thread base, encoded ns, ttl,
-- run index prefix or '', keys to touch
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
  -- Each of the thread's runs' global index (delete_for_runs finds the thread there):
  -- not declared, it lives in another slot, so only on one server (the plan passes '' on
  -- a cluster, and a node refusing the key anyway is caught by pcall). Never shortened.
  if ARGV[5] ~= '' then
    for _, run in ipairs(redis.call('SMEMBERS', ARGV[2] .. 'runs')) do
      local rk = ARGV[5] .. '{' .. enc(run) .. '}'
      local left = redis.pcall('TTL', rk)
      if type(left) == 'number' and left >= 0 and left < ttl then redis.pcall('EXPIRE', rk, ttl) end
    end
  end
  for i = 6, #ARGV do redis.call('EXPIRE', ARGV[i], ttl) end
end
return {cid, cp, writes, chans, vals}
""",
)


# -- put -------------------------------------------------------------------------------


def _get_calls(
    cfg: SaverConfig,
    thread_id: str,
    ns: str,
    cids: Sequence[str | None],
    *,
    cluster: bool = True,
) -> list[Op]:
    """One ``GET_TUPLE`` call per id (None: the latest) of one namespace; the key names
    they share are built once (a ``list`` page asks for ten).

    With ``refresh_on_read`` a call renews the thread's keys and, on one server
    (``cluster=False``), its runs' global indexes ``P:run:{R}``, which would otherwise
    expire under a thread kept alive by reads and hide it from ``delete_for_runs``. The
    default is the cluster's (no cross-slot key): a caller must know it is on one server
    to ask for more."""
    keys = cfg.keys(thread_id)
    ttl = cfg.ttl_seconds if cfg.refresh_on_read else 0
    touch = [keys.namespaces, keys.registry, keys.blobs(ns), keys.runs] if ttl else []
    runs = f"{cfg.prefix}:run:" if ttl and not cluster else ""
    index, base, ns_part = (keys.index(ns),), keys.base, encode(ns)  # one keys tuple
    return [GET_TUPLE.call(index, [cid or "", base, ns_part, ttl, runs, *touch]) for cid in cids]


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
    if type(reply) is list:
        try:
            return _decode_tuple(cfg, thread_id, ns, reply, careful=False)
        except Exception:
            pass  # decoded again below, carefully: finds what is wrong and says so
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
        return _decode_tuple(cfg, thread_id, ns, reply, careful=True)
    except (CorruptDataError, UnsupportedFormatError):
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        named = keys.checkpoint(ns, cid) if cid else keys.index(ns)
        raise CorruptDataError(
            f"checkpoint {cid or '(latest)'!r} of thread {thread_id!r} (key {named!r}): "
            f"damaged data ({type(exc).__name__})"
        ) from exc


def _decode_tuple(
    cfg: SaverConfig, thread_id: str, ns: str, reply: Any, *, careful: bool
) -> CheckpointTuple:
    """A ``CheckpointTuple`` from a well-formed GET_TUPLE reply.

    ``careful``: build the text that names the thread, checkpoint and Redis key of
    whatever fails. Without it nothing is formatted (a ``list`` page decodes ten
    checkpoints, and those messages cost a tenth of its client time) and an error says
    nothing useful, so :func:`decode_tuple` decodes a reply carefully only after a
    failure: the same checks either way, one decoder.
    """
    raw_cid, cp_flat, w_flat, chans, vals = reply
    # Replies are bytes (clients that decode them are refused); the careful pass also
    # names anything else.
    text: Callable[[Any], str] = _text if careful else bytes.decode
    cid = text(raw_cid)
    cp = dict(zip(map(text, cp_flat[0::2]), cp_flat[1::2]))
    keys = cfg.keys(thread_id) if careful else None
    where = (
        f"checkpoint {cid!r} of thread {thread_id!r} (key {keys.checkpoint(ns, cid)!r})"
        if keys
        else ""
    )
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
            channel = text(chan)
            what = (
                f"{where}, channel {channel!r} (key {_text(cp['b:' + channel])!r})"
                if careful
                else ""
            )
            if isinstance(val, list):  # a delta chain, newest first (GET_TUPLE)
                channel_values[channel] = assemble(cfg.serde, val, what)
            else:
                channel_values[channel] = load_typed(cfg.serde, val, what)
    pending: list[tuple[tuple[str, str, int], PendingWrite]] = []
    wkey = keys.writes(ns, cid) if keys and w_flat else ""
    for i in range(0, len(w_flat), 2):
        field = text(w_flat[i])
        task_id, sep, slot = field.rpartition("\0")
        if not sep or not slot.lstrip("-").isdigit():
            raise CorruptDataError(f"pending write {field!r} (key {wkey!r}): not a task and index")
        channel, value, task_path = load_write(
            cfg.serde, w_flat[i + 1], f"pending write {field!r} (key {wkey!r})" if careful else ""
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
    cfg: SaverConfig, config: RunnableConfig, *, now_ms: int = 0, cluster: bool = True
) -> Batch[CheckpointTuple | None]:
    """One script call: latest (or given) checkpoint, its blobs and pending writes.

    ``now_ms`` (the caller's clock) and ``cluster`` matter only with ``refresh_on_read``.
    """
    thread_id, ns, cid = target(config, "get_tuple")

    def decode(replies: list[Any]) -> CheckpointTuple | None:
        return decode_tuple(cfg, thread_id, ns, replies[0], cid)

    return batch(
        _get_calls(cfg, thread_id, ns, [cid], cluster=cluster),
        decode,
        side=_refresh_listing(cfg, thread_id, now_ms),
    )
