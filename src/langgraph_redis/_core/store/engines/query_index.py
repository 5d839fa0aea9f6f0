"""Query engine's index lifecycle: ``FT.CREATE``/``FT.INFO``, the schema version, upgrade.

The search side lives in :mod:`.query`; this module owns what the index *is*: the
``FT.CREATE`` command and its key prefixes (the list of prefixes is the schema's
version), reading ``FT.INFO`` (settings, prefixes, background indexing), creating the
index with a fresh token in ``P:ixg`` (see :mod:`.query` for how searches read it),
recreating an index of an earlier schema after tagging the items it never indexed
(:data:`TAG_ITEM`, :func:`plan_tag_items`), and refusing a store in another database
whose prefix db 0's index covers (:func:`plan_refuse_shared_prefix`).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Generator
from typing import Any

from langgraph_redis._core.checkpoint.serde import CorruptDataError
from langgraph_redis._core.plans import Batch, Op, Script, batch, check
from langgraph_redis._core.replies import as_map as _as_dict
from langgraph_redis._core.replies import text as _text
from langgraph_redis._core.store import keys as sk
from langgraph_redis._core.store.config import VectorConfig, plan_check_config
from langgraph_redis._core.store.filters import value_tokens
from langgraph_redis._core.store.items import item_ns_tags, order_key, parse_value

logger = logging.getLogger(__name__)

TAG_ITEM = Script(
    "tag_item",
    """
-- Gives an item written before items were indexed the TAG digests its index reads;
-- skipped when the item is gone or was rewritten since it was read (the writer tagged it).
if redis.call('HGET', KEYS[1], 'ua') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'nsi', ARGV[2], 'ord', ARGV[4])
if ARGV[3] == '' then redis.call('HDEL', KEYS[1], 'flt') else redis.call('HSET', KEYS[1], 'flt', ARGV[3]) end
return 1
""",
)

TAG_CHUNK = 500
"""Items read and tagged per round trip by :func:`plan_tag_items`."""
_METRIC = {"cosine": "COSINE", "l2": "L2", "inner_product": "IP"}
_TYPE = {"vector": "FLOAT32", "halfvec": "FLOAT16"}


def index_prefix(prefix: str) -> str:
    """The vector key prefix the index covers: ``P:v:{`` (every vector key of the store,
    and only those: prefixes have no braces, so no other store's keys start with it)."""
    return sk.vec_prefix(prefix) + "{"


def item_index_prefix(prefix: str) -> str:
    """The item key prefix the index covers: ``P:i:{`` (every item of the store, and only
    those), so a search without a query is one ``FT.SEARCH`` sorted by ``ua``."""
    return f"{prefix}:i:{{"


def index_prefixes_wanted(prefix: str) -> list[str]:
    """Every key prefix the current index schema covers, in ``FT.CREATE`` order.

    This list is the schema's version: an index covering anything else (the vector keys
    alone, as before item documents were indexed) is recreated at setup
    (:func:`plan_setup`), after the items are given the fields it reads.
    """
    return [index_prefix(prefix), item_index_prefix(prefix)]


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
        2,
        *index_prefixes_wanted(prefix),
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
        # Only item documents carry ``nsi`` (``nsp`` plus ITEM_TAG): a search without a
        # query selects them by it, and sorts them by ``ord`` (:func:`~..items.order_key`).
        "nsi",
        "TAG",
        "SEPARATOR",
        ",",
        "CASESENSITIVE",
        "ord",
        "TEXT",
        "NOINDEX",
        "SORTABLE",
        "UNF",
        "vec",
        "VECTOR",
        cfg.algorithm.upper(),
        len(params),
        *params,
    )


def index_settings(info: Any) -> dict[str, str]:
    """Vector attribute of an FT.INFO reply: algorithm, data type, dim, metric."""
    for attr in _as_dict(info).get("attributes", []):
        a = {k.lower(): v for k, v in _as_dict(attr).items()}
        if _text(a.get("type", "")).upper() == "VECTOR":
            return {
                "algorithm": _text(a.get("algorithm", "")).upper(),
                "data_type": _text(a.get("data_type", "")).upper(),
                "dim": _text(a.get("dim", "")),
                "distance_metric": _text(a.get("distance_metric", "")).upper(),
            }
    return {}


def index_prefixes(info: Any) -> list[str]:
    """Key prefixes of an FT.INFO reply's index definition."""
    definition = _as_dict(_as_dict(info).get("index_definition", {}))
    return [_text(p) for p in definition.get("prefixes", []) or []]


def is_missing_index(reply: Any) -> bool:
    """Whether a reply is the error of a command naming an index that does not exist."""
    text = str(reply).lower()
    return isinstance(reply, BaseException) and ("no such index" in text or "unknown index" in text)


def is_indexing(info: Any) -> bool:
    """Whether an FT.INFO reply says existing keys are still being scanned in.

    RediSearch reports ``indexing`` (1 while scanning); valkey-search reports
    ``backfill_in_progress`` and a ``state`` other than ``ready`` (read the same way,
    not tested here: our query-engine tests run on Redis Stack).
    """
    if isinstance(info, BaseException):
        raise info
    d = _as_dict(info)
    for field in ("indexing", "backfill_in_progress"):
        if field in d:
            try:
                if int(float(_text(d[field]))):
                    return True
            except ValueError:
                return True
    state = d.get("state")
    return state is not None and "backfill" in _text(state).lower()


def plan_create(prefix: str, cfg: VectorConfig) -> Generator[Batch[Any], list[Any], None]:
    """Record the settings (again, after FLUSHDB), create the index, write a new token.

    The token tells every store on this prefix that the index is new and may still be
    indexing in the background (module docstring). "already exists" is success: another
    process won the race.
    """
    yield plan_check_config(prefix, cfg)
    # The token first: a search that reads the new index reads its token afterwards.
    token, created = yield batch(
        [("SET", sk.index_token_key(prefix), secrets.token_hex(8)), create_command(prefix, cfg)]
    )
    if isinstance(created, BaseException) and "already exists" not in str(created).lower():
        raise created
    check([token])
    return None


def plan_setup(
    prefix: str, cfg: VectorConfig | None
) -> Generator[Batch[Any], Any, VectorConfig | None]:
    """Check recorded settings, then create the index or verify the existing one.

    An index over other keys (the ``P:v:`` prefix of earlier releases, which also
    covered stores whose prefix starts with ``P:v``) is dropped without its documents
    and created again: it holds derived data only. Returns the settings to use (the
    recorded algorithm when none was asked for: :func:`plan_check_config`).
    """
    if cfg is None:
        return None
    cfg = yield plan_check_config(prefix, cfg)
    assert cfg is not None
    (info,) = yield batch([("FT.INFO", sk.index_name(prefix))])
    want = {
        "algorithm": cfg.algorithm.upper(),
        "data_type": _TYPE[cfg.vector_type],
        "dim": str(cfg.dims),
        "distance_metric": _METRIC[cfg.distance],
    }
    if isinstance(info, BaseException):
        if not is_missing_index(info):
            raise info
        yield from plan_create(prefix, cfg)
        return cfg
    covered = index_prefixes(info)
    if covered and covered != index_prefixes_wanted(prefix):  # unreadable: leave it be
        logger.warning(
            "index %r covers key prefixes %s instead of %s; recreating it (its documents are kept)",
            sk.index_name(prefix),
            covered,
            index_prefixes_wanted(prefix),
        )
        if item_index_prefix(prefix) not in covered:
            # An earlier schema (vectors only): items get the fields the new one reads
            # first, so the new index never misses an item; a crash before the index is
            # recreated leaves the old one, and the next setup tags again.
            yield from plan_tag_items(prefix)
        (dropped,) = yield batch([("FT.DROPINDEX", sk.index_name(prefix))])
        if isinstance(dropped, BaseException) and not is_missing_index(dropped):
            raise dropped
        yield from plan_create(prefix, cfg)
        return cfg
    have = index_settings(info)
    diff = {k: (have.get(k), v) for k, v in want.items() if have.get(k) != v}
    if diff:
        detail = ", ".join(f"{k}: index has {h}, store wants {w}" for k, (h, w) in diff.items())
        raise ValueError(
            f"index {sk.index_name(prefix)!r} exists with other settings ({detail}); "
            "drop it (FT.DROPINDEX) or use another prefix"
        )
    return cfg


def plan_tag_items(prefix: str) -> Generator[Batch[Any], list[Any], None]:
    """Give every item of the store the ``nsi``/``flt``/``ord`` fields (index schema upgrade).

    Reads the namespace index, the namespaces' key sets and the items' values (no SCAN);
    :data:`TAG_ITEM` skips items rewritten meanwhile. Three round trips per
    :data:`TAG_CHUNK` items, at setup only.
    """
    (names,) = yield batch([("ZRANGE", sk.ns_index_key(prefix), 0, -1)])
    check([names])
    nsts = [_text(n) for n in names]
    found: list[tuple[str, str]] = []
    for start in range(0, len(nsts), TAG_CHUNK):
        part = nsts[start : start + TAG_CHUNK]
        members = yield batch([("ZRANGE", sk.keys_key(prefix, n), 0, -1) for n in part])
        check(members)
        found += [(n, _text(k)) for n, ks in zip(part, members, strict=True) for k in ks]
    for start in range(0, len(found), TAG_CHUNK):
        part2 = found[start : start + TAG_CHUNK]
        keys = [sk.item_key(prefix, n, k) for n, k in part2]
        rows = yield batch([("HMGET", key, "value", "ua") for key in keys])
        calls: list[Op] = []
        for (n, k), key, row in zip(part2, keys, rows, strict=True):
            if isinstance(row, BaseException) or row[0] is None or row[1] is None:
                continue  # gone, or not an item: nothing to index
            ns = sk.ns_from_text(n)
            try:
                tokens = value_tokens(parse_value(row[0], ns, k))
            except CorruptDataError:
                continue  # searches skip it too
            ua = _text(row[1])
            tags = (ua, item_ns_tags(ns), ",".join(tokens), order_key(int(ua), ns, k))
            calls.append(TAG_ITEM.call((key,), tags))
        if calls:
            check((yield batch(calls)))
    return None


def plan_refuse_shared_prefix(prefix: str, db: int) -> Batch[None]:
    """Refuse a store in db ``db`` != 0 whose prefix db 0's query engine indexes.

    RediSearch indexes a key written in any database into the index whose prefix
    matches (index names and prefixes are global, the index lives in db 0): this
    store's vector writes would replace db 0's vectors of the same keys in that index
    and add documents db 0 does not hold, so db 0's searches would rank its items by
    this store's vectors.
    """

    def decode(replies: list[Any]) -> None:
        (info,) = replies
        if is_missing_index(info):
            return None
        if isinstance(info, BaseException):
            raise info
        wanted = index_prefixes_wanted(prefix)
        covered = [p for p in index_prefixes(info) if any(w.startswith(p) for w in wanted)]
        if covered:
            raise ValueError(
                f"store prefix {prefix!r} in db {db} is covered by the query-engine index "
                f"{sk.index_name(prefix)!r} of db 0 (key prefixes {covered}): Redis Stack "
                "indexes every database's keys into it, so writes here would corrupt db 0's "
                "vector search. Use another prefix in this database."
            )
        return None

    return batch([("FT.INFO", sk.index_name(prefix))], decode)
