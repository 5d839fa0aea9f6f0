"""Vector-set engine: server-side vector search on Redis 8 vector sets (``VADD``/``VSIM``).

One vector set per namespace (``P:vs:{N}``, in the namespace's hash tag, so the same
slot as its items): element ``<escaped key>:<n>`` per vector of an item, attributes
holding the item's short top-level scalars. The write scripts shared with the other
engines (:mod:`.common`) keep the set in step with the items: a put adds or replaces the
item's elements, a delete, an overwrite with fewer vectors and the sweep of an expired
item remove them, and a namespace that empties loses its set. Items keep the common
HASH layout, so switching engines needs no migration: :func:`plan_setup` backfills the
sets of namespaces written by another engine (marker ``vs`` in the namespace's version
hash once complete).

Search sends one ``VSIM ... COUNT k`` per namespace under the prefix (pipelined; a
cluster pipeline sends each node its part), merges them by score, then fetches the
items. Equality filters on top-level fields that vector-set attributes can express go
into ``VSIM ... FILTER``; every filter is still applied to the fetched items, and k is
widened until the page is certain (no namespace cut off at k could hold a better item).
Expired items whose elements wait for the sweeper are skipped the same way.

Exactness follows ``ann_index_config``: ``algorithm="flat"``, given explicitly, asks
``VSIM ... TRUTH`` (a linear scan on the server: the same items and order as the plain
engine); otherwise searches walk the graph with ``EF = max(ef_runtime, k)``
(approximate). Unlike the query engine, whose default is FLAT because building its HNSW
graph slows every write, a vector set builds its graph at every ``VADD`` whatever the
setting, so only an explicit ``"flat"`` pays the linear scan.
``quantization`` (``noquant`` default, ``q8``, ``bin``) sets how the server stores
vectors. Vector sets rank by cosine similarity only, on float32 input: other metrics and
``halfvec`` use another engine (:func:`unsuited`). Scores: ``VSIM`` reports
``(1 + cos) / 2``; results carry ``cos`` like ``InMemoryStore``.

The client keeps no vectors: memory is the connection pool plus, for searches without a
query, the same value snapshots as the query engine.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Generator, Mapping
from typing import Any

import numpy as np
from langgraph.store.base import SearchItem

from langgraph_redis._core.checkpoint.serde import CorruptDataError, UnsupportedFormatError
from langgraph_redis._core.plans import Batch, Op, Script, batch, check
from langgraph_redis._core.replies import pairs, text
from langgraph_redis._core.store import keys as sk
from langgraph_redis._core.store import snapshot, writes
from langgraph_redis._core.store.config import VectorConfig, vector_bytes
from langgraph_redis._core.store.engines import SearchRequest, plain
from langgraph_redis._core.store.filters import LOGICAL, CompiledFilter
from langgraph_redis._core.store.items import ITEM_FIELDS, decode_item
from langgraph_redis._core.store.snapshot import StoreCache
from langgraph_redis._core.store.writes import VSET_ATTR_MAX, VSET_LUA

logger = logging.getLogger(__name__)

NAME = "vset"

BACKFILL_CHUNK = 256
"""Items one backfill script reads (``ZSCAN ... COUNT``): bounds its run time."""

FIELDS_FROM_SCRIPTS = 1024
"""Search scripts of one step also return the best items' fields (saving a round trip)
while namespaces x page size stays within this many items; beyond it they return hits
only, and the few items that make the page are read afterwards."""

BACKFILL_NAMESPACES = 256
"""Namespaces backfilled side by side in one round trip."""


def unsuited(cfg: VectorConfig | None) -> str | None:
    """Why the store's vectors cannot live in vector sets, or None when they can."""
    if cfg is None:
        return None
    if cfg.distance != "cosine":
        return f"vector sets rank by cosine only, the store uses {cfg.distance!r}"
    if cfg.vector_type != "vector":
        return "vector sets take float32 vectors, the store uses 'halfvec'"
    return None


def plan_probe(prefix: str) -> Batch[bool]:
    """Whether the server answers a vector-set command (tried, never ``MODULE LIST``).

    ``VCARD`` of a key no store writes (an empty hash tag) answers 0 on a server with
    vector sets, an error (unknown command, ACL denial) elsewhere; on a cluster the key
    routes it to its owner, so no redirection is mistaken for a missing command.
    """

    def decode(replies: list[Any]) -> bool:
        return not isinstance(replies[0], BaseException)

    return batch([("VCARD", sk.vset_key(prefix, ""))], decode)


# KEYS: stamps, version hash, vector set. ARGV: cursor, count, item key prefix, vector key
# prefix (of the namespace), quantization. Adds the vectors of one ZSCAN step of the
# namespace's items; returns the next cursor, '0' when done (then marks the set complete).
BACKFILL = Script(
    "vset_backfill",
    VSET_LUA
    + """
if redis.call('EXISTS', KEYS[2]) == 0 or redis.call('HGET', KEYS[2], 'vs') then return '0' end
local r = redis.call('ZSCAN', KEYS[1], ARGV[1], 'COUNT', ARGV[2])
local m = r[2]
for i = 1, #m, 2 do
  local esc = m[i]
  local f = redis.pcall('HMGET', ARGV[3] .. esc, 'nv', 'value')
  if type(f) == 'table' and f[2] then
    local nv = tonumber(f[1] or '0') or 0
    local attrs = nv > 0 and vattrs(f[2]) or ''
    for j = 0, nv - 1 do
      local v = redis.pcall('HGET', ARGV[4] .. esc .. ':' .. j, 'vec')
      if type(v) == 'string' then
        -- a vector of another size (foreign data) is refused by VADD and left out
        redis.pcall('VADD', KEYS[3], 'FP32', v, esc .. ':' .. j, ARGV[5], 'SETATTR', attrs)
      end
    end
  end
end
if r[1] == '0' then redis.call('HSET', KEYS[2], 'vs', 1) end
return r[1]
""",
)


def plan_setup(
    prefix: str, cfg: VectorConfig | None
) -> Generator[Batch[Any], Any, VectorConfig | None]:
    """Record the vector settings, then backfill the vector sets namespaces lack.

    Returns the settings to use (see :func:`plan_check_config`).
    """
    used = yield from plain.plan_setup(prefix, cfg)
    if used is not None:
        yield from plan_backfill(prefix, used)
    return used


def plan_backfill(prefix: str, cfg: VectorConfig) -> Generator[Batch[Any], list[Any], int]:
    """Give every namespace without a complete vector set one (idempotent, resumable).

    Two round trips to find them (the namespace index, then each one's marker), then one
    per :data:`BACKFILL_CHUNK` items of the largest namespace, at most
    :data:`BACKFILL_NAMESPACES` namespaces side by side. Writes running meanwhile keep
    the partial set in step (it exists), and a backfill cut short leaves no marker, so
    the next setup resumes it. Returns the number of namespaces completed.
    """
    replies = yield batch([("ZRANGE", sk.ns_index_key(prefix), "-", "+", "BYLEX")])
    check(replies)
    nsts = [text(r) for r in replies[0]]
    if not nsts:
        return 0
    marks = yield batch([("HGET", sk.version_key(prefix, n), "vs") for n in nsts])
    check(marks)
    pending = {n: "0" for n, mark in zip(nsts, marks, strict=True) if mark is None}
    done = 0
    quant = cfg.quantization.upper()
    while pending:
        group = list(pending)[:BACKFILL_NAMESPACES]
        cmds: list[Op] = [
            BACKFILL.call(
                (
                    sk.stamps_key(prefix, n),
                    sk.version_key(prefix, n),
                    sk.vset_key(prefix, n),
                ),
                (
                    pending[n],
                    BACKFILL_CHUNK,
                    sk.item_key_prefix(prefix, n),
                    sk.vec_ns_prefix(prefix, n),
                    quant,
                ),
            )
            for n in group
        ]
        replies = yield batch(cmds, writes=True)
        check(replies)
        for n, cursor in zip(group, replies, strict=True):
            if text(cursor) == "0":
                del pending[n]
                done += 1
            else:
                pending[n] = text(cursor)
    return done


# --------------------------------------------------------------------------- filters

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _literal(value: Any) -> str | None:
    """``value`` as a FILTER literal that matches exactly what ``==`` matches, or None.

    Attributes keep numbers as Lua's cjson writes them (14 significant digits), so only
    integers below 1e14 compare exactly; 0 and 1 are left out because ``True == 1`` in
    Python while a boolean is no attribute. Strings must fit in the attributes
    (:data:`VSET_ATTR_MAX` bytes) and need no escaping in the filter language.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value) if abs(value) < 10**14 and value not in (0, 1) else None
    if isinstance(value, str):
        if len(value.encode()) > VSET_ATTR_MAX or not value.isprintable():
            return None
        if '"' in value or "\\" in value:
            return None
        return f'"{value}"'
    return None


def filter_expression(flt: CompiledFilter) -> str | None:
    """The part of ``flt`` that ``VSIM ... FILTER`` can check, or None.

    Only top-level equality (``{"k": v}``, ``{"k": {"$eq": v}}``) on identifier keys; the
    expression only narrows the candidates (the full filter is applied to the items), so
    leaving a condition out is always safe.
    """
    parts: list[str] = []
    for key, expected in flt.spec.items():
        if key in LOGICAL or not _IDENT.match(key):
            continue
        if isinstance(expected, Mapping):
            if "$eq" not in expected:
                continue
            expected = expected["$eq"]
        lit = _literal(expected)
        if lit is not None:
            parts.append(f".{key} == {lit}")
    return " and ".join(parts) or None


# --------------------------------------------------------------------------- search


# KEYS: the vector set. ARGV: query (FP32 blob), COUNT, 'TRUTH' or the EF, FILTER
# expression ('' for none), item key prefix of the namespace, items to read. Returns the
# VSIM hits {element, score, ...} and, for the best ARGV[6] distinct items that still
# exist, {escaped key, HMGET value ca ua fmt ttl, ...}: one call per namespace, one slot.
SEARCH = Script(
    "vset_search",
    """
local cmd = {'VSIM', KEYS[1], 'FP32', ARGV[1], 'WITHSCORES', 'COUNT', ARGV[2]}
if ARGV[3] == 'TRUTH' then cmd[#cmd + 1] = 'TRUTH' else cmd[#cmd + 1] = 'EF'; cmd[#cmd + 1] = ARGV[3] end
if ARGV[4] ~= '' then cmd[#cmd + 1] = 'FILTER'; cmd[#cmd + 1] = ARGV[4] end
local hits = redis.call(unpack(cmd))
local want, live, seen, items = tonumber(ARGV[6]), 0, {}, {}
for i = 1, #hits, 2 do
  if live >= want then break end
  local esc = string.match(hits[i], '^(.*):%d+$')
  if esc and not seen[esc] then
    seen[esc] = true
    local f = redis.pcall('HMGET', ARGV[5] .. esc, 'value', 'ca', 'ua', 'fmt', 'ttl')
    items[#items + 1] = esc
    items[#items + 1] = f
    if type(f) == 'table' and f[1] then live = live + 1 end
  end
end
return {hits, items}
""",
)

SCRIPTS = (*writes.SCRIPTS, *snapshot.SCRIPTS, BACKFILL, SEARCH)
"""Scripts of this engine beyond the common ones."""


def _hits(raw: Any) -> list[tuple[str, float]]:
    """(element, score) pairs of a ``VSIM ... WITHSCORES`` reply (RESP2 list or RESP3 map)."""
    return [(text(e), float(text(s))) for e, s in pairs(raw)]


def search_call(
    prefix: str,
    nst: str,
    blob: bytes,
    count: int,
    cfg: VectorConfig,
    expr: str | None,
    items: int,
) -> Op:
    """The :data:`SEARCH` script for namespace ``nst``: top ``count`` elements, the
    fields of the best ``items`` items."""
    exact = cfg.algorithm == "flat" and cfg.algorithm_given
    effort = "TRUTH" if exact else str(max(cfg.ef_runtime, count))
    return SEARCH.call(
        (sk.vset_key(prefix, nst),),
        (blob, count, effort, expr or "", sk.item_key_prefix(prefix, nst), items),
    )


def uses_snapshots(req: SearchRequest) -> bool:
    """Searches without a query (or on a store that embeds nothing) read the value
    snapshots; the vector sets answer the others."""
    return req.query is None or req.cfg is None


def plan_search(
    prefix: str, cache: StoreCache, req: SearchRequest, hints: object = None
) -> Generator[Batch[Any], list[Any], list[SearchItem]]:
    """Search one namespace prefix (``hints`` is the query engine's; unused here).

    Round trips with a query: one when the prefix is a namespace with nothing below it
    (the namespace index and that namespace's search script go together; the script
    returns the best items' fields too), one more for the other namespaces under the
    prefix (one script each, pipelined per node), and one to read further candidates
    when a filter rejects fetched items or k is widened. Without a query: the snapshot
    path (one round trip when fresh). With ``refresh``, one more round trip renews the
    TTL of results that carry one.
    """
    if uses_snapshots(req):
        return (yield from plain.plan_values_search(prefix, cache, req))
    op, flt, query, cfg, now_ms = req.op, req.flt, req.query, req.cfg, req.now_ms
    assert query is not None and cfg is not None  # else uses_snapshots
    pnst = sk.ns_text(op.namespace_prefix)
    lo, hi = sk.ns_lex_range(pnst)
    expr = filter_expression(flt)
    blob = vector_bytes(query, np.float32)
    need = op.offset + op.limit
    k = max(2 * need + 8, 16)
    first: list[Op] = [("ZRANGE", sk.ns_index_key(prefix), lo, hi, "BYLEX")]
    # The prefix itself is searched alongside the index read when it was a namespace
    # with nothing below it last time (or has not been seen): per-user searches take
    # one round trip. ``hints`` (the store's, kept for its life) remembers the answer.
    memo = hints if isinstance(hints, dict) else {}
    leaf_key = "\0vset:" + pnst
    guess = bool(pnst) and memo.get(leaf_key, (1, 0))[0] == 1
    if guess:
        first.append(search_call(prefix, pnst, blob, k, cfg, expr, need))
    replies = yield batch(first)
    check(replies)
    nsts = [n for n in (text(r) for r in replies[0]) if sk.is_under(n, pnst)]
    # Only prefixes that are not lone namespaces are remembered, so per-user searches
    # (the common case, any number of users) add nothing to the client's memory.
    if pnst and nsts != [pnst]:
        memo[leaf_key] = (0, now_ms)
    elif pnst:
        memo.pop(leaf_key, None)
    hits: dict[str, list[tuple[str, float]]] = {}
    asked: dict[str, int] = {}
    fetched: dict[tuple[str, str], Any] = {}
    ttls: dict[tuple[str, str], int] = {}

    def take(n: str, reply: Any) -> None:
        hits[n], asked[n] = _hits(reply[0]), k
        raw = reply[1]
        for esc, fields in zip(raw[::2], raw[1::2], strict=False):
            ident = (n, sk.unescape(text(esc)))
            if ident not in fetched:
                read(ident, fields)

    def read(ident: tuple[str, str], fields: Any) -> None:
        try:
            fetched[ident] = decode_item(sk.ns_from_text(ident[0]), ident[1], fields)
            ttls[ident] = int(text(fields[-1] or 0))
        except (CorruptDataError, ValueError) as exc:
            if isinstance(exc, UnsupportedFormatError):
                raise
            # Foreign or damaged data: this item is left out, the search goes on.
            logger.warning("skipped an unreadable item: %s", exc)
            fetched[ident] = None

    if guess and pnst in nsts:
        take(pnst, replies[1])
    todo = [n for n in nsts if n not in hits]
    while True:
        if todo:
            per = need if len(todo) * need <= FIELDS_FROM_SCRIPTS else 0
            replies = yield batch([search_call(prefix, n, blob, k, cfg, expr, per) for n in todo])
            check(replies)
            for n, reply in zip(todo, replies, strict=True):
                take(n, reply)
        best: dict[tuple[str, str], float] = {}
        for n, found in hits.items():
            for elem, score in found:
                ident = (n, sk.unescape(elem.rpartition(":")[0]))
                if score > best.get(ident, -np.inf):
                    best[ident] = score
        # A namespace that filled its COUNT may hold more elements, none scoring above
        # its last one: only items at or above the highest such cut are certain.
        full = [n for n, found in hits.items() if found and len(found) >= asked[n]]
        floor = max((hits[n][-1][1] for n in full), default=-np.inf)
        order = sorted(
            (i for i, s in best.items() if s >= floor), key=lambda i: (-best[i], i[0], i[1])
        )
        wanted = order if not flt.empty else plain.first_live(order, fetched, need)
        missing = [i for i in wanted if i not in fetched]
        if missing:
            replies = yield batch(
                [("HMGET", sk.item_key(prefix, n, key), *ITEM_FIELDS, "ttl") for n, key in missing]
            )
            for ident, fields in zip(missing, replies, strict=True):
                read(ident, fields)
        passing = [
            i
            for i in wanted
            if fetched[i] is not None and (flt.empty or flt.matches(fetched[i].value))
        ]
        if len(passing) >= need or not full:
            break
        k *= 4
        todo = full
    # VSIM scores (1 + cos) / 2: the cosine similarity is twice that, minus one.
    ranked = [(fetched[i], 2.0 * best[i] - 1.0, ttls[i]) for i in passing[: op.offset + op.limit]]
    return (yield from plain.plan_finish_page(prefix, cache, req, ranked))
