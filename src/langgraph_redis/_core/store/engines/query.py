"""Query engine: RediSearch-compatible ``FT.*`` over the store's vector and item HASH keys.

The index covers exactly the per-vector and per-item keys of its store (``P:v:{`` and
``P:i:{``: the brace keeps out a store whose prefix starts with ``P:v``): a VECTOR field
(FLAT or HNSW, FLOAT32 ``vector`` or FLOAT16 ``halfvec``, COSINE/L2/IP) plus TAG fields
holding digests, so query text never needs escaping and case is never folded:

* ``nsp`` (vectors), ``nsi`` (items: the same digests plus ``i``): one digest per
  ancestor of the item's namespace (prefix scoping);
* ``flt``: one digest per scalar ``path=value`` of the item (equality prefilter);
* ``ord`` (items, sortable, not searchable): newest update first, then namespace, key.

KNN runs with those TAG clauses as prefilter; operators TAG cannot express (ranges,
``$ne``) are applied to the fetched items, widening K until the page is full or the
index has no more matches. A search without a query is one ``FT.SEARCH`` over the item
documents sorted by ``ord`` (:func:`_plan_filter`), unless its filter has no equality to
narrow with (then the shared snapshot path answers).

Expired items that Redis has not reclaimed yet stay in the index and come back without
fields: they are skipped silently and do not end the widening, so pages stay full.

The index is derived data and may vanish (restart without persistence, ``FLUSHDB``,
failover, ``FT.DROPINDEX``). A search that finds it missing recreates it and answers
with the plain engine's exact path; so does every search while an index (re)created by
any process still indexes existing keys in the background (``FT.CREATE`` scans
asynchronously, and a KNN over a partial index would silently miss items). Whoever
creates the index writes a fresh token to ``P:ixg``; searches read it in the same round
trip as their first item fetch (the ``FT.SEARCH`` goes alone, without pipeline overhead)
and ask ``FT.INFO`` only when it changed; once FT.INFO reports the new index complete,
that search runs its KNN again (the first one may have read it mid-scan).

Scores follow ``InMemoryStore``/``PostgresStore``: cosine similarity, negative
Euclidean distance, inner product (RediSearch reports 1-cos, squared L2 and 1-ip).
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Sequence
from typing import Any

import numpy as np
from langgraph.store.base import Item, SearchItem, SearchOp

from langgraph_redis._core.checkpoint.serde import CorruptDataError, UnsupportedFormatError
from langgraph_redis._core.plans import Batch, Command, batch, check
from langgraph_redis._core.replies import as_map as _as_dict
from langgraph_redis._core.replies import text as _text
from langgraph_redis._core.store import keys as sk
from langgraph_redis._core.store.config import VectorConfig, vector_bytes
from langgraph_redis._core.store.engines import SearchRequest, plain
from langgraph_redis._core.store.engines.query_index import (
    TAG_ITEM,
    is_indexing,
    is_missing_index,
    plan_create,
)
from langgraph_redis._core.store.engines.query_index import (
    plan_refuse_shared_prefix as plan_refuse_shared_prefix,
)
from langgraph_redis._core.store.engines.query_index import plan_setup as plan_setup
from langgraph_redis._core.store.filters import CompiledFilter
from langgraph_redis._core.store.items import (
    ITEM_FIELDS,
    ITEM_TAG,
    decode_item,
    ns_digest,
)
from langgraph_redis._core.store.snapshot import StoreCache, plan_refresh_found

logger = logging.getLogger(__name__)

NAME = "query"

SCRIPTS = (*plain.SCRIPTS, TAG_ITEM)
"""The plain engine's scripts (fallbacks and range filters read snapshots), and the
upgrade's: :func:`~.query_index.plan_tag_items`."""


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

_UNCHECKED = object()


class Hints(dict[str, tuple[int, int]]):
    """Per prefilter: (number of matching vectors, when it was counted in ms).

    ``checked`` is the index token (``P:ixg``) last seen with the index fully built;
    ``exact`` caches the snapshots of the exact fallback while the index is missing or
    building (with vectors: the store's own cache holds none on the query engine, whose
    searches without a query need no vectors). A store keeps one ``Hints`` for its life.
    """

    checked: object = _UNCHECKED

    def __init__(self) -> None:
        super().__init__()
        self.exact: StoreCache = {}


class _IndexMissing(Exception):
    """The FT index is gone (restart, FLUSHDB, failover, FT.DROPINDEX)."""


class _IndexBuilding(Exception):
    """The FT index still scans existing keys in; its answers may be partial."""


class _IndexChecked(Exception):
    """A new index was just found complete; rows read before that may be partial."""


def knn_query(prefilter: str, hnsw: bool, batches: bool = False) -> str:
    ef = " EF_RUNTIME $EF" if hnsw else ""
    head = f"({prefilter})" if prefilter else "*"
    policy = " HYBRID_POLICY BATCHES" if batches and prefilter else ""
    return f"{head}=>[KNN $K @vec $B{ef}{policy} AS __d]"


def knn_command(index: str, query: str, k: int, blob: bytes, ef_runtime: int | None) -> Command:
    """The FT.SEARCH of the ``k`` nearest vectors to ``blob`` that match ``query`` (made
    by :func:`knn_query`): (ns, key, distance) per row, nearest first. ``ef_runtime``
    (HNSW only, else ``None``) is raised to ``k``, since HNSW cannot return more
    candidates than it explores. Shared with the benchmarks' lower bound, which must send
    this very command."""
    params: list[Any] = ["K", k, "B", blob]
    if ef_runtime is not None:
        params += ["EF", max(ef_runtime, k)]
    return (
        "FT.SEARCH",
        index,
        query,
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


def decode_total(raw: Any) -> int:
    """The match count of an FT.SEARCH reply (RESP2 list or RESP3 map)."""
    if isinstance(raw, BaseException):
        raise raw
    if isinstance(raw, dict):
        return int(_as_dict(raw).get("total_results", 0))
    return int(raw[0])


def decode_rows(raw: Any) -> tuple[list[tuple[str, str, float]], int]:
    """(namespace text, key, distance) per row of an FT.SEARCH reply (RESP2 or RESP3),
    and the number of documents the reply held, rows without fields included.

    A document without fields is a key that expired but that Redis has not reclaimed
    yet (the index still lists it): skipped without a warning. It still counts towards
    the reply's size, so the caller widens K instead of taking a short reply for the
    end of the matches.
    """
    found = _documents(raw)
    rows: list[tuple[str, str, float]] = []
    for doc, attrs in found:
        if not attrs:
            continue
        try:
            rows.append((_text(attrs["ns"]), _text(attrs["key"]), float(_text(attrs["__d"]))))
        except (KeyError, ValueError):
            # A hash under the vector prefix that the store did not write (no ns/key).
            logger.warning("skipped an unreadable vector key: %s", _text(doc))
    return rows, len(found)


def _documents(raw: Any) -> list[tuple[Any, dict[str, Any]]]:
    """(document id, fields) of every document of an FT.SEARCH reply, RESP2 or RESP3."""
    if isinstance(raw, dict):
        return [
            (_as_dict(r).get("id"), _as_dict(_as_dict(r).get("extra_attributes") or {}))
            for r in _as_dict(raw).get("results", [])
        ]
    return [(doc, _as_dict(fields)) for doc, fields in zip(raw[1::2], raw[2::2], strict=False)]


def _decode_docs(raw: Any) -> tuple[list[dict[str, Any]], int]:
    """The fields of each document of an FT.SEARCH reply (RESP2 or RESP3) that has any,
    and the number of documents, those without fields (expired, not reclaimed) included."""
    found = _documents(raw)
    docs = [{_text(k): v for k, v in attrs.items()} for _, attrs in found if attrs]
    return docs, len(found)


def plan_search(
    prefix: str, cache: StoreCache, req: SearchRequest, hints: Hints | None = None
) -> Generator[Batch[Any], list[Any], list[SearchItem]]:
    """KNN with TAG prefilter; two round trips per widening step (search, item fetch).

    ``hints`` caches prefilter sizes (see :data:`BATCHES_FROM`); counting a prefilter
    costs one more round trip at most every :data:`HINT_TTL_MS`. It also remembers the
    index token last seen fully built: a new token costs one ``FT.INFO`` round trip.

    A missing index is recreated (two round trips) and, like an index still being
    built, answered by the plain engine's exact path (module docstring).

    Without a query: one ``FT.SEARCH`` when the index narrows the filter, else the
    snapshot path (:func:`uses_snapshots`; one round trip when fresh, none with
    ``reuse``: :func:`~..snapshot.plan_snapshots`). With ``refresh``, one more round
    trip renews the TTL of results that carry one (none when none does).
    """
    op, flt, query, cfg, now_ms, refresh, _ = req
    state = hints if hints is not None else Hints()
    if uses_snapshots(req):
        return (yield from plain.plan_values_search(prefix, cache, req))
    assert cfg is not None  # else uses_snapshots
    if query is None:
        try:
            return (yield from _plan_filter(prefix, op, flt, now_ms, refresh, state))
        except (_IndexMissing, _IndexBuilding) as exc:
            yield from _plan_index_trouble(prefix, cfg, exc)
        return (yield from plain.plan_search(prefix, state.exact, req))
    for _ in range(2):
        try:
            return (yield from _plan_knn(prefix, cache, req, query, cfg, state))
        except _IndexChecked:
            continue  # found complete after this search's FT.SEARCH ran: search it again
        except (_IndexMissing, _IndexBuilding) as exc:
            yield from _plan_index_trouble(prefix, cfg, exc)
        break
    exact = state.exact
    return (yield from plain.plan_search(prefix, exact, req))


def _plan_index_trouble(
    prefix: str, cfg: VectorConfig, exc: Exception
) -> Generator[Batch[Any], list[Any], None]:
    """Log why a search answers exactly; recreate a missing index."""
    if isinstance(exc, _IndexBuilding):
        logger.info(
            "search index %r is still indexing; exact search meanwhile", sk.index_name(prefix)
        )
        return None
    logger.warning(
        "search index %r is missing (server restarted without "
        "persistence, FLUSHDB, failover or FT.DROPINDEX); recreating it",
        sk.index_name(prefix),
    )
    yield from plan_create(prefix, cfg)
    return None


def uses_snapshots(req: SearchRequest) -> bool:
    """Whether a search reads the value snapshots: on a store that embeds nothing, or
    without a query when the index would not narrow its filter (:func:`answers_filter`).
    Every other search asks the index (KNN, or FT.SEARCH for a filter)."""
    return req.cfg is None or (req.query is None and not answers_filter(req.flt))


def answers_filter(flt: CompiledFilter) -> bool:
    """Whether a search without a query goes to the index: no filter, or one whose
    equalities narrow it (TAG clauses). A filter of ranges or ``$ne`` only would make the
    index return the whole namespace for the client to filter: the snapshot path (which
    caches it) answers those."""
    return flt.empty or bool(flt.tag_groups)


def _plan_filter(
    prefix: str,
    op: SearchOp,
    flt: CompiledFilter,
    now_ms: int,
    refresh: bool,
    state: Hints,
) -> Generator[Batch[Any], list[Any], list[SearchItem]]:
    """A search without a query: one ``FT.SEARCH`` over the item documents, newest first.

    The TAG clauses narrow (digests of equalities), the predicate decides, as in the KNN
    path. The page is ``offset + limit`` live matches in ``InMemoryStore``'s order for
    this store (newest update first, then namespace, then key), which ``ord`` sorts by
    alone; the reply is widened (x4) while the predicate or expired items leave the page
    short and the index has more rows. Expired items not yet reclaimed come back without fields: they are
    passed over and still count as rows, so they widen the reply instead of taking page
    slots. The index token rides in the same round trip (see :func:`_plan_knn`).
    """
    name = sk.index_name(prefix)
    # Item documents only (vector documents have no ``nsi``); a TAG clause costs a third
    # of a numeric range over every document.
    scope = ns_digest(sk.ns_text(op.namespace_prefix)) if op.namespace_prefix else ITEM_TAG
    clauses = [f"@nsi:{{{scope}}}"]
    if tag := flt.query_text():
        clauses.append(tag)
    text = " ".join(clauses)
    need = op.offset + op.limit
    k = need + 4  # a little slack for expired items; more widens the reply
    fields = ("ns", "key", *ITEM_FIELDS, "ttl")
    while True:
        reply, token = yield batch(
            [
                (
                    "FT.SEARCH",
                    name,
                    text,
                    "SORTBY",
                    "ord",
                    "ASC",
                    "LIMIT",
                    0,
                    k,
                    "RETURN",
                    len(fields),
                    *fields,
                    "DIALECT",
                    2,
                ),
                ("GET", sk.index_token_key(prefix)),
            ]
        )
        if is_missing_index(reply):
            raise _IndexMissing
        check([reply, token])
        rows, returned = _decode_docs(reply)
        passing: list[tuple[Item, int]] = []
        for attrs in rows:
            try:
                ns = sk.ns_from_text(_text(attrs["ns"]))
                item = decode_item(ns, _text(attrs["key"]), [attrs.get(f) for f in ITEM_FIELDS])
                ttl = int(_text(attrs.get("ttl") or 0))
            except (CorruptDataError, ValueError, KeyError) as exc:
                if isinstance(exc, UnsupportedFormatError):
                    raise
                logger.warning("skipped an unreadable item: %s", exc)
                continue
            if item is not None and (flt.empty or flt.matches(item.value)):
                passing.append((item, ttl))
        # Fewer documents than asked: the index has no more matches. Rows of expired
        # items count here, so a page they crowd out widens the reply.
        if len(passing) >= need or returned < k:
            break
        k *= 4
    token_text = None if token is None else _text(token)
    if token_text != state.checked:
        yield from _plan_confirm_index(name, token_text, state)
        return (yield from _plan_filter(prefix, op, flt, now_ms, refresh, state))
    page = passing[op.offset : need]
    if refresh:
        yield from plan_refresh_found(
            prefix, [(None, it.key, it.namespace, ttl) for it, ttl in page], now_ms
        )
    return [plain.search_item(it, None) for it, _ in page]


def _plan_confirm_index(
    name: str, token: str | None, state: Hints
) -> Generator[Batch[Any], list[Any], None]:
    """A new index token was read: one ``FT.INFO`` says whether that index is complete.

    Raises ``_IndexMissing``/``_IndexBuilding`` (the caller answers exactly); a complete
    index's token is remembered, and from then on the index answers (the exact
    fallback's snapshots are dropped). The caller searches again: its FT.SEARCH ran
    before FT.INFO and may have read the index mid-scan.
    """
    (info,) = yield batch([("FT.INFO", name)])
    if is_missing_index(info):
        raise _IndexMissing
    if is_indexing(info):
        raise _IndexBuilding
    state.checked = token
    state.exact.clear()


def _plan_knn(
    prefix: str,
    cache: StoreCache,
    req: SearchRequest,
    query: Sequence[float],
    cfg: VectorConfig,
    state: Hints,
) -> Generator[Batch[Any], list[Any], list[SearchItem]]:
    """The KNN path of :func:`plan_search`; raises ``_IndexMissing``/``_IndexBuilding``."""
    op, flt, now_ms = req.op, req.flt, req.now_ms
    name = sk.index_name(prefix)
    token_cmd: Command = ("GET", sk.index_token_key(prefix))
    tokens: list[Any] = []  # the token read, once

    def ft_search(cmd: Command) -> Generator[Batch[Any], list[Any], Any]:
        (reply,) = yield batch([cmd])  # alone: a lone command skips the pipeline
        if is_missing_index(reply):
            raise _IndexMissing
        check([reply])
        return reply

    def verify_index() -> Generator[Batch[Any], list[Any], None]:
        # The token rides with the first item fetch (or, when nothing was found, takes a
        # trip of its own); a changed token costs one FT.INFO: an index still indexing
        # makes the caller answer exactly, a complete one is searched again.
        if not tokens:
            tokens.extend((yield batch([token_cmd])))
        check(tokens)
        token = None if tokens[0] is None else _text(tokens[0])
        if token == state.checked:
            return None
        yield from _plan_confirm_index(name, token, state)
        # FT.INFO ran after this search's FT.SEARCH, which may have read the index while
        # it was still indexing: the caller searches again.
        raise _IndexChecked

    clauses = []
    if op.namespace_prefix:
        clauses.append(f"@nsp:{{{ns_digest(sk.ns_text(op.namespace_prefix))}}}")
    if tag := flt.query_text():
        clauses.append(tag)
    prefilter = " ".join(clauses)
    batches = False
    if op.namespace_prefix:
        # The namespace clause alone sizes the prefilter (other clauses only narrow it),
        # so one count serves every filter on that prefix.
        scope = clauses[0]
        seen = state.get(scope)
        if seen is None or now_ms - seen[1] > HINT_TTL_MS:
            total = yield from ft_search(("FT.SEARCH", name, scope, "LIMIT", 0, 0, "DIALECT", 2))
            seen = state[scope] = (decode_total(total), now_ms)
        batches = seen[0] >= BATCHES_FROM
    text = knn_query(prefilter, cfg.algorithm == "hnsw", batches)
    blob = vector_bytes(query, cfg.dtype)
    need = op.offset + op.limit
    k = max(2 * need + 8, 16)
    order: list[tuple[str, str]] = []
    best: dict[tuple[str, str], float] = {}
    fetched: dict[tuple[str, str], Any] = {}
    ttls: dict[tuple[str, str], int] = {}
    while True:
        ef_runtime = cfg.ef_runtime if cfg.algorithm == "hnsw" else None
        reply = yield from ft_search(knn_command(name, text, k, blob, ef_runtime))
        rows, returned = decode_rows(reply)
        for nst, key, dist in rows:
            ident = (nst, key)
            if ident not in best:
                best[ident] = to_score(dist, cfg.distance)
                order.append(ident)
        # Without a post-filter the best ``need`` live items are the answer: fetch only
        # them (items found gone, i.e. expired, are passed over).
        wanted = order if not flt.empty else plain.first_live(order, fetched, need)
        missing = [i for i in wanted if i not in fetched]
        if missing:
            cmds: list[Command] = [
                ("HMGET", sk.item_key(prefix, n, key), *ITEM_FIELDS, "ttl") for n, key in missing
            ]
            replies = yield batch(cmds if tokens else [*cmds, token_cmd])
            if not tokens:
                tokens.append(replies[-1])
            for ident, fields in zip(missing, replies[: len(missing)], strict=True):
                try:
                    fetched[ident] = decode_item(sk.ns_from_text(ident[0]), ident[1], fields)
                    ttls[ident] = int(fields[-1] or 0)
                except (CorruptDataError, ValueError) as exc:
                    if isinstance(exc, UnsupportedFormatError):
                        raise
                    # Foreign or damaged data: this item is left out, the search goes on.
                    logger.warning("skipped an unreadable item: %s", exc)
                    fetched[ident] = None
        passing = [
            i
            for i in wanted
            if fetched[i] is not None and (flt.empty or flt.matches(fetched[i].value))
        ]
        # Fewer documents than K: the index has no more matches. Rows of expired keys
        # count here, so a page they crowd out widens K rather than coming back short.
        if len(passing) >= need or returned < k:
            break
        k *= 4
    yield from verify_index()
    ranked = [(fetched[i], best[i], ttls[i]) for i in passing[: op.offset + op.limit]]
    return (yield from plain.plan_finish_page(prefix, cache, req, ranked))
