# WARNING: generated from src/langgraph_redis/_async/store.py by scripts/async_to_sync.py.
# DO NOT EDIT: change the async source and regenerate.
"""LangGraph long-term memory store on Redis or Valkey, with vector search on every engine.

Items are HASH keys grouped by namespace (one Cluster hash tag per namespace; layout in
:mod:`langgraph_redis._core.store.keys`). Search uses the query engine (``FT.*``) when
the server has one and the plain engine (namespace index, client-side snapshot, exact
numpy scoring) otherwise; both read the same data. This module only builds plans, runs
them and calls the embedder.
"""

from __future__ import annotations

import logging
import math
import secrets
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Literal

from langgraph.store.base import (
    BaseStore,
    IndexConfig,
    ListNamespacesOp,
    Op,
    Result,
    SearchOp,
    TTLConfig,
    ensure_embeddings,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from langgraph_redis._acompat import Lock, Iterator, ThreadSweeper, finish
from langgraph_redis._sync._run import AnySyncClient
from langgraph_redis._sync.connection import ConnectionOwner, open_connection
from langgraph_redis._bridge import SyncStoreBridge
from langgraph_redis._core.plans import Plan, T, check_prefix
from langgraph_redis._core.store.batch import prepare_batch
from langgraph_redis._core.store.config import VectorConfig, choose_engine, vector_config
from langgraph_redis._core.store.engines import Engine, SearchRequest, by_name, query, vset
from langgraph_redis._core.store.items import plan_get
from langgraph_redis._core.store.namespaces import plan_list_namespaces, plan_sweep
from langgraph_redis._core.store.snapshot import SNAPSHOT_CACHE_BYTES, StoreCache, trim_cache
from langgraph_redis._core.store.writes import PreparedPut, check_vectors, plan_write

logger = logging.getLogger(__name__)

EngineChoice = Literal["auto", "query", "plain", "vset"]


def _selected_db(client: Any) -> int:
    """The database the client's connections select (0 when it cannot tell)."""
    kwargs = getattr(getattr(client, "connection_pool", None), "connection_kwargs", None) or {}
    try:
        return int(kwargs.get("db") or 0)
    except (TypeError, ValueError):
        return 0


class RedisStore(ConnectionOwner, SyncStoreBridge, BaseStore):
    """Key-value store with optional vector search, for LangGraph long-term memory.

    Args:
        conn: A Redis URL (``redis://``, ``rediss://``, ``unix://``,
            ``redis+sentinel://``) or an existing client. A URL's client is owned and
            closed by :meth:`close`; a client passed in stays the caller's.
        redis_url: Alias of ``conn`` for code written for langgraph-checkpoint-redis.
        redis_client: Alias of ``conn`` (an existing client).
        index: LangGraph ``IndexConfig``: ``dims``, ``embed`` (Embeddings, a function or
            ``"provider:model"``), ``fields`` (JSON paths, ``[*]`` allowed),
            ``distance_type`` (``cosine``, ``l2``, ``inner_product``) and
            ``ann_index_config`` (``vector_type`` ``vector``/``halfvec``,
            ``algorithm`` ``flat`` (the default: exact) or ``hnsw`` (approximate on the
            query engine, faster searches over large namespaces, ~10x slower writes;
            data recorded with HNSW by an earlier release keeps it), ``m``,
            ``ef_construction``, ``ef_runtime``). The plain engine is always exact; see
            ``docs/engines.md``.
        ttl: LangGraph ``TTLConfig``: ``default_ttl`` (minutes), ``refresh_on_read``,
            ``sweep_interval_minutes``, ``omit_expired`` (get and search never return
            expired items, since Redis expires them itself; with ``omit_expired``,
            ``list_namespaces`` also hides namespaces whose items all expired, at the
            cost of one more round trip).
        prefix: Key prefix, so several stores can share one database (no braces).
        engine: ``"auto"`` (query engine when the server has ``FT.*`` and the store uses
            database 0, where the query engine keeps its indexes; else the vector-set
            engine when the server has vector sets (Redis 8) and the vectors are cosine
            float32; else the plain engine), ``"query"``, ``"vset"`` or ``"plain"``;
            chosen once at :meth:`setup` and logged. ``ann_index_config`` may also set
            ``quantization`` (``noquant``, ``q8``, ``bin``) for the vector-set engine.
        pool_size: Upper bound on pooled connections (default 64); callers beyond it
            wait up to ``pool_timeout`` seconds (default 20), then ``PoolTimeout``.
        connection_args: redis-py client options as a dict (langgraph-checkpoint-redis
            spelling); merged with ``**client_options``.
        snapshot_cache_bytes: Cap on the client-side snapshots searches keep (the plain
            engine's vectors and values; values only on the other engines), default
            128 MiB; least recently searched namespaces are evicted beyond it, and a
            prefix that alone exceeds it is logged once and not kept.
        **client_options: Passed to redis-py (``socket_timeout``, ``retry``, ...).
    """

    supports_ttl: bool = True

    def __init__(
        self,
        conn: str | AnySyncClient | None = None,
        *,
        redis_url: str | None = None,
        redis_client: AnySyncClient | None = None,
        index: IndexConfig | None = None,
        ttl: TTLConfig | None = None,
        prefix: str = "lgr",
        engine: EngineChoice = "auto",
        pool_size: int | None = None,
        connection_args: Mapping[str, Any] | None = None,
        snapshot_cache_bytes: int = SNAPSHOT_CACHE_BYTES,
        **client_options: Any,
    ) -> None:
        if engine not in ("auto", "query", "plain", "vset"):
            raise ValueError(f"engine must be 'auto', 'query', 'plain' or 'vset', got {engine!r}")
        self._prefix = check_prefix(prefix, "store")
        self._conn = open_connection(
            conn, redis_url, redis_client, pool_size, connection_args, client_options
        )
        self._engine_choice: EngineChoice = engine
        self._engine: Engine | None = None
        # Item hashes carry the query engine's index fields (ns tags, filter digests,
        # order key) wherever that engine indexes this prefix, whichever engine this
        # store searches with: a store forced to "plain" on the same server keeps
        # writing items the query engine's filter search finds.
        self._tags = False
        self._cache: StoreCache = {}
        self._cache_cap = int(snapshot_cache_bytes)
        self._cache_warned: set[str] = set()
        # Per namespace prefix: when the last search that refreshed its snapshots began
        # its round trip (monotonic clock); see batch.
        self._fresh: dict[tuple[str, ...], float] = {}
        self._setup_lock = Lock()
        self._cache_lock = Lock()
        self._hints = query.Hints()
        # Expiry scores are wall-clock times; tests move this clock together with the
        # server's TTLs instead of sleeping (tests/_async/clock.py).
        self._clock: Callable[[], float] = time.time
        self._sweeper: ThreadSweeper | None = None
        self.ttl_config = ttl
        self.index_config: dict[str, Any] | None = dict(index) if index else None
        self._vcfg: VectorConfig | None = None
        self.embeddings = None
        if index:
            self._vcfg = vector_config(index)
            self.embeddings = ensure_embeddings(index.get("embed"))

    @classmethod
    @contextmanager
    def from_conn_string(
        cls,
        conn_string: str | None = None,
        *,
        index: IndexConfig | None = None,
        ttl: TTLConfig | None = None,
        **options: Any,
    ) -> Iterator[RedisStore]:
        """Open a store for ``conn_string``; its connections close when the block ends.

        The store stays usable after the block (LangGraph's guides search a store after
        its ``with`` block): the pool reconnects on the next call. Connections opened
        then are closed by :meth:`close`.
        """
        store = cls(conn_string, index=index, ttl=ttl, **options)
        try:
            yield store
        finally:
            store.close()

    def close(self) -> None:
        """Stop the sweeper and close connections the store opened."""
        self.stop_ttl_sweeper()
        self._conn.close()

    @property
    def engine(self) -> str | None:
        """``"query"``, ``"plain"`` or ``"vset"`` once set up, else None."""
        return None if self._engine is None else str(self._engine.NAME)

    def setup(self) -> None:
        """Probe the server, pick the engine and create or verify the index.

        Idempotent. Round trips: one probe, then one to record the vector settings and,
        for the query engine, one or two to check or create the FT index.

        Raises:
            ValueError: The data under this prefix (or an existing index) was written
                with other vector settings (dims, type, metric, algorithm); or, in a
                database other than 0 of Redis Stack, db 0's query engine indexes this
                prefix (writes here would land in its index).
            RuntimeError: ``engine="query"`` on a standalone server without a query
                engine, or on a database other than 0 (the query engine keeps its
                indexes in db 0; ``"auto"`` uses the plain engine there, with a
                warning). (On Redis Cluster the plain engine is always used, with a
                warning when ``engine="query"`` was asked for: a cluster has no search
                coordinator.)
        """
        self._remember_loop()
        if self._engine is not None:
            return
        with self._setup_lock:
            if self._engine is not None:
                return
            info = self._conn.probe()
            db = _selected_db(self._conn.client)
            choice = self._engine_choice
            vsets = False
            if choice == "vset" or (
                choice != "plain" and (info.cluster or not info.search or db != 0)
            ):
                # Tried only where the query engine will not be used (one round trip).
                unsuited = vset.unsuited(self._vcfg)
                if unsuited is not None and choice == "vset":
                    raise RuntimeError(f"engine='vset' cannot serve this store: {unsuited}")
                if unsuited is None:
                    try:
                        vsets = self._conn.run(vset.plan_probe(self._prefix))
                    except (RedisConnectionError, RedisTimeoutError):
                        raise
                    except RedisError:
                        # A cluster client refuses, before sending, a command its
                        # servers do not list (no vector sets there).
                        vsets = False
            name, why = choose_engine(choice, info.search, info.cluster, db, vsets)
            engine = by_name(name)
            if info.search and db != 0 and not info.cluster and self._vcfg is not None:
                self._conn.run(query.plan_refuse_shared_prefix(self._prefix, db))
            self._conn.ensure_scripts(engine.SCRIPTS)
            used = self._conn.run(engine.plan_setup(self._prefix, self._vcfg))
            if used is not None:  # the recorded algorithm when none was asked for
                self._vcfg = used
            overridden = name != "query" and (
                self._engine_choice == "query"
                or (self._engine_choice == "auto" and info.search and db != 0 and not info.cluster)
            )
            level = logging.WARNING if overridden else logging.INFO
            logger.log(level, "store engine: %s (%s; %s)", name, why, info.describe())
            self._tags = info.search and not info.cluster and db == 0
            self._engine = engine

    def _run(self, plan: Plan[T]) -> T:
        return self._conn.run(plan)

    @property
    def _vector_config(self) -> VectorConfig | None:
        """The index's vector settings (None without ``index=``), for the migration."""
        return self._vcfg

    def _write_prepared(
        self, puts: Sequence[PreparedPut], vectors: Sequence[Sequence[float]]
    ) -> None:
        """Write puts prepared by the caller, with their vectors as given (the embedder is
        not called): the migration's path for items whose vectors are already stored."""
        self.setup()
        self._run(self._plan_write(puts, vectors, self._vcfg, self._clock()))

    def _plan_write(
        self,
        puts: Sequence[PreparedPut],
        vectors: Sequence[Sequence[float]],
        vcfg: VectorConfig | None,
        now: float,
    ) -> Plan[None]:
        """The write of a batch's puts and deletes, shaped by what setup found (cluster,
        vector-set upkeep, query-engine index fields); a fresh epoch for the namespaces
        it (re)creates."""
        return plan_write(
            self._prefix,
            puts,
            vectors,
            vcfg,
            now,
            epoch=secrets.token_hex(8),
            cluster=self._conn.cluster,
            vset=self._engine is vset,
            tags=self._tags,
        )

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Run get, search, put and list-namespaces operations.

        Everything is validated (namespaces, filters, JSON values, embedder output)
        before the first write; reads see the data as it was before the batch's
        writes, as in ``InMemoryStore``. Round trips: one for all gets (plus one to renew
        the items that carry a TTL when the store has no TTL configuration), one per search
        on the plain engine once its namespaces are cached (two with a query on the
        query engine), one per namespace listing (two with ``omit_expired``) and one
        for all puts and deletes; a search renewing TTLs adds one only when a result
        carries a TTL. All document texts go to the embedder in one call. See
        ``docs/design.md`` (Store) for every case.
        """
        vcfg = self._vcfg if self.embeddings is not None else None
        prepared = prepare_batch(ops, vcfg)
        vectors: list[list[float]] = []
        qvecs: dict[str, list[float]] = {}
        if self.embeddings is not None and vcfg is not None:
            if prepared.texts:
                vectors = self.embeddings.embed_documents(list(prepared.texts))
                check_vectors(vectors, len(prepared.texts), vcfg.dims)
            for q in prepared.queries:
                qvecs[q] = self.embeddings.embed_query(q)
            check_vectors(list(qvecs.values()), len(qvecs), vcfg.dims)
        self.setup()
        engine = self._engine
        assert engine is not None
        now = self._clock()
        now_ms = int(now * 1000)
        results: list[Result] = [None] * len(prepared.ops)
        gets = prepared.gets
        if gets:
            # With no TTL configured, a get renews only items that carry a TTL (a second
            # round trip for those), so the common get sends no script.
            items = self._run(
                plan_get(
                    self._prefix,
                    [op for _, op in gets],
                    now_ms,
                    inline_refresh=self.ttl_config is not None,
                )
            )
            for (i, _), item in zip(gets, items, strict=True):
                results[i] = item
        for i, op in enumerate(prepared.ops):
            if isinstance(op, SearchOp):
                # The snapshot cache is refreshed across round trips; concurrent searches
                # (tasks, or threads on the sync store) must not interleave those updates.
                # A search that waited while another refreshed the same prefix's snapshots
                # with a round trip sent after it began reuses them without a round trip
                # of its own: they hold every write it must see.
                qvec = qvecs.get(op.query) if op.query else None
                req = SearchRequest(
                    op, prepared.filters[i], qvec, vcfg, now_ms, refresh=op.refresh_ttl
                )
                uses_cache = engine.uses_snapshots(req)
                began = time.monotonic()
                with self._cache_lock:
                    key = op.namespace_prefix
                    reuse = uses_cache and self._fresh.get(key, -math.inf) >= began
                    sent = time.monotonic()
                    try:
                        found = self._run(
                            engine.plan_search(
                                self._prefix,
                                self._cache,
                                req._replace(reuse=reuse),
                                hints=self._hints,
                            )
                        )
                    except BaseException:
                        self._fresh.clear()  # the cache may have lost snapshots half-way
                        raise
                    if uses_cache and not reuse:
                        self._fresh[key] = sent
                    if trim_cache(
                        self._cache, self._cache_cap, op.namespace_prefix, self._cache_warned
                    ):
                        # Evicted snapshots must be read again: no search may reuse them.
                        self._fresh.clear()
                results[i] = found
            elif isinstance(op, ListNamespacesOp):
                live_at = now_ms if (self.ttl_config or {}).get("omit_expired") else None
                listed = self._run(plan_list_namespaces(self._prefix, op, live_at))
                results[i] = listed
        if prepared.puts:
            write = self._plan_write(prepared.puts, vectors, vcfg, now)
            if prepared.write_must_finish(self._conn.cluster):
                finish(self._run(write))
            else:
                self._run(write)
        return results

    def sweep_ttl(self) -> int:
        """Remove index entries of items whose TTL expired; drop emptied namespaces.

        Redis deletes expired items by itself; this cleans the bookkeeping around them.
        Round trips: three, plus one when namespaces became empty (two on a cluster).

        Returns:
            The number of expired entries examined and removed.
        """
        self.setup()
        return self._run(
            plan_sweep(self._prefix, int(self._clock() * 1000), ordered=not self._conn.cluster)
        )

    def start_ttl_sweeper(self, sweep_interval_minutes: float | None = None) -> None:
        """Start sweeping every ``sweep_interval_minutes`` (default: the TTL config's
        ``sweep_interval_minutes``, else 5)."""
        minutes = (
            sweep_interval_minutes or (self.ttl_config or {}).get("sweep_interval_minutes") or 5
        )
        if self._sweeper is None:
            self._sweeper = ThreadSweeper(self.sweep_ttl, float(minutes) * 60)
            self._sweeper.start()

    def stop_ttl_sweeper(self) -> None:
        """Stop the sweeper if it runs."""
        sweeper, self._sweeper = self._sweeper, None
        if sweeper is not None:
            sweeper.stop()
