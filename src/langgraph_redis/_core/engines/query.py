"""Query engine: RediSearch-compatible ``FT.*`` over the store's vector HASH keys.

The index covers the per-vector keys (``P:v:``): a VECTOR field (FLAT or HNSW, FLOAT32
``vector`` or FLOAT16 ``halfvec``, COSINE/L2/IP) plus two TAG fields holding digests, so
query text never needs escaping and case is never folded:

* ``nsp``: one digest per ancestor of the item's namespace (prefix scoping);
* ``flt``: one digest per scalar ``path=value`` of the item (equality prefilter).

KNN runs with those TAG clauses as prefilter; operators TAG cannot express (ranges,
``$ne``) are applied to the fetched items, widening K until the page is full or the
index has no more matches. Searches without a query use the shared snapshot path.
Scores follow ``InMemoryStore``/``PostgresStore``: cosine similarity, negative
Euclidean distance, inner product (RediSearch reports 1-cos, squared L2 and 1-ip).
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Sequence
from typing import Any

import numpy as np
from langgraph.store.base import SearchItem, SearchOp

from langgraph_redis._core import store_keys as sk
from langgraph_redis._core.engines.common import (
    ITEM_FIELDS,
    NsSnapshot,
    StoreCache,
    VectorConfig,
    decode_item,
    ns_digest,
    plan_check_config,
    plan_refresh_found,
    plan_snapshots,
    snapshot_items,
    to_search_item,
)
from langgraph_redis._core.filters import CompiledFilter
from langgraph_redis._core.plans import Batch, batch, check
from langgraph_redis._core.serde import CorruptDataError, UnsupportedFormatError

logger = logging.getLogger("langgraph_redis")

NAME = "query"
_METRIC = {"cosine": "COSINE", "l2": "L2", "inner_product": "IP"}
_TYPE = {"vector": "FLOAT32", "halfvec": "FLOAT16"}


def _text(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def create_command(prefix: str, cfg: VectorConfig) -> tuple[Any, ...]:
    """FT.CREATE for the vector keys of ``prefix``."""
    params: list[Any] = [
        "TYPE",
        _TYPE[cfg.vector_type],
        "DIM",
        cfg.dims,
        "DISTANCE_METRIC",
        _METRIC[cfg.distance],
    ]
    if cfg.algorithm == "hnsw":
        params += ["M", cfg.m, "EF_CONSTRUCTION", cfg.ef_construction, "EF_RUNTIME", cfg.ef_runtime]
    return (
        "FT.CREATE",
        sk.index_name(prefix),
        "ON",
        "HASH",
        "PREFIX",
        1,
        sk.vec_prefix(prefix),
        "SCHEMA",
        "nsp",
        "TAG",
        "SEPARATOR",
        ",",
        "CASESENSITIVE",
        "flt",
        "TAG",
        "SEPARATOR",
        ",",
        "CASESENSITIVE",
        "vec",
        "VECTOR",
        cfg.algorithm.upper(),
        len(params),
        *params,
    )


def _as_dict(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return {_text(k): v for k, v in raw.items()}
    if isinstance(raw, (list, tuple)):
        return {_text(k): v for k, v in zip(raw[::2], raw[1::2], strict=False)}
    return {}


def index_settings(info: Any) -> dict[str, str]:
    """Vector attribute of an FT.INFO reply: algorithm, data type, dim, metric."""
    for attr in _as_dict(info).get("attributes", []):
        if isinstance(attr, (list, tuple)):
            a = {_text(k).lower(): v for k, v in zip(attr[::2], attr[1::2], strict=False)}
        else:
            a = {k.lower(): v for k, v in _as_dict(attr).items()}
        if _text(a.get("type", "")).upper() == "VECTOR":
            return {
                "algorithm": _text(a.get("algorithm", "")).upper(),
                "data_type": _text(a.get("data_type", "")).upper(),
                "dim": _text(a.get("dim", "")),
                "distance_metric": _text(a.get("distance_metric", "")).upper(),
            }
    return {}


def plan_setup(prefix: str, cfg: VectorConfig | None) -> Generator[Batch[Any], list[Any], None]:
    """Check recorded settings, then create the index or verify the existing one."""
    if cfg is None:
        return None
    yield plan_check_config(prefix, cfg)
    (info,) = yield batch([("FT.INFO", sk.index_name(prefix))])
    want = {
        "algorithm": cfg.algorithm.upper(),
        "data_type": _TYPE[cfg.vector_type],
        "dim": str(cfg.dims),
        "distance_metric": _METRIC[cfg.distance],
    }
    if isinstance(info, BaseException):
        if "unknown index" not in str(info).lower() and "no such index" not in str(info).lower():
            raise info
        (created,) = yield batch([create_command(prefix, cfg)])
        if isinstance(created, BaseException) and "already exists" not in str(created).lower():
            raise created
        return None
    have = index_settings(info)
    diff = {k: (have.get(k), v) for k, v in want.items() if have.get(k) != v}
    if diff:
        detail = ", ".join(f"{k}: index has {h}, store wants {w}" for k, (h, w) in diff.items())
        raise ValueError(
            f"index {sk.index_name(prefix)!r} exists with other settings ({detail}); "
            "drop it (FT.DROPINDEX) or use another prefix"
        )
    return None


def to_score(distance: float, metric: str) -> float:
    if metric == "l2":
        return -float(np.sqrt(max(distance, 0.0)))
    return 1.0 - distance  # cosine: 1 - (1 - cos); inner_product: 1 - (1 - ip)


BATCHES_FROM = 2000
"""Prefilters matching at least this many vectors use ``HYBRID_POLICY BATCHES``.

RediSearch's ad-hoc policy scores every vector that passes the filter one by one; for a
broad filter (10k vectors of 1,536 dims) that measured 5-6 ms against 1.5 ms in batches
on HNSW. For a narrow filter batches are the slow choice (0.7 ms ad hoc vs 3-9 ms), so
the policy follows the filter's size, counted by a cheap ``LIMIT 0 0`` query and kept
for :data:`HINT_TTL_MS`.
"""

HINT_TTL_MS = 5_000

Hints = dict[str, tuple[int, int]]
"""Per prefilter: (number of matching vectors, when it was counted in ms)."""


def knn_query(prefilter: str, hnsw: bool, batches: bool = False) -> str:
    ef = " EF_RUNTIME $EF" if hnsw else ""
    head = f"({prefilter})" if prefilter else "*"
    policy = " HYBRID_POLICY BATCHES" if batches and prefilter else ""
    return f"{head}=>[KNN $K @vec $B{ef}{policy} AS __d]"


def decode_total(raw: Any) -> int:
    """The match count of an FT.SEARCH reply (RESP2 list or RESP3 map)."""
    if isinstance(raw, BaseException):
        raise raw
    if isinstance(raw, dict):
        return int(_as_dict(raw).get("total_results", 0))
    return int(raw[0])


def decode_rows(raw: Any) -> list[tuple[str, str, float]]:
    """(namespace text, key, distance) per row of an FT.SEARCH reply (RESP2 or RESP3)."""
    if isinstance(raw, dict):
        found = [
            (_as_dict(r).get("id"), _as_dict(_as_dict(r).get("extra_attributes", {})))
            for r in _as_dict(raw).get("results", [])
        ]
    else:
        found = [(doc, _as_dict(fields)) for doc, fields in zip(raw[1::2], raw[2::2], strict=False)]
    rows: list[tuple[str, str, float]] = []
    for doc, attrs in found:
        try:
            rows.append((_text(attrs["ns"]), _text(attrs["key"]), float(_text(attrs["__d"]))))
        except (KeyError, ValueError):
            # A hash under the vector prefix that the store did not write (no ns/key).
            logger.warning("langgraph_redis skipped an unreadable vector key: %s", _text(doc))
    return rows


def plan_search(
    prefix: str,
    cache: StoreCache,
    op: SearchOp,
    flt: CompiledFilter,
    query: Sequence[float] | None,
    cfg: VectorConfig | None,
    now_ms: int,
    refresh: bool = False,
    hints: Hints | None = None,
) -> Generator[Batch[Any], list[Any], list[SearchItem]]:
    """KNN with TAG prefilter; two round trips per widening step (search, item fetch).

    ``hints`` caches prefilter sizes (see :data:`BATCHES_FROM`); counting a prefilter
    costs one more round trip at most every :data:`HINT_TTL_MS`.

    Without a query: the snapshot path (one round trip when fresh). With ``refresh``,
    one more round trip renews the TTL of results that carry one (none when none does).
    """
    if query is None or cfg is None:
        snaps = yield from plan_snapshots(prefix, cache, op.namespace_prefix, None, now_ms)
        page = snapshot_items(snaps, flt, now_ms)[op.offset : op.offset + op.limit]
        if refresh:
            yield from plan_refresh_found(
                prefix, [(s, k, s.namespace, rec.ttl) for s, k, rec in page], now_ms
            )
        return [to_search_item(s.namespace, k, rec, None) for s, k, rec in page]
    clauses = []
    if op.namespace_prefix:
        clauses.append(f"@nsp:{{{ns_digest(sk.ns_text(op.namespace_prefix))}}}")
    if tag := flt.query_text():
        clauses.append(tag)
    prefilter = " ".join(clauses)
    batches = False
    if op.namespace_prefix and hints is not None:
        # The namespace clause alone sizes the prefilter (other clauses only narrow it),
        # so one count serves every filter on that prefix.
        scope = clauses[0]
        seen = hints.get(scope)
        if seen is None or now_ms - seen[1] > HINT_TTL_MS:
            (total,) = yield batch(
                [("FT.SEARCH", sk.index_name(prefix), scope, "LIMIT", 0, 0, "DIALECT", 2)]
            )
            seen = hints[scope] = (decode_total(total), now_ms)
        batches = seen[0] >= BATCHES_FROM
    text = knn_query(prefilter, cfg.algorithm == "hnsw", batches)
    blob = np.asarray(query, dtype=cfg.dtype).tobytes()
    need = op.offset + op.limit
    k = max(2 * need + 8, 16)
    order: list[tuple[str, str]] = []
    best: dict[tuple[str, str], float] = {}
    fetched: dict[tuple[str, str], Any] = {}
    ttls: dict[tuple[str, str], int] = {}
    while True:
        params: list[Any] = ["K", k, "B", blob]
        if cfg.algorithm == "hnsw":
            params += ["EF", max(cfg.ef_runtime, k)]
        (reply,) = yield batch(
            [
                (
                    "FT.SEARCH",
                    sk.index_name(prefix),
                    text,
                    "PARAMS",
                    len(params),
                    *params,
                    "SORTBY",
                    "__d",
                    "ASC",
                    "LIMIT",
                    0,
                    k,
                    "RETURN",
                    3,
                    "ns",
                    "key",
                    "__d",
                    "DIALECT",
                    2,
                )
            ]
        )
        check([reply])
        rows = decode_rows(reply)
        for nst, key, dist in rows:
            ident = (nst, key)
            if ident not in best:
                best[ident] = to_score(dist, cfg.distance)
                order.append(ident)
        # Without a post-filter the best ``need`` items are the answer: fetch only them.
        wanted = order if not flt.empty else order[:need]
        missing = [i for i in wanted if i not in fetched]
        if missing:
            replies = yield batch(
                [("HMGET", sk.item_key(prefix, n, key), *ITEM_FIELDS, "ttl") for n, key in missing]
            )
            for ident, fields in zip(missing, replies, strict=False):
                try:
                    fetched[ident] = decode_item(sk.ns_from_text(ident[0]), ident[1], fields)
                    ttls[ident] = int(fields[-1] or 0)
                except (CorruptDataError, ValueError) as exc:
                    if isinstance(exc, UnsupportedFormatError):
                        raise
                    # Foreign or damaged data: this item is left out, the search goes on.
                    logger.warning("langgraph_redis skipped an unreadable item: %s", exc)
                    fetched[ident] = None
        passing = [
            i
            for i in wanted
            if fetched[i] is not None and (flt.empty or flt.matches(fetched[i].value))
        ]
        if len(passing) >= need or len(rows) < k:
            break
        k *= 4
    kept: list[SearchItem] = []
    renew: list[tuple[NsSnapshot | None, str, tuple[str, ...], int]] = []
    for ident in passing[op.offset : need]:
        item = fetched[ident]
        kept.append(
            SearchItem(
                namespace=item.namespace,
                key=item.key,
                value=item.value,
                created_at=item.created_at,
                updated_at=item.updated_at,
                score=best[ident],
            )
        )
        renew.append((None, item.key, item.namespace, ttls[ident]))
    if len(kept) < op.limit:
        # Like InMemoryStore: items without vectors fill the page after scored ones.
        snaps = yield from plan_snapshots(prefix, cache, op.namespace_prefix, None, now_ms)
        scoreless = [t for t in snapshot_items(snaps, flt, now_ms) if t[2].nv == 0]
        for s, k2, rec in scoreless[: op.limit - len(kept)]:
            kept.append(to_search_item(s.namespace, k2, rec, None))
            renew.append((s, k2, s.namespace, rec.ttl))
    if refresh:
        yield from plan_refresh_found(prefix, renew, now_ms)
    return kept
