"""AsyncRedisStore against real servers: valkey and redis7 use the plain engine, stack
the query engine (and the plain engine once, forced). InMemoryStore is the oracle."""

from __future__ import annotations

import hashlib
import logging
from asyncio import InvalidStateError  # sync: skip
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings
from langgraph.store.base import (
    GetOp,
    InvalidNamespaceError,
    ListNamespacesOp,
    MatchCondition,
    PutOp,
    SearchOp,
)
from langgraph.store.memory import InMemoryStore

from langgraph_redis import CorruptDataError, UnsupportedFormatError
from langgraph_redis._acompat import AsyncIterator, asleep
from langgraph_redis._async.store import AsyncRedisStore
from langgraph_redis._bridge import in_thread  # sync: skip
from langgraph_redis._core.store import keys as sk
from langgraph_redis._core.store import writes
from tests._async.clock import ttl_clock
from tests._async.stores import close_store, put_and_read_back
from tests.roundtrips import RoundTrips

# sync: from langgraph_redis._bridge import run_async

DIMS = 16
HOSTILE_LABELS = ["a-b", "c:d", "@x|y", "*", "q'\"", "sp ace", "{br}", "ünï©ode", "%41", "b\\s"]
HOSTILE_KEYS = [*HOSTILE_LABELS, "k.1", "a.b.c", "#hash", ""]


def vec(text: str, dims: int = DIMS) -> list[float]:
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
    out: list[float] = np.random.default_rng(seed).standard_normal(dims).tolist()
    return out


class FakeEmbeddings(Embeddings):
    """Deterministic vectors seeded by the text; counts calls."""

    def __init__(self, dims: int = DIMS) -> None:
        self.dims = dims
        self.document_calls = 0
        self.texts: list[str] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.document_calls += 1
        self.texts.extend(texts)
        return [vec(t, self.dims) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return vec(text, self.dims)


def index_config(embed: Embeddings, dims: int = DIMS, **extra: Any) -> Any:
    return {
        "dims": dims,
        "embed": embed,
        "fields": ["text"],
        "ann_index_config": {"algorithm": "flat"},
        **extra,
    }


@pytest.fixture
def embedder() -> FakeEmbeddings:
    return FakeEmbeddings()


AUTO_AND_PLAIN = pytest.mark.parametrize(
    "astore", ["auto", "plain-unless-auto"], ids=["auto", "plain"], indirect=True
)
"""Run a test on the automatic engine and on the plain one, where they differ."""


@pytest.fixture
async def astore(
    request: pytest.FixtureRequest,
    redis_url: str,
    key_prefix: str,
    embedder: FakeEmbeddings,
    engine: str,
) -> AsyncIterator[AsyncRedisStore]:
    """The test's store; an indirect parameter names its engine or gives its options."""
    param: Any = getattr(request, "param", "auto")
    options: dict[str, Any] = dict(param) if isinstance(param, dict) else {"engine": param}
    if options.get("engine") == "plain-unless-auto":
        if engine not in ("stack", "redis8"):
            pytest.skip("plain is already the automatic engine here")
        options["engine"] = "plain"
    store = AsyncRedisStore(redis_url, index=index_config(embedder), prefix=key_prefix, **options)
    await store.asetup()
    await index_built(store)
    try:
        yield store
    finally:
        await close_store(store, key_prefix)


async def index_built(store: AsyncRedisStore) -> None:
    """Wait until a new FT index has scanned the keyspace (FT.CREATE indexes existing
    keys in the background; searches take the exact path meanwhile, which changes
    their round-trip count, not their results)."""
    if store.engine != "query":
        return
    client = cast(Any, store.client)
    for _ in range(3000):
        raw = await client.execute_command("FT.INFO", f"{store._prefix}:idx")
        info = raw if isinstance(raw, dict) else dict(zip(raw[::2], raw[1::2], strict=False))
        flag: Any = info.get(b"indexing", info.get("indexing"))
        if int(float(flag.decode() if isinstance(flag, bytes) else flag)) == 0:
            return
        await asleep(0.01)
    raise AssertionError("the FT index did not finish indexing within 30 s")


def expect_engine(store: AsyncRedisStore, engine: str) -> None:
    assert store.engine == {"stack": "query", "redis8": "vset"}.get(engine, "plain")


# --------------------------------------------------------------------------- basics


async def test_engine_is_picked_by_probe(astore: AsyncRedisStore, engine: str) -> None:
    if engine == "env":  # REDIS_URL: any server; the probe must still have picked one
        assert astore.engine in {"query", "plain"}
    else:
        expect_engine(astore, engine)


async def test_put_get_delete_hostile_names(astore: AsyncRedisStore) -> None:
    namespaces = [("memories", label) for label in HOSTILE_LABELS] + [tuple(HOSTILE_LABELS)]
    await put_and_read_back(astore, namespaces, HOSTILE_KEYS)
    for ns in namespaces:
        found = await astore.asearch(ns, limit=100)
        assert sorted(i.key for i in found if i.namespace == ns) == sorted(HOSTILE_KEYS)
    ns0 = namespaces[0]
    for key in HOSTILE_KEYS:
        await astore.adelete(ns0, key)
        assert await astore.aget(ns0, key) is None
    assert ns0 not in await astore.alist_namespaces(limit=1000)
    assert await astore.aget(namespaces[1], HOSTILE_KEYS[0]) is not None


async def test_timestamps_created_at_kept_on_overwrite(astore: AsyncRedisStore) -> None:
    await astore.aput(("ts",), "k", {"text": "one"})
    first = await astore.aget(("ts",), "k")
    assert first is not None
    assert first.created_at.tzinfo is not None
    await asleep(0.01)
    await astore.aput(("ts",), "k", {"text": "two"})
    second = await astore.aget(("ts",), "k")
    assert second is not None
    assert second.value == {"text": "two"}
    assert second.created_at == first.created_at
    assert second.updated_at > first.updated_at


async def test_batch_reads_see_state_before_its_writes(astore: AsyncRedisStore) -> None:
    ns = ("batch",)
    results = await astore.abatch(
        [
            PutOp(ns, "a", {"text": "x"}),
            GetOp(ns, "a"),
            PutOp(ns, "a", {"text": "y"}),
            ListNamespacesOp(),
        ]
    )
    assert results[0] is None
    assert results[1] is None
    assert results[3] == []
    item = await astore.aget(ns, "a")
    assert item is not None
    assert item.value == {"text": "y"}  # the last put of a key wins


async def test_invalid_namespaces(astore: AsyncRedisStore) -> None:
    with pytest.raises(InvalidNamespaceError):
        await astore.aput(("a.b",), "k", {"v": 1})
    with pytest.raises(InvalidNamespaceError):
        await astore.aput(("a", ""), "k", {"v": 1})
    with pytest.raises(InvalidNamespaceError):
        await astore.abatch([PutOp(("x.y",), "k", {"v": 1})])
    with pytest.raises(InvalidNamespaceError):
        await astore.abatch([GetOp(("",), "k")])


async def test_string_namespace_is_a_type_error_with_a_hint(astore: AsyncRedisStore) -> None:
    """A string is a sequence of one-character labels; it must not be stored as one."""
    calls: list[Any] = [
        lambda: astore.aput("memories", "k", {"v": 1}),  # type: ignore[arg-type]
        lambda: astore.aget("memories", "k"),  # type: ignore[arg-type]
        lambda: astore.adelete("memories", "k"),  # type: ignore[arg-type]
        lambda: astore.asearch("memories"),  # type: ignore[arg-type]
        lambda: astore.alist_namespaces(prefix="memories"),  # type: ignore[arg-type]
        lambda: astore.alist_namespaces(suffix="memories"),  # type: ignore[arg-type]
        lambda: astore.abatch([GetOp("memories", "k")]),  # type: ignore[arg-type]
    ]
    for call in calls:
        with pytest.raises(TypeError, match=r"tuple of strings.*\('memories',\)"):
            await call()
    assert await astore.alist_namespaces() == []


# --------------------------------------------------------------------------- filters

FILTER_DOCS: list[dict[str, Any]] = [
    {
        "text": "a",
        "kind": "note",
        "n": 1,
        "meta": {"lang": "en", "score": 0.5},
        "tag": "a-b:c{d}|*",
    },
    {"text": "b", "kind": "note", "n": 5, "meta": {"lang": "fr", "score": 0.9}},
    {"text": "c", "kind": "task", "n": 10, "meta": {"lang": "en", "score": 0.1}, "done": True},
    {"text": "d", "kind": "task", "n": 20.5, "meta": {"lang": "de"}, "done": False},
    {"text": "e", "kind": "note", "n": "7", "tag": "q'\"x y"},
]
FILTERS: list[dict[str, Any]] = [
    {"kind": "note"},
    {"kind": "note", "n": 1},
    {"n": {"$gt": 4}},
    {"n": {"$gte": 5, "$lt": 20}},
    {"n": {"$lte": 5}},
    {"n": {"$ne": 5}},
    {"kind": {"$eq": "task"}},
    {"meta": {"lang": "en"}},
    {"meta.lang": "en"},
    {"meta.score": {"$gt": 0.4}},
    {"tag": "a-b:c{d}|*"},
    {"tag": "q'\"x y"},
    {"done": True},
    {"done": False},
    {"kind": {"$in": ["task", "other"]}},
    {"kind": {"$nin": ["task"]}},
    {"missing": "x"},
    {"n": 10.0},
]


async def test_search_filters(astore: AsyncRedisStore) -> None:
    ns = ("docs", "f")
    for i, doc in enumerate(FILTER_DOCS):
        await astore.aput(ns, f"d{i}", doc)
    await astore.aput(("docs-other",), "x", {"kind": "note"})
    for spec in FILTERS:
        found = await astore.asearch(("docs",), filter=spec, limit=50)
        want = sorted(f"d{i}" for i, doc in enumerate(FILTER_DOCS) if _matches_reference(doc, spec))
        assert sorted(i.key for i in found) == want, spec
        for query in ("a", "zzz"):
            scored = await astore.asearch(("docs",), query=query, filter=spec, limit=50)
            assert sorted(i.key for i in scored) == want, (spec, query)


def _matches_reference(doc: dict[str, Any], spec: dict[str, Any]) -> bool:
    """InMemoryStore semantics, extended with dotted keys and non-raising ranges."""
    for key, expected in spec.items():
        cur: Any = doc
        for part in key.split("."):
            cur = cur.get(part) if isinstance(cur, dict) else None
        if isinstance(expected, dict) and all(k.startswith("$") for k in expected):
            for op, val in expected.items():
                if op == "$eq" and cur != val:
                    return False
                if op == "$ne" and cur == val:
                    return False
                if op == "$in" and cur not in val:
                    return False
                if op == "$nin" and cur in val:
                    return False
                if op in ("$gt", "$gte", "$lt", "$lte"):
                    try:
                        left = float(cur)
                    except (TypeError, ValueError):
                        return False
                    ok = {
                        "$gt": left > val,
                        "$gte": left >= val,
                        "$lt": left < val,
                        "$lte": left <= val,
                    }[op]
                    if not ok:
                        return False
        elif isinstance(expected, dict):
            if not isinstance(cur, dict) or any(cur.get(k) != v for k, v in expected.items()):
                return False
        elif cur != expected:
            return False
    return True


async def test_unknown_operator_fails_before_any_write(astore: AsyncRedisStore) -> None:
    await astore.aput(("bad",), "k", {"text": "keep"})
    with pytest.raises(ValueError, match="unsupported filter operator"):
        await astore.abatch(
            [
                PutOp(("bad",), "k", {"text": "changed"}),
                SearchOp(("bad",), filter={"n": {"$regex": "x"}}),
            ]
        )
    item = await astore.aget(("bad",), "k")
    assert item is not None
    assert item.value == {"text": "keep"}


async def test_bad_values_leave_data_untouched(astore: AsyncRedisStore) -> None:
    await astore.aput(("bad",), "k", {"text": "keep"})
    with pytest.raises(TypeError, match="JSON"):
        await astore.abatch(
            [
                PutOp(("bad",), "k", {"text": "changed"}),
                PutOp(("bad",), "other", {"obj": object()}),
            ]
        )
    item = await astore.aget(("bad",), "k")
    assert item is not None
    assert item.value == {"text": "keep"}
    assert await astore.aget(("bad",), "other") is None


async def test_wrong_vector_size_leaves_data_untouched(
    redis_url: str, key_prefix: str, astore: AsyncRedisStore
) -> None:
    await astore.aput(("bad",), "k", {"text": "keep"})
    wrong = AsyncRedisStore(
        redis_url,
        index=index_config(FakeEmbeddings(DIMS + 1), dims=DIMS),
        prefix=key_prefix,
        engine="plain",
    )
    try:
        with pytest.raises(ValueError, match="dimensions"):
            await wrong.aput(("bad",), "k", {"text": "changed"})
    finally:
        await wrong.aclose()
    item = await astore.aget(("bad",), "k")
    assert item is not None
    assert item.value == {"text": "keep"}


# --------------------------------------------------------------------------- vectors


async def _fill_both(store: AsyncRedisStore, mem: InMemoryStore, ops: Sequence[PutOp]) -> None:
    await store.abatch(list(ops))
    await mem.abatch(list(ops))


def _same_results(got: Sequence[Any], want: Sequence[Any]) -> None:
    assert [(i.namespace, i.key) for i in got] == [(i.namespace, i.key) for i in want]
    for g, w in zip(got, want, strict=True):
        assert g.value == w.value
        if w.score is None:
            assert g.score is None
        else:
            assert g.score == pytest.approx(w.score, abs=1e-5)


@AUTO_AND_PLAIN
async def test_vector_search_matches_in_memory_store(
    astore: AsyncRedisStore, embedder: FakeEmbeddings
) -> None:
    mem = InMemoryStore(index=index_config(embedder))
    ops = [
        PutOp(("mem", f"u{i % 3}"), f"k{i}", {"text": f"memory number {i}", "n": i})
        for i in range(40)
    ]
    ops.append(
        PutOp(
            ("mem", "u0"),
            "multi",
            {"text": "x", "n": 35, "tags": ["red", "green", "blue"]},
            index=["tags[*]"],
        )
    )
    ops.append(PutOp(("mem", "u1"), "plain", {"text": "not indexed", "n": 36}, index=False))
    await _fill_both(astore, mem, ops)
    for query in ("memory number 3", "green", "something else"):
        for prefix in ((), ("mem",), ("mem", "u0"), ("mem", "u1")):
            for limit, offset in ((5, 0), (3, 2), (10, 7)):
                got = await astore.asearch(prefix, query=query, limit=limit, offset=offset)
                want = await mem.asearch(prefix, query=query, limit=limit, offset=offset)
                _same_results(got, want)
    got = await astore.asearch(("mem",), query="green", filter={"n": {"$gte": 30}}, limit=4)
    want = await mem.asearch(("mem",), query="green", filter={"n": {"$gte": 30}}, limit=4)
    _same_results(got, want)
    # The unindexed item only fills pages once scored items run out.
    page = await astore.asearch(("mem", "u1"), query="x", limit=100)
    assert [i.key for i in page if i.score is None] == ["plain"]


@pytest.mark.parametrize("distance", ["l2", "inner_product"])
async def test_other_distances(
    redis_url: str, key_prefix: str, embedder: FakeEmbeddings, distance: str
) -> None:
    store = AsyncRedisStore(
        redis_url, index=index_config(embedder, distance_type=distance), prefix=key_prefix
    )
    try:
        vectors = {f"k{i}": vec(f"doc {i}") for i in range(20)}
        await store.abatch([PutOp(("d",), k, {"text": f"doc {k[1:]}"}) for k in vectors])
        q = np.array(vec("query"))
        mat = np.array(list(vectors.values()))
        scores = -np.linalg.norm(mat - q, axis=1) if distance == "l2" else mat @ q
        order = np.argsort(-scores)[:5]
        got = await store.asearch(("d",), query="query", limit=5)
        assert [i.key for i in got] == [list(vectors)[j] for j in order]
        for item, j in zip(got, order, strict=True):
            assert item.score == pytest.approx(float(scores[j]), abs=1e-4)
    finally:
        await close_store(store, key_prefix)


async def test_batch_embeds_once(astore: AsyncRedisStore, embedder: FakeEmbeddings) -> None:
    ops = [PutOp(("e",), f"k{i}", {"text": f"t{i}"}) for i in range(25)]
    ops.append(PutOp(("e",), "k0", {"text": "replaced"}))
    await astore.abatch(ops)
    assert embedder.document_calls == 1
    assert sorted(embedder.texts) == sorted(["replaced", *[f"t{i}" for i in range(1, 25)]])


async def test_index_fields_and_wildcards(
    astore: AsyncRedisStore, embedder: FakeEmbeddings
) -> None:
    await astore.aput(
        ("w",), "k", {"text": "top", "ctx": [{"c": "one"}, {"c": "two"}]}, index=["ctx[*].c"]
    )
    assert sorted(embedder.texts) == ["one", "two"]
    hit = await astore.asearch(("w",), query="two", limit=1)
    assert hit[0].key == "k"
    assert hit[0].score == pytest.approx(1.0, abs=1e-5)
    await astore.aput(("w",), "k", {"text": "top"}, index=False)
    again = await astore.asearch(("w",), query="two", limit=1)
    assert again[0].score is None


@AUTO_AND_PLAIN
async def test_ten_thousand_items_exact_top_ten(
    astore: AsyncRedisStore, embedder: FakeEmbeddings
) -> None:
    n = 10_000
    texts = [f"item {i}" for i in range(n)]
    for start in range(0, n, 2_000):
        await astore.abatch(
            [PutOp(("big",), f"k{i}", {"text": texts[i]}) for i in range(start, start + 2_000)]
        )
    mat = np.array([vec(t) for t in texts])
    for query in ("needle", "haystack", "item 42"):
        q = np.array(vec(query))
        scores = (mat @ q) / (np.linalg.norm(mat, axis=1) * np.linalg.norm(q))
        order = np.argsort(-scores)[:10]
        got = await astore.asearch(("big",), query=query, limit=10)
        assert [i.key for i in got] == [f"k{j}" for j in order]
        for item, j in zip(got, order, strict=True):
            assert item.score == pytest.approx(float(scores[j]), abs=1e-5)


async def test_other_process_writes_are_seen(
    redis_url: str, key_prefix: str, astore: AsyncRedisStore, embedder: FakeEmbeddings
) -> None:
    await astore.aput(("shared",), "a", {"text": "alpha"})
    assert [i.key for i in await astore.asearch(("shared",), query="beta")] == ["a"]
    other = AsyncRedisStore(redis_url, index=index_config(embedder), prefix=key_prefix)
    try:
        await other.aput(("shared",), "b", {"text": "beta"})
        await other.aput(("shared",), "a", {"text": "changed"})
        await other.aput(("shared", "sub"), "c", {"text": "gamma"})
    finally:
        await other.aclose()
    found = await astore.asearch(("shared",), query="beta")
    assert found[0].key == "b"
    assert {i.key: i.value["text"] for i in found} == {"a": "changed", "b": "beta", "c": "gamma"}
    await astore.adelete(("shared",), "b")
    assert sorted(i.key for i in await astore.asearch(("shared",), query="beta")) == ["a", "c"]


async def test_dims_mismatch_is_an_error(
    redis_url: str, key_prefix: str, astore: AsyncRedisStore
) -> None:
    await astore.asetup()  # idempotent
    again = AsyncRedisStore(redis_url, index=index_config(FakeEmbeddings()), prefix=key_prefix)
    await again.asetup()
    await again.aclose()
    other = AsyncRedisStore(
        redis_url, index=index_config(FakeEmbeddings(8), dims=8), prefix=key_prefix
    )
    try:
        with pytest.raises(ValueError, match="dims"):
            await other.asetup()
    finally:
        await other.aclose()


# --------------------------------------------------------------------------- pages


async def test_limit_offset_pages(astore: AsyncRedisStore) -> None:
    for i in range(12):
        await astore.aput(("pg",), f"k{i:02d}", {"text": f"t{i}", "i": i})
    everything = await astore.asearch(("pg",), limit=100)
    assert len(everything) == 12
    pages = [await astore.asearch(("pg",), limit=5, offset=o) for o in (0, 5, 10)]
    assert [len(p) for p in pages] == [5, 5, 2]
    keys = [i.key for p in pages for i in p]
    assert keys == [i.key for i in everything]
    # newest update first, like PostgresStore
    assert keys[0] == "k11"


NAMESPACES = [
    ("a", "b", "c"),
    ("a", "b", "d", "e"),
    ("a", "b", "d", "i"),
    ("a", "b", "f"),
    ("a", "c", "f"),
    ("b", "a", "f"),
    ("users", "123"),
    ("users", "456", "settings"),
    ("admin", "users", "789"),
    ("a-b", "x"),
    ("a", "b-c"),
    ("*", "sp ace"),
    ("ünï", "{br}", "c:d"),
]
LIST_CASES: list[dict[str, Any]] = [
    {},
    {"prefix": ("a",)},
    {"prefix": ("a", "b")},
    {"prefix": ("a", "*", "f")},
    {"suffix": ("f",)},
    {"suffix": ("*", "f")},
    {"prefix": ("a",), "suffix": ("f",)},
    {"prefix": ("users",), "max_depth": 2},
    {"max_depth": 1},
    {"max_depth": 2, "limit": 3, "offset": 2},
    {"limit": 4, "offset": 4},
    {"prefix": ("*",)},
    {"prefix": ("ünï", "{br}")},
    {"prefix": ("a", "b"), "max_depth": 3},
    {"prefix": ("nothing",)},
]


async def test_list_namespaces_matches_in_memory_store(astore: AsyncRedisStore) -> None:
    mem = InMemoryStore()
    for ns in NAMESPACES:
        await astore.aput(ns, "k", {"v": 1})
        await mem.aput(ns, "k", {"v": 1})
    for case in LIST_CASES:
        got = await astore.alist_namespaces(**case)
        want = await mem.alist_namespaces(**case)
        assert got == want, case
    ops = [ListNamespacesOp(match_conditions=(MatchCondition("suffix", ("c",)),))]
    assert await astore.abatch(ops) == await mem.abatch(ops)


# --------------------------------------------------------------------------- TTL


async def test_ttl_expiry_and_refresh(astore: AsyncRedisStore) -> None:
    ns = ("ttl",)
    clock = ttl_clock(astore)
    await astore.aput(ns, "short", {"text": "s"}, ttl=1)  # 60 s
    await astore.aput(ns, "kept", {"text": "k"}, ttl=1)
    await astore.aput(ns, "forever", {"text": "f"})
    await clock.advance(35)
    assert await astore.aget(ns, "kept") is not None  # refreshes its TTL
    assert await astore.aget(ns, "short", refresh_ttl=False) is not None
    await clock.advance(45)  # short: 80 s old; kept: 45 s since its refresh
    assert await astore.aget(ns, "short") is None
    assert await astore.aget(ns, "kept", refresh_ttl=False) is not None
    assert sorted(i.key for i in await astore.asearch(ns, refresh_ttl=False)) == ["forever", "kept"]
    await clock.advance(70)
    assert await astore.aget(ns, "kept") is None
    assert [i.key for i in await astore.asearch(ns, query="k")] == ["forever"]


@pytest.mark.parametrize(
    "astore", [{"ttl": {"default_ttl": 1, "refresh_on_read": False}}], indirect=True
)
async def test_default_ttl_and_sweep_leave_nothing_behind(
    astore: AsyncRedisStore, key_prefix: str
) -> None:
    clock = ttl_clock(astore)
    for i in range(5):
        await astore.aput(("sweep", f"n{i % 2}"), f"k{i}", {"text": f"t{i}"})
    assert len(await astore.alist_namespaces(prefix=("sweep",))) == 2
    await clock.advance(61)
    assert await astore.asearch(("sweep",)) == []
    removed = await astore.asweep_ttl()
    assert removed == 5
    assert await astore.alist_namespaces() == []
    left = sorted(
        (k.decode() if isinstance(k, bytes) else k)
        for k in await astore.client.keys(f"{key_prefix}:*")
    )
    # Settings, and on the query engine the index token (store_keys: P:ixg).
    kept = ["cfg", "ixg"] if astore.engine == "query" else ["cfg"]
    assert left == [f"{key_prefix}:{k}" for k in kept]


async def test_sweeper_starts_and_stops(astore: AsyncRedisStore) -> None:
    clock = ttl_clock(astore)
    await astore.aput(("sw",), "k", {"text": "t"}, ttl=1)
    await clock.advance(61)
    assert await astore.alist_namespaces(prefix=("sw",)) == [("sw",)]  # until swept
    await astore.astart_ttl_sweeper(sweep_interval_minutes=0.001)
    # Wait for the sweeper's work (an event, not a duration): a deadline only a
    # sweeper that never runs reaches.
    for _ in range(500):
        if await astore.alist_namespaces(prefix=("sw",)) == []:
            break
        await asleep(0.02)
    await astore.astop_ttl_sweeper()
    assert await astore.alist_namespaces(prefix=("sw",)) == []


# --------------------------------------------------------------------------- lifecycle


async def test_usable_after_from_conn_string_block(
    redis_url: str, key_prefix: str, embedder: FakeEmbeddings
) -> None:
    async with AsyncRedisStore.from_conn_string(
        redis_url, index=index_config(embedder), prefix=key_prefix, engine="plain"
    ) as store:
        await store.aput(("life",), "k", {"text": "hello"})
    found = await store.asearch(("life",), query="hello")
    assert [i.key for i in found] == ["k"]
    item = await store.aget(("life",), "k")
    assert item is not None
    await store.aclose()


async def test_redis_url_and_redis_client_aliases(redis_url: str, key_prefix: str) -> None:
    by_url = AsyncRedisStore(redis_url=redis_url, prefix=key_prefix)
    await by_url.aput(("alias",), "k", {"v": 1})
    by_client = AsyncRedisStore(redis_client=by_url.client, prefix=key_prefix)
    item = await by_client.aget(("alias",), "k")
    assert item is not None
    assert item.value == {"v": 1}
    await by_url.aclose()
    with pytest.raises(ValueError, match="redis_url"):
        AsyncRedisStore()


async def test_the_other_api_flavour_works(astore: AsyncRedisStore) -> None:
    await astore.aput(("br",), "k", {"text": "t"})
    item = await in_thread(astore.get, ("br",), "k")  # sync: skip
    # sync: item = run_async(store.aget, ("br",), "k")
    assert item is not None
    assert item.value == {"text": "t"}
    with pytest.raises(InvalidStateError, match="event loop"):  # sync: skip
        astore.get(("br",), "k")  # sync: skip


# --------------------------------------------------------------------------- snapshots


async def _other_store(redis_url: str, key_prefix: str, embedder: Embeddings) -> AsyncRedisStore:
    other = AsyncRedisStore(redis_url, index=index_config(embedder), prefix=key_prefix)
    await other.asetup()
    return other


@pytest.mark.parametrize("astore", ["plain"], indirect=True)
async def test_snapshot_follows_other_writers(
    redis_url: str, key_prefix: str, astore: AsyncRedisStore, embedder: FakeEmbeddings
) -> None:
    """Overwrites (more and fewer vectors), deletes and re-puts by another client are
    applied to the cached snapshot: results equal those of a store reading afresh."""
    ns = ("snap",)
    await astore.abatch([PutOp(ns, f"k{i}", {"text": f"doc {i}", "n": i}) for i in range(60)])
    other = await _other_store(redis_url, key_prefix, embedder)
    rounds: list[list[PutOp]] = [
        [PutOp(ns, "k1", {"text": "changed", "n": 1})],
        [PutOp(ns, "k2", {"text": "x", "parts": ["a", "b", "c"], "n": 2}, index=["parts[*]"])],
        [PutOp(ns, "k2", {"text": "back to one", "n": 2})],
        [PutOp(ns, "k3", None), PutOp(ns, "k4", None)],
        [PutOp(ns, "k3", {"text": "doc 3 again", "n": 3}), PutOp(ns, "new", {"text": "n"})],
        [PutOp(ns, "k5", {"text": "unindexed", "n": 5}, index=False)],
        [PutOp(ns, f"k{i}", None) for i in range(10, 40)],
    ]
    searches: list[dict[str, Any]] = [
        {"query": "doc 7"},
        {"query": "changed"},
        {"query": "b", "limit": 3, "offset": 1},
        {"filter": {"n": {"$lt": 4}}},
        {},
    ]
    try:
        for ops in rounds:
            await other.abatch(ops)
            fresh = AsyncRedisStore(
                redis_url, index=index_config(embedder), prefix=key_prefix, engine="plain"
            )
            try:
                for spec in searches:
                    spec = {"limit": 80, **spec}
                    got = await astore.asearch(ns, **spec)
                    _same_results(got, await fresh.asearch(ns, **spec))
            finally:
                await fresh.aclose()
        assert len(astore._cache["snap"].items) == 30
    finally:
        await other.aclose()


@pytest.mark.parametrize("astore", ["plain"], indirect=True)
async def test_snapshot_reloads_after_many_changes_or_recreation(
    redis_url: str, key_prefix: str, astore: AsyncRedisStore, embedder: FakeEmbeddings
) -> None:
    ns = ("many",)
    await astore.abatch([PutOp(ns, f"k{i}", {"text": f"t{i}"}) for i in range(1200)])
    assert len(await astore.asearch(ns, query="t1", limit=2000)) == 1200
    other = await _other_store(redis_url, key_prefix, embedder)
    try:
        # More deletes than tombstones are kept, and more changes than a delta carries.
        await other.abatch([PutOp(ns, f"k{i}", None) for i in range(1100)])
        await other.abatch([PutOp(ns, f"k{i}", {"text": f"u{i}"}) for i in range(1150, 1200)])
        got = await astore.asearch(ns, query="u1160", limit=2000)
        assert sorted(i.key for i in got) == sorted(f"k{i}" for i in range(1100, 1200))
        assert got[0].key == "k1160"
        assert {i.key: i.value["text"] for i in got}["k1199"] == "u1199"
        # The namespace empties and is recreated with other items under the same keys.
        await other.abatch([PutOp(ns, f"k{i}", None) for i in range(1100, 1200)])
        await other.abatch([PutOp(ns, f"k{i}", {"text": f"v{i}"}) for i in range(3)])
        got = await astore.asearch(ns, query="v1", limit=2000)
        assert (got[0].key, got[0].value["text"]) == ("k1", "v1")
        assert sorted(i.key for i in got) == ["k0", "k1", "k2"]
    finally:
        await other.aclose()


# --------------------------------------------------------------------------- round trips


@AUTO_AND_PLAIN
async def test_round_trips_per_method(
    redis_url: str,
    key_prefix: str,
    astore: AsyncRedisStore,
    embedder: FakeEmbeddings,
    roundtrips: RoundTrips,
) -> None:
    ns = ("rt", "u1")
    await astore.aput(ns, "warm", {"text": "loads the scripts"})
    await astore.adelete(ns, "nothing")
    await astore.asearch(ns, query="warm")
    with roundtrips as count:
        await astore.aput(ns, "a", {"text": "alpha"})
    assert count.value == 1
    with roundtrips as count:
        assert await astore.aget(ns, "a") is not None
    assert count.value == 1
    calls = embedder.document_calls
    with roundtrips as count:
        await astore.abatch([PutOp(ns, f"b{i}", {"text": f"beta {i}"}) for i in range(100)])
    assert count.value == 1
    assert embedder.document_calls == calls + 1
    with roundtrips as count:
        await astore.adelete(ns, "b0")
    assert count.value == 1
    with roundtrips as count:
        assert len(await astore.alist_namespaces(prefix=("rt",))) == 1
    assert count.value == 1
    with roundtrips as count:
        assert len(await astore.asearch(ns, limit=5)) == 5
    assert count.value == 1  # a cached snapshot catches up on the writes in its one trip
    with roundtrips as count:
        found = await astore.asearch(ns, query="beta 7", limit=5)
    assert found[0].key == "b7"
    # plain: the snapshot's own trip; query: FT.SEARCH, then the items' fields; vset: the
    # namespace index with the namespace's search script (VSIM and the items' fields)
    assert count.value == (2 if astore.engine == "query" else 1)
    other = await _other_store(redis_url, key_prefix, embedder)
    try:
        await other.aput(ns, "c", {"text": "from another process"})
    finally:
        await other.aclose()
    with roundtrips as count:
        found = await astore.asearch(ns, query="from another process", limit=5)
    assert found[0].key == "c"
    assert count.value == (2 if astore.engine == "query" else 1)


async def test_search_refreshes_ttl_only_when_results_carry_one(
    astore: AsyncRedisStore, roundtrips: RoundTrips
) -> None:
    await astore.aput(("rf",), "plain", {"text": "no ttl"})
    await astore.aput(("rf", "t"), "timed", {"text": "has ttl"}, ttl=1)
    await astore.asearch(("rf",), query="warm")
    # Full pages, so the query engine needs no extra trip for items without vectors.
    for query in (None, "no ttl"):
        with roundtrips as count:
            found = await astore.asearch(("rf",), query=query, filter={"text": "no ttl"}, limit=1)
        assert [i.key for i in found] == ["plain"]
        solo = 1 if query is None or astore.engine == "plain" else 2
        # vset: the namespace index (with ("rf",)'s search), then ("rf", "t")'s search
        assert count.value == solo
        with roundtrips as count:
            found = await astore.asearch(("rf",), query=query, limit=2)
        assert sorted(i.key for i in found) == ["plain", "timed"]
        assert count.value == solo + 1  # the renewal of "timed"
        with roundtrips as count:
            await astore.asearch(("rf",), query=query, limit=2, refresh_ttl=False)
        assert count.value == solo


async def test_get_sends_no_refresh_script_without_ttl_config(
    astore: AsyncRedisStore, roundtrips: RoundTrips
) -> None:
    """No TTL configured: a get of an item without a TTL sends no script; an item with
    one is still renewed (in a second round trip)."""
    assert astore.ttl_config is None
    clock = ttl_clock(astore)
    await astore.aput(("gr",), "plain", {"text": "no ttl"})
    await astore.aput(("gr",), "timed", {"text": "has ttl"}, ttl=1)  # 60 s
    with roundtrips as count:
        assert await astore.aget(("gr",), "plain") is not None
    assert (count.value, count.scripts()) == (1, 0)
    with roundtrips as count:
        assert await astore.aget(("gr",), "absent") is None
    assert (count.value, count.scripts()) == (1, 0)
    await clock.advance(35)
    with roundtrips as count:
        assert await astore.aget(("gr",), "timed") is not None  # renews the TTL
    assert (count.value, count.scripts()) == (2, 1)
    await clock.advance(45)  # 80 s after the put, 45 s after the renewal
    assert await astore.aget(("gr",), "timed", refresh_ttl=False) is not None
    await clock.advance(20)
    assert await astore.aget(("gr",), "timed") is None
    await cast(Any, astore.client).hset(_item_key(astore, ("gr",), "plain"), "ttl", "x1")
    with pytest.raises(CorruptDataError, match="field 'ttl' is not an integer"):
        await astore.aget(("gr",), "plain")
    assert await astore.aget(("gr",), "plain", refresh_ttl=False) is not None


async def test_get_with_ttl_config_renews_in_one_round_trip(
    redis_url: str, key_prefix: str, roundtrips: RoundTrips
) -> None:
    store = AsyncRedisStore(redis_url, ttl={"default_ttl": 1}, prefix=key_prefix)
    try:
        await store.aput(("gc",), "k", {"text": "t"})
        await store.aget(("gc",), "k")
        with roundtrips as count:
            assert await store.aget(("gc",), "k") is not None
        assert (count.value, count.scripts()) == (1, 1)
    finally:
        await store.aclose()


# --------------------------------------------------------------------------- omit_expired


@pytest.mark.parametrize(
    "astore", [{"ttl": {"omit_expired": True, "refresh_on_read": False}}], indirect=True
)
async def test_omit_expired_hides_expired_items_before_the_sweep(astore: AsyncRedisStore) -> None:
    clock = ttl_clock(astore)
    await astore.aput(("om", "gone"), "a", {"text": "short"}, ttl=1)  # 60 s
    await astore.aput(("om", "mixed"), "b", {"text": "short"}, ttl=1)
    await astore.aput(("om", "mixed"), "c", {"text": "kept"})
    assert await astore.alist_namespaces(prefix=("om",)) == [("om", "gone"), ("om", "mixed")]
    assert len(await astore.asearch(("om",), query="short")) == 3
    await clock.advance(61)
    assert await astore.aget(("om", "gone"), "a") is None
    assert [i.key for i in await astore.asearch(("om",))] == ["c"]
    assert [i.key for i in await astore.asearch(("om",), query="short")] == ["c"]
    assert await astore.alist_namespaces(prefix=("om",)) == [("om", "mixed")]
    assert await astore.alist_namespaces(max_depth=1) == [("om",)]
    assert await astore.asweep_ttl() == 2
    assert await astore.alist_namespaces(prefix=("om",)) == [("om", "mixed")]


async def test_without_omit_expired_namespaces_stay_until_swept(
    astore: AsyncRedisStore,
) -> None:
    clock = ttl_clock(astore)
    await astore.aput(("stay",), "a", {"text": "short"}, ttl=1)
    await clock.advance(61)
    assert await astore.aget(("stay",), "a") is None
    assert await astore.asearch(("stay",)) == []
    assert await astore.alist_namespaces(prefix=("stay",)) == [("stay",)]
    await astore.asweep_ttl()
    assert await astore.alist_namespaces(prefix=("stay",)) == []


# --------------------------------------------------------------------------- query engine


@pytest.mark.requires_search
@pytest.mark.parametrize(
    ("algorithm", "vector_type"),
    [("hnsw", "vector"), ("hnsw", "halfvec"), ("flat", "halfvec")],
)
async def test_query_engine_hnsw_and_halfvec(
    redis_url: str, key_prefix: str, embedder: FakeEmbeddings, algorithm: str, vector_type: str
) -> None:
    store = AsyncRedisStore(
        redis_url,
        index=index_config(
            embedder,
            ann_index_config={"algorithm": algorithm, "vector_type": vector_type, "ef_runtime": 64},
        ),
        prefix=key_prefix,
    )
    try:
        await store.asetup()
        if store.engine != "query":
            pytest.skip("needs a server with a query engine")
        texts = {f"k{i}": f"entry {i}" for i in range(200)}
        await store.abatch([PutOp(("q",), k, {"text": t}) for k, t in texts.items()])
        mat = np.array([vec(t) for t in texts.values()])
        tol = 2e-3 if vector_type == "halfvec" else 1e-5
        for query in ("entry 17", "something else"):
            q = np.array(vec(query))
            exact = (mat @ q) / (np.linalg.norm(mat, axis=1) * np.linalg.norm(q))
            got = await store.asearch(("q",), query=query, limit=10)
            scores = [i.score for i in got]
            assert all(s is not None for s in scores)
            assert scores == sorted(scores, reverse=True)  # type: ignore[type-var]
            want = {f"k{j}": float(exact[j]) for j in np.argsort(-exact)[:10]}
            assert len(set(want) & {i.key for i in got}) >= 9  # approximate search
            for item in got:
                assert item.score == pytest.approx(float(exact[int(item.key[1:])]), abs=tol)
        top = await store.asearch(("q",), query="entry 17", limit=1)
        assert top[0].key == "k17"
        assert top[0].score == pytest.approx(1.0, abs=tol)
    finally:
        await close_store(store, key_prefix)


# --------------------------------------------------------------------------- formats, foreign data


def _item_key(store: AsyncRedisStore, ns: tuple[str, ...], key: str) -> str:
    return sk.item_key(store._prefix, sk.ns_text(ns), key)


async def test_newer_item_format_is_refused(astore: AsyncRedisStore) -> None:
    ns = ("fmt",)
    await astore.abatch([PutOp(ns, k, {"text": f"entry {k}"}) for k in ("a", "b")])
    assert len(await astore.asearch(ns, query="entry")) == 2  # snapshots cached
    client = cast(Any, astore.client)
    await client.hset(_item_key(astore, ns, "b"), "fmt", "99")
    await client.hset(_item_key(astore, ns, "b"), "ua", "1")  # a write the caches must read
    await client.hincrby(sk.version_key(astore._prefix, sk.ns_text(ns)), "v", 1)
    await client.zadd(sk.stamps_key(astore._prefix, sk.ns_text(ns)), {"b": 10**9})
    with pytest.raises(UnsupportedFormatError, match=r"format '99'.*Upgrade"):
        await astore.aget(ns, "b")
    with pytest.raises(UnsupportedFormatError):
        await astore.asearch(ns)
    with pytest.raises(UnsupportedFormatError):
        await astore.asearch(ns, query="entry b")
    await client.hset(_item_key(astore, ns, "b"), "fmt", "1")
    found = await astore.asearch(ns, limit=5)  # the half-read snapshot was dropped
    assert sorted(i.key for i in found) == ["a", "b"]


async def test_foreign_data_fails_its_get_and_is_skipped_by_search(
    astore: AsyncRedisStore, caplog: pytest.LogCaptureFixture
) -> None:
    ns = ("foreign", "x")
    keys = ["good", "badjson", "string", "nofmt", "novalue", "notdict"]
    await astore.abatch([PutOp(ns, k, {"text": f"entry {k}"}) for k in keys])
    client = cast(Any, astore.client)
    secret = "s3cret-value"
    await client.hset(_item_key(astore, ns, "badjson"), "value", "{" + secret)
    await client.delete(_item_key(astore, ns, "string"))
    await client.set(_item_key(astore, ns, "string"), secret)
    await client.hdel(_item_key(astore, ns, "nofmt"), "fmt")
    await client.hdel(_item_key(astore, ns, "novalue"), "value")
    await client.hset(_item_key(astore, ns, "notdict"), "value", f'["{secret}"]')
    await client.zadd(sk.stamps_key(astore._prefix, sk.ns_text(ns)), {k: 10**9 for k in keys})
    await client.hincrby(sk.version_key(astore._prefix, sk.ns_text(ns)), "v", 1)
    if astore.engine == "query":  # a hash under the vector prefix that we did not write
        await client.hset(f"{astore._prefix}:v:alien", "vec", np.ones(DIMS, "f4").tobytes())
    assert (await astore.aget(ns, "good")) is not None
    for bad in keys[1:]:
        with pytest.raises(CorruptDataError, match=rf"store item \('foreign', 'x'\)/'{bad}'"):
            await astore.aget(ns, bad)
    caplog.set_level(logging.WARNING, logger="langgraph_redis")
    assert [i.key for i in await astore.asearch(ns)] == ["good"]
    assert [i.key for i in await astore.asearch(("foreign",), query="entry", limit=10)] == ["good"]
    assert await astore.alist_namespaces() == [ns]
    skipped = {r.getMessage() for r in caplog.records if "skipped" in r.getMessage()}
    for bad in keys[1:]:
        assert any(f"'{bad}'" in m for m in skipped), (bad, skipped)
    assert secret not in caplog.text  # the key is named, the value never


@pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf")])
async def test_nan_and_infinity_are_refused(astore: AsyncRedisStore, number: float) -> None:
    await astore.aput(("num",), "k", {"x": 1})
    with pytest.raises(ValueError, match="NaN or Infinity"):
        await astore.aput(("num",), "k", {"x": {"deep": [number]}})
    item = await astore.aget(("num",), "k")
    assert item is not None and item.value == {"x": 1}


async def test_oversized_value_is_refused_before_sending(
    astore: AsyncRedisStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writes, "MAX_VALUE_BYTES", 64)  # the real limit is Redis' 512 MB
    with pytest.raises(ValueError, match=r"is 8\d bytes of JSON.*proto-max-bulk-len"):
        await astore.abatch(
            [PutOp(("big",), "ok", {"x": 1}), PutOp(("big",), "k", {"x": "é" * 40})]
        )
    assert await astore.aget(("big",), "ok") is None  # nothing of the batch was written


async def test_search_with_and_or_filters(astore: AsyncRedisStore) -> None:
    ns = ("logic",)
    for i in range(6):
        await astore.aput(ns, f"k{i}", {"text": f"item {i}", "n": i, "tag": "ab"[i % 2]})
    either = await astore.asearch(ns, filter={"$or": [{"n": 1}, {"n": {"$gte": 4}}]}, limit=10)
    assert sorted(i.key for i in either) == ["k1", "k4", "k5"]
    both = await astore.asearch(
        ns, query="item", filter={"$and": [{"tag": "a"}, {"n": {"$lt": 4}}]}, limit=10
    )
    assert sorted(i.key for i in both) == ["k0", "k2"]
