"""Store plans shared by every engine: writes, gets, namespace listing, TTL, caching.

Both engines read and write the same HASH layout (:mod:`langgraph_redis._core.store_keys`),
so one data set serves the plain engine and the query engine without migration; the
engines differ only in how ``search`` finds candidates (:mod:`.plain`, :mod:`.query`).

Invariants:

* every write to one item is one script on the namespace's slot (item, vectors, key
  set, stamps and version counter change together); the namespace index is updated by
  idempotent side commands;
* a namespace's version counter changes on every put or delete in it, and starts from a
  random base when the namespace is (re)created, so a cache keyed by version never
  mistakes a recreated namespace for the one it saw;
* nothing here performs I/O: plans yield batches and read their replies.
"""

from __future__ import annotations

import json
import math
import secrets
import uuid
from collections.abc import Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

import numpy as np
from langgraph.store.base import (
    GetOp,
    Item,
    ListNamespacesOp,
    MatchCondition,
    PutOp,
    SearchItem,
    get_text_at_path,
    tokenize_path,
)

from langgraph_redis._core import store_keys as sk
from langgraph_redis._core.filters import CompiledFilter, canonical_json, value_tokens
from langgraph_redis._core.plans import Batch, Command, Op, Script, batch, check

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
NO_EXPIRY = "+inf"
ITEM_FIELDS = ("value", "ca", "ua", "nv", "ttl")

DistanceType = Literal["cosine", "l2", "inner_product"]


# --------------------------------------------------------------------------- config


@dataclass(frozen=True)
class VectorConfig:
    """Vector settings; everything that shapes stored bytes or the FT index."""

    dims: int
    vector_type: Literal["vector", "halfvec"] = "vector"
    distance: DistanceType = "cosine"
    algorithm: Literal["hnsw", "flat"] = "hnsw"
    m: int = 16
    ef_construction: int = 200
    ef_runtime: int = 10
    fields: tuple[tuple[str, Any], ...] = (("$", "$"),)

    @property
    def dtype(self) -> type[np.floating[Any]]:
        return np.float16 if self.vector_type == "halfvec" else np.float32

    def fingerprint(self) -> str:
        """What must agree between a store and the data it opens."""
        return json.dumps(
            {
                "dims": self.dims,
                "vector_type": self.vector_type,
                "distance_type": self.distance,
                "algorithm": self.algorithm,
            },
            sort_keys=True,
        )


def vector_config(index: Mapping[str, Any]) -> VectorConfig:
    """Validate a LangGraph ``IndexConfig`` (plus ``ann_index_config``)."""
    dims = index.get("dims")
    if not isinstance(dims, int) or isinstance(dims, bool) or dims <= 0:
        raise ValueError(f"index config needs a positive integer 'dims', got {dims!r}")
    ann = dict(index.get("ann_index_config") or {})
    vtype = ann.get("vector_type", "vector")
    if vtype not in ("vector", "halfvec"):
        raise ValueError(
            f"ann_index_config.vector_type must be 'vector' or 'halfvec', got {vtype!r}"
        )
    algo = str(ann.get("algorithm", ann.get("kind", "hnsw"))).lower()
    if algo not in ("hnsw", "flat"):
        raise ValueError(f"ann_index_config.algorithm must be 'hnsw' or 'flat', got {algo!r}")
    dist = index.get("distance_type", "cosine")
    if dist not in ("cosine", "l2", "inner_product"):
        raise ValueError(f"distance_type must be 'cosine', 'l2' or 'inner_product', got {dist!r}")
    fields = index.get("fields") or ["$"]
    if isinstance(fields, str):
        fields = [fields]
    tokenized = tuple((p, "$" if p == "$" else tokenize_path(p)) for p in fields)
    return VectorConfig(
        dims=dims,
        vector_type=vtype,
        distance=dist,
        algorithm=algo,  # type: ignore[arg-type]
        m=int(ann.get("m", 16)),
        ef_construction=int(ann.get("ef_construction", 200)),
        ef_runtime=int(ann.get("ef_runtime") or ann.get("ef_search") or 10),
        fields=tokenized,
    )


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def plan_check_config(prefix: str, cfg: VectorConfig) -> Batch[None]:
    """Record the vector settings once; refuse data written with other settings."""
    mine = cfg.fingerprint()

    def decode(replies: list[Any]) -> None:
        check(replies)
        stored = replies[1]
        if stored is not None and _text(stored) != mine:
            raise ValueError(
                f"store prefix {prefix!r} holds vectors written with {_text(stored)}, "
                f"but this store is configured with {mine}; use another prefix or the "
                "same index settings"
            )

    key = sk.config_key(prefix)
    return batch([("SET", key, mine, "NX"), ("GET", key)], decode)


# --------------------------------------------------------------------------- time


def now_us(seconds: float) -> int:
    return int(seconds * 1_000_000)


def to_datetime(us: Any) -> datetime:
    return EPOCH + timedelta(microseconds=int(_text(us)))


# --------------------------------------------------------------------------- writes

PUT_ITEM = Script(
    "put_item",
    """
local old = tonumber(redis.call('HGET', KEYS[1], 'nv') or '0') or 0
local nv = tonumber(ARGV[9])
for i = nv, old - 1 do redis.call('DEL', ARGV[1] .. i) end
redis.call('HSET', KEYS[1], 'value', ARGV[2], 'ua', ARGV[3], 'nv', nv, 'ns', ARGV[8], 'key', ARGV[7])
redis.call('HSETNX', KEYS[1], 'ca', ARGV[3])
if ARGV[5] == '' then
  redis.call('HDEL', KEYS[1], 'ttl')
  redis.call('PERSIST', KEYS[1])
else
  redis.call('HSET', KEYS[1], 'ttl', ARGV[5])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
end
for i = 0, nv - 1 do
  local vk = ARGV[1] .. i
  redis.call('DEL', vk)
  local f = {'vec', ARGV[12 + 2 * i], 'path', ARGV[13 + 2 * i], 'nsp', ARGV[10], 'ns', ARGV[8], 'key', ARGV[7]}
  if ARGV[11] ~= '' then table.insert(f, 'flt'); table.insert(f, ARGV[11]) end
  redis.call('HSET', vk, unpack(f))
  if ARGV[5] ~= '' then redis.call('PEXPIRE', vk, ARGV[5]) end
end
redis.call('ZADD', KEYS[2], ARGV[6], ARGV[7])
redis.call('HSET', KEYS[3], ARGV[7], ARGV[4])
if redis.call('EXISTS', KEYS[4]) == 0 then redis.call('SET', KEYS[4], ARGV[12 + 2 * nv]) end
return redis.call('INCR', KEYS[4])
""",
)

DELETE_ITEM = Script(
    "delete_item",
    """
local old = tonumber(redis.call('HGET', KEYS[1], 'nv') or '0') or 0
for i = 0, old - 1 do redis.call('DEL', ARGV[1] .. i) end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('HDEL', KEYS[3], ARGV[2])
local left = redis.call('ZCARD', KEYS[2])
if left == 0 then redis.call('DEL', KEYS[3], KEYS[4]) else redis.call('INCR', KEYS[4]) end
return left
""",
)

REFRESH_ITEM = Script(
    "refresh_item",
    """
local ttl = redis.call('HGET', KEYS[1], 'ttl')
if not ttl then return 0 end
local nv = tonumber(redis.call('HGET', KEYS[1], 'nv') or '0') or 0
redis.call('PEXPIRE', KEYS[1], ttl)
for i = 0, nv - 1 do redis.call('PEXPIRE', ARGV[1] .. i, ttl) end
redis.call('ZADD', KEYS[2], 'XX', tonumber(ARGV[3]) + tonumber(ttl), ARGV[2])
return 1
""",
)

# Drops one key-set entry whose item expired; the score check keeps an entry that a
# concurrent refresh or put has just renewed.
SWEEP_ITEM = Script(
    "sweep_item",
    """
local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not score or tonumber(score) > tonumber(ARGV[2]) or redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('ZCARD', KEYS[2])
end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
local left = redis.call('ZCARD', KEYS[2])
if left == 0 then redis.call('DEL', KEYS[3], KEYS[4]) else redis.call('INCR', KEYS[4]) end
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
    for op in puts:
        nst = sk.ns_text(op.namespace)
        if op.value is None:
            out.append(PreparedPut(op.namespace, nst, op.key, None))
            continue
        if not isinstance(op.value, Mapping):
            raise TypeError(
                f"store values must be dicts; got {type(op.value).__name__} for "
                f"{op.namespace}/{op.key}"
            )
        try:
            text = canonical_json(dict(op.value))
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"value for {op.namespace}/{op.key!r} is not JSON-serializable: {exc}"
            ) from exc
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
            if prepared.texts:
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


def ns_digest(nst: str) -> str:
    """TAG value standing for one namespace prefix (hex, so no query escaping)."""
    import hashlib

    return hashlib.blake2b(b"ns\x00" + nst.encode(), digest_size=8).hexdigest()


def ns_prefix_tags(namespace: tuple[str, ...]) -> str:
    return ",".join(ns_digest(sk.ns_text(namespace[: i + 1])) for i in range(len(namespace)))


def plan_write(
    prefix: str,
    puts: Sequence[PreparedPut],
    vectors: Sequence[Sequence[float]],
    cfg: VectorConfig | None,
    now_seconds: float,
) -> Generator[Batch[Any], list[Any], None]:
    """All puts and deletes of a batch in one round trip (plus cleanup when a namespace
    empties: its index entry is removed, then re-added if a concurrent put refilled it).
    """
    ops: list[Op] = []
    side: list[Command] = []
    seen_ns: set[str] = set()
    it = iter(vectors)
    t_us = now_us(now_seconds)
    t_ms = t_us // 1000
    deletes: list[int] = []
    for p in puts:
        keys = (
            sk.item_key(prefix, p.nst, p.key),
            sk.keys_key(prefix, p.nst),
            sk.stamps_key(prefix, p.nst),
            sk.version_key(prefix, p.nst),
        )
        base = sk.vec_key_base(prefix, p.nst, p.key)
        if p.value_json is None:
            deletes.append(len(ops))
            ops.append(DELETE_ITEM.call(keys, (base, p.key)))
            continue
        if p.nst not in seen_ns:
            seen_ns.add(p.nst)
            side.append(("ZADD", sk.ns_index_key(prefix), 0, p.nst))
        vec_args: list[Any] = []
        if cfg is not None:
            for path, _ in p.texts:
                arr = np.asarray(next(it), dtype=cfg.dtype)
                vec_args += [arr.tobytes(), path]
        expiry = NO_EXPIRY if p.ttl_ms is None else str(t_ms + p.ttl_ms)
        args = (
            base,
            p.value_json,
            t_us,
            uuid.uuid4().hex,
            "" if p.ttl_ms is None else p.ttl_ms,
            expiry,
            p.key,
            p.nst,
            len(vec_args) // 2,
            ns_prefix_tags(p.namespace),
            ",".join(p.tokens),
            *vec_args,
            secrets.randbits(52) * 1024,  # version base for a (re)created namespace
        )
        ops.append(PUT_ITEM.call(keys, args))
    if not ops:
        return None
    replies = yield batch(ops, side=side)
    check(replies)
    # One op per put, in order, so op i belongs to puts[i].
    emptied = [puts[i].nst for i in deletes if int(replies[i]) == 0]
    if emptied:
        yield from _drop_empty_namespaces(prefix, sorted(set(emptied)))
    return None


def _drop_empty_namespaces(
    prefix: str, nsts: Sequence[str]
) -> Generator[Batch[Any], list[Any], None]:
    idx = sk.ns_index_key(prefix)
    replies = yield batch(
        [("ZREM", idx, n) for n in nsts] + [("EXISTS", sk.keys_key(prefix, n)) for n in nsts]
    )
    check(replies)
    refilled = [n for n, r in zip(nsts, replies[len(nsts) :], strict=False) if int(r)]
    if refilled:
        check((yield batch([("ZADD", idx, 0, n) for n in refilled])))


# --------------------------------------------------------------------------- reads


def decode_item(namespace: tuple[str, ...], key: str, fields: Sequence[Any]) -> Item | None:
    if not fields or fields[0] is None:
        return None
    return Item(
        value=json.loads(fields[0]),
        key=key,
        namespace=namespace,
        created_at=to_datetime(fields[1] if fields[1] is not None else fields[2]),
        updated_at=to_datetime(fields[2]),
    )


def refresh_command(prefix: str, namespace: tuple[str, ...], key: str, now_ms: int) -> Op:
    nst = sk.ns_text(namespace)
    return REFRESH_ITEM.call(
        (sk.item_key(prefix, nst, key), sk.keys_key(prefix, nst)),
        (sk.vec_key_base(prefix, nst, key), key, now_ms),
    )


def plan_get(prefix: str, ops: Sequence[GetOp], now_ms: int) -> Batch[list[Item | None]]:
    """One round trip for every get of a batch; TTL refresh rides along."""
    cmds: list[Op] = []
    slots: list[int] = []
    for op in ops:
        nst = sk.ns_text(op.namespace)
        slots.append(len(cmds))
        cmds.append(("HMGET", sk.item_key(prefix, nst, op.key), "value", "ca", "ua"))
        if op.refresh_ttl:
            cmds.append(refresh_command(prefix, op.namespace, op.key, now_ms))

    def decode(replies: list[Any]) -> list[Item | None]:
        check(replies)
        return [
            decode_item(op.namespace, op.key, replies[i]) for op, i in zip(ops, slots, strict=False)
        ]

    return batch(cmds, decode)


def plan_refresh(
    prefix: str, items: Sequence[tuple[tuple[str, ...], str]], now_ms: int
) -> Batch[None]:
    def decode(replies: list[Any]) -> None:
        check(replies)

    return batch([refresh_command(prefix, ns, k, now_ms) for ns, k in items], decode)


def _does_match(cond: MatchCondition, ns: tuple[str, ...]) -> bool:
    path = tuple(cond.path)
    if len(ns) < len(path):
        return False
    pairs = (
        zip(ns, path, strict=False)
        if cond.match_type == "prefix"
        else zip(reversed(ns), reversed(path), strict=False)
    )
    if cond.match_type not in ("prefix", "suffix"):
        raise ValueError(f"unsupported match type: {cond.match_type}")
    return all(p == "*" or n == p for n, p in pairs)


def _fixed_prefix(op: ListNamespacesOp) -> tuple[str, ...]:
    """The longest wildcard-free leading labels every result must start with."""
    best: tuple[str, ...] = ()
    for cond in op.match_conditions or ():
        if cond.match_type == "prefix":
            fixed: list[str] = []
            for label in cond.path:
                if label == "*":
                    break
                fixed.append(label)
            if len(fixed) > len(best):
                best = tuple(fixed)
    return best


def plan_list_namespaces(prefix: str, op: ListNamespacesOp) -> Batch[list[tuple[str, ...]]]:
    """One round trip: a lex range of the namespace index, matched exactly here."""
    fixed = sk.ns_text(_fixed_prefix(op))
    lo, hi = sk.ns_lex_range(fixed)

    def decode(replies: list[Any]) -> list[tuple[str, ...]]:
        check(replies)
        found: list[tuple[str, ...]] = []
        for raw in replies[0]:
            nst = _text(raw)
            if not sk.is_under(nst, fixed):
                continue
            ns = sk.ns_from_text(nst)
            if all(_does_match(c, ns) for c in op.match_conditions or ()):
                found.append(ns)
        if op.max_depth is not None:
            result = sorted({ns[: op.max_depth] for ns in found})
        else:
            result = sorted(found)
        return result[op.offset : op.offset + op.limit]

    return batch([("ZRANGE", sk.ns_index_key(prefix), lo, hi, "BYLEX")], decode)


# --------------------------------------------------------------------------- snapshots


@dataclass
class ItemRec:
    value: dict[str, Any]
    ca: int
    ua: int
    nv: int
    vectors: np.ndarray[Any, Any] | None  # (n, dims) float32, when loaded


@dataclass
class NsSnapshot:
    """One namespace as last read: items, stamps, expiries and a vector matrix."""

    namespace: tuple[str, ...]
    version: bytes | None = None
    items: dict[str, ItemRec] = field(default_factory=dict)
    stamps: dict[str, bytes] = field(default_factory=dict)
    expiry: dict[str, float] = field(default_factory=dict)
    matrix: np.ndarray[Any, Any] | None = None  # rows: vectors; (n, dims) float32
    owners: list[str] = field(default_factory=list)  # row -> item key
    sq_norms: np.ndarray[Any, Any] | None = None
    min_expiry: float = math.inf

    def rebuild(self) -> None:
        rows: list[np.ndarray[Any, Any]] = []
        owners: list[str] = []
        for key, rec in self.items.items():
            if rec.vectors is not None and len(rec.vectors):
                rows.append(rec.vectors)
                owners.extend([key] * len(rec.vectors))
        if rows:
            self.matrix = np.ascontiguousarray(np.vstack(rows), dtype=np.float32)
            self.sq_norms = np.einsum("ij,ij->i", self.matrix, self.matrix)
        else:
            self.matrix, self.sq_norms = None, None
        self.owners = owners
        self.min_expiry = min(self.expiry.values(), default=math.inf)


StoreCache = dict[str, NsSnapshot]


def _score(raw: Any) -> float:
    text = _text(raw)
    return math.inf if text in ("inf", "+inf") else float(text)


def plan_snapshots(
    prefix: str,
    cache: StoreCache,
    namespace_prefix: tuple[str, ...],
    cfg: VectorConfig | None,
    now_ms: int,
) -> Generator[Batch[Any], list[Any], list[NsSnapshot]]:
    """Fresh snapshots of every namespace under ``namespace_prefix``.

    Round trips: one when nothing changed (index range plus version counters); when a
    namespace changed, one more for its stamps and key set, one for the changed items,
    and one for their vectors. Only items whose write stamp changed are re-read.
    """
    pnst = sk.ns_text(namespace_prefix)
    lo, hi = sk.ns_lex_range(pnst)
    known = [n for n in cache if sk.is_under(n, pnst)]
    replies = yield batch(
        [("ZRANGE", sk.ns_index_key(prefix), lo, hi, "BYLEX")]
        + [("GET", sk.version_key(prefix, n)) for n in known]
    )
    check(replies)
    present = [n for n in (_text(r) for r in replies[0]) if sk.is_under(n, pnst)]
    versions = dict(zip(known, replies[1:], strict=False))
    for n in known:
        if n not in present:
            del cache[n]
    stale = [
        n
        for n in present
        if n not in cache
        or versions.get(n) is None
        or versions[n] != cache[n].version
        or cache[n].min_expiry <= now_ms
    ]
    if stale:
        yield from _reload(prefix, cache, stale, cfg, now_ms)
    return [cache[n] for n in present if n in cache]


def _reload(
    prefix: str, cache: StoreCache, nsts: Sequence[str], cfg: VectorConfig | None, now_ms: int
) -> Generator[Batch[Any], list[Any], None]:
    cmds: list[Command] = []
    for n in nsts:
        # The version is read first: a write landing between these reads leaves the
        # snapshot tagged with an older version, so the next search reloads again.
        cmds += [
            ("GET", sk.version_key(prefix, n)),
            ("HGETALL", sk.stamps_key(prefix, n)),
            ("ZRANGE", sk.keys_key(prefix, n), 0, -1, "WITHSCORES"),
        ]
    replies = yield batch(cmds)
    check(replies)
    fetch: list[tuple[str, str]] = []
    for i, n in enumerate(nsts):
        version, stamps_raw, zraw = replies[3 * i : 3 * i + 3]
        snap = cache.get(n) or NsSnapshot(sk.ns_from_text(n))
        cache[n] = snap
        stamps = {_text(k): bytes(v) for k, v in _pairs(stamps_raw)}
        # Entries already past their expiry wait for the sweeper; they are not items.
        expiry = {_text(k): e for k, s in _pairs(zraw) if (e := _score(s)) > now_ms}
        for key in list(snap.items):
            if key not in stamps or key not in expiry:
                del snap.items[key]
        for key, stamp in stamps.items():
            if key in expiry and (key not in snap.items or snap.stamps.get(key) != stamp):
                fetch.append((n, key))
        snap.version = version
        snap.stamps = {k: v for k, v in stamps.items() if k in expiry}
        snap.expiry = {k: v for k, v in expiry.items() if k in stamps}
    if fetch:
        replies = yield batch(
            [("HMGET", sk.item_key(prefix, n, k), *ITEM_FIELDS) for n, k in fetch]
        )
        check(replies)
        want_vecs: list[tuple[str, str, int]] = []
        for (n, key), fields in zip(fetch, replies, strict=False):
            snap = cache[n]
            if fields[0] is None:  # expired or deleted since the key set was read
                snap.items.pop(key, None)
                snap.stamps.pop(key, None)
                snap.expiry.pop(key, None)
                continue
            nv = int(fields[3] or 0)
            snap.items[key] = ItemRec(
                json.loads(fields[0]),
                int(fields[1] or fields[2]),
                int(fields[2]),
                nv,
                None,
            )
            if cfg is not None:
                want_vecs.extend((n, key, j) for j in range(nv))
        if want_vecs:
            replies = yield batch(
                [("HGET", sk.vec_key_base(prefix, n, k) + str(j), "vec") for n, k, j in want_vecs]
            )
            check(replies)
            grouped: dict[tuple[str, str], list[np.ndarray[Any, Any]]] = {}
            assert cfg is not None
            for (n, k, _), raw in zip(want_vecs, replies, strict=False):
                if raw is None:
                    continue
                vec = np.frombuffer(raw, dtype=cfg.dtype).astype(np.float32)
                if vec.shape[0] == cfg.dims:
                    grouped.setdefault((n, k), []).append(vec)
            for (n, k), vecs in grouped.items():
                rec = cache[n].items.get(k)
                if rec is not None:
                    rec.vectors = np.vstack(vecs)
    for n in nsts:
        cache[n].rebuild()


def _pairs(raw: Any) -> list[tuple[Any, Any]]:
    if isinstance(raw, dict):
        return list(raw.items())
    if raw and isinstance(raw[0], (list, tuple)):
        return [(a, b) for a, b in raw]
    return list(zip(raw[::2], raw[1::2], strict=False))


def snapshot_items(
    snaps: Sequence[NsSnapshot], flt: CompiledFilter, now_ms: int
) -> list[tuple[NsSnapshot, str, ItemRec]]:
    """Live items passing the filter, newest update first (then namespace, key)."""
    out = [
        (s, k, rec)
        for s in snaps
        for k, rec in s.items.items()
        if s.expiry.get(k, math.inf) > now_ms and (flt.empty or flt.matches(rec.value))
    ]
    out.sort(key=lambda t: (-t[2].ua, t[0].namespace, t[1]))
    return out


def to_search_item(
    snap_ns: tuple[str, ...], key: str, rec: ItemRec, score: float | None
) -> SearchItem:
    return SearchItem(
        namespace=snap_ns,
        key=key,
        value=rec.value,
        created_at=to_datetime(rec.ca),
        updated_at=to_datetime(rec.ua),
        score=score,
    )


def plan_sweep(prefix: str, now_ms: int) -> Generator[Batch[Any], list[Any], int]:
    """Remove key-set entries of expired items; drop namespaces left empty.

    Three round trips plus one per emptied batch of namespaces; returns entries removed.
    """
    replies = yield batch([("ZRANGE", sk.ns_index_key(prefix), "-", "+", "BYLEX")])
    check(replies)
    nsts = [_text(r) for r in replies[0]]
    if not nsts:
        return 0
    replies = yield batch(
        [("ZRANGE", sk.keys_key(prefix, n), "-inf", now_ms, "BYSCORE") for n in nsts]
        + [("EXISTS", sk.keys_key(prefix, n)) for n in nsts]
    )
    check(replies)
    cmds: list[Op] = []
    owners: list[str] = []
    empty = [n for n, e in zip(nsts, replies[len(nsts) :], strict=False) if not int(e)]
    for n, expired in zip(nsts, replies[: len(nsts)], strict=False):
        for raw in expired:
            key = _text(raw)
            cmds.append(
                SWEEP_ITEM.call(
                    (
                        sk.item_key(prefix, n, key),
                        sk.keys_key(prefix, n),
                        sk.stamps_key(prefix, n),
                        sk.version_key(prefix, n),
                    ),
                    (key, now_ms),
                )
            )
            owners.append(n)
    removed = 0
    if cmds:
        replies = yield batch(cmds)
        check(replies)
        removed = len(cmds)
        empty += [n for n, left in zip(owners, replies, strict=False) if int(left) == 0]
    if empty:
        yield from _drop_empty_namespaces(prefix, sorted(set(empty)))
    return removed
