# WARNING: generated from tests/_async/test_store_query.py by scripts/async_to_sync.py.
# DO NOT EDIT: change the async source and regenerate.
"""The query engine at its edges, against real Redis Stack servers: expired items that
Redis has not reclaimed yet, a lost FT index, stores whose prefixes are prefixes of each
other, databases other than 0, and FLAT's exactness. Oracle: ``InMemoryStore`` or the
plain engine on the same data. Only ``stack`` has the query engine; the other engines
skip these tests (their own suites cover the plain engine).

Expiry is controlled, never raced: a dedicated server runs with active expiry off, so
an item whose TTL has passed stays in memory (and in the FT index) until something reads
its key, and the test waits on the server's own clock until that TTL has passed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings
from langgraph.store.base import PutOp
from langgraph.store.memory import InMemoryStore

from langgraph_redis._acompat import Iterator, sleep
from langgraph_redis._sync.store import RedisStore
from langgraph_redis._core.store import keys as sk
from langgraph_redis._core.store.engines.query_index import index_settings
from tests._sync.test_store import _same_results, index_built
from tests.roundtrips import RoundTrips
from tests.servers import LocalServer, require_engine, start_server

DIMS = 24


def clustered(n: int, seed: int, dims: int = DIMS, clusters: int = 12) -> np.ndarray[Any, Any]:
    """Vectors near a few centres (like real embeddings), not uniform noise."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dims))
    which = rng.integers(0, clusters, n)
    out: np.ndarray[Any, Any] = centres[which] + 0.35 * rng.standard_normal((n, dims))
    return out


class TableEmbeddings(Embeddings):
    """Texts of the form ``"<name>"`` map to the vectors registered under that name."""

    def __init__(self) -> None:
        self.table: dict[str, list[float]] = {}

    def add(self, name: str, vector: Sequence[float] | np.ndarray[Any, Any]) -> str:
        self.table[name] = [float(x) for x in vector]
        return name

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.table[t] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.table[text]


def config(embed: Embeddings, algorithm: str = "flat", **extra: Any) -> Any:
    return {
        "dims": DIMS,
        "embed": embed,
        "fields": ["text"],
        "ann_index_config": {"algorithm": algorithm},
        **extra,
    }


@pytest.fixture
def stack_only(engine: str) -> None:
    if engine != "stack":
        pytest.skip("the query engine runs on stack only")


@pytest.fixture(scope="module")
def own_stack() -> Iterator[LocalServer]:
    """A stack server of this module's own: FLUSHDB, restarts and expiry control here
    must not touch the shared servers."""
    require_engine("stack")
    with start_server("stack", extra_args=["--enable-debug-command", "yes"]) as server:
        yield server


def _open(url: str, prefix: str, embed: Embeddings, **options: Any) -> RedisStore:
    store = RedisStore(url, index=config(embed, **options), prefix=prefix)
    store.setup()
    index_built(store)
    return store


def _release(key_prefix: str, *stores: RedisStore) -> None:
    """Drop the test's index (through the first store's client), then close every store."""
    cast(Any, stores[0].client).execute_command("FT.DROPINDEX", f"{key_prefix}:idx")
    for store in stores:
        store.close()


def _by_key(items: Sequence[Any]) -> list[Any]:
    return sorted(items, key=lambda i: (tuple(i.namespace), i.key))


def _server_ms(store: RedisStore) -> int:
    seconds, micros = cast(Any, store.client).execute_command("TIME")
    return int(seconds) * 1000 + int(micros) // 1000


# --------------------------------------------------------------------------- expiry


def test_expired_items_take_no_result_slots(
    stack_only: None, own_stack: LocalServer, key_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Items past their TTL but not reclaimed yet (active expiry off) are the nearest
    to the query: pages are still full of live items, in the oracle's order, and no
    warning is logged for them."""
    embed = TableEmbeddings()
    q = np.ones(DIMS)
    rng = np.random.default_rng(7)
    near = [embed.add(f"near{i}", q + 0.05 * rng.standard_normal(DIMS)) for i in range(60)]
    far = [embed.add(f"far{i}", q + 1.5 * rng.standard_normal(DIMS)) for i in range(40)]
    embed.add("q", q)
    store = _open(own_stack.url, key_prefix, embed)
    client = cast(Any, store.client)
    try:
        client.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
        # ttl 0.001 min = 60 ms: written with PEXPIRE, both the item and its vector key.
        store.batch(
            [
                PutOp(("e", f"u{i % 2}"), t, {"text": t, "n": i}, ttl=0.001)
                for i, t in enumerate(near)
            ]
        )
        live = [PutOp(("e", f"u{i % 2}"), t, {"text": t, "n": i}) for i, t in enumerate(far)]
        store.batch(live)
        mem = InMemoryStore(index=config(embed))
        mem.batch(live)
        last = sk.item_key(key_prefix, sk.ns_text(("e", "u1")), near[-1])
        expires = int(client.execute_command("PEXPIRETIME", last))
        assert expires > 0
        while _server_ms(store) <= expires + 5:
            sleep(0.02)  # wait on the server's clock, never assert on ours
        with caplog.at_level(logging.WARNING, logger="langgraph_redis"):
            for ns, flt, limit, offset in (
                (("e",), None, 10, 0),
                (("e",), None, 5, 7),
                (("e", "u0"), None, 10, 0),
                ((), {"n": {"$gte": 10}}, 10, 0),
                (("e",), {"n": 3}, 10, 0),
            ):
                got = store.search(ns, query="q", filter=flt, limit=limit, offset=offset)
                want = mem.search(ns, query="q", filter=flt, limit=limit, offset=offset)
                assert len(got) == len(want) > 0
                _same_results(got, want)
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    finally:
        client.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "1")
        client.execute_command("FT.DROPINDEX", f"{key_prefix}:idx")
        store.close()


# --------------------------------------------------------------------------- lost index


def _items(embed: TableEmbeddings, n: int, seed: int, tag: str = "d") -> list[PutOp]:
    vectors = clustered(n, seed)
    return [
        PutOp(
            ("lost", f"u{i % 3}"),
            f"{tag}k{i}",
            {"text": embed.add(f"{tag}{i}", vectors[i]), "n": i % 7},
        )
        for i in range(n)
    ]


def _check_against(
    store: RedisStore, mem: InMemoryStore, embed: TableEmbeddings, seed: int
) -> None:
    queries = clustered(4, seed + 1000)
    for j, qv in enumerate(queries):
        name = embed.add(f"query{seed}-{j}", qv)
        for ns, flt in ((("lost",), None), (("lost", "u1"), None), ((), {"n": 3})):
            got = store.search(ns, query=name, filter=flt, limit=10)
            want = mem.search(ns, query=name, filter=flt, limit=10)
            _same_results(got, want)


@contextmanager
def _two_stores(
    url: str, prefix: str, n: int, seed: int
) -> Iterator[
    tuple[TableEmbeddings, list[PutOp], RedisStore, RedisStore, InMemoryStore]
]:
    """Two stores on one prefix holding ``n`` items (and the same in memory, to compare
    with); the index is dropped and both stores closed afterwards."""
    embed = TableEmbeddings()
    ops = _items(embed, n, seed=seed)
    store = _open(url, prefix, embed)
    other = _open(url, prefix, embed)
    mem = InMemoryStore(index=config(embed))
    try:
        store.batch(ops)
        mem.batch(ops)
        yield embed, ops, store, other, mem
    finally:
        cast(Any, store.client).execute_command("FT.DROPINDEX", f"{prefix}:idx")
        store.close()
        other.close()


def test_dropped_index_is_rebuilt(
    stack_only: None, redis_url: str, key_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """FT.DROPINDEX (documents kept): the next search recreates the index and answers
    exactly; a second store on the prefix, which did not recreate it, answers exactly
    too while the new index may still be scanning."""
    with _two_stores(redis_url, key_prefix, 1500, seed=1) as (embed, ops, store, other, mem):
        client = cast(Any, store.client)
        _check_against(store, mem, embed, seed=1)
        _check_against(other, mem, embed, seed=2)
        for s in (store, other):  # caches namespaces as the query engine needs them
            assert len(s.search(("lost",), filter={"n": 3}, limit=2000)) == len(
                mem.search(("lost",), filter={"n": 3}, limit=2000)
            )
        client.execute_command("FT.DROPINDEX", f"{key_prefix}:idx")
        with caplog.at_level(logging.WARNING, logger="langgraph_redis"):
            _check_against(store, mem, embed, seed=3)  # recreates
        assert any("is missing" in r.getMessage() for r in caplog.records)
        _check_against(other, mem, embed, seed=4)  # right after, maybe mid-scan
        index_built(store)
        info = query_info(client.execute_command("FT.INFO", f"{key_prefix}:idx"))
        assert int(info["num_docs"]) == 2 * len(ops)  # every item and its one vector
        _check_against(store, mem, embed, seed=5)
        _check_against(other, mem, embed, seed=6)


def test_an_index_recreated_elsewhere_is_checked_before_use(
    stack_only: None, redis_url: str, key_prefix: str, roundtrips: RoundTrips
) -> None:
    """When another process recreates the index, this store notices on its next search
    (one FT.INFO, since the new index may still be indexing; complete, it is searched
    again) and trusts it afterwards."""
    with _two_stores(redis_url, key_prefix, 200, seed=50) as (embed, _, mine, theirs, mem):
        client = cast(Any, mine.client)
        _check_against(mine, mem, embed, seed=51)  # warm: index checked once
        name = embed.add("probe", clustered(1, seed=52)[0])

        def search_trips() -> int:
            with roundtrips as count:
                got = mine.search((), query=name, limit=10)
            _same_results(got, mem.search((), query=name, limit=10))
            return count.value

        assert search_trips() == 2  # FT.SEARCH; HMGET of the hits + token
        client.execute_command("FT.DROPINDEX", f"{key_prefix}:idx")
        _check_against(theirs, mem, embed, seed=53)  # recreates it
        index_built(mine)
        # + FT.INFO (a new index), then the KNN again: its first pass ran before FT.INFO
        assert search_trips() == 5
        assert search_trips() == 2


def query_info(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return {(k.decode() if isinstance(k, bytes) else k): v for k, v in raw.items()}
    return {
        (k.decode() if isinstance(k, bytes) else k): v
        for k, v in zip(raw[::2], raw[1::2], strict=False)
    }


def test_flushdb_and_restart_rebuild_the_index(
    stack_only: None, own_stack: LocalServer, key_prefix: str
) -> None:
    """FLUSHDB, then a restart without persistence: the index and data are gone; the
    same store object (no new process) puts and searches again like the oracle."""
    embed = TableEmbeddings()
    store = _open(own_stack.url, key_prefix, embed)
    mem = InMemoryStore(index=config(embed))  # what the server holds
    try:
        for round_, lose in enumerate(("FLUSHDB", "restart")):
            ops = _items(embed, 400, seed=10 + round_, tag=f"r{round_}-")
            store.batch(ops[:200])
            mem.batch(ops[:200])
            _check_against(store, mem, embed, seed=20 + round_)
            if lose == "FLUSHDB":
                cast(Any, store.client).execute_command("FLUSHDB")
            else:
                own_stack.restart()
            store.batch(ops[200:])
            mem = InMemoryStore(index=config(embed))
            mem.batch(ops[200:])
            _check_against(store, mem, embed, seed=30 + round_)
            index_built(store)
            _check_against(store, mem, embed, seed=40 + round_)
    finally:
        store.close()


# --------------------------------------------------------------------------- prefixes


@pytest.mark.parametrize("suffix", [":v", ":v:x", "_", "-1"])
@pytest.mark.parametrize("outer_first", [True, False])
def test_prefixes_that_prefix_each_other_are_isolated(
    stack_only: None, redis_url: str, key_prefix: str, suffix: str, outer_first: bool
) -> None:
    """``app`` and ``app:v`` (or ``app_``, ``ap``...) hold the same namespaces and keys
    with other vectors: each store sees only its own items and scores, with and without
    query and filter, whichever store was created first."""
    embed = TableEmbeddings()
    prefixes = [key_prefix, key_prefix + suffix]
    if suffix == "-1":
        prefixes = [key_prefix, key_prefix[:-1]]  # "ap" beside "app"
    if not outer_first:
        prefixes.reverse()
    stores: list[RedisStore] = []
    mems: list[InMemoryStore] = []
    try:
        for s, prefix in enumerate(prefixes):
            vectors = clustered(60, seed=100 + s)
            ops = [
                PutOp(
                    ("iso", f"u{i % 2}"),
                    f"k{i}",
                    {"text": embed.add(f"s{s}-{i}", vectors[i]), "store": s, "n": i % 5},
                )
                for i in range(60)
            ]
            store = _open(redis_url, prefix, embed)
            stores.append(store)
            store.batch(ops)
            mem = InMemoryStore(index=config(embed))
            mem.batch(ops)
            mems.append(mem)
        # A query equal to one store's vector: the other store must not score 1.0 on it.
        for s in range(2):
            embed.add(f"probe{s}", embed.table[f"s{s}-5"])
        for store, mem in zip(stores, mems, strict=True):
            for query in (None, "probe0", "probe1"):
                for ns, flt in ((("iso",), None), ((), {"n": 2}), (("iso", "u1"), {"n": 1})):
                    got = store.search(ns, query=query, filter=flt, limit=100)
                    want = mem.search(ns, query=query, filter=flt, limit=100)
                    if query is None:  # no ranking: InMemoryStore keeps insertion order
                        got, want = _by_key(got), _by_key(want)
                    _same_results(got, want)
    finally:
        for store in stores:
            cast(Any, store.client).execute_command("FT.DROPINDEX", f"{store._prefix}:idx")
            store.close()


def _create_vector_only_index(client: Any, key_prefix: str, covers: str) -> None:
    """The index as earlier releases created it: vector keys only (``covers``)."""
    client.execute_command(
        "FT.CREATE", f"{key_prefix}:idx", "ON", "HASH", "PREFIX", 1, covers,
        "SCHEMA", "nsp", "TAG", "SEPARATOR", ",", "CASESENSITIVE",
        "flt", "TAG", "SEPARATOR", ",", "CASESENSITIVE",
        "vec", "VECTOR", "FLAT", 6, "TYPE", "FLOAT32", "DIM", DIMS, "DISTANCE_METRIC", "COSINE",
    )  # fmt: skip


def test_index_from_an_earlier_release_is_recreated(
    stack_only: None, redis_url: str, key_prefix: str
) -> None:
    """An index over ``P:v:`` (earlier releases, which also covered ``P:v...`` stores)
    is replaced by one over exactly this store's keys, keeping the data."""
    embed = TableEmbeddings()
    vectors = clustered(20, seed=5)
    ops = [PutOp(("old",), f"k{i}", {"text": embed.add(f"o{i}", vectors[i])}) for i in range(20)]
    first = _open(redis_url, key_prefix, embed)
    client = cast(Any, first.client)
    try:
        first.batch(ops)
        client.execute_command("FT.DROPINDEX", f"{key_prefix}:idx")
        _create_vector_only_index(client, key_prefix, f"{key_prefix}:v:")
        again = _open(redis_url, key_prefix, embed)
        try:
            info = query_info(client.execute_command("FT.INFO", f"{key_prefix}:idx"))
            definition = info["index_definition"]
            if not isinstance(definition, dict):
                definition = dict(zip(definition[::2], definition[1::2], strict=False))
            prefixes = definition.get(b"prefixes", definition.get("prefixes")) or []
            assert [p.decode() if isinstance(p, bytes) else p for p in prefixes] == [
                f"{key_prefix}:v:{{",
                f"{key_prefix}:i:{{",
            ]
            mem = InMemoryStore(index=config(embed))
            mem.batch(ops)
            got = again.search(("old",), query="o3", limit=5)
            _same_results(got, mem.search(("old",), query="o3", limit=5))
        finally:
            again.close()
    finally:
        client.execute_command("FT.DROPINDEX", f"{key_prefix}:idx")
        first.close()


# --------------------------------------------------------------------------- databases


def test_database_other_than_zero_uses_the_plain_engine(
    stack_only: None, redis_url: str, key_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Indexes live in db 0 only and their names and key prefixes are global: ``auto``
    on db 1 falls back to the plain engine and says why, ``engine="query"`` refuses, and
    a db 1 store whose prefix db 0's index covers refuses too (its writes would land in
    db 0's index: Redis Stack indexes every database's keys there)."""
    embed = TableEmbeddings()
    url1 = redis_url.rstrip("/") + "/1"
    mine = key_prefix + "-db1"
    with caplog.at_level(logging.INFO, logger="langgraph_redis"):
        one = _open(url1, mine, embed)
    zero = _open(redis_url, key_prefix, embed)
    try:
        assert zero.engine == "query"
        assert one.engine == "plain"
        assert any(
            r.levelno == logging.WARNING and "db 0" in r.getMessage() and "db 1" in r.getMessage()
            for r in caplog.records
        )
        forced = RedisStore(url1, index=config(embed), prefix=mine, engine="query")
        with pytest.raises(RuntimeError, match="database 0"):
            forced.setup()
        forced.close()
        shared = RedisStore(url1, index=config(embed), prefix=key_prefix)
        with pytest.raises(ValueError, match="corrupt db 0"):
            shared.setup()
        shared.close()
        data: list[list[PutOp]] = []
        for s, store in enumerate((zero, one)):
            vectors = clustered(30, seed=200 + s)
            ops = [
                PutOp(("db",), f"k{i}", {"text": embed.add(f"db{s}-{i}", vectors[i])})
                for i in range(30)
            ]
            store.batch(ops)
            data.append(ops)
        for store, ops in zip((zero, one), data, strict=True):
            mem = InMemoryStore(index=config(embed))
            mem.batch(ops)
            for query in (None, "db0-1", "db1-1"):
                got = store.search(("db",), query=query, limit=50)
                want = mem.search(("db",), query=query, limit=50)
                if query is None:
                    got, want = _by_key(got), _by_key(want)
                _same_results(got, want)
    finally:
        _release(key_prefix, zero, one)


# --------------------------------------------------------------------------- exactness


@pytest.mark.parametrize("distance", ["cosine", "l2"])
def test_flat_equals_the_plain_engine(
    stack_only: None, redis_url: str, key_prefix: str, distance: str
) -> None:
    """FLAT is exact: at 3,000 clustered vectors the query engine returns the same items
    in the same order as the plain engine (numpy), scores within 1e-5."""
    embed = TableEmbeddings()
    vectors = clustered(3000, seed=9)
    ops = [
        PutOp(
            ("x", f"u{i % 4}"),
            f"k{i}",
            {"text": embed.add(f"x{i}", vectors[i]), "n": i % 10},
        )
        for i in range(3000)
    ]
    flat = _open(redis_url, key_prefix, embed, distance_type=distance)
    exact = RedisStore(
        redis_url, index=config(embed, distance_type=distance), prefix=key_prefix, engine="plain"
    )
    try:
        assert flat.engine == "query"
        for start in range(0, len(ops), 1000):
            flat.batch(ops[start : start + 1000])
        queries = clustered(25, seed=19)
        for j, qv in enumerate(queries):
            name = embed.add(f"q{j}", qv)
            for ns, flt, limit, offset in (
                ((), None, 10, 0),
                (("x",), None, 25, 5),
                (("x", "u2"), None, 10, 0),
                (("x",), {"n": 4}, 10, 0),
                (("x",), {"n": {"$gt": 6}}, 10, 0),
            ):
                got = flat.search(ns, query=name, filter=flt, limit=limit, offset=offset)
                want = exact.search(ns, query=name, filter=flt, limit=limit, offset=offset)
                assert exact.engine == "plain"
                assert len(got) == limit
                _same_results(got, want)
    finally:
        _release(key_prefix, flat, exact)


def test_flat_is_the_default_algorithm(
    stack_only: None, redis_url: str, key_prefix: str
) -> None:
    """docs/engines.md states FLAT (exact) as the default; keep them in step. Fails
    before: HNSW was the default."""
    embed = TableEmbeddings()
    store = RedisStore(redis_url, index={"dims": DIMS, "embed": embed}, prefix=key_prefix)
    store.setup()
    client = cast(Any, store.client)
    try:
        info = client.execute_command("FT.INFO", f"{key_prefix}:idx")
        assert index_settings(info)["algorithm"] == "FLAT"
    finally:
        client.execute_command("FT.DROPINDEX", f"{key_prefix}:idx")
        store.close()


def test_data_indexed_with_hnsw_keeps_it_when_no_algorithm_is_asked(
    stack_only: None, redis_url: str, key_prefix: str
) -> None:
    """A store written with HNSW (the default of earlier releases) opens under the new
    default and keeps its index; asking for FLAT explicitly is still refused."""
    embed = TableEmbeddings()
    vectors = clustered(3, seed=5)
    for i, name in enumerate(("alpha", "beta", "q")):
        embed.add(name, vectors[i])
    hnsw = config(embed, "hnsw")
    old = RedisStore(redis_url, index=hnsw, prefix=key_prefix)
    old.put(("m",), "a", {"text": "alpha"})
    old.close()
    default: Any = {"dims": DIMS, "embed": embed, "fields": ["text"]}
    store = RedisStore(redis_url, index=default, prefix=key_prefix)
    client = cast(Any, store.client)
    try:
        store.setup()
        info = client.execute_command("FT.INFO", f"{key_prefix}:idx")
        assert index_settings(info)["algorithm"] == "HNSW"
        store.put(("m",), "b", {"text": "beta"})
        assert {i.key for i in store.search(("m",), query="q")} == {"a", "b"}
        other = RedisStore(redis_url, index=config(embed, "flat"), prefix=key_prefix)
        try:
            with pytest.raises(ValueError, match="hnsw"):
                other.setup()
        finally:
            other.close()
    finally:
        client.execute_command("FT.DROPINDEX", f"{key_prefix}:idx")
        store.close()


# --------------------------------------------------------------------------- filter search


@dataclass
class _Oracle:
    """InMemoryStore holding the same writes as the store under test, and the batch
    number of each item's last write (``order``)."""

    mem: InMemoryStore
    order: dict[tuple[Any, str], int]

    def check_page(
        self, got: list[Any], ns: tuple[str, ...], flt: Any, limit: int, offset: int
    ) -> None:
        """``got``, a search without a query, is InMemoryStore's page in this store's
        order: newest write first, then namespace, then key."""
        full = self.mem.search(ns, filter=flt, limit=1000)
        order = self.order
        full.sort(key=lambda i: (-order[(i.namespace, i.key)], i.namespace, i.key))
        _same_results(got, full[offset : offset + limit])


def _filter_workload(store: RedisStore, embed: TableEmbeddings) -> _Oracle:
    """Three batches (items tied on ``updated_at`` inside each), some without texts to
    embed, one overwritten: the same writes to InMemoryStore."""
    mem = InMemoryStore(index=config(embed))
    order: dict[tuple[Any, str], int] = {}
    vectors = clustered(90, seed=77)
    for b in range(3):
        ops = [
            PutOp(
                ("f", f"u{i % 3}"),
                f"k{i}",
                {"text": embed.add(f"f{i}", vectors[i]), "n": i % 5, "b": b, "m": {"x": i % 2}}
                if i % 4
                else {"n": i % 5, "b": b, "m": {"x": i % 2}},  # nothing to embed
            )
            for i in range(b * 30, b * 30 + 30)
        ]
        if b == 2:
            ops.append(PutOp(("f", "u1"), "k1", {"n": 9, "b": b, "m": {"x": 5}}))
        store.batch(ops)
        mem.batch(ops)
        for op in ops:
            order[(op.namespace, op.key)] = b
    return _Oracle(mem, order)


def _filter_store(
    redis_url: str, key_prefix: str
) -> tuple[RedisStore, TableEmbeddings, _Oracle]:
    """A query-engine store holding :func:`_filter_workload`'s writes, and its oracle."""
    embed = TableEmbeddings()
    store = _open(redis_url, key_prefix, embed)
    try:
        return store, embed, _filter_workload(store, embed)
    except BaseException:
        _release(key_prefix, store)
        raise


FILTER_CASES: list[tuple[tuple[str, ...], Any, int, int]] = [
    (("f",), None, 10, 0),
    (("f",), None, 25, 20),  # crosses a batch's ties
    (("f", "u1"), {"n": 2}, 5, 1),
    ((), {"n": {"$eq": 3}, "m": {"x": 1}}, 50, 0),
    (("f",), {"n": 9}, 10, 0),
    (("f",), {"n": 2, "b": {"$gt": 0}}, 10, 2),  # the range is checked on the candidates
    (("f", "u2"), {"n": 4}, 100, 0),
    (("g",), None, 10, 0),
]


def _check_filter_cases(
    store: RedisStore, oracle: _Oracle, roundtrips: RoundTrips
) -> None:
    """Each of :data:`FILTER_CASES` is one round trip, the FT.SEARCH (with the index
    token, read once beforehand), and agrees with the oracle."""
    store.search(("f",), filter={"n": 1}, limit=1)  # the index token, once
    for ns, flt, limit, offset in FILTER_CASES:
        with roundtrips as count:
            got = store.search(ns, filter=flt, limit=limit, offset=offset)
        assert count.value == 1, (ns, flt)
        assert b"FT.SEARCH" in count.sent[0], (ns, flt)
        oracle.check_page(got, ns, flt, limit, offset)


def test_filter_search_is_one_index_round_trip(
    stack_only: None, redis_url: str, key_prefix: str, roundtrips: RoundTrips
) -> None:
    """A search without a query on the query engine is one FT.SEARCH (with the index
    token) in one round trip, not a load of the namespace into the client, and agrees
    with InMemoryStore, ties on ``updated_at`` included (items of one batch)."""
    store, _, oracle = _filter_store(redis_url, key_prefix)
    try:
        _check_filter_cases(store, oracle, roundtrips)
    finally:
        _release(key_prefix, store)


def test_filter_search_finds_items_a_plain_engine_store_wrote(
    stack_only: None, redis_url: str, key_prefix: str
) -> None:
    """A store forced to the plain engine on a server with the query engine writes the
    index fields too: a query-engine store's filter search (FT.SEARCH) finds its items."""
    embed = TableEmbeddings()
    embed.add("a", np.eye(DIMS)[0])
    embed.add("b", np.eye(DIMS)[1])
    store = _open(redis_url, key_prefix, embed)
    plain = RedisStore(redis_url, index=config(embed), prefix=key_prefix, engine="plain")
    try:
        plain.setup()
        plain.put(("p",), "k1", {"text": "a", "n": 7})
        plain.put(("p",), "k2", {"text": "b", "n": 8})
        got = store.search(("p",), filter={"n": 7})
        assert [(r.key, r.value["n"]) for r in got] == [("k1", 7)]
    finally:
        _release(key_prefix, store, plain)


def test_filter_search_skips_expired_items(
    stack_only: None, own_stack: LocalServer, key_prefix: str
) -> None:
    """Items past their TTL but not reclaimed (active expiry off) are the newest: a page
    without a query is still full of live items, in InMemoryStore's order."""
    embed = TableEmbeddings()
    store = _open(own_stack.url, key_prefix, embed)
    client = cast(Any, store.client)
    try:
        client.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
        live = [PutOp(("e",), f"live{i}", {"n": i % 2}) for i in range(30)]
        store.batch(live)
        mem = InMemoryStore(index=config(embed))
        mem.batch(live)
        gone = [PutOp(("e",), f"gone{i}", {"n": i % 2}, ttl=0.001) for i in range(40)]
        store.batch(gone)
        last = sk.item_key(key_prefix, sk.ns_text(("e",)), "gone39")
        expires = int(client.execute_command("PEXPIRETIME", last))
        while _server_ms(store) <= expires + 5:
            sleep(0.02)
        oracle = _Oracle(mem, {(op.namespace, op.key): 0 for op in live})
        for flt, limit, offset in ((None, 10, 0), ({"n": 1}, 5, 3), (None, 40, 0)):
            got = store.search(("e",), filter=flt, limit=limit, offset=offset)
            oracle.check_page(got, ("e",), flt, limit, offset)
    finally:
        client.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "1")
        client.execute_command("FT.DROPINDEX", f"{key_prefix}:idx")
        store.close()


def test_filter_search_after_the_index_is_lost(
    stack_only: None, redis_url: str, key_prefix: str
) -> None:
    """FT.DROPINDEX: the next search without a query recreates the index and answers
    exactly (the new index may still be scanning); once built, the index answers."""
    store, _, oracle = _filter_store(redis_url, key_prefix)
    try:
        cast(Any, store.client).execute_command("FT.DROPINDEX", f"{key_prefix}:idx")
        for _ in range(2):
            for ns, flt, limit, offset in FILTER_CASES:
                got = store.search(ns, filter=flt, limit=limit, offset=offset)
                oracle.check_page(got, ns, flt, limit, offset)
            index_built(store)
    finally:
        _release(key_prefix, store)


def test_items_written_before_items_were_indexed_are_upgraded(
    stack_only: None, redis_url: str, key_prefix: str, roundtrips: RoundTrips
) -> None:
    """Data and index of the previous schema (vectors only; items without TAG fields):
    setup tags the items and recreates the index, and searches without a query find
    every item server-side."""
    first, embed, oracle = _filter_store(redis_url, key_prefix)
    client = cast(Any, first.client)
    try:
        client.execute_command("FT.DROPINDEX", f"{key_prefix}:idx")
        for ns, k in oracle.order:  # the item hashes as the previous release wrote them
            client.execute_command(
                "HDEL", sk.item_key(key_prefix, sk.ns_text(ns), k), "nsp", "flt"
            )
        _create_vector_only_index(client, key_prefix, f"{key_prefix}:v:{{")
        again = _open(redis_url, key_prefix, embed)
        try:
            _check_filter_cases(again, oracle, roundtrips)
        finally:
            again.close()
    finally:
        client.execute_command("FT.DROPINDEX", f"{key_prefix}:idx")
        first.close()
