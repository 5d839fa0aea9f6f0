"""The store's lower bound: the commands ``AsyncRedisStore`` sends, issued by hand.

``HandWrittenStore`` does what our store does in its steady state for the calls the
benchmarks time, with the least client work that still sends the same commands to the
same index (the same server work):

* ``aput`` of one item: the embedder call, then one ``EVALSHA`` of the same ``PUT_ITEM``
  script with the same keys and arguments (JSON value, timestamps, packed vectors, the
  namespace and filter TAG digests and, on the query engine, the sort key), built with
  f-strings and ``hashlib`` inline: no validation, no plans, no key escaping (the
  benchmarks' namespaces and keys need none), the epoch drawn once per store.
* filter-only ``asearch`` (query engine): the same pipeline of ``FT.SEARCH`` over the
  item documents (``@nsi`` scope and ``@flt`` equality clauses, ``SORTBY ord``, the
  same ``LIMIT`` and ``RETURN``) and ``GET`` of the index token; documents turned into
  ``SearchItem`` s directly (the TAG digests are trusted: no predicate, no widening).
* ``asearch`` with a query (query engine, what the chatbot sends): the prefilter count
  (``LIMIT 0 0``, at most every 5 s per namespace, which picks ``HYBRID_POLICY``), the
  KNN ``FT.SEARCH`` sent alone (its arguments built by our ``knn_query`` and
  ``knn_command``: the very command, for the same tuple building), then the ``HMGET``
  of the best items with the token ``GET`` in one pipeline (the token alone when
  nothing was found), and, when the page is short, the namespace-index ``ZRANGE``. Our store then refreshes its snapshots of
  a namespace that exists (items without vectors fill the page); the bound stops at the
  ``ZRANGE``, so there it does less than ours (it stays a lower bound).

The FT index and the data are made by our store (the runner sets one up on the bound's
prefix and loads the items through it); the bound only loads its script. What is left
between this and ``AsyncRedisStore`` is the library's own overhead.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

import numpy as np
import redis.asyncio as aredis
from langchain_core.embeddings import Embeddings
from langgraph.store.base import (
    NOT_PROVIDED,
    BaseStore,
    NotProvided,
    Op,
    Result,
    SearchItem,
)

from langgraph_redis._core.store.engines.query import knn_command, knn_query
from langgraph_redis._core.store.writes import PUT_ITEM

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_UA_MAX = 1 << 64
_HINT_MS = 5_000  # how long our query engine trusts a prefilter count
_BATCHES_FROM = 2_000  # prefilter size from which it asks for HYBRID_POLICY BATCHES
_FIELDS = ("ns", "key", "value", "ca", "ua", "fmt", "ttl")


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=8).hexdigest()


def _when(us: bytes) -> datetime:
    return _EPOCH + timedelta(microseconds=int(us))


class HandWrittenStore(BaseStore):
    """``aput`` and ``asearch`` (filter only, or KNN) by hand; nothing else.

    ``engine`` is the engine our store chose on this server: ``"query"`` (items carry
    the query engine's TAG fields and sort key) or ``"plain"`` (put only).
    """

    def __init__(
        self,
        url: str,
        prefix: str,
        *,
        dims: int,
        embed: Embeddings,
        engine: Literal["query", "plain"],
        hnsw: bool = False,
        ef_runtime: int = 10,
    ) -> None:
        pool = aredis.BlockingConnectionPool.from_url(url, max_connections=64)
        self.client = aredis.Redis.from_pool(pool)  # owns the pool: aclose closes it
        self.prefix = prefix
        self.dims = dims
        self.embed = embed
        self.tags = engine == "query"
        self.hnsw = hnsw
        self.ef_runtime = ef_runtime
        self.epoch = secrets.token_hex(8)
        self.counts: dict[str, tuple[int, float]] = {}
        self.clock = time.time  # the tests fix it, as they fix our store's

    async def aclose(self) -> None:
        await self.client.aclose()

    async def load_scripts(self) -> None:
        await self.client.script_load(PUT_ITEM.source)

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        raise NotImplementedError("the lower bound is async and has aput/asearch only")

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        raise NotImplementedError("the lower bound has aput/asearch only")

    async def aput(
        self,
        namespace: tuple[str, ...],
        key: str,
        value: Mapping[str, Any],
        index: Literal[False] | list[str] | None = None,
        *,
        ttl: float | NotProvided | None = NOT_PROVIDED,
    ) -> None:
        p = self.prefix
        nst = ".".join(namespace)
        text = value["text"]  # the benchmarks' index embeds "text"
        (vec,) = await self.embed.aembed_documents([text])
        ts = int(self.clock() * 1_000_000)
        nsp = ",".join(
            _digest(b"ns\0" + ".".join(namespace[: i + 1]).encode()) for i in range(len(namespace))
        )
        tokens = []
        for k, v in value.items():  # the benchmarks' values are flat str/int
            norm = f"s:{v}" if isinstance(v, str) else f"n:{v}"
            tokens.append(_digest(f"{k}\0{norm}".encode()))
        tokens.sort()
        order = ""
        if self.tags:
            body = b"".join(label.encode() + b"\0\1" for label in namespace) + b"\0\0"
            order = f"{_UA_MAX - 1 - ts:016x}" + (body + key.encode()).hex()
        await self.client.execute_command(  # type: ignore[no-untyped-call]
            "EVALSHA",
            PUT_ITEM.sha,
            6,
            f"{p}:i:{{{nst}}}:{key}",
            f"{p}:z:{{{nst}}}",
            f"{p}:s:{{{nst}}}",
            f"{p}:c:{{{nst}}}",
            f"{p}:vs:{{{nst}}}",
            f"{p}:ns",
            f"{p}:v:{{{nst}}}:{key}:",
            json.dumps(value, ensure_ascii=False, separators=(",", ":")),
            ts,
            key,
            "",
            "+inf",
            key,
            nst,
            1,
            nsp,
            ",".join(tokens),
            np.asarray(vec, dtype=np.float32).tobytes(),
            "text",
            self.epoch,
            "NOQUANT",
            "",
            "1" if self.tags else "",
            order,
        )

    async def asearch(
        self,
        namespace_prefix: tuple[str, ...],
        /,
        *,
        query: str | None = None,
        filter: dict[str, Any] | None = None,
        limit: int = 10,
        offset: int = 0,
        refresh_ttl: bool | None = None,
    ) -> list[SearchItem]:
        if not self.tags:
            raise NotImplementedError("the lower bound searches on the query engine only")
        scope = _digest(b"ns\0" + ".".join(namespace_prefix).encode())
        if query is not None:
            return await self._knn(namespace_prefix, scope, query, limit)
        clauses = f"@nsi:{{{scope}}}"
        for k, v in (filter or {}).items():
            norm = f"s:{v}" if isinstance(v, str) else f"n:{v}"
            clauses += f" @flt:{{{_digest(f'{k}{chr(0)}{norm}'.encode())}}}"
        pipe = self.client.pipeline(transaction=False)
        pipe.execute_command(
            "FT.SEARCH",
            f"{self.prefix}:idx",
            clauses,
            "SORTBY",
            "ord",
            "ASC",
            "LIMIT",
            0,
            limit + 4,
            "RETURN",
            len(_FIELDS),
            *_FIELDS,
            "DIALECT",
            2,
        )
        pipe.execute_command("GET", f"{self.prefix}:ixg")
        reply, _ = await pipe.execute()
        out: list[SearchItem] = []
        for attrs in _docs(reply):
            if len(out) == limit:
                break
            out.append(
                SearchItem(
                    namespace=tuple(attrs[b"ns"].decode().split(".")),
                    key=attrs[b"key"].decode(),
                    value=json.loads(attrs[b"value"]),
                    created_at=_when(attrs[b"ca"]),
                    updated_at=_when(attrs[b"ua"]),
                )
            )
        return out

    async def _knn(
        self, namespace: tuple[str, ...], scope: str, query: str, limit: int
    ) -> list[SearchItem]:
        p = self.prefix
        index = f"{p}:idx"
        clause = f"@nsp:{{{scope}}}"
        now = self.clock() * 1000
        seen = self.counts.get(clause)
        if seen is None or now - seen[1] > _HINT_MS:
            total = await self.client.execute_command(  # type: ignore[no-untyped-call]
                "FT.SEARCH", index, clause, "LIMIT", 0, 0, "DIALECT", 2
            )
            seen = self.counts[clause] = (_total(total), now)
        text = knn_query(clause, self.hnsw, batches=seen[0] >= _BATCHES_FROM)
        k = max(2 * limit + 8, 16)
        blob = np.asarray(await self.embed.aembed_query(query), dtype=np.float32).tobytes()
        ef_runtime = self.ef_runtime if self.hnsw else None
        reply = await self.client.execute_command(  # type: ignore[no-untyped-call]
            *knn_command(index, text, k, blob, ef_runtime)
        )
        best = [(a[b"ns"].decode(), a[b"key"].decode(), float(a[b"__d"])) for a in _docs(reply)]
        best = best[:limit]  # one vector per item: no duplicates to skip
        out: list[SearchItem] = []
        if best:
            pipe = self.client.pipeline(transaction=False)
            for nst, key, _ in best:
                pipe.execute_command(
                    "HMGET", f"{p}:i:{{{nst}}}:{key}", "value", "ca", "ua", "fmt", "ttl"
                )
            pipe.execute_command("GET", f"{p}:ixg")
            replies = await pipe.execute()
            out = [
                SearchItem(
                    namespace=tuple(nst.split(".")),
                    key=key,
                    value=json.loads(fields[0]),
                    created_at=_when(fields[1]),
                    updated_at=_when(fields[2]),
                    score=1.0 - dist,
                )
                for (nst, key, dist), fields in zip(best, replies, strict=False)
            ]
        else:
            await self.client.execute_command("GET", f"{p}:ixg")  # type: ignore[no-untyped-call]
        if len(out) < limit:
            # our store reads the namespaces under the prefix to fill the page with items
            # that have no vectors (none here: every item is embedded)
            nst = ".".join(namespace)
            await self.client.execute_command(  # type: ignore[no-untyped-call]
                "ZRANGE", f"{p}:ns", f"[{nst}", f"({nst}/", "BYLEX"
            )
        return out


def _docs(reply: Any) -> list[dict[bytes, Any]]:
    """The fields of each document of an FT.SEARCH reply (RESP3 map or RESP2 list)."""
    if isinstance(reply, dict):
        return [r[b"extra_attributes"] for r in reply[b"results"] if r[b"extra_attributes"]]
    return [dict(zip(f[0::2], f[1::2])) for f in reply[2::2] if f]


def _total(reply: Any) -> int:
    return int(reply[b"total_results"] if isinstance(reply, dict) else reply[0])
