"""Checkpoint listing: ``list`` pages through each namespace's index and merges them.

Each (thread, namespace) is paged separately (its own sorted index); :class:`ListMerge`
merges the pages newest first, so a ``list`` over many threads reads only what it returns
(plus one page of look-ahead per namespace).
"""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    CheckpointTuple,
)

from langgraph_redis._core.checkpoint.config import (
    SaverConfig,
    _checkpoint_id,
    _configurable,
    _ns,
    _thread_id,
)
from langgraph_redis._core.checkpoint.keys import (
    thread_registry,
)
from langgraph_redis._core.checkpoint.reads import (
    _get_calls,
    _refresh_listing,
    _typed,
    decode_tuple,
)
from langgraph_redis._core.checkpoint.serde import (
    CorruptDataError,
    load_typed,
)
from langgraph_redis._core.plans import Batch, batch, check
from langgraph_redis._core.replies import text as _text

# -- list ------------------------------------------------------------------------------

PAGE = 100


@dataclass(frozen=True)
class ListQuery:
    """A validated ``list`` call."""

    thread_id: str | None
    ns: str | None
    checkpoint_id: str | None
    before: str | None
    filter: Mapping[str, Any]
    limit: int | None


def list_query(
    config: RunnableConfig | None,
    *,
    filter: Mapping[str, Any] | None,
    before: RunnableConfig | None,
    limit: int | None,
) -> ListQuery:
    """Validate ``list`` arguments. ``limit`` None or negative means no limit."""
    if limit is not None and not isinstance(limit, int):
        raise TypeError(f"list: limit must be an int or None, got {type(limit).__name__}")
    if filter is not None and not isinstance(filter, Mapping):
        raise TypeError("list: filter must be a dict of metadata key -> value")
    before_id = _checkpoint_id(_configurable(before, "list(before=...)")) if before else None
    thread_id = ns = cid = None
    if config is not None:
        conf = _configurable(config, "list")
        thread_id = _thread_id(conf, "list") if conf.get("thread_id") is not None else None
        raw_ns = conf.get("checkpoint_ns")
        ns = None if raw_ns is None else _ns(conf)
        cid = _checkpoint_id(conf)
    return ListQuery(
        thread_id,
        ns,
        cid,
        before_id,
        {k: _no_nul(v) for k, v in (filter or {}).items()},
        None if limit is None or limit < 0 else limit,
    )


def plan_list_scopes(
    cfg: SaverConfig, query: ListQuery
) -> Generator[Batch[Any], Any, list[tuple[str, str]]]:
    """``(thread, namespace)`` pairs to walk, from the registries (never SCAN)."""
    if query.thread_id is not None and query.ns is not None:
        return [(query.thread_id, query.ns)]
    if query.thread_id is not None:
        thread_ids = [query.thread_id]
    else:
        raw = yield batch([("ZRANGE", thread_registry(cfg.prefix), 0, -1)], _first)
        thread_ids = [_text(t) for t in raw]
    if not thread_ids:
        return []
    nss = [cfg.keys(t).namespaces for t in thread_ids]
    members = yield batch([("SMEMBERS", k) for k in nss], _typed(nss))
    return [
        (tid, ns)
        for tid, group in zip(thread_ids, members)
        for ns in sorted(_text(m) for m in group)
        if query.ns is None or ns == query.ns
    ]


class Listed(NamedTuple):
    """A checkpoint of a ``list`` page as the server sent it; :meth:`load` decodes it.

    A page is decoded one checkpoint at a time, as the caller takes it: decoded as a
    whole, ten checkpoints (a chat's messages are many small objects each) were alive at
    once, outlived the garbage collector's youngest generation and were promoted, and
    the full collections that followed cost ``list`` about a fifth of its time. Taken one
    by one, a checkpoint the caller drops dies young. A damaged checkpoint raises when
    the listing reaches it.
    """

    checkpoint_id: str
    reply: Any
    cfg: SaverConfig
    thread_id: str
    ns: str

    def load(self) -> CheckpointTuple | None:
        """The tuple, or None when the checkpoint went after its id was read."""
        return decode_tuple(self.cfg, self.thread_id, self.ns, self.reply, self.checkpoint_id)


class ListMerge:
    """Merges the namespaces of one thread into one newest-first listing.

    Each namespace is paged separately (its own index); the caller fetches the pages
    :meth:`needs` asks for, :meth:`feed` s them, and takes checkpoints from :meth:`pop`,
    which always returns the newest checkpoint id among the namespaces' heads -- the
    order SQL savers give a thread listed without a namespace.
    """

    def __init__(self, namespaces: Sequence[str]) -> None:
        self._buffers: dict[str, list[Listed]] = {ns: [] for ns in namespaces}
        self._cursors: dict[str, str | None] = dict.fromkeys(namespaces)
        self._unread = set(namespaces)  # not fetched yet: their cursor None means "start"

    def needs(self) -> list[tuple[str, str | None]]:
        """``(namespace, cursor)`` pairs to fetch: empty buffers with more to read."""
        return [
            (ns, cursor)
            for ns, cursor in self._cursors.items()
            if (cursor is not None or ns in self._unread) and not self._buffers[ns]
        ]

    def feed(self, ns: str, page: list[Listed], cursor: str | None) -> None:
        self._buffers[ns].extend(page)
        self._cursors[ns] = cursor
        self._unread.discard(ns)

    def pop(self) -> Listed | None:
        """The newest remaining checkpoint, or None when every namespace is exhausted."""
        heads = [ns for ns, buf in self._buffers.items() if buf]
        if not heads:
            return None
        newest = heads[0]
        if len(heads) > 1:
            newest = max(heads, key=lambda n: self._buffers[n][0].checkpoint_id)
        return self._buffers[newest].pop(0)


def by_thread(scopes: Sequence[tuple[str, str]]) -> list[tuple[str, list[str]]]:
    """Group ``(thread, namespace)`` scopes by thread, keeping their order."""
    grouped: dict[str, list[str]] = {}
    for thread_id, ns in scopes:
        grouped.setdefault(thread_id, []).append(ns)
    return list(grouped.items())


def _no_nul(value: Any) -> Any:
    """Metadata strings as LangGraph stores them: without NUL (``get_checkpoint_metadata``)."""
    return value.replace("\0", "") if isinstance(value, str) else value


def _matches(metadata: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    return all(metadata.get(k) == v for k, v in wanted.items())


def plan_list_page(
    cfg: SaverConfig,
    query: ListQuery,
    thread_id: str,
    ns: str,
    after: str | None,
    want: int | None,
    *,
    now_ms: int = 0,
) -> Generator[Batch[Any], Any, tuple[list[Listed], str | None]]:
    """One page of a scope, newest first: ``(checkpoints, cursor or None when done)``.

    ``after`` is the last id already returned (exclusive); ``before`` is exclusive too.
    """
    keys = cfg.keys(thread_id)
    if query.checkpoint_id is not None:
        if after is not None:
            return [], None
        ids = [query.checkpoint_id]
        if query.before is not None and query.checkpoint_id >= query.before:
            ids = []
        cursor = None
    else:
        bounds = [b for b in (after, query.before) if b is not None]
        upper = "(" + min(bounds) if bounds else "+"
        page = PAGE if want is None or query.filter else max(1, min(PAGE, want))
        ids = [
            _text(x)
            for x in (
                (
                    yield batch(
                        [("ZRANGE", keys.index(ns), upper, "-", "BYLEX", "REV", "LIMIT", 0, page)],
                        _typed([keys.index(ns)]),
                    )
                )[0]
            )
        ]
        cursor = ids[-1] if len(ids) == page else None
    if ids and query.filter:
        cps = [keys.checkpoint(ns, i) for i in ids]
        raws = yield batch([("HGET", k, "m") for k in cps], _typed(cps))
        kept = []
        for cid, raw, key in zip(ids, raws, cps):
            if raw is None:
                continue  # deleted or expired between the two round trips
            meta = load_typed(cfg.serde, raw, f"metadata of checkpoint {cid!r} (key {key!r})")
            if not isinstance(meta, Mapping):
                raise CorruptDataError(
                    f"metadata of checkpoint {cid!r} (key {key!r}): not a mapping"
                )
            if _matches(meta, query.filter):
                kept.append(cid)
        ids = kept
    if want is not None:
        ids = ids[:want]
    if not ids:
        return [], cursor
    # Not checked here: Listed.load (decode_tuple) turns an error reply into
    # CorruptDataError, and a checkpoint deleted since its id was read into None.
    replies = yield batch(
        _get_calls(cfg, thread_id, ns, ids),
        side=_refresh_listing(cfg, thread_id, now_ms),
    )
    return [Listed(i, r, cfg, thread_id, ns) for r, i in zip(replies, ids)], cursor


def _first(replies: list[Any]) -> Any:
    check(replies)
    return replies[0]
