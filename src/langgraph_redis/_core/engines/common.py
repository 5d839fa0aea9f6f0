"""Store plans shared by every engine: writes, gets, namespace listing, TTL, caching.

Both engines read and write the same HASH layout (:mod:`langgraph_redis._core.store_keys`),
so one data set serves the plain engine and the query engine without migration; the
engines differ only in how ``search`` finds candidates (:mod:`.plain`, :mod:`.query`).

Invariants:

* every write to one item is one script on the namespace's slot (item, vectors, key
  set, stamps and version counter change together); the namespace index is updated by
  idempotent side commands, and reconciled by the writer whenever a namespace is
  created or emptied, so concurrent writers never leave it missing a namespace that
  holds items (or naming one that does not);
* a namespace's version counter changes on every put or delete in it, and starts from a
  random base when the namespace is (re)created, so a cache keyed by version never
  mistakes a recreated namespace for the one it saw;
* nothing here performs I/O: plans yield batches and read their replies.
"""

from __future__ import annotations

import heapq
import json
import logging
import math
import secrets
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

import numpy as np
from langgraph.store.base import (
    GetOp,
    InvalidNamespaceError,
    Item,
    ListNamespacesOp,
    MatchCondition,
    PutOp,
    SearchItem,
    SearchOp,
    get_text_at_path,
    tokenize_path,
    validate_op_namespace,
)

from langgraph_redis._core import store_keys as sk
from langgraph_redis._core.filters import CompiledFilter, canonical_json, value_tokens
from langgraph_redis._core.plans import Batch, Command, Op, Plan, Script, batch, check
from langgraph_redis._core.serde import CorruptDataError, UnsupportedFormatError

logger = logging.getLogger("langgraph_redis")

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
NO_EXPIRY = "+inf"

ITEM_FORMAT = "1"
"""``fmt`` field of every item hash; an item from a newer format is refused, not misread."""

MAX_VALUE_BYTES = 512 * 1024 * 1024
"""Largest JSON text one item may hold: Redis' limit for one string (``proto-max-bulk-len``)."""

DistanceType = Literal["cosine", "l2", "inner_product"]


# --------------------------------------------------------------------------- ops


def validate_op(op: object) -> None:
    """Refuse an operation the store cannot run, before anything is sent or embedded.

    Namespaces are tuples of labels. A string is a sequence too, so LangGraph's own
    checks accept ``store.put("memories", ...)`` and the namespace would silently become
    ``("m", "e", "m", ...)``, one label per character; here it is a ``TypeError`` that
    shows the tuple to write instead.

    Raises:
        TypeError: A namespace (or a ``list_namespaces`` prefix/suffix) given as a string.
        InvalidNamespaceError: An empty, non-string or dotted label; an empty namespace
            on a put.
        ValueError: Not a store operation.
    """
    if isinstance(op, (GetOp, PutOp)):
        _tuple_namespace(op.namespace, "namespace")
    elif isinstance(op, SearchOp):
        _tuple_namespace(op.namespace_prefix, "namespace_prefix")
    elif isinstance(op, ListNamespacesOp):
        for condition in op.match_conditions or ():
            _tuple_namespace(condition.path, str(condition.match_type))
    else:
        raise ValueError(f"Unknown operation type: {type(op)}")
    validate_op_namespace(op)
    if isinstance(op, PutOp) and not op.namespace:
        raise InvalidNamespaceError("Namespace cannot be empty.")
    if isinstance(op, (GetOp, PutOp)) and any("\0" in label for label in op.namespace):
        # Newer LangGraph refuses NUL in labels itself; older releases (our floor) do not,
        # and a NUL cannot round-trip through every store engine's index.
        raise InvalidNamespaceError(f"Namespace labels cannot contain NUL: {op.namespace!r}")


def _tuple_namespace(value: object, what: str) -> None:
    if isinstance(value, (str, bytes)):
        text = value.decode(errors="replace") if isinstance(value, bytes) else value
        raise TypeError(
            f"{what} must be a tuple of strings, got the string {text!r}: write "
            f"{(text,)!r} (a string would be split into one label per character)"
        )


# --------------------------------------------------------------------------- config


@dataclass(frozen=True)
class VectorConfig:
    """Vector settings; everything that shapes stored bytes or the FT index."""

    dims: int
    vector_type: Literal["vector", "halfvec"] = "vector"
    distance: DistanceType = "cosine"
    algorithm: Literal["hnsw", "flat"] = "flat"
    m: int = 16
    ef_construction: int = 200
    ef_runtime: int = 10
    fields: tuple[tuple[str, Any], ...] = (("$", "$"),)
    algorithm_given: bool = True
    """False when ``algorithm`` is the default: data recorded with another algorithm
    (HNSW, the default of earlier releases) then keeps it (:func:`plan_check_config`)."""

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
    # FLAT by default: exact, and it indexes a write ~10x faster than HNSW (which the
    # query engine builds at insertion: 1,536 dims, M 16, EF_CONSTRUCTION 200); see
    # docs/engines.md for the measured trade-off and when to choose HNSW.
    given = "algorithm" in ann or "kind" in ann
    algo = str(ann.get("algorithm", ann.get("kind", "flat"))).lower()
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
        algorithm_given=given,
    )


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def plan_check_config(prefix: str, cfg: VectorConfig) -> Batch[VectorConfig]:
    """Record the vector settings once; refuse data written with other settings.

    Returns the settings to use: ``cfg``, or, when the algorithm was left to the default
    and the data was recorded with the other one (HNSW, the default before FLAT), ``cfg``
    with the recorded algorithm, so upgrading never orphans an existing store.
    """
    mine = cfg.fingerprint()

    def decode(replies: list[Any]) -> VectorConfig:
        check(replies)
        stored = replies[1]
        if stored is None or _text(stored) == mine:
            return cfg
        if not cfg.algorithm_given:
            try:
                recorded = json.loads(_text(stored))
            except ValueError:
                recorded = None
            algo = recorded.get("algorithm") if isinstance(recorded, dict) else None
            if algo in ("hnsw", "flat"):
                adopted = replace(cfg, algorithm=algo)
                if adopted.fingerprint() == _text(stored):
                    return adopted
        raise ValueError(
            f"store prefix {prefix!r} holds vectors written with {_text(stored)}, "
            f"but this store is configured with {mine}; use another prefix or the "
            "same index settings"
        )

    key = sk.config_key(prefix)
    return batch([("SET", key, mine, "NX"), ("GET", key)], decode)


def choose_engine(choice: str, search: bool, cluster: bool, db: int = 0) -> tuple[str, str]:
    """Which engine a store uses, and why (the reason is logged once at setup).

    On Redis Cluster the query engine is never used: an OSS cluster has no search
    coordinator, so ``FT.SEARCH`` on one node sees only that node's slots and would
    silently miss the items stored on the other masters. The plain engine reads the
    namespace index and routes one command per namespace to its owner instead.

    In a database other than 0 the query engine is not used either: Redis Stack creates
    FT indexes only in db 0 ("Cannot create index on db != 0"), and an index name is
    global, so a store in db N would search db 0's index and read db N's keys by its
    document ids (another database's data, or none).

    Raises:
        RuntimeError: ``choice="query"`` on a standalone server without ``FT.*``, or on
            a database other than 0.
    """
    if cluster:
        if choice == "query":
            return "plain", (
                "engine='query' ignored: Redis Cluster has no search coordinator, so FT.SEARCH "
                "would only see one shard; using the plain engine"
            )
        why = "has FT.* per shard but no coordinator" if search else "no query engine"
        return "plain", f"Redis Cluster ({why}): plain engine"
    if choice == "query" and not search:
        raise RuntimeError(
            "engine='query' needs a server with a query engine (FT.*); this one "
            "has none. Use engine='plain' or 'auto'."
        )
    if choice == "plain":
        return "plain", "plain engine requested"
    if search and db != 0:
        if choice == "query":
            raise RuntimeError(
                f"engine='query' needs database 0: the query engine keeps its indexes in "
                f"db 0 only, and this store uses db {db}. Use engine='auto' or 'plain' "
                "(exact search on any database), or database 0."
            )
        return "plain", f"query engine indexes exist only in db 0, this store uses db {db}"
    if search:
        return "query", "query engine (FT.*) available"
    return "plain", "no query engine"


# --------------------------------------------------------------------------- time


def now_us(seconds: float) -> int:
    return int(seconds * 1_000_000)


def to_datetime(us: Any) -> datetime:
    return EPOCH + timedelta(microseconds=int(_text(us)))


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

# Returns 1 when this put (re)created the namespace (it held no item before), else 0.
PUT_ITEM = Script(
    "put_item",
    """
local old = tonumber(redis.call('HGET', KEYS[1], 'nv') or '0') or 0
local nv = tonumber(ARGV[9])
-- HSET first: the server refuses it at its memory limit before anything is written (a
-- leading DEL would be allowed, and the rest of the script would then run unchecked).
redis.call('HSET', KEYS[1], 'value', ARGV[2], 'ua', ARGV[3], 'nv', nv, 'ns', ARGV[8], 'key', ARGV[7],
           'fmt', '"""
    + ITEM_FORMAT
    + """')
for i = nv, old - 1 do redis.call('DEL', ARGV[1] .. i) end
-- KEYS[5], on one server only: the namespace index, so it changes with the item
if KEYS[5] then redis.call('ZADD', KEYS[5], 0, ARGV[8]) end
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
local ver = redis.call('HINCRBY', KEYS[4], 'v', 1)
local created = redis.call('HSETNX', KEYS[4], 'e', ARGV[12 + 2 * nv])
redis.call('ZADD', KEYS[3], ver, ARGV[4])
return created
""",
)

DELETE_ITEM = Script(
    "delete_item",
    _FORGET_LUA
    + """
local old = tonumber(redis.call('HGET', KEYS[1], 'nv') or '0') or 0
for i = 0, old - 1 do redis.call('DEL', ARGV[1] .. i) end
local had = redis.call('DEL', KEYS[1]) + redis.call('ZREM', KEYS[2], ARGV[2])
local left = redis.call('ZCARD', KEYS[2])
if left == 0 then
  redis.call('DEL', KEYS[3], KEYS[4], KEYS[5])
elseif had > 0 then
  forget(KEYS[3], KEYS[4], KEYS[5], ARGV[3])
end
return left
""",
)

REFRESH_ITEM = Script(
    "refresh_item",
    """
local ttl = redis.pcall('HGET', KEYS[1], 'ttl')
if type(ttl) ~= 'string' then return 0 end
if not string.match(ttl, '^%d+$') then return -1 end  -- damaged: the get says so
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
    _FORGET_LUA
    + """
local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not score or tonumber(score) > tonumber(ARGV[2]) or redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('ZCARD', KEYS[2])
end
redis.call('ZREM', KEYS[2], ARGV[1])
local left = redis.call('ZCARD', KEYS[2])
if left == 0 then
  redis.call('DEL', KEYS[3], KEYS[4], KEYS[5])
else
  forget(KEYS[3], KEYS[4], KEYS[5], ARGV[3])
end
return left
""",
)


def ns_keys(prefix: str, nst: str) -> tuple[str, str, str, str]:
    """Key set, stamps, version and tombstones of one namespace (one slot)."""
    return (
        sk.keys_key(prefix, nst),
        sk.stamps_key(prefix, nst),
        sk.version_key(prefix, nst),
        sk.tombstones_key(prefix, nst),
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
    *,
    cluster: bool = False,
) -> Generator[Batch[Any], list[Any], None]:
    """All puts and deletes of a batch in one round trip, plus namespace-index upkeep.

    On one server each put's script also adds its namespace to the namespace index, so
    a server at its memory limit refuses both or neither, and only a delete that empties
    a namespace needs upkeep (one more round trip). On a cluster the index lives in
    another slot: puts add to it as a side command, sent first; a put that (re)creates a
    namespace, a refused put and a delete that empties a namespace reconcile the entry
    (see :func:`_index_upkeep`; two more round trips).
    """
    ops: list[Op] = []
    side: list[Command] = []
    seen_ns: set[str] = set()
    it = iter(vectors)
    t_us = now_us(now_seconds)
    t_ms = t_us // 1000
    deletes: list[int] = []
    epoch = secrets.token_hex(8)
    for p in puts:
        zkey, skey, vkey, dkey = ns_keys(prefix, p.nst)
        base = sk.vec_key_base(prefix, p.nst, p.key)
        esc = sk.escape(p.key)
        if p.value_json is None:
            deletes.append(len(ops))
            ikey = sk.item_key(prefix, p.nst, p.key)
            ops.append(DELETE_ITEM.call((ikey, zkey, skey, vkey, dkey), (base, p.key, esc)))
            continue
        if cluster and p.nst not in seen_ns:
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
            esc,
            "" if p.ttl_ms is None else p.ttl_ms,
            expiry,
            p.key,
            p.nst,
            len(vec_args) // 2,
            ns_prefix_tags(p.namespace),
            ",".join(p.tokens),
            *vec_args,
            epoch,  # kept only when this put (re)creates the namespace
        )
        item_keys = [sk.item_key(prefix, p.nst, p.key), zkey, skey, vkey]
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
                yield from _index_upkeep(prefix, empty, ordered=False)
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
        yield from _index_upkeep(prefix, changed, ordered=not cluster)
    return None


def _index_upkeep(
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


# --------------------------------------------------------------------------- reads


ITEM_FIELDS = ("value", "ca", "ua", "fmt")
"""What a get reads of an item hash (``HMGET``), in this order."""


def _where(namespace: tuple[str, ...], key: str) -> str:
    """How errors and warnings name an item: namespace and key, never the value."""
    return f"store item {namespace}/{key!r}"


def check_item_format(fmt: Any, namespace: tuple[str, ...], key: str) -> None:
    """Refuse an item written by an unknown (newer) format; no format means foreign data."""
    if fmt is None or fmt == b"" or fmt == "":
        raise CorruptDataError(
            f"{_where(namespace, key)}: no format field (not written by langgraph-redis?)"
        )
    if _text(fmt) != ITEM_FORMAT:
        raise UnsupportedFormatError(
            f"{_where(namespace, key)}: stored with format {_text(fmt)!r}; this release reads "
            f"format {ITEM_FORMAT!r}. Upgrade langgraph-redis."
        )


def parse_value(raw: Any, namespace: tuple[str, ...], key: str) -> dict[str, Any]:
    """The stored JSON object, or :class:`CorruptDataError` (the message omits the value)."""
    try:
        value = json.loads(raw)
    except (ValueError, TypeError):
        raise CorruptDataError(f"{_where(namespace, key)}: value is not JSON") from None
    if not isinstance(value, dict):
        raise CorruptDataError(f"{_where(namespace, key)}: value is not a JSON object")
    return value


def _int(raw: Any, namespace: tuple[str, ...], key: str, name: str) -> int:
    try:
        return int(_text(raw))
    except (ValueError, TypeError):
        raise CorruptDataError(
            f"{_where(namespace, key)}: field {name!r} is not an integer"
        ) from None


def _time(raw: Any, namespace: tuple[str, ...], key: str, name: str) -> int:
    """A timestamp field (µs since the epoch) that a ``datetime`` can hold."""
    value = _int(raw, namespace, key, name)
    try:
        to_datetime(value)
    except (OverflowError, ValueError):
        raise CorruptDataError(f"{_where(namespace, key)}: field {name!r} is not a time") from None
    return value


def _wrong_type(reply: Any) -> bool:
    return isinstance(reply, BaseException) and str(reply).startswith("WRONGTYPE")


def decode_item(namespace: tuple[str, ...], key: str, fields: Any) -> Item | None:
    """An ``HMGET`` of :data:`ITEM_FIELDS`: the item, None when absent, else an error.

    Raises:
        CorruptDataError: The key holds no hash, or a hash that is not a store item.
        UnsupportedFormatError: The item was written by a newer format.
    """
    if _wrong_type(fields):
        raise CorruptDataError(f"{_where(namespace, key)}: the key holds no hash (foreign data?)")
    if isinstance(fields, BaseException):
        raise fields
    if not fields or all(f is None for f in fields):
        return None
    raw, ca, ua, fmt = fields[:4]
    if raw is None or ua is None:
        raise CorruptDataError(f"{_where(namespace, key)}: hash lacks the item fields")
    check_item_format(fmt, namespace, key)
    return Item(
        value=parse_value(raw, namespace, key),
        key=key,
        namespace=namespace,
        created_at=to_datetime(_time(ca if ca is not None else ua, namespace, key, "ca")),
        updated_at=to_datetime(_time(ua, namespace, key, "ua")),
    )


def refresh_command(prefix: str, namespace: tuple[str, ...], key: str, now_ms: int) -> Op:
    nst = sk.ns_text(namespace)
    return REFRESH_ITEM.call(
        (sk.item_key(prefix, nst, key), sk.keys_key(prefix, nst)),
        (sk.vec_key_base(prefix, nst, key), key, now_ms),
    )


def plan_get(
    prefix: str, ops: Sequence[GetOp], now_ms: int, *, inline_refresh: bool = True
) -> Plan[list[Item | None]]:
    """One round trip for every get of a batch.

    ``inline_refresh`` (a store with a TTL configuration): the TTL-refresh script rides
    along with each get that renews, whether or not the item carries a TTL. Without it
    (no TTL configured, where most items carry none) the gets read the item's ``ttl``
    field instead and renew only the items that carry one, in a second round trip: the
    common get then sends no script at all.
    """
    if not inline_refresh and any(op.refresh_ttl for op in ops):
        return _plan_get_then_refresh(prefix, ops, now_ms)
    cmds: list[Op] = []
    slots: list[int] = []
    for op in ops:
        nst = sk.ns_text(op.namespace)
        slots.append(len(cmds))
        cmds.append(("HMGET", sk.item_key(prefix, nst, op.key), *ITEM_FIELDS))
        if op.refresh_ttl:
            cmds.append(refresh_command(prefix, op.namespace, op.key, now_ms))

    def decode(replies: list[Any]) -> list[Item | None]:
        # A key holding no hash makes its own HMGET (and refresh) fail: that get raises
        # CorruptDataError naming the item, not redis-py's WRONGTYPE for the batch.
        check([r for r in replies if not _wrong_type(r)])
        items = [
            decode_item(op.namespace, op.key, replies[i]) for op, i in zip(ops, slots, strict=False)
        ]
        for op, i in zip(ops, slots, strict=False):
            if op.refresh_ttl and replies[i + 1] == -1:
                raise CorruptDataError(
                    f"{_where(op.namespace, op.key)}: field 'ttl' is not an integer"
                )
        return items

    return batch(cmds, decode)


def _plan_get_then_refresh(
    prefix: str, ops: Sequence[GetOp], now_ms: int
) -> Generator[Batch[Any], list[Any], list[Item | None]]:
    """:func:`plan_get` without inline refresh: read, then renew only items with a TTL."""

    def decode(replies: list[Any]) -> list[Any]:
        check([r for r in replies if not _wrong_type(r)])
        return replies

    replies = yield batch(
        [
            ("HMGET", sk.item_key(prefix, sk.ns_text(op.namespace), op.key), *ITEM_FIELDS, "ttl")
            for op in ops
        ],
        decode,
    )
    items = [decode_item(op.namespace, op.key, r) for op, r in zip(ops, replies, strict=True)]
    due: list[tuple[tuple[str, ...], str]] = []
    for op, item, fields in zip(ops, items, replies, strict=True):
        ttl = fields[len(ITEM_FIELDS)]
        if not op.refresh_ttl or item is None or ttl is None:
            continue
        if not _text(ttl).isdigit() or not _text(ttl).isascii():
            # as the refresh script says of a damaged field (inline_refresh)
            raise CorruptDataError(f"{_where(op.namespace, op.key)}: field 'ttl' is not an integer")
        due.append((op.namespace, op.key))
    if due:
        yield plan_refresh(prefix, due, now_ms)
    return items


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


def plan_list_namespaces(
    prefix: str, op: ListNamespacesOp, live_at_ms: int | None = None
) -> Generator[Batch[Any], list[Any], list[tuple[str, ...]]]:
    """A lex range of the namespace index, matched exactly here: one round trip.

    With ``live_at_ms`` (TTL ``omit_expired``) one more round trip keeps only namespaces
    holding an item that has not expired at that time, so namespaces whose items all
    expired disappear before the sweeper removes them.
    """
    fixed = sk.ns_text(_fixed_prefix(op))
    lo, hi = sk.ns_lex_range(fixed)
    replies = yield batch([("ZRANGE", sk.ns_index_key(prefix), lo, hi, "BYLEX")])
    check(replies)
    found: list[tuple[str, tuple[str, ...]]] = []
    for raw in replies[0]:
        nst = _text(raw)
        if not sk.is_under(nst, fixed):
            continue
        ns = sk.ns_from_text(nst)
        if all(_does_match(c, ns) for c in op.match_conditions or ()):
            found.append((nst, ns))
    if live_at_ms is not None and found:
        counts = yield batch(
            [("ZCOUNT", sk.keys_key(prefix, n), f"({live_at_ms}", "+inf") for n, _ in found]
        )
        check(counts)
        found = [f for f, c in zip(found, counts, strict=True) if int(c)]
    if op.max_depth is not None:
        result = sorted({ns[: op.max_depth] for _, ns in found})
    else:
        result = sorted(ns for _, ns in found)
    return result[op.offset : op.offset + op.limit]


# --------------------------------------------------------------------------- snapshots

# Shared by the snapshot scripts: one item by escaped key ``m``, as
# {m, value, ca, ua, nv, ttl, expiry, fmt, vec0, vec1, ...}, {m} when it is gone, or
# {m, '', reason} when the key holds something that is not a store item (foreign or
# damaged data: pcall keeps one bad key from failing the whole read).
_READ_ITEM_LUA = """
local function read_item(ipfx, vpfx, zkey, m, want)
  local f = redis.pcall('HMGET', ipfx .. m, 'value', 'ca', 'ua', 'nv', 'ttl', 'key', 'fmt')
  if f.err then return {m, '', 'the key holds no hash'} end
  if not f[1] then
    if f[3] or f[6] or f[7] then return {m, '', 'hash lacks the value field'} end
    return {m}
  end
  if not f[3] or not f[6] then return {m, '', 'hash lacks the item fields'} end
  local out = {m, f[1], f[2] or f[3], f[3], f[4] or '0', f[5] or '0',
               redis.call('ZSCORE', zkey, f[6]) or 'inf', f[7] or ''}
  if want == '1' then
    for i = 0, (tonumber(f[4]) or 0) - 1 do
      local v = redis.pcall('HGET', vpfx .. m .. ':' .. i, 'vec')
      out[#out + 1] = type(v) == 'string' and v or ''
    end
  end
  return out
end
"""

# What changed in one namespace since a cache's (epoch, version), read atomically:
# {epoch, version, status, rescored, stamps, tombstones, items}. Status 0: unchanged;
# 1: the changes follow; 2: reload (other epoch, too many changes, tombstones trimmed).
# ``rescored`` are the current expiries of ARGV[7..] (items the cache saw expire, which
# a refresh may have renewed without a version change).
SNAPSHOT_DELTA = Script(
    "snapshot_delta",
    _READ_ITEM_LUA
    + f"""
local meta = redis.call('HMGET', KEYS[3], 'e', 'v')
local rescored = {{}}
for i = 7, #ARGV do rescored[#rescored + 1] = redis.call('ZSCORE', KEYS[1], ARGV[i]) or '-inf' end
if not meta[1] then return {{'', '', 2, rescored}} end
if meta[1] ~= ARGV[1] then return {{meta[1], meta[2], 2, rescored}} end
if meta[2] == ARGV[2] then return {{meta[1], meta[2], 0, rescored}} end
local most = tonumber(ARGV[3])
local since = '(' .. ARGV[2]
local stamps = redis.call('ZRANGEBYSCORE', KEYS[2], since, '+inf', 'WITHSCORES', 'LIMIT', 0, most + 1)
local gone = redis.call('ZRANGEBYSCORE', KEYS[4], since, '+inf', 'LIMIT', 0, most + 1)
if #stamps / 2 + #gone > most then return {{meta[1], meta[2], 2, rescored}} end
if redis.call('ZCARD', KEYS[4]) >= {TOMBSTONES} then
  local low = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')
  if tonumber(low[2]) > tonumber(ARGV[2]) then return {{meta[1], meta[2], 2, rescored}} end
end
local items = {{}}
for i = 1, #stamps, 2 do
  items[#items + 1] = read_item(ARGV[4], ARGV[5], KEYS[1], stamps[i], ARGV[6])
end
return {{meta[1], meta[2], 1, rescored, stamps, gone, items}}
""",
)

# A whole namespace's bookkeeping, read atomically: {epoch, version, stamps, key set}.
SNAPSHOT_META = Script(
    "snapshot_meta",
    """
local meta = redis.call('HMGET', KEYS[3], 'e', 'v')
if not meta[1] then return {'', '', {}, {}} end
return {meta[1], meta[2], redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES'),
        redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')}
""",
)

READ_ITEMS = Script(
    "read_items",
    _READ_ITEM_LUA
    + """
local out = {}
for i = 4, #ARGV do out[#out + 1] = read_item(ARGV[1], ARGV[2], KEYS[1], ARGV[i], ARGV[3]) end
return out
""",
)

DELTA_LIMIT = 512
"""Most changed items a search applies from one namespace's delta before reloading it."""

RECHECK_LIMIT = 256
"""Most apparently expired items whose expiry one search re-reads per namespace."""

READ_CHUNK = 128
"""Items per read script during a full load (bounds one script's run time and reply)."""


@dataclass
class ItemRec:
    value: dict[str, Any]
    ca: int
    ua: int
    nv: int
    ttl: int  # ms; 0 when the item never expires
    rows: list[int] = field(default_factory=list)  # its vectors' rows in the matrix


class NsSnapshot:
    """One namespace as last read: items, stamps, expiries and a vector matrix.

    Vectors live in one float32 matrix with spare capacity; an item owns a list of
    rows. Writing an item replaces only its rows and deleting it frees them (masked
    until reused), so catching up with a write costs O(changed rows), not a rebuild.
    """

    def __init__(self, namespace: tuple[str, ...], dims: int) -> None:
        self.namespace = namespace
        self.epoch: bytes | None = None
        self.version: bytes | None = None
        self.items: dict[str, ItemRec] = {}
        self.stamps: dict[str, float] = {}
        self.expiry: dict[str, float] = {}
        self.min_expiry = math.inf
        self.owners: list[str | None] = []  # row -> item key, None when free
        self.free: list[int] = []
        self._dims = dims
        self._mat: np.ndarray[Any, Any] = np.empty((0, dims), dtype=np.float32)
        self._sq: np.ndarray[Any, Any] = np.empty(0, dtype=np.float32)
        self._alive: np.ndarray[Any, Any] = np.empty(0, dtype=bool)
        self._order: list[str] | None = None  # keys newest first; None: to recompute

    def ordered_keys(self) -> list[str]:
        """Keys, newest update first, then by key: sorted once per change, so a
        search without a query reads a page without sorting the namespace."""
        if self._order is None:
            items = self.items
            self._order = sorted(items, key=lambda k: (-items[k].ua, k))
        return self._order

    @property
    def matrix(self) -> np.ndarray[Any, Any] | None:
        """Rows in use (free rows included; see :attr:`alive`), or None."""
        return self._mat[: len(self.owners)] if self.owners else None

    @property
    def sq_norms(self) -> np.ndarray[Any, Any] | None:
        return self._sq[: len(self.owners)] if self.owners else None

    @property
    def alive(self) -> np.ndarray[Any, Any]:
        """Per row: whether an item owns it."""
        return self._alive[: len(self.owners)]

    def remove(self, key: str) -> None:
        self._order = None
        rec = self.items.pop(key, None)
        self.expiry.pop(key, None)
        if rec is not None:
            self._release(rec.rows)

    def put(self, key: str, rec: ItemRec, vectors: list[np.ndarray[Any, Any]]) -> None:
        """Add or replace one item; its old rows are reused first."""
        self._order = None
        old = self.items.get(key)
        if old is not None:
            self._release(old.rows)
        if vectors:
            rec.rows = self._alloc(len(vectors), key)
            block = np.vstack(vectors)
            self._mat[rec.rows] = block
            self._sq[rec.rows] = np.einsum("ij,ij->i", block, block)
        self.items[key] = rec

    def _release(self, rows: list[int]) -> None:
        for r in rows:
            self.owners[r] = None
        self._alive[rows] = False
        self.free.extend(rows)

    def _alloc(self, n: int, key: str) -> list[int]:
        rows = [self.free.pop() for _ in range(min(n, len(self.free)))]
        start, extra = len(self.owners), n - len(rows)
        if extra:
            need = start + extra
            if need > len(self._mat):
                cap = max(need, 2 * len(self._mat), 64)
                mat = np.empty((cap, self._dims), dtype=np.float32)
                mat[:start] = self._mat[:start]
                sq = np.zeros(cap, dtype=np.float32)
                sq[:start] = self._sq[:start]
                alive = np.zeros(cap, dtype=bool)
                alive[:start] = self._alive[:start]
                self._mat, self._sq, self._alive = mat, sq, alive
            self.owners.extend([None] * extra)
            rows.extend(range(start, need))
        for r in rows:
            self.owners[r] = key
        self._alive[rows] = True
        return rows

    def settle(self) -> None:
        """After a batch of changes: refresh the earliest expiry, compact when sparse."""
        self.min_expiry = min(self.expiry.values(), default=math.inf)
        if len(self.free) > 1024 and 2 * len(self.free) > len(self.owners):
            self._compact()

    def _compact(self) -> None:
        keep = np.flatnonzero(self.alive)
        remap = {int(old): new for new, old in enumerate(keep)}
        self._mat = np.ascontiguousarray(self._mat[keep])
        self._sq = self._sq[keep].copy()
        self._alive = np.ones(len(keep), dtype=bool)
        self.owners = [self.owners[int(i)] for i in keep]
        self.free = []
        for rec in self.items.values():
            rec.rows = [remap[r] for r in rec.rows]

    def apply_read(self, entry: Sequence[Any], dtype: Any, now_ms: int) -> None:
        """Apply one ``read_item`` reply: store the item, or drop it when gone/expired.

        A key that holds foreign or damaged data is left out of the snapshot with a
        warning naming the item (never its value); an item of a newer format raises
        :class:`UnsupportedFormatError` (the caller drops the snapshot).
        """
        key = sk.unescape(_text(entry[0]))
        if len(entry) == 1 or (len(entry) > 3 and (expiry := _score(entry[6])) <= now_ms):
            self.remove(key)
            return
        ns = self.namespace
        try:
            if len(entry) == 3:
                raise CorruptDataError(f"{_where(ns, key)}: {_text(entry[2])}")
            check_item_format(entry[7], ns, key)
            rec = ItemRec(
                parse_value(entry[1], ns, key),
                _time(entry[2], ns, key, "ca"),
                _time(entry[3], ns, key, "ua"),
                _int(entry[4], ns, key, "nv"),
                _int(entry[5], ns, key, "ttl"),
            )
        except CorruptDataError as exc:
            logger.warning("langgraph_redis skipped an unreadable item: %s", exc)
            self.remove(key)
            return
        vectors: list[np.ndarray[Any, Any]] = []
        if dtype is not None:
            width = self._dims * np.dtype(dtype).itemsize
            for raw in entry[8:]:
                if len(raw) == width:  # skip vectors lost or written otherwise
                    vectors.append(np.frombuffer(raw, dtype=dtype).astype(np.float32))
        self.put(key, rec, vectors)
        self.expiry[key] = expiry


StoreCache = dict[str, NsSnapshot]


def _score(raw: Any) -> float:
    text = _text(raw)
    if text in ("inf", "+inf"):
        return math.inf
    return -math.inf if text == "-inf" else float(text)


def plan_snapshots(
    prefix: str,
    cache: StoreCache,
    namespace_prefix: tuple[str, ...],
    cfg: VectorConfig | None,
    now_ms: int,
    reuse: bool = False,
) -> Generator[Batch[Any], list[Any], list[NsSnapshot]]:
    """Fresh snapshots of every namespace under ``namespace_prefix``.

    ``reuse``: the caller knows the cached snapshots under this prefix were read by a
    round trip sent after its own call began (a concurrent search refreshed them while
    this one waited), so they already hold every write it must see: no round trip,
    unless one of them has an item due to expire by ``now_ms`` (its expiry must be
    re-read).

    Round trips: one when every cached namespace is unchanged *or* changed by at most
    :data:`DELTA_LIMIT` writes since it was read: the namespace index and one delta
    script per cached namespace go together, and the delta carries the changed items
    and vectors. Namespaces not cached yet (or changed more, or recreated) take two
    more: their stamps and key set, then the items (only those whose stamp changed).
    """
    pnst = sk.ns_text(namespace_prefix)
    lo, hi = sk.ns_lex_range(pnst)
    known = [n for n in cache if sk.is_under(n, pnst)]
    if reuse and all(cache[n].min_expiry > now_ms for n in known):
        return [cache[n] for n in sorted(known)]
    want = "1" if cfg is not None else "0"
    rechecks: list[list[str]] = []
    cmds: list[Op] = [("ZRANGE", sk.ns_index_key(prefix), lo, hi, "BYLEX")]
    for n in known:
        snap = cache[n]
        late = (
            [k for k, e in snap.expiry.items() if e <= now_ms][:RECHECK_LIMIT]
            if snap.min_expiry <= now_ms
            else []
        )
        rechecks.append(late)
        cmds.append(
            SNAPSHOT_DELTA.call(
                ns_keys(prefix, n),
                (
                    snap.epoch or b"",
                    snap.version or b"",
                    DELTA_LIMIT,
                    sk.item_key_prefix(prefix, n),
                    sk.vec_ns_prefix(prefix, n),
                    want,
                    *late,
                ),
            )
        )
    replies = yield batch(cmds)
    check(replies)
    present = [n for n in (_text(r) for r in replies[0]) if sk.is_under(n, pnst)]
    dtype = cfg.dtype if cfg is not None else None
    stale = [n for n in present if n not in cache]
    for n, late, reply in zip(known, rechecks, replies[1:], strict=True):
        snap = cache[n]
        status = int(reply[2])
        if status == 2:
            if not reply[0]:  # the namespace emptied; the index entry goes next
                del cache[n]
            elif n in present:
                stale.append(n)
            continue
        try:
            _apply_delta(snap, late, reply, dtype, now_ms)
        except BaseException:
            # Half applied (an item of a newer format, or anything unexpected): no later
            # search may trust it, so the namespace is loaded afresh next time.
            cache.pop(n, None)
            raise
    for n in known:
        if n in cache and n not in present:
            del cache[n]
    if stale:
        yield from _full_load(prefix, cache, stale, cfg, now_ms)
    return [cache[n] for n in present if n in cache]


def _apply_delta(
    snap: NsSnapshot, late: Sequence[str], reply: Sequence[Any], dtype: Any, now_ms: int
) -> None:
    """Apply one ``snapshot_delta`` reply of status 0 or 1 (re-read expiries, changes)."""
    for key, raw in zip(late, reply[3], strict=True):
        if (renewed := _score(raw)) > now_ms:
            snap.expiry[key] = renewed
        else:
            snap.remove(key)
    if int(reply[2]) == 1:
        snap.version = reply[1]
        for m, s in _pairs(reply[4]):
            snap.stamps[sk.unescape(_text(m))] = float(s)
        for m in reply[5]:
            key = sk.unescape(_text(m))
            snap.stamps.pop(key, None)
            snap.remove(key)
        for entry in reply[6]:
            snap.apply_read(entry, dtype, now_ms)
    snap.settle()


def _full_load(
    prefix: str, cache: StoreCache, nsts: Sequence[str], cfg: VectorConfig | None, now_ms: int
) -> Generator[Batch[Any], list[Any], None]:
    """(Re)load whole namespaces: their bookkeeping, then the items whose stamp changed.

    Transactional for the cache: between the two round trips a snapshot being loaded
    claims a version whose items are not read yet, so it is kept out of the cache until
    the items are applied. A load that stops half-way (task cancelled, connection lost,
    an error raised) leaves those namespaces uncached, and the next search loads them
    again; it never leaves a snapshot that claims items it does not hold.
    """
    # The bookkeeping of a namespace is read atomically (one script), so the snapshot's
    # version matches its stamps. Items read afterwards may be newer than that version;
    # the next delta then re-reads them, which is harmless.
    replies = yield batch([SNAPSHOT_META.call(ns_keys(prefix, n)) for n in nsts])
    check(replies)
    dims = cfg.dims if cfg is not None else 0
    cmds: list[Op] = []
    owners: list[str] = []
    loading: dict[str, NsSnapshot] = {}
    for n, (epoch, version, stamps_raw, keys_raw) in zip(nsts, replies, strict=True):
        # Out of the cache from here until committed below (an old snapshot of the same
        # epoch is reused: only its changed items are read).
        snap = cache.pop(n, None)
        if not epoch:
            continue
        if snap is None or snap.epoch != epoch:
            snap = NsSnapshot(sk.ns_from_text(n), dims)
        stamps = {sk.unescape(_text(m)): float(s) for m, s in _pairs(stamps_raw)}
        expiry = {_text(k): _score(s) for k, s in _pairs(keys_raw)}
        for key in list(snap.items):
            if key not in stamps or expiry.get(key, -math.inf) <= now_ms:
                snap.remove(key)
        for key in snap.items:
            snap.expiry[key] = expiry[key]
        # Entries already past their expiry wait for the sweeper; they are not items.
        fetch = [
            sk.escape(k)
            for k, s in stamps.items()
            if expiry.get(k, -math.inf) > now_ms
            and (k not in snap.items or snap.stamps.get(k) != s)
        ]
        snap.epoch, snap.version, snap.stamps = epoch, version, stamps
        loading[n] = snap
        head = (sk.item_key_prefix(prefix, n), sk.vec_ns_prefix(prefix, n), "1" if dims else "0")
        for i in range(0, len(fetch), READ_CHUNK):
            cmds.append(
                READ_ITEMS.call((sk.keys_key(prefix, n),), (*head, *fetch[i : i + READ_CHUNK]))
            )
            owners.append(n)
    if cmds:
        replies = yield batch(cmds)
        check(replies)
        dtype = cfg.dtype if cfg is not None else None
        for n, entries in zip(owners, replies, strict=True):
            snap = loading[n]
            for entry in entries:
                snap.apply_read(entry, dtype, now_ms)
    for n, snap in loading.items():  # every item applied: commit
        snap.settle()
        cache[n] = snap


def _pairs(raw: Any) -> list[tuple[Any, Any]]:
    if isinstance(raw, dict):
        return list(raw.items())
    if raw and isinstance(raw[0], (list, tuple)):
        return [(a, b) for a, b in raw]
    return list(zip(raw[::2], raw[1::2], strict=False))


def snapshot_items(
    snaps: Sequence[NsSnapshot], flt: CompiledFilter, now_ms: int, stop: int | None = None
) -> list[tuple[NsSnapshot, str, ItemRec]]:
    """Live items passing the filter, newest update first (then namespace, key).

    ``stop``: only the first ``stop`` such items are wanted (a page ends at
    ``offset + limit``): each namespace's keys are kept in that order
    (:meth:`NsSnapshot.ordered_keys`) and merged, so a page costs the items it reads,
    not a filter over and a sort of the whole namespace.
    """

    def ordered(i: int, s: NsSnapshot) -> Iterator[tuple[float, tuple[str, ...], str, int]]:
        items = s.items
        return ((-items[k].ua, s.namespace, k, i) for k in s.ordered_keys())

    streams = [ordered(i, s) for i, s in enumerate(snaps)]
    merged = heapq.merge(*streams) if len(streams) > 1 else iter(streams[0] if streams else ())
    out: list[tuple[NsSnapshot, str, ItemRec]] = []
    if stop is not None and stop <= 0:
        return out
    for _, _, k, i in merged:
        s = snaps[i]
        rec = s.items[k]
        if s.expiry.get(k, math.inf) > now_ms and (flt.empty or flt.matches(rec.value)):
            out.append((s, k, rec))
            if stop is not None and len(out) >= stop:
                break
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


def plan_refresh_found(
    prefix: str,
    found: Sequence[tuple[NsSnapshot | None, str, tuple[str, ...], int]],
    now_ms: int,
) -> Generator[Batch[Any], list[Any], None]:
    """Renew the TTL of search results that carry one: no round trip when none does.

    ``found`` holds (snapshot or None, key, namespace, ttl ms) per result; snapshots
    learn the new expiry at once, so they do not re-read it later.
    """
    due = [(snap, key, ns, ttl) for snap, key, ns, ttl in found if ttl]
    if not due:
        return None
    yield plan_refresh(prefix, [(ns, key) for _, key, ns, _ in due], now_ms)
    touched: dict[int, NsSnapshot] = {}
    for snap, key, _, ttl in due:
        if snap is not None and key in snap.items:
            snap.expiry[key] = now_ms + ttl
            touched[id(snap)] = snap
    for snap in touched.values():
        snap.settle()
    return None


def plan_sweep(
    prefix: str, now_ms: int, *, ordered: bool = False
) -> Generator[Batch[Any], list[Any], int]:
    """Remove key-set entries of expired items; drop namespaces left empty.

    Three round trips, plus one when namespaces emptied (two on a cluster, ``ordered``
    False; see :func:`_index_upkeep`); returns entries removed.
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
                    (sk.item_key(prefix, n, key), *ns_keys(prefix, n)),
                    (key, now_ms, sk.escape(key)),
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
        yield from _index_upkeep(prefix, dict.fromkeys(empty, False), ordered)
    return removed


SCRIPTS = (
    PUT_ITEM,
    DELETE_ITEM,
    REFRESH_ITEM,
    SWEEP_ITEM,
    SNAPSHOT_DELTA,
    SNAPSHOT_META,
    READ_ITEMS,
)
"""Every script the store sends, loaded once at setup."""
