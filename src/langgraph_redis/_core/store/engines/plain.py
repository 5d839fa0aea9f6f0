"""Plain engine: search without a query engine, on any Redis or Valkey server.

Candidates come from the namespace index and per-namespace key sets (never SCAN), read
through a client-side snapshot per namespace that a version counter validates in the
same round trip as the query, so writes from other processes are seen at once. Filters
run here; vector search is exact (numpy over float32), scored like ``InMemoryStore``
(cosine similarity) and ``PostgresStore`` (``l2``: negative Euclidean distance,
``inner_product``: the inner product): higher is better.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Generator, Sequence
from typing import Any

import numpy as np
from langgraph.store.base import Item, SearchItem

from langgraph_redis._core.plans import Batch
from langgraph_redis._core.store import snapshot, writes
from langgraph_redis._core.store.config import VectorConfig, plan_check_config
from langgraph_redis._core.store.engines import SearchRequest
from langgraph_redis._core.store.filters import CompiledFilter
from langgraph_redis._core.store.snapshot import (
    ItemRec,
    NsSnapshot,
    StoreCache,
    plan_refresh_found,
    plan_snapshots,
    snapshot_items,
    to_search_item,
)

NAME = "plain"

SCRIPTS = (*writes.SCRIPTS, *snapshot.SCRIPTS)
"""Every script the store sends on this engine (item writes, snapshot reads), loaded at setup."""


def plan_setup(
    prefix: str, cfg: VectorConfig | None
) -> Generator[Batch[Any], Any, VectorConfig | None]:
    """Record the vector settings (one round trip); nothing else to create.

    Returns the settings to use (see :func:`plan_check_config`).
    """
    if cfg is None:
        return None
    used: VectorConfig = yield plan_check_config(prefix, cfg)
    return used


def row_scores(snap: NsSnapshot, q: np.ndarray[Any, Any], distance: str) -> np.ndarray[Any, Any]:
    """Similarity of every stored vector of ``snap`` to ``q`` (higher is better).

    The matrix-vector product is ``einsum``'s own loop, not BLAS (``matrix @ q``):
    OpenBLAS spreads a large product over a thread per core and its threads spin-wait
    for each other, so on a small machine shared with the Redis server (and under
    concurrent searches) one search took 100+ ms instead of 5 (10,000 x 1,536 floats,
    2 cores: 9 searches/s with BLAS threads, 86-136/s single-threaded). ``einsum`` is
    within about 10 % of single-threaded BLAS and never starts threads.
    """
    assert snap.matrix is not None and snap.sq_norms is not None
    dots: np.ndarray[Any, Any] = np.einsum("ij,j->i", snap.matrix, q)
    if distance == "inner_product":
        return dots.astype(np.float64)
    q_sq = float(q @ q)
    if distance == "l2":
        dist: np.ndarray[Any, Any] = np.sqrt(np.maximum(snap.sq_norms - 2.0 * dots + q_sq, 0.0))
        return -dist.astype(np.float64)
    norms = np.sqrt(snap.sq_norms) * math.sqrt(q_sq)
    out = np.zeros(len(dots), dtype=np.float64)
    mask = norms != 0
    out[mask] = dots[mask] / norms[mask]
    return out


def _row_mask(snap: NsSnapshot, flt: CompiledFilter, now_ms: int) -> np.ndarray[Any, Any] | None:
    """Rows that may be returned, or None when all may (no filter, none expired, none free)."""
    if flt.empty and snap.min_expiry > now_ms:
        return snap.alive if snap.free else None
    ok = {
        key: snap.expiry.get(key, math.inf) > now_ms and (flt.empty or flt.matches(rec.value))
        for key, rec in snap.items.items()
    }
    return np.fromiter((ok.get(k, False) for k in snap.owners), bool, len(snap.owners))  # type: ignore[arg-type]


def rank(
    snaps: Sequence[NsSnapshot],
    flt: CompiledFilter,
    query: Sequence[float],
    cfg: VectorConfig,
    offset: int,
    limit: int,
    now_ms: int,
) -> list[tuple[NsSnapshot, str, float | None]]:
    """Exact top ``offset + limit`` items by max-pooled score, then unscored items."""
    q = np.asarray(query, dtype=np.float32)
    parts: list[np.ndarray[Any, Any]] = []
    used: list[NsSnapshot] = []
    starts: list[int] = []
    total = 0
    for snap in snaps:
        if snap.matrix is None:
            continue
        scores = row_scores(snap, q, cfg.distance)
        mask = _row_mask(snap, flt, now_ms)
        if mask is not None:
            scores = np.where(mask, scores, -np.inf)
        parts.append(scores)
        used.append(snap)
        starts.append(total)
        total += len(scores)
    need = offset + limit
    kept: list[tuple[NsSnapshot, str, float | None]] = []
    if parts:
        allscores = np.concatenate(parts) if len(parts) > 1 else parts[0]
        order = _top(allscores, need)
        seen: set[tuple[int, str]] = set()
        for row in order:
            s = float(allscores[row])
            if s == -np.inf:
                break
            j = bisect.bisect_right(starts, row) - 1
            snap = used[j]
            key = snap.owners[row - starts[j]]
            assert key is not None  # free rows score -inf
            ident = (id(snap), key)
            if ident in seen:
                continue
            seen.add(ident)
            if len(seen) > offset:
                kept.append((snap, key, s))
            if len(seen) >= need:
                break
    if len(kept) < limit:
        # Like InMemoryStore: items without vectors fill the page after scored ones.
        scoreless: list[tuple[NsSnapshot, str, ItemRec]] = [
            t for t in snapshot_items(snaps, flt, now_ms) if not t[2].rows
        ]
        kept.extend((s, k, None) for s, k, _ in scoreless[: limit - len(kept)])
    return kept


def _top(scores: np.ndarray[Any, Any], need: int) -> Sequence[int]:
    """Row indices best first; partial sort when a few rows are asked of many."""
    n = len(scores)
    m = need * 4 + 16  # slack for items holding several vectors
    if n > 2 * m:
        part = np.argpartition(-scores, m)[:m]
        top = part[np.argsort(-scores[part], kind="stable")]
        # Rows cut off by the partition could still be needed when many of the top
        # rows belong to the same items; fall back to a full sort in that case.
        return _Chain(top, scores)
    return list(np.argsort(-scores, kind="stable"))


class _Chain(Sequence[int]):
    """The partial order first; the full order only if iteration goes past it."""

    def __init__(self, head: np.ndarray[Any, Any], scores: np.ndarray[Any, Any]) -> None:
        self.head = [int(i) for i in head]
        self.scores = scores
        self._full: list[int] | None = None

    def _rest(self) -> list[int]:
        if self._full is None:
            self._full = [int(i) for i in np.argsort(-self.scores, kind="stable")]
        return self._full

    def __iter__(self) -> Any:
        yield from self.head
        seen = set(self.head)
        for i in self._rest():
            if i not in seen:
                yield i

    def __len__(self) -> int:
        return len(self.scores)

    def __getitem__(self, i: Any) -> Any:
        return self._rest()[i]


def plan_search(
    prefix: str, cache: StoreCache, req: SearchRequest, hints: object = None
) -> Generator[Batch[Any], list[Any], list[SearchItem]]:
    """Search one namespace prefix (``hints`` is the query engine's; unused here).

    ``reuse``: see :func:`plan_snapshots` (no round trip when a concurrent search
    refreshed the snapshots after this one began).

    One round trip when the cached snapshots are fresh or a few writes behind (see
    :func:`plan_snapshots`); one more to renew TTLs when ``refresh`` is set and a result
    carries a TTL.
    """
    op, flt, query, cfg, now_ms, refresh, reuse = req
    snaps = yield from plan_snapshots(prefix, cache, op.namespace_prefix, cfg, now_ms, reuse)
    found: list[tuple[NsSnapshot, str, float | None]]
    if query is None or cfg is None:
        items = snapshot_items(snaps, flt, now_ms, op.offset + op.limit)
        found = [(s, k, None) for s, k, _ in items[op.offset :]]
    else:
        found = rank(snaps, flt, query, cfg, op.offset, op.limit, now_ms)
    results = [to_search_item(s.namespace, k, s.items[k], score) for s, k, score in found]
    if refresh:
        yield from plan_refresh_found(
            prefix, [(s, k, s.namespace, s.items[k].ttl) for s, k, _ in found], now_ms
        )
    return results


def uses_snapshots(req: SearchRequest) -> bool:
    """Always: this engine answers every search from the snapshots."""
    return True


def plan_values_search(
    prefix: str, cache: StoreCache, req: SearchRequest
) -> Generator[Batch[Any], list[Any], list[SearchItem]]:
    """A search that ranks nothing (no query, or a store that embeds nothing) from
    value-only snapshots: how the engines that rank on the server (query, vset) answer
    those; their cache keeps no vectors. Round trips as :func:`plan_search`."""
    return (yield from plan_search(prefix, cache, req._replace(cfg=None)))


# --------------------------------------------------------------------------- server-side KNN pages
# Shared by the engines that rank on the server (query, vset): they fetch ranked
# candidates by (namespace text, key), read the items, and finish the page here.

Ident = tuple[str, str]
"""(namespace text, key) of a ranked candidate."""


def first_live(order: list[Ident], fetched: dict[Ident, Any], need: int) -> list[Ident]:
    """The head of ``order`` holding ``need`` items not known to be gone."""
    out: list[Ident] = []
    live = 0
    for ident in order:
        if live >= need:
            break
        out.append(ident)
        if ident not in fetched or fetched[ident] is not None:
            live += 1
    return out


def search_item(item: Item, score: float | None) -> SearchItem:
    """A search result of an item read from the server."""
    return SearchItem(
        namespace=item.namespace,
        key=item.key,
        value=item.value,
        created_at=item.created_at,
        updated_at=item.updated_at,
        score=score,
    )


def plan_finish_page(
    prefix: str,
    cache: StoreCache,
    req: SearchRequest,
    ranked: Sequence[tuple[Item, float, int]],
) -> Generator[Batch[Any], list[Any], list[SearchItem]]:
    """The page of a server-side KNN: ``ranked`` holds (item, score, ttl ms) of the
    passing candidates best first; items without vectors fill the page after the scored
    ones (like InMemoryStore, from the snapshots), then TTLs are renewed with ``refresh``.
    """
    op, flt, now_ms = req.op, req.flt, req.now_ms
    kept: list[SearchItem] = []
    renew: list[tuple[NsSnapshot | None, str, tuple[str, ...], int]] = []
    for item, score, ttl in ranked[op.offset : op.offset + op.limit]:
        kept.append(search_item(item, score))
        renew.append((None, item.key, item.namespace, ttl))
    if len(kept) < op.limit:
        snaps = yield from plan_snapshots(prefix, cache, op.namespace_prefix, None, now_ms)
        scoreless = [t for t in snapshot_items(snaps, flt, now_ms) if t[2].nv == 0]
        for s, k, rec in scoreless[: op.limit - len(kept)]:
            kept.append(to_search_item(s.namespace, k, rec, None))
            renew.append((s, k, s.namespace, rec.ttl))
    if req.refresh:
        yield from plan_refresh_found(prefix, renew, now_ms)
    return kept
