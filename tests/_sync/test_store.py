# WARNING: generated from tests/_async/test_store.py by scripts/async_to_sync.py.
# DO NOT EDIT: change the async source and regenerate.
"""RedisStore against real servers: valkey and redis7 use the plain engine, stack
the query engine (and the plain engine once, forced). InMemoryStore is the oracle."""

from __future__ import annotations

import hashlib
import logging
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
from langgraph_redis._acompat import Iterator, sleep
from langgraph_redis._sync.store import RedisStore
from langgraph_redis._core.store import keys as sk
from langgraph_redis._core.store import writes
from tests._sync.clock import ttl_clock
from tests._sync.stores import close_store, put_and_read_back
from tests.roundtrips import RoundTrips

from langgraph_redis._bridge import run_async

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
    "store", ["auto", "plain-unless-auto"], ids=["auto", "plain"], indirect=True
)
"""Run a test on the automatic engine and on the plain one, where they differ."""


@pytest.fixture
def store(
    request: pytest.FixtureRequest,
    redis_url: str,
    key_prefix: str,
    embedder: FakeEmbeddings,
    engine: str,
) -> Iterator[RedisStore]:
    """The test's store; an indirect parameter names its engine or gives its options."""
    param: Any = getattr(request, "param", "auto")
    options: dict[str, Any] = dict(param) if isinstance(param, dict) else {"engine": param}
    if options.get("engine") == "plain-unless-auto":
        if engine not in ("stack", "redis8"):
            pytest.skip("plain is already the automatic engine here")
        options["engine"] = "plain"
    store = RedisStore(redis_url, index=index_config(embedder), prefix=key_prefix, **options)
    store.setup()
    index_built(store)
    try:
        yield store
    finally:
        close_store(store, key_prefix)


def index_built(store: RedisStore) -> None:
    """Wait until a new FT index has scanned the keyspace (FT.CREATE indexes existing
    keys in the background; searches take the exact path meanwhile, which changes
    their round-trip count, not their results)."""
    if store.engine != "query":
        return
    client = cast(Any, store.client)
    for _ in range(3000):
        raw = client.execute_command("FT.INFO", f"{store._prefix}:idx")
        info = raw if isinstance(raw, dict) else dict(zip(raw[::2], raw[1::2], strict=False))
        flag: Any = info.get(b"indexing", info.get("indexing"))
        if int(float(flag.decode() if isinstance(flag, bytes) else flag)) == 0:
            return
        sleep(0.01)
    raise AssertionError("the FT index did not finish indexing within 30 s")


def expect_engine(store: RedisStore, engine: str) -> None:
    assert store.engine == {"stack": "query", "redis8": "vset"}.get(engine, "plain")


# --------------------------------------------------------------------------- basics


def test_engine_is_picked_by_probe(store: RedisStore, engine: str) -> None:
    if engine == "env":  # REDIS_URL: any server; the probe must still have picked one
        assert store.engine in {"query", "plain"}
    else:
        expect_engine(store, engine)


def test_put_get_delete_hostile_names(store: RedisStore) -> None:
    namespaces = [("memories", label) for label in HOSTILE_LABELS] + [tuple(HOSTILE_LABELS)]
    put_and_read_back(store, namespaces, HOSTILE_KEYS)
    for ns in namespaces:
        found = store.search(ns, limit=100)
        assert sorted(i.key for i in found if i.namespace == ns) == sorted(HOSTILE_KEYS)
    ns0 = namespaces[0]
    for key in HOSTILE_KEYS:
        store.delete(ns0, key)
        assert store.get(ns0, key) is None
    assert ns0 not in store.list_namespaces(limit=1000)
    assert store.get(namespaces[1], HOSTILE_KEYS[0]) is not None


def test_timestamps_created_at_kept_on_overwrite(store: RedisStore) -> None:
    store.put(("ts",), "k", {"text": "one"})
    first = store.get(("ts",), "k")
    assert first is not None
    assert first.created_at.tzinfo is not None
    sleep(0.01)
    store.put(("ts",), "k", {"text": "two"})
    second = store.get(("ts",), "k")
    assert second is not None
    assert second.value == {"text": "two"}
    assert second.created_at == first.created_at
    assert second.updated_at > first.updated_at


def test_batch_reads_see_state_before_its_writes(store: RedisStore) -> None:
    ns = ("batch",)
    results = store.batch(
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
    item = store.get(ns, "a")
    assert item is not None
    assert item.value == {"text": "y"}  # the last put of a key wins


def test_invalid_namespaces(store: RedisStore) -> None:
    with pytest.raises(InvalidNamespaceError):
        store.put(("a.b",), "k", {"v": 1})
    with pytest.raises(InvalidNamespaceError):
        store.put(("a", ""), "k", {"v": 1})
    with pytest.raises(InvalidNamespaceError):
        store.batch([PutOp(("x.y",), "k", {"v": 1})])
    with pytest.raises(InvalidNamespaceError):
        store.batch([GetOp(("",), "k")])


def test_string_namespace_is_a_type_error_with_a_hint(store: RedisStore) -> None:
    """A string is a sequence of one-character labels; it must not be stored as one."""
    calls: list[Any] = [
        lambda: store.put("memories", "k", {"v": 1}),  # type: ignore[arg-type]
        lambda: store.get("memories", "k"),  # type: ignore[arg-type]
        lambda: store.delete("memories", "k"),  # type: ignore[arg-type]
        lambda: store.search("memories"),  # type: ignore[arg-type]
        lambda: store.list_namespaces(prefix="memories"),  # type: ignore[arg-type]
        lambda: store.list_namespaces(suffix="memories"),  # type: ignore[arg-type]
        lambda: store.batch([GetOp("memories", "k")]),  # type: ignore[arg-type]
    ]
    for call in calls:
        with pytest.raises(TypeError, match=r"tuple of strings.*\('memories',\)"):
            call()
    assert store.list_namespaces() == []


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


def test_search_filters(store: RedisStore) -> None:
    ns = ("docs", "f")
    for i, doc in enumerate(FILTER_DOCS):
        store.put(ns, f"d{i}", doc)
    store.put(("docs-other",), "x", {"kind": "note"})
    for spec in FILTERS:
        found = store.search(("docs",), filter=spec, limit=50)
        want = sorted(f"d{i}" for i, doc in enumerate(FILTER_DOCS) if _matches_reference(doc, spec))
        assert sorted(i.key for i in found) == want, spec
        for query in ("a", "zzz"):
            scored = store.search(("docs",), query=query, filter=spec, limit=50)
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


def test_unknown_operator_fails_before_any_write(store: RedisStore) -> None:
    store.put(("bad",), "k", {"text": "keep"})
    with pytest.raises(ValueError, match="unsupported filter operator"):
        store.batch(
            [
                PutOp(("bad",), "k", {"text": "changed"}),
                SearchOp(("bad",), filter={"n": {"$regex": "x"}}),
            ]
        )
    item = store.get(("bad",), "k")
    assert item is not None
    assert item.value == {"text": "keep"}


def test_bad_values_leave_data_untouched(store: RedisStore) -> None:
    store.put(("bad",), "k", {"text": "keep"})
    with pytest.raises(TypeError, match="JSON"):
        store.batch(
            [
                PutOp(("bad",), "k", {"text": "changed"}),
                PutOp(("bad",), "other", {"obj": object()}),
            ]
        )
    item = store.get(("bad",), "k")
    assert item is not None
    assert item.value == {"text": "keep"}
    assert store.get(("bad",), "other") is None


def test_wrong_vector_size_leaves_data_untouched(
    redis_url: str, key_prefix: str, store: RedisStore
) -> None:
    store.put(("bad",), "k", {"text": "keep"})
    wrong = RedisStore(
        redis_url,
        index=index_config(FakeEmbeddings(DIMS + 1), dims=DIMS),
        prefix=key_prefix,
        engine="plain",
    )
    try:
        with pytest.raises(ValueError, match="dimensions"):
            wrong.put(("bad",), "k", {"text": "changed"})
    finally:
        wrong.close()
    item = store.get(("bad",), "k")
    assert item is not None
    assert item.value == {"text": "keep"}


# --------------------------------------------------------------------------- vectors


def _fill_both(store: RedisStore, mem: InMemoryStore, ops: Sequence[PutOp]) -> None:
    store.batch(list(ops))
    mem.batch(list(ops))


def _same_results(got: Sequence[Any], want: Sequence[Any]) -> None:
    assert [(i.namespace, i.key) for i in got] == [(i.namespace, i.key) for i in want]
    for g, w in zip(got, want, strict=True):
        assert g.value == w.value
        if w.score is None:
            assert g.score is None
        else:
            assert g.score == pytest.approx(w.score, abs=1e-5)


@AUTO_AND_PLAIN
def test_vector_search_matches_in_memory_store(
    store: RedisStore, embedder: FakeEmbeddings
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
    _fill_both(store, mem, ops)
    for query in ("memory number 3", "green", "something else"):
        for prefix in ((), ("mem",), ("mem", "u0"), ("mem", "u1")):
            for limit, offset in ((5, 0), (3, 2), (10, 7)):
                got = store.search(prefix, query=query, limit=limit, offset=offset)
                want = mem.search(prefix, query=query, limit=limit, offset=offset)
                _same_results(got, want)
    got = store.search(("mem",), query="green", filter={"n": {"$gte": 30}}, limit=4)
    want = mem.search(("mem",), query="green", filter={"n": {"$gte": 30}}, limit=4)
    _same_results(got, want)
    # The unindexed item only fills pages once scored items run out.
    page = store.search(("mem", "u1"), query="x", limit=100)
    assert [i.key for i in page if i.score is None] == ["plain"]


@pytest.mark.parametrize("distance", ["l2", "inner_product"])
def test_other_distances(
    redis_url: str, key_prefix: str, embedder: FakeEmbeddings, distance: str
) -> None:
    store = RedisStore(
        redis_url, index=index_config(embedder, distance_type=distance), prefix=key_prefix
    )
    try:
        vectors = {f"k{i}": vec(f"doc {i}") for i in range(20)}
        store.batch([PutOp(("d",), k, {"text": f"doc {k[1:]}"}) for k in vectors])
        q = np.array(vec("query"))
        mat = np.array(list(vectors.values()))
        scores = -np.linalg.norm(mat - q, axis=1) if distance == "l2" else mat @ q
        order = np.argsort(-scores)[:5]
        got = store.search(("d",), query="query", limit=5)
        assert [i.key for i in got] == [list(vectors)[j] for j in order]
        for item, j in zip(got, order, strict=True):
            assert item.score == pytest.approx(float(scores[j]), abs=1e-4)
    finally:
        close_store(store, key_prefix)


def test_batch_embeds_once(store: RedisStore, embedder: FakeEmbeddings) -> None:
    ops = [PutOp(("e",), f"k{i}", {"text": f"t{i}"}) for i in range(25)]
    ops.append(PutOp(("e",), "k0", {"text": "replaced"}))
    store.batch(ops)
    assert embedder.document_calls == 1
    assert sorted(embedder.texts) == sorted(["replaced", *[f"t{i}" for i in range(1, 25)]])


def test_index_fields_and_wildcards(
    store: RedisStore, embedder: FakeEmbeddings
) -> None:
    store.put(
        ("w",), "k", {"text": "top", "ctx": [{"c": "one"}, {"c": "two"}]}, index=["ctx[*].c"]
    )
    assert sorted(embedder.texts) == ["one", "two"]
    hit = store.search(("w",), query="two", limit=1)
    assert hit[0].key == "k"
    assert hit[0].score == pytest.approx(1.0, abs=1e-5)
    store.put(("w",), "k", {"text": "top"}, index=False)
    again = store.search(("w",), query="two", limit=1)
    assert again[0].score is None


@AUTO_AND_PLAIN
def test_ten_thousand_items_exact_top_ten(
    store: RedisStore, embedder: FakeEmbeddings
) -> None:
    n = 10_000
    texts = [f"item {i}" for i in range(n)]
    for start in range(0, n, 2_000):
        store.batch(
            [PutOp(("big",), f"k{i}", {"text": texts[i]}) for i in range(start, start + 2_000)]
        )
    mat = np.array([vec(t) for t in texts])
    for query in ("needle", "haystack", "item 42"):
        q = np.array(vec(query))
        scores = (mat @ q) / (np.linalg.norm(mat, axis=1) * np.linalg.norm(q))
        order = np.argsort(-scores)[:10]
        got = store.search(("big",), query=query, limit=10)
        assert [i.key for i in got] == [f"k{j}" for j in order]
        for item, j in zip(got, order, strict=True):
            assert item.score == pytest.approx(float(scores[j]), abs=1e-5)


def test_other_process_writes_are_seen(
    redis_url: str, key_prefix: str, store: RedisStore, embedder: FakeEmbeddings
) -> None:
    store.put(("shared",), "a", {"text": "alpha"})
    assert [i.key for i in store.search(("shared",), query="beta")] == ["a"]
    other = RedisStore(redis_url, index=index_config(embedder), prefix=key_prefix)
    try:
        other.put(("shared",), "b", {"text": "beta"})
        other.put(("shared",), "a", {"text": "changed"})
        other.put(("shared", "sub"), "c", {"text": "gamma"})
    finally:
        other.close()
    found = store.search(("shared",), query="beta")
    assert found[0].key == "b"
    assert {i.key: i.value["text"] for i in found} == {"a": "changed", "b": "beta", "c": "gamma"}
    store.delete(("shared",), "b")
    assert sorted(i.key for i in store.search(("shared",), query="beta")) == ["a", "c"]


def test_dims_mismatch_is_an_error(
    redis_url: str, key_prefix: str, store: RedisStore
) -> None:
    store.setup()  # idempotent
    again = RedisStore(redis_url, index=index_config(FakeEmbeddings()), prefix=key_prefix)
    again.setup()
    again.close()
    other = RedisStore(
        redis_url, index=index_config(FakeEmbeddings(8), dims=8), prefix=key_prefix
    )
    try:
        with pytest.raises(ValueError, match="dims"):
            other.setup()
    finally:
        other.close()


# --------------------------------------------------------------------------- pages


def test_limit_offset_pages(store: RedisStore) -> None:
    for i in range(12):
        store.put(("pg",), f"k{i:02d}", {"text": f"t{i}", "i": i})
    everything = store.search(("pg",), limit=100)
    assert len(everything) == 12
    pages = [store.search(("pg",), limit=5, offset=o) for o in (0, 5, 10)]
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


def test_list_namespaces_matches_in_memory_store(store: RedisStore) -> None:
    mem = InMemoryStore()
    for ns in NAMESPACES:
        store.put(ns, "k", {"v": 1})
        mem.put(ns, "k", {"v": 1})
    for case in LIST_CASES:
        got = store.list_namespaces(**case)
        want = mem.list_namespaces(**case)
        assert got == want, case
    ops = [ListNamespacesOp(match_conditions=(MatchCondition("suffix", ("c",)),))]
    assert store.batch(ops) == mem.batch(ops)


# --------------------------------------------------------------------------- TTL


def test_ttl_expiry_and_refresh(store: RedisStore) -> None:
    ns = ("ttl",)
    clock = ttl_clock(store)
    store.put(ns, "short", {"text": "s"}, ttl=1)  # 60 s
    store.put(ns, "kept", {"text": "k"}, ttl=1)
    store.put(ns, "forever", {"text": "f"})
    clock.advance(35)
    assert store.get(ns, "kept") is not None  # refreshes its TTL
    assert store.get(ns, "short", refresh_ttl=False) is not None
    clock.advance(45)  # short: 80 s old; kept: 45 s since its refresh
    assert store.get(ns, "short") is None
    assert store.get(ns, "kept", refresh_ttl=False) is not None
    assert sorted(i.key for i in store.search(ns, refresh_ttl=False)) == ["forever", "kept"]
    clock.advance(70)
    assert store.get(ns, "kept") is None
    assert [i.key for i in store.search(ns, query="k")] == ["forever"]


@pytest.mark.parametrize(
    "store", [{"ttl": {"default_ttl": 1, "refresh_on_read": False}}], indirect=True
)
def test_default_ttl_and_sweep_leave_nothing_behind(
    store: RedisStore, key_prefix: str
) -> None:
    clock = ttl_clock(store)
    for i in range(5):
        store.put(("sweep", f"n{i % 2}"), f"k{i}", {"text": f"t{i}"})
    assert len(store.list_namespaces(prefix=("sweep",))) == 2
    clock.advance(61)
    assert store.search(("sweep",)) == []
    removed = store.sweep_ttl()
    assert removed == 5
    assert store.list_namespaces() == []
    left = sorted(
        (k.decode() if isinstance(k, bytes) else k)
        for k in store.client.keys(f"{key_prefix}:*")
    )
    # Settings, and on the query engine the index token (store_keys: P:ixg).
    kept = ["cfg", "ixg"] if store.engine == "query" else ["cfg"]
    assert left == [f"{key_prefix}:{k}" for k in kept]


def test_sweeper_starts_and_stops(store: RedisStore) -> None:
    clock = ttl_clock(store)
    store.put(("sw",), "k", {"text": "t"}, ttl=1)
    clock.advance(61)
    assert store.list_namespaces(prefix=("sw",)) == [("sw",)]  # until swept
    store.start_ttl_sweeper(sweep_interval_minutes=0.001)
    # Wait for the sweeper's work (an event, not a duration): a deadline only a
    # sweeper that never runs reaches.
    for _ in range(500):
        if store.list_namespaces(prefix=("sw",)) == []:
            break
        sleep(0.02)
    store.stop_ttl_sweeper()
    assert store.list_namespaces(prefix=("sw",)) == []


# --------------------------------------------------------------------------- lifecycle


def test_usable_after_from_conn_string_block(
    redis_url: str, key_prefix: str, embedder: FakeEmbeddings
) -> None:
    with RedisStore.from_conn_string(
        redis_url, index=index_config(embedder), prefix=key_prefix, engine="plain"
    ) as store:
        store.put(("life",), "k", {"text": "hello"})
    found = store.search(("life",), query="hello")
    assert [i.key for i in found] == ["k"]
    item = store.get(("life",), "k")
    assert item is not None
    store.close()


def test_redis_url_and_redis_client_aliases(redis_url: str, key_prefix: str) -> None:
    by_url = RedisStore(redis_url=redis_url, prefix=key_prefix)
    by_url.put(("alias",), "k", {"v": 1})
    by_client = RedisStore(redis_client=by_url.client, prefix=key_prefix)
    item = by_client.get(("alias",), "k")
    assert item is not None
    assert item.value == {"v": 1}
    by_url.close()
    with pytest.raises(ValueError, match="redis_url"):
        RedisStore()


def test_the_other_api_flavour_works(store: RedisStore) -> None:
    store.put(("br",), "k", {"text": "t"})
    item = run_async(store.aget, ("br",), "k")
    assert item is not None
    assert item.value == {"text": "t"}


# --------------------------------------------------------------------------- snapshots


def _other_store(redis_url: str, key_prefix: str, embedder: Embeddings) -> RedisStore:
    other = RedisStore(redis_url, index=index_config(embedder), prefix=key_prefix)
    other.setup()
    return other


@pytest.mark.parametrize("store", ["plain"], indirect=True)
def test_snapshot_follows_other_writers(
    redis_url: str, key_prefix: str, store: RedisStore, embedder: FakeEmbeddings
) -> None:
    """Overwrites (more and fewer vectors), deletes and re-puts by another client are
    applied to the cached snapshot: results equal those of a store reading afresh."""
    ns = ("snap",)
    store.batch([PutOp(ns, f"k{i}", {"text": f"doc {i}", "n": i}) for i in range(60)])
    other = _other_store(redis_url, key_prefix, embedder)
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
            other.batch(ops)
            fresh = RedisStore(
                redis_url, index=index_config(embedder), prefix=key_prefix, engine="plain"
            )
            try:
                for spec in searches:
                    spec = {"limit": 80, **spec}
                    got = store.search(ns, **spec)
                    _same_results(got, fresh.search(ns, **spec))
            finally:
                fresh.close()
        assert len(store._cache["snap"].items) == 30
    finally:
        other.close()


@pytest.mark.parametrize("store", ["plain"], indirect=True)
def test_snapshot_reloads_after_many_changes_or_recreation(
    redis_url: str, key_prefix: str, store: RedisStore, embedder: FakeEmbeddings
) -> None:
    ns = ("many",)
    store.batch([PutOp(ns, f"k{i}", {"text": f"t{i}"}) for i in range(1200)])
    assert len(store.search(ns, query="t1", limit=2000)) == 1200
    other = _other_store(redis_url, key_prefix, embedder)
    try:
        # More deletes than tombstones are kept, and more changes than a delta carries.
        other.batch([PutOp(ns, f"k{i}", None) for i in range(1100)])
        other.batch([PutOp(ns, f"k{i}", {"text": f"u{i}"}) for i in range(1150, 1200)])
        got = store.search(ns, query="u1160", limit=2000)
        assert sorted(i.key for i in got) == sorted(f"k{i}" for i in range(1100, 1200))
        assert got[0].key == "k1160"
        assert {i.key: i.value["text"] for i in got}["k1199"] == "u1199"
        # The namespace empties and is recreated with other items under the same keys.
        other.batch([PutOp(ns, f"k{i}", None) for i in range(1100, 1200)])
        other.batch([PutOp(ns, f"k{i}", {"text": f"v{i}"}) for i in range(3)])
        got = store.search(ns, query="v1", limit=2000)
        assert (got[0].key, got[0].value["text"]) == ("k1", "v1")
        assert sorted(i.key for i in got) == ["k0", "k1", "k2"]
    finally:
        other.close()


# --------------------------------------------------------------------------- round trips


@AUTO_AND_PLAIN
def test_round_trips_per_method(
    redis_url: str,
    key_prefix: str,
    store: RedisStore,
    embedder: FakeEmbeddings,
    roundtrips: RoundTrips,
) -> None:
    ns = ("rt", "u1")
    store.put(ns, "warm", {"text": "loads the scripts"})
    store.delete(ns, "nothing")
    store.search(ns, query="warm")
    with roundtrips as count:
        store.put(ns, "a", {"text": "alpha"})
    assert count.value == 1
    with roundtrips as count:
        assert store.get(ns, "a") is not None
    assert count.value == 1
    calls = embedder.document_calls
    with roundtrips as count:
        store.batch([PutOp(ns, f"b{i}", {"text": f"beta {i}"}) for i in range(100)])
    assert count.value == 1
    assert embedder.document_calls == calls + 1
    with roundtrips as count:
        store.delete(ns, "b0")
    assert count.value == 1
    with roundtrips as count:
        assert len(store.list_namespaces(prefix=("rt",))) == 1
    assert count.value == 1
    with roundtrips as count:
        assert len(store.search(ns, limit=5)) == 5
    assert count.value == 1  # a cached snapshot catches up on the writes in its one trip
    with roundtrips as count:
        found = store.search(ns, query="beta 7", limit=5)
    assert found[0].key == "b7"
    # plain: the snapshot's own trip; query: FT.SEARCH, then the items' fields; vset: the
    # namespace index with the namespace's search script (VSIM and the items' fields)
    assert count.value == (2 if store.engine == "query" else 1)
    other = _other_store(redis_url, key_prefix, embedder)
    try:
        other.put(ns, "c", {"text": "from another process"})
    finally:
        other.close()
    with roundtrips as count:
        found = store.search(ns, query="from another process", limit=5)
    assert found[0].key == "c"
    assert count.value == (2 if store.engine == "query" else 1)


def test_search_refreshes_ttl_only_when_results_carry_one(
    store: RedisStore, roundtrips: RoundTrips
) -> None:
    store.put(("rf",), "plain", {"text": "no ttl"})
    store.put(("rf", "t"), "timed", {"text": "has ttl"}, ttl=1)
    store.search(("rf",), query="warm")
    # Full pages, so the query engine needs no extra trip for items without vectors.
    for query in (None, "no ttl"):
        with roundtrips as count:
            found = store.search(("rf",), query=query, filter={"text": "no ttl"}, limit=1)
        assert [i.key for i in found] == ["plain"]
        solo = 1 if query is None or store.engine == "plain" else 2
        # vset: the namespace index (with ("rf",)'s search), then ("rf", "t")'s search
        assert count.value == solo
        with roundtrips as count:
            found = store.search(("rf",), query=query, limit=2)
        assert sorted(i.key for i in found) == ["plain", "timed"]
        assert count.value == solo + 1  # the renewal of "timed"
        with roundtrips as count:
            store.search(("rf",), query=query, limit=2, refresh_ttl=False)
        assert count.value == solo


def test_get_sends_no_refresh_script_without_ttl_config(
    store: RedisStore, roundtrips: RoundTrips
) -> None:
    """No TTL configured: a get of an item without a TTL sends no script; an item with
    one is still renewed (in a second round trip)."""
    assert store.ttl_config is None
    clock = ttl_clock(store)
    store.put(("gr",), "plain", {"text": "no ttl"})
    store.put(("gr",), "timed", {"text": "has ttl"}, ttl=1)  # 60 s
    with roundtrips as count:
        assert store.get(("gr",), "plain") is not None
    assert (count.value, count.scripts()) == (1, 0)
    with roundtrips as count:
        assert store.get(("gr",), "absent") is None
    assert (count.value, count.scripts()) == (1, 0)
    clock.advance(35)
    with roundtrips as count:
        assert store.get(("gr",), "timed") is not None  # renews the TTL
    assert (count.value, count.scripts()) == (2, 1)
    clock.advance(45)  # 80 s after the put, 45 s after the renewal
    assert store.get(("gr",), "timed", refresh_ttl=False) is not None
    clock.advance(20)
    assert store.get(("gr",), "timed") is None
    cast(Any, store.client).hset(_item_key(store, ("gr",), "plain"), "ttl", "x1")
    with pytest.raises(CorruptDataError, match="field 'ttl' is not an integer"):
        store.get(("gr",), "plain")
    assert store.get(("gr",), "plain", refresh_ttl=False) is not None


def test_get_with_ttl_config_renews_in_one_round_trip(
    redis_url: str, key_prefix: str, roundtrips: RoundTrips
) -> None:
    store = RedisStore(redis_url, ttl={"default_ttl": 1}, prefix=key_prefix)
    try:
        store.put(("gc",), "k", {"text": "t"})
        store.get(("gc",), "k")
        with roundtrips as count:
            assert store.get(("gc",), "k") is not None
        assert (count.value, count.scripts()) == (1, 1)
    finally:
        store.close()


# --------------------------------------------------------------------------- omit_expired


@pytest.mark.parametrize(
    "store", [{"ttl": {"omit_expired": True, "refresh_on_read": False}}], indirect=True
)
def test_omit_expired_hides_expired_items_before_the_sweep(store: RedisStore) -> None:
    clock = ttl_clock(store)
    store.put(("om", "gone"), "a", {"text": "short"}, ttl=1)  # 60 s
    store.put(("om", "mixed"), "b", {"text": "short"}, ttl=1)
    store.put(("om", "mixed"), "c", {"text": "kept"})
    assert store.list_namespaces(prefix=("om",)) == [("om", "gone"), ("om", "mixed")]
    assert len(store.search(("om",), query="short")) == 3
    clock.advance(61)
    assert store.get(("om", "gone"), "a") is None
    assert [i.key for i in store.search(("om",))] == ["c"]
    assert [i.key for i in store.search(("om",), query="short")] == ["c"]
    assert store.list_namespaces(prefix=("om",)) == [("om", "mixed")]
    assert store.list_namespaces(max_depth=1) == [("om",)]
    assert store.sweep_ttl() == 2
    assert store.list_namespaces(prefix=("om",)) == [("om", "mixed")]


def test_without_omit_expired_namespaces_stay_until_swept(
    store: RedisStore,
) -> None:
    clock = ttl_clock(store)
    store.put(("stay",), "a", {"text": "short"}, ttl=1)
    clock.advance(61)
    assert store.get(("stay",), "a") is None
    assert store.search(("stay",)) == []
    assert store.list_namespaces(prefix=("stay",)) == [("stay",)]
    store.sweep_ttl()
    assert store.list_namespaces(prefix=("stay",)) == []


# --------------------------------------------------------------------------- query engine


@pytest.mark.requires_search
@pytest.mark.parametrize(
    ("algorithm", "vector_type"),
    [("hnsw", "vector"), ("hnsw", "halfvec"), ("flat", "halfvec")],
)
def test_query_engine_hnsw_and_halfvec(
    redis_url: str, key_prefix: str, embedder: FakeEmbeddings, algorithm: str, vector_type: str
) -> None:
    store = RedisStore(
        redis_url,
        index=index_config(
            embedder,
            ann_index_config={"algorithm": algorithm, "vector_type": vector_type, "ef_runtime": 64},
        ),
        prefix=key_prefix,
    )
    try:
        store.setup()
        if store.engine != "query":
            pytest.skip("needs a server with a query engine")
        texts = {f"k{i}": f"entry {i}" for i in range(200)}
        store.batch([PutOp(("q",), k, {"text": t}) for k, t in texts.items()])
        mat = np.array([vec(t) for t in texts.values()])
        tol = 2e-3 if vector_type == "halfvec" else 1e-5
        for query in ("entry 17", "something else"):
            q = np.array(vec(query))
            exact = (mat @ q) / (np.linalg.norm(mat, axis=1) * np.linalg.norm(q))
            got = store.search(("q",), query=query, limit=10)
            scores = [i.score for i in got]
            assert all(s is not None for s in scores)
            assert scores == sorted(scores, reverse=True)  # type: ignore[type-var]
            want = {f"k{j}": float(exact[j]) for j in np.argsort(-exact)[:10]}
            assert len(set(want) & {i.key for i in got}) >= 9  # approximate search
            for item in got:
                assert item.score == pytest.approx(float(exact[int(item.key[1:])]), abs=tol)
        top = store.search(("q",), query="entry 17", limit=1)
        assert top[0].key == "k17"
        assert top[0].score == pytest.approx(1.0, abs=tol)
    finally:
        close_store(store, key_prefix)


# --------------------------------------------------------------------------- formats, foreign data


def _item_key(store: RedisStore, ns: tuple[str, ...], key: str) -> str:
    return sk.item_key(store._prefix, sk.ns_text(ns), key)


def test_newer_item_format_is_refused(store: RedisStore) -> None:
    ns = ("fmt",)
    store.batch([PutOp(ns, k, {"text": f"entry {k}"}) for k in ("a", "b")])
    assert len(store.search(ns, query="entry")) == 2  # snapshots cached
    client = cast(Any, store.client)
    client.hset(_item_key(store, ns, "b"), "fmt", "99")
    client.hset(_item_key(store, ns, "b"), "ua", "1")  # a write the caches must read
    client.hincrby(sk.version_key(store._prefix, sk.ns_text(ns)), "v", 1)
    client.zadd(sk.stamps_key(store._prefix, sk.ns_text(ns)), {"b": 10**9})
    with pytest.raises(UnsupportedFormatError, match=r"format '99'.*Upgrade"):
        store.get(ns, "b")
    with pytest.raises(UnsupportedFormatError):
        store.search(ns)
    with pytest.raises(UnsupportedFormatError):
        store.search(ns, query="entry b")
    client.hset(_item_key(store, ns, "b"), "fmt", "1")
    found = store.search(ns, limit=5)  # the half-read snapshot was dropped
    assert sorted(i.key for i in found) == ["a", "b"]


def test_foreign_data_fails_its_get_and_is_skipped_by_search(
    store: RedisStore, caplog: pytest.LogCaptureFixture
) -> None:
    ns = ("foreign", "x")
    keys = ["good", "badjson", "string", "nofmt", "novalue", "notdict"]
    store.batch([PutOp(ns, k, {"text": f"entry {k}"}) for k in keys])
    client = cast(Any, store.client)
    secret = "s3cret-value"
    client.hset(_item_key(store, ns, "badjson"), "value", "{" + secret)
    client.delete(_item_key(store, ns, "string"))
    client.set(_item_key(store, ns, "string"), secret)
    client.hdel(_item_key(store, ns, "nofmt"), "fmt")
    client.hdel(_item_key(store, ns, "novalue"), "value")
    client.hset(_item_key(store, ns, "notdict"), "value", f'["{secret}"]')
    client.zadd(sk.stamps_key(store._prefix, sk.ns_text(ns)), {k: 10**9 for k in keys})
    client.hincrby(sk.version_key(store._prefix, sk.ns_text(ns)), "v", 1)
    if store.engine == "query":  # a hash under the vector prefix that we did not write
        client.hset(f"{store._prefix}:v:alien", "vec", np.ones(DIMS, "f4").tobytes())
    assert (store.get(ns, "good")) is not None
    for bad in keys[1:]:
        with pytest.raises(CorruptDataError, match=rf"store item \('foreign', 'x'\)/'{bad}'"):
            store.get(ns, bad)
    caplog.set_level(logging.WARNING, logger="langgraph_redis")
    assert [i.key for i in store.search(ns)] == ["good"]
    assert [i.key for i in store.search(("foreign",), query="entry", limit=10)] == ["good"]
    assert store.list_namespaces() == [ns]
    skipped = {r.getMessage() for r in caplog.records if "skipped" in r.getMessage()}
    for bad in keys[1:]:
        assert any(f"'{bad}'" in m for m in skipped), (bad, skipped)
    assert secret not in caplog.text  # the key is named, the value never


@pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf")])
def test_nan_and_infinity_are_refused(store: RedisStore, number: float) -> None:
    store.put(("num",), "k", {"x": 1})
    with pytest.raises(ValueError, match="NaN or Infinity"):
        store.put(("num",), "k", {"x": {"deep": [number]}})
    item = store.get(("num",), "k")
    assert item is not None and item.value == {"x": 1}


def test_oversized_value_is_refused_before_sending(
    store: RedisStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writes, "MAX_VALUE_BYTES", 64)  # the real limit is Redis' 512 MB
    with pytest.raises(ValueError, match=r"is 8\d bytes of JSON.*proto-max-bulk-len"):
        store.batch(
            [PutOp(("big",), "ok", {"x": 1}), PutOp(("big",), "k", {"x": "é" * 40})]
        )
    assert store.get(("big",), "ok") is None  # nothing of the batch was written


def test_search_with_and_or_filters(store: RedisStore) -> None:
    ns = ("logic",)
    for i in range(6):
        store.put(ns, f"k{i}", {"text": f"item {i}", "n": i, "tag": "ab"[i % 2]})
    either = store.search(ns, filter={"$or": [{"n": 1}, {"n": {"$gte": 4}}]}, limit=10)
    assert sorted(i.key for i in either) == ["k1", "k4", "k5"]
    both = store.search(
        ns, query="item", filter={"$and": [{"tag": "a"}, {"n": {"$lt": 4}}]}, limit=10
    )
    assert sorted(i.key for i in both) == ["k0", "k2"]
