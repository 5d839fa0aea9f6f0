"""The client-side snapshot cache the plain engine searches (and the query engine reads
results from): one :class:`NsSnapshot` per namespace, kept fresh by version deltas.

A snapshot holds a namespace's items, stamps, expiries and a vector matrix. Each search
first asks, in one round trip with the namespace index, what changed since the cached
(epoch, version); a namespace changed by few writes is patched from the delta, one
changed by many (or recreated) is loaded afresh in two more round trips.
"""

from __future__ import annotations

import heapq
import logging
import math
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from langgraph.store.base import SearchItem

from langgraph_redis._core.errors import CorruptDataError
from langgraph_redis._core.plans import Batch, Op, Script, batch, check
from langgraph_redis._core.replies import pairs, text
from langgraph_redis._core.store import keys as sk
from langgraph_redis._core.store.config import VectorConfig
from langgraph_redis._core.store.filters import CompiledFilter
from langgraph_redis._core.store.items import (
    _int,
    _time,
    _where,
    check_item_format,
    parse_value,
    plan_refresh,
    to_datetime,
)
from langgraph_redis._core.store.keys import ns_keys
from langgraph_redis._core.store.writes import TOMBSTONES

logger = logging.getLogger(__name__)


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
    size: int = 0  # estimated bytes of the parsed value (see NsSnapshot.nbytes)


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
        self.value_bytes = 0
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
            self.value_bytes -= rec.size
            self._release(rec.rows)

    @property
    def nbytes(self) -> int:
        """Estimated client memory of this snapshot: the matrix with its spare rows,
        and the parsed values (about 4x their JSON text, plus per-item bookkeeping)."""
        return self._mat.nbytes + self._sq.nbytes + self._alive.nbytes + self.value_bytes

    def put(self, key: str, rec: ItemRec, vectors: list[np.ndarray[Any, Any]]) -> None:
        """Add or replace one item; its old rows are reused first."""
        self._order = None
        old = self.items.get(key)
        if old is not None:
            self.value_bytes -= old.size
            self._release(old.rows)
        self.value_bytes += rec.size
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
        key = sk.unescape(text(entry[0]))
        if len(entry) == 1 or (len(entry) > 3 and (expiry := _score(entry[6])) <= now_ms):
            self.remove(key)
            return
        ns = self.namespace
        try:
            if len(entry) == 3:
                raise CorruptDataError(f"{_where(ns, key)}: {text(entry[2])}")
            check_item_format(entry[7], ns, key)
            rec = ItemRec(
                parse_value(entry[1], ns, key),
                _time(entry[2], ns, key, "ca"),
                _time(entry[3], ns, key, "ua"),
                _int(entry[4], ns, key, "nv"),
                _int(entry[5], ns, key, "ttl"),
                size=4 * len(entry[1]) + 400 + len(key),
            )
        except CorruptDataError as exc:
            logger.warning("skipped an unreadable item: %s", exc)
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

SNAPSHOT_CACHE_BYTES = 128 * 1024 * 1024
"""Default cap on one store's snapshot memory (``snapshot_cache_bytes``): what a small
server process can spare. Least recently searched namespaces are evicted beyond it."""


def trim_cache(
    cache: StoreCache, cap: int, namespace_prefix: tuple[str, ...], warned: set[str]
) -> list[str]:
    """After a search of ``namespace_prefix``: mark its namespaces most recently used,
    then evict least recently used namespaces until the snapshots fit in ``cap`` bytes.

    A prefix whose snapshots alone exceed the cap is evicted too (the cap is a bound,
    so its next search reads it again) and logged once per prefix in ``warned``.
    Returns the namespaces evicted.
    """
    pnst = sk.ns_text(namespace_prefix)
    used = [n for n in cache if sk.is_under(n, pnst)]
    for n in used:
        cache[n] = cache.pop(n)  # dicts keep insertion order: the end is the newest
    sizes = {n: snap.nbytes for n, snap in cache.items()}
    total = sum(sizes.values())
    evicted: list[str] = []
    if total <= cap:
        return evicted
    mine = sum(sizes[n] for n in used)
    if mine > cap and pnst not in warned:
        warned.add(pnst)
        logger.warning(
            "langgraph_redis: the snapshots of namespace prefix %r take about %d MB, more "
            "than snapshot_cache_bytes (%d MB) allows; they are not kept, so every search "
            "of it reads it again. Raise snapshot_cache_bytes, search narrower prefixes, "
            "or use a server with server-side search (query engine or vector sets).",
            namespace_prefix,
            mine // 2**20,
            cap // 2**20,
        )
    for n in list(cache):
        if total <= cap:
            break
        total -= sizes[n]
        del cache[n]
        evicted.append(n)
    return evicted


def _score(raw: Any) -> float:
    score = text(raw)
    if score in ("inf", "+inf"):
        return math.inf
    return -math.inf if score == "-inf" else float(score)


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
    present = [n for n in (text(r) for r in replies[0]) if sk.is_under(n, pnst)]
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
        for m, s in pairs(reply[4]):
            snap.stamps[sk.unescape(text(m))] = float(s)
        for m in reply[5]:
            key = sk.unescape(text(m))
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
        stamps = {sk.unescape(text(m)): float(s) for m, s in pairs(stamps_raw)}
        expiry = {text(k): _score(s) for k, s in pairs(keys_raw)}
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


SCRIPTS = (SNAPSHOT_DELTA, SNAPSHOT_META, READ_ITEMS)
"""The snapshot scripts: every engine that searches snapshots loads them at setup."""
