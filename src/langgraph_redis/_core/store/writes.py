"""Store item writes: the put/delete/sweep scripts, put preparation and the write plan.

Every write to one item is one script on the namespace's slot (item, vectors, key set,
stamps and version counter change together, and the namespace's vector set when it has
one: :data:`VSET_LUA`); the namespace index is reconciled by the writer
(:func:`index_upkeep`). The item format and the reads live in :mod:`.items`. Nothing
here performs I/O: plans yield batches and read their replies.
"""

from __future__ import annotations

import json
import math
from collections.abc import Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from langgraph.store.base import PutOp, get_text_at_path, tokenize_path

from langgraph_redis._core.plans import Batch, Command, Op, Script, batch, check
from langgraph_redis._core.store import keys as sk
from langgraph_redis._core.store.config import VectorConfig, vector_bytes
from langgraph_redis._core.store.filters import canonical_json, value_tokens
from langgraph_redis._core.store.items import (
    ITEM_FORMAT,
    ITEM_TAG,
    NO_EXPIRY,
    REFRESH_ITEM,
    now_us,
    ns_prefix_tags,
    order_key,
)
from langgraph_redis._core.store.keys import ns_keys

MAX_VALUE_BYTES = 512 * 1024 * 1024
"""Largest JSON text one item may hold: Redis' limit for one string (``proto-max-bulk-len``)."""

# --------------------------------------------------------------------------- writes

TOMBSTONES = 1000
"""Deletes remembered per namespace for caches catching up; older ones force a reload."""

# Called when an item leaves a namespace that still holds others: drop its stamp, bump
# the version and leave a tombstone (capped) so caches remove it without a reload.
_FORGET_LUA = f"""
local function forget(ks, kv, kd, esc)
  redis.call('ZREM', ks, esc)
  local ver = redis.call('HINCRBY', kv, 'v', 1)
  redis.call('ZADD', kd, ver, esc)
  redis.call('ZREMRANGEBYRANK', kd, 0, -{TOMBSTONES + 1})
end
"""

# Vector-set upkeep (vector-set engine, :mod:`.vset`): a namespace's vector set holds
# element ``<escaped key>:<n>`` per vector of its items, with the item's short top-level
# scalars as attributes (for ``VSIM ... FILTER``). Writers of that engine create it; every
# writer keeps it in step once it exists, in the same script as the item.
VSET_ATTR_MAX = 128
"""Longest string (bytes) copied into vector-set attributes; longer ones are not pushed
down into ``VSIM ... FILTER`` (the set would hold a second copy of long texts)."""

VSET_LUA = f"""
local function vattrs(json)
  local ok, v = pcall(cjson.decode, json)
  if not ok or type(v) ~= 'table' then return '' end
  local out, n = {{}}, 0
  for k, x in pairs(v) do
    if type(k) == 'string' and (type(x) == 'number' or (type(x) == 'string' and #x <= {VSET_ATTR_MAX})) then
      out[k] = x
      n = n + 1
    end
  end
  if n == 0 then return '' end
  return cjson.encode(out)
end
local function vdrop(vs, esc, from)
  local i = from
  while redis.call('VREM', vs, esc .. ':' .. i) == 1 do i = i + 1 end
end
"""

# Returns 1 when this put (re)created the namespace (it held no item before), else 0.
PUT_ITEM = Script(
    "put_item",
    VSET_LUA
    + """
-- What the previous version held decides which fields and expiries to drop, so a put
-- that changes nothing else runs one HSET per hash and no DEL/HDEL/PERSIST.
local prev = redis.call('HMGET', KEYS[1], 'nv', 'ca', 'ttl', 'flt')
local old = tonumber(prev[1] or '0') or 0
local nv = tonumber(ARGV[9])
local ttl = ARGV[5] ~= ''
-- HSET first: the server refuses it at its memory limit before anything is written (a
-- leading DEL would be allowed, and the rest of the script would then run unchecked).
local it = {'value', ARGV[2], 'ua', ARGV[3], 'nv', nv, 'ns', ARGV[8], 'key', ARGV[7], 'fmt', '"""
    + ITEM_FORMAT
    + """'}
if not prev[2] then table.insert(it, 'ca'); table.insert(it, ARGV[3]) end
if ttl then table.insert(it, 'ttl'); table.insert(it, ARGV[5]) end
-- ARGV[15 + 2nv] = '1': the query engine indexes items, so they carry its TAG digests
local tagged = ARGV[15 + 2 * nv] == '1'
local flt = ARGV[11] ~= ''
if tagged then
  table.insert(it, 'nsi'); table.insert(it, '"""
    + ITEM_TAG
    + """,' .. ARGV[10])
  table.insert(it, 'ord'); table.insert(it, ARGV[16 + 2 * nv])
  if flt then table.insert(it, 'flt'); table.insert(it, ARGV[11]) end
end
redis.call('HSET', KEYS[1], unpack(it))
local gone = {}
if prev[3] and not ttl then table.insert(gone, 'ttl') end
if prev[4] and not (tagged and flt) then table.insert(gone, 'flt') end
if #gone > 0 then redis.call('HDEL', KEYS[1], unpack(gone)) end
for i = nv, old - 1 do redis.call('DEL', ARGV[1] .. i) end
-- KEYS[6], on one server only: the namespace index, so it changes with the item
if KEYS[6] then redis.call('ZADD', KEYS[6], 0, ARGV[8]) end
if ttl then redis.call('PEXPIRE', KEYS[1], ARGV[5]) elseif prev[3] then redis.call('PERSIST', KEYS[1]) end
for i = 0, nv - 1 do
  local vk = ARGV[1] .. i
  -- every field is rewritten; an earlier vector key under this name loses only 'flt'
  local f = {'vec', ARGV[12 + 2 * i], 'path', ARGV[13 + 2 * i], 'nsp', ARGV[10], 'ns', ARGV[8], 'key', ARGV[7]}
  if flt then table.insert(f, 'flt'); table.insert(f, ARGV[11]) end
  redis.call('HSET', vk, unpack(f))
  if i < old and not flt then redis.call('HDEL', vk, 'flt') end
  if ttl then redis.call('PEXPIRE', vk, ARGV[5]) elseif i < old and prev[3] then redis.call('PERSIST', vk) end
end
-- KEYS[5]: the vector set; ARGV[13 + 2nv]: its quantization; ARGV[14 + 2nv]: '1' when
-- this writer uses the vector-set engine
local mine = ARGV[14 + 2 * nv] == '1'
if mine or redis.call('EXISTS', KEYS[5]) == 1 then
  -- every element of the item goes first: Redis 8.0 updates an existing element on
  -- VADD without propagating it (AOF, replicas), so an overwrite must re-add it
  vdrop(KEYS[5], ARGV[4], 0)
  local attrs = nv > 0 and vattrs(ARGV[2]) or ''
  for i = 0, nv - 1 do
    redis.call('VADD', KEYS[5], 'FP32', ARGV[12 + 2 * i], ARGV[4] .. ':' .. i, ARGV[13 + 2 * nv],
               'SETATTR', attrs)
  end
end
redis.call('ZADD', KEYS[2], ARGV[6], ARGV[7])
local ver = redis.call('HINCRBY', KEYS[4], 'v', 1)
local created = redis.call('HSETNX', KEYS[4], 'e', ARGV[12 + 2 * nv])
-- 'vs': this namespace's vector set holds every vector (no backfill needed)
if mine and created == 1 then redis.call('HSET', KEYS[4], 'vs', 1) end
redis.call('ZADD', KEYS[3], ver, ARGV[4])
return created
""",
)

DELETE_ITEM = Script(
    "delete_item",
    _FORGET_LUA
    + VSET_LUA
    + """
local old = tonumber(redis.call('HGET', KEYS[1], 'nv') or '0') or 0
for i = 0, old - 1 do redis.call('DEL', ARGV[1] .. i) end
if redis.call('EXISTS', KEYS[6]) == 1 then vdrop(KEYS[6], ARGV[3], 0) end
local had = redis.call('DEL', KEYS[1]) + redis.call('ZREM', KEYS[2], ARGV[2])
local left = redis.call('ZCARD', KEYS[2])
if left == 0 then
  redis.call('DEL', KEYS[3], KEYS[4], KEYS[5], KEYS[6])
elseif had > 0 then
  forget(KEYS[3], KEYS[4], KEYS[5], ARGV[3])
end
return left
""",
)

# Drops one key-set entry whose item expired; the score check keeps an entry that a
# concurrent refresh or put has just renewed.
SWEEP_ITEM = Script(
    "sweep_item",
    _FORGET_LUA
    + VSET_LUA
    + """
local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not score or tonumber(score) > tonumber(ARGV[2]) or redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('ZCARD', KEYS[2])
end
redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('EXISTS', KEYS[6]) == 1 then vdrop(KEYS[6], ARGV[3], 0) end
local left = redis.call('ZCARD', KEYS[2])
if left == 0 then
  redis.call('DEL', KEYS[3], KEYS[4], KEYS[5], KEYS[6])
else
  forget(KEYS[3], KEYS[4], KEYS[5], ARGV[3])
end
return left
""",
)


@dataclass
class PreparedPut:
    """A put or delete checked and encoded before any I/O."""

    namespace: tuple[str, ...]
    nst: str
    key: str
    value_json: str | None  # None: delete
    ttl_ms: int | None = None
    texts: list[tuple[str, str]] = field(default_factory=list)  # (path, text)
    tokens: list[str] = field(default_factory=list)


def prepare_puts(puts: Iterable[PutOp], cfg: VectorConfig | None) -> list[PreparedPut]:
    """Validate and encode puts (JSON, texts to embed); raise before anything is sent."""
    out: list[PreparedPut] = []
    texts: dict[tuple[str, ...], str] = {}  # a batch's items share few namespaces
    for op in puts:
        nst = texts.get(op.namespace) or texts.setdefault(op.namespace, sk.ns_text(op.namespace))
        if op.value is None:
            out.append(PreparedPut(op.namespace, nst, op.key, None))
            continue
        if not isinstance(op.value, Mapping):
            raise TypeError(
                f"store values must be dicts; got {type(op.value).__name__} for "
                f"{op.namespace}/{op.key}"
            )
        where = f"{op.namespace}/{op.key!r}"
        try:
            text = canonical_json(dict(op.value))
        except TypeError as exc:
            raise TypeError(f"value for {where} is not JSON-serializable: {exc}") from exc
        except ValueError as exc:
            if "Out of range float" in str(exc):
                raise ValueError(
                    f"value for {where} holds NaN or Infinity, which JSON cannot represent; "
                    "store such numbers as strings or None"
                ) from exc
            raise ValueError(f"value for {where} cannot be stored as JSON: {exc}") from exc
        try:
            size = len(text.encode())
        except UnicodeEncodeError as exc:
            raise ValueError(f"value for {where} is not valid Unicode text: {exc}") from exc
        if size > MAX_VALUE_BYTES:
            raise ValueError(
                f"value for {where} is {size} bytes of JSON; Redis stores at most "
                f"{MAX_VALUE_BYTES} bytes in one string (512 MB, proto-max-bulk-len)"
            )
        value = json.loads(text)
        ttl_ms = None
        if op.ttl is not None:
            if not isinstance(op.ttl, (int, float)) or op.ttl <= 0 or math.isnan(op.ttl):
                raise ValueError(f"ttl must be a positive number of minutes, got {op.ttl!r}")
            ttl_ms = max(1, int(op.ttl * 60_000))
        prepared = PreparedPut(op.namespace, nst, op.key, text, ttl_ms)
        if cfg is not None and op.index is not False:
            paths = (
                cfg.fields
                if op.index is None
                else tuple((p, "$" if p == "$" else tokenize_path(p)) for p in op.index)
            )
            for path, tokens in paths:
                found = get_text_at_path(value, tokens)
                if len(found) > 1:
                    prepared.texts.extend((f"{path}.{i}", t) for i, t in enumerate(found))
                elif found:
                    prepared.texts.append((path, found[0]))
        if cfg is not None:
            # Items are indexed too (query engine), with or without texts to embed.
            prepared.tokens = value_tokens(value)
        out.append(prepared)
    return out


def check_vectors(vectors: Sequence[Sequence[float]], expected: int, dims: int) -> None:
    """The embedder must return one vector of ``dims`` floats per text."""
    if len(vectors) != expected:
        raise ValueError(f"the embedder returned {len(vectors)} vectors for {expected} texts")
    for v in vectors:
        if len(v) != dims:
            raise ValueError(
                f"the embedder returned a vector of {len(v)} dimensions; the index is "
                f"configured with dims={dims}"
            )


def plan_write(
    prefix: str,
    puts: Sequence[PreparedPut],
    vectors: Sequence[Sequence[float]],
    cfg: VectorConfig | None,
    now_seconds: float,
    *,
    epoch: str,
    cluster: bool = False,
    vset: bool = False,
    tags: bool = False,
) -> Generator[Batch[Any], list[Any], None]:
    """All puts and deletes of a batch in one round trip, plus namespace-index upkeep.

    ``epoch`` is a fresh random token (the caller draws it, so the plan stays
    deterministic): a namespace this batch (re)creates keeps it, and caches keyed by
    (epoch, version) never mistake the new namespace for one they saw.

    ``vset``: this store uses the vector-set engine; its puts create the namespaces'
    vector sets (other writers only keep existing ones in step).

    ``tags``: this store uses the query engine, whose index covers item hashes too; each
    item carries the ``flt`` digests its vectors carry and ``nsi`` (``nsp`` plus
    :data:`ITEM_TAG`) and ``ord`` (:func:`order_key`), so a search without a
    query is one ``FT.SEARCH`` (:mod:`.engines.query`).

    On one server each put's script also adds its namespace to the namespace index, so
    a server at its memory limit refuses both or neither, and only a delete that empties
    a namespace needs upkeep (one more round trip). On a cluster the index lives in
    another slot: puts add to it as a side command, sent first; a put that (re)creates a
    namespace, a refused put and a delete that empties a namespace reconcile the entry
    (see :func:`index_upkeep`; two more round trips).
    """
    ops: list[Op] = []
    side: list[Command] = []
    seen_ns: set[str] = set()
    it = iter(vectors)
    t_us = now_us(now_seconds)
    t_ms = t_us // 1000
    deletes: list[int] = []
    tags_of: dict[str, str] = {}  # a batch's items share few namespaces
    for p in puts:
        zkey, skey, vkey, dkey = ns_keys(prefix, p.nst)
        base = sk.vec_key_base(prefix, p.nst, p.key)
        esc = sk.escape(p.key)
        if p.value_json is None:
            deletes.append(len(ops))
            ikey = sk.item_key(prefix, p.nst, p.key)
            vs = sk.vset_key(prefix, p.nst)
            ops.append(DELETE_ITEM.call((ikey, zkey, skey, vkey, dkey, vs), (base, p.key, esc)))
            continue
        if cluster and p.nst not in seen_ns:
            seen_ns.add(p.nst)
            side.append(("ZADD", sk.ns_index_key(prefix), 0, p.nst))
        vec_args: list[Any] = []
        if cfg is not None:
            for path, _ in p.texts:
                vec_args += [vector_bytes(next(it), cfg.dtype), path]
        expiry = NO_EXPIRY if p.ttl_ms is None else str(t_ms + p.ttl_ms)
        ns_tags = tags_of.get(p.nst) or tags_of.setdefault(p.nst, ns_prefix_tags(p.namespace))
        args = (
            base,
            p.value_json,
            t_us,
            esc,
            "" if p.ttl_ms is None else p.ttl_ms,
            expiry,
            p.key,
            p.nst,
            len(vec_args) // 2,
            ns_tags,
            ",".join(p.tokens),
            *vec_args,
            epoch,  # kept only when this put (re)creates the namespace
            cfg.quantization.upper() if cfg is not None else "NOQUANT",
            "1" if vset and cfg is not None else "",
            "1" if tags and cfg is not None else "",
            order_key(t_us, p.namespace, p.key) if tags and cfg is not None else "",
        )
        item_keys = [
            sk.item_key(prefix, p.nst, p.key),
            zkey,
            skey,
            vkey,
            sk.vset_key(prefix, p.nst),
        ]
        if not cluster:
            item_keys.append(sk.ns_index_key(prefix))
        ops.append(PUT_ITEM.call(item_keys, args))
    if not ops:
        return None
    replies = yield batch(ops, side=side, writes=True)
    changed: dict[str, bool] = {}  # namespace -> holds items after this batch's last change
    if cluster:
        # The index entry went first, on another node; a put refused after it (a node at
        # its memory limit) must not leave it naming an empty namespace. Only empty ones:
        # a refused update of a namespace that holds items keeps its entry.
        refused = sorted(
            {
                puts[i].nst
                for i, r in enumerate(replies)
                if isinstance(r, BaseException) and puts[i].value_json is not None
            }
        )
        if refused:
            held = yield batch([("EXISTS", sk.keys_key(prefix, n)) for n in refused])
            check(held)
            empty = {n: False for n, h in zip(refused, held, strict=True) if not int(h)}
            if empty:
                yield from index_upkeep(prefix, empty, ordered=False)
    check(replies)
    # One op per put, in order, so op i belongs to puts[i].
    dropped = set(deletes)
    for i, p in enumerate(puts):
        if i in dropped:
            if int(replies[i]) == 0:
                changed[p.nst] = False
        elif cluster and int(replies[i]) == 1:
            # On one server the put's own script indexed its namespace.
            changed[p.nst] = True
    if changed:
        yield from index_upkeep(prefix, changed, ordered=not cluster)
    return None


def index_upkeep(
    prefix: str, changed: Mapping[str, bool], ordered: bool
) -> Generator[Batch[Any], list[Any], None]:
    """Make the namespace index agree with namespaces a write just created (True) or
    emptied (False), whatever interleaving of writers (processes, cluster nodes) runs.

    The index lives in another slot than the namespaces, so no script changes both, and
    a writer that emptied a namespace cannot tell a put that is still on its way (whose
    side ``ZADD``, sent first so a crashed writer never leaves items unindexed, it would
    remove). So each writer that changed whether a namespace holds items reconciles:
    it adds or removes the entry, *then* checks the key set, and repeats while the two
    disagree. The last write to an entry is followed by a check that agreed with it, and
    any later change to the namespace is followed by its own writer's reconciliation,
    so when writers stop the index names exactly the namespaces that hold items.

    ``ordered``: one pipeline runs its commands in order (a standalone server), so the
    write and its check share a round trip; on a cluster each node's part of a pipeline
    runs concurrently, so the check goes in the next one.
    """
    idx = sk.ns_index_key(prefix)
    pending = dict(changed)
    while pending:
        nsts = sorted(pending)
        writes: list[Op] = [("ZADD", idx, 0, n) if pending[n] else ("ZREM", idx, n) for n in nsts]
        checks: list[Op] = [("EXISTS", sk.keys_key(prefix, n)) for n in nsts]
        if ordered:
            replies = yield batch(writes + checks)
            written, found = replies[: len(writes)], replies[len(writes) :]
        else:
            written = yield batch(writes)
            found = yield batch(checks)
        check(found)
        refused = [n for n, r in zip(nsts, written, strict=True) if isinstance(r, BaseException)]
        if refused:
            # A server at its memory limit refuses ZADD even for a member already there
            # (the put's own side ZADD, sent first, usually is): an entry that is present
            # is what the write wanted; any other failure is the caller's error.
            scores = yield batch([("ZSCORE", idx, n) for n in refused])
            for n, score in zip(refused, scores, strict=True):
                if not (pending[n] and score is not None and not isinstance(score, BaseException)):
                    check([r for r in written if isinstance(r, BaseException)])
        pending = {
            n: bool(int(r)) for n, r in zip(nsts, found, strict=True) if bool(int(r)) != pending[n]
        }
    return None


SCRIPTS = (PUT_ITEM, DELETE_ITEM, REFRESH_ITEM, SWEEP_ITEM)
"""The item write scripts: every engine loads them at setup."""
