"""The vector-set engine at its edges, on Redis 8 (standalone and the 3+3 cluster).

The store suite (``test_store.py``, ``test_store_properties.py``, ``test_store_cluster.py``)
already runs on ``redis8`` with this engine against ``InMemoryStore``. Here: the vector
sets stay in step with the items through every write (put, overwrite with fewer
vectors, delete, TTL expiry and sweep, writes by a plain-engine store on the same data),
``setup()`` backfills data written by another engine (in bounded steps, idempotently),
the ``VSIM ... FILTER`` push-down never loses a match, and stores whose vectors vector
sets cannot hold fall back to the plain engine.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import numpy as np
import pytest
from langgraph.store.base import PutOp

from langgraph_redis._acompat import AsyncRedis, AsyncRedisCluster
from langgraph_redis._async.store import AsyncRedisStore
from langgraph_redis._core.store import keys as sk
from langgraph_redis._core.store.engines import vset
from langgraph_redis._core.store.filters import compile_filter
from tests._async.clock import ttl_clock
from tests._async.test_store import FakeEmbeddings, index_config
from tests.topology import CLUSTER_ENGINES, shared_cluster

TOPOLOGIES = ["standalone"] + (["cluster"] if "redis8" in CLUSTER_ENGINES else [])


@pytest.fixture
def embedder() -> FakeEmbeddings:
    return FakeEmbeddings()


@pytest.fixture(params=TOPOLOGIES)
def topology(request: pytest.FixtureRequest, engine: str) -> str:
    if engine != "redis8":
        pytest.skip("vector sets need Redis 8")
    return str(request.param)


@pytest.fixture
def url(topology: str, _servers: dict[str, str]) -> str:
    """A Redis 8 server or the Redis 8 cluster (other engines have no vector sets)."""
    if topology == "cluster":
        return shared_cluster("redis8").url
    return _servers["redis8"]


@pytest.fixture
async def admin(topology: str, url: str) -> AsyncIterator[Any]:
    client: Any
    if topology == "cluster":
        client = AsyncRedisCluster.from_url(url)
        await client.initialize()  # sync: skip
    else:
        client = AsyncRedis.from_url(url)
    yield client
    await client.aclose()


Opener = Callable[..., AsyncRedisStore]


@pytest.fixture
async def open_store(url: str, key_prefix: str, embedder: FakeEmbeddings) -> AsyncIterator[Opener]:
    """``open_store(**options)``: a store on the test's server and prefix (the test index
    unless ``index`` is given); every store it made is closed when the test ends."""
    made: list[AsyncRedisStore] = []

    def make(**options: Any) -> AsyncRedisStore:
        options.setdefault("prefix", key_prefix)
        index = options.pop("index", None) or index_config(embedder)
        made.append(AsyncRedisStore(url, index=index, **options))
        return made[-1]

    yield make
    for store in made:
        await store.aclose()


async def members(admin: Any, prefix: str, ns: tuple[str, ...]) -> list[str]:
    """The elements of a namespace's vector set (none when it does not exist)."""
    key = sk.vset_key(prefix, sk.ns_text(ns))
    if not await admin.exists(key):
        return []
    card = int(await admin.execute_command("VCARD", key))
    if card == 0:
        return []
    some = await admin.execute_command("VRANDMEMBER", key, card)
    return sorted(m.decode() if isinstance(m, bytes) else str(m) for m in some)


async def test_sets_follow_every_write(admin: Any, key_prefix: str, open_store: Opener) -> None:
    store = open_store()
    await store.asetup()
    assert store.engine == "vset"
    ns = ("mem", "u:1")  # a label that needs escaping
    multi = ["tags[*]"]
    await store.aput(ns, "a.b", {"text": "one", "tags": ["x", "y", "z"]}, index=multi)
    await store.aput(ns, "c", {"text": "two"})
    assert await members(admin, key_prefix, ns) == ["a%2Eb:0", "a%2Eb:1", "a%2Eb:2", "c:0"]
    # An overwrite with fewer vectors drops the extra elements in the same script.
    await store.aput(ns, "a.b", {"text": "one", "tags": ["x"]}, index=multi)
    assert await members(admin, key_prefix, ns) == ["a%2Eb:0", "c:0"]
    # A value without vectors leaves no element behind.
    await store.aput(ns, "a.b", {"text": "one"}, index=False)
    assert await members(admin, key_prefix, ns) == ["c:0"]
    assert [i.key for i in await store.asearch(ns, query="one")] == ["c", "a.b"]
    await store.adelete(ns, "c")
    assert await members(admin, key_prefix, ns) == []
    await store.adelete(ns, "a.b")  # the namespace empties: its set goes too
    assert not await admin.exists(sk.vset_key(key_prefix, sk.ns_text(ns)))


async def test_expired_items_never_found_and_swept_from_the_set(
    admin: Any, key_prefix: str, open_store: Opener
) -> None:
    store = open_store()
    await store.asetup()
    clock = ttl_clock(store, admin)
    ns = ("ttl",)
    await store.aput(ns, "brief", {"text": "gone soon"}, ttl=1)
    await store.aput(ns, "kept", {"text": "stays"})
    await clock.advance(61)
    found = await store.asearch(ns, query="gone soon", limit=5)
    assert [i.key for i in found] == ["kept"]  # the stale element is passed over
    assert await members(admin, key_prefix, ns) == ["brief:0", "kept:0"]
    assert await store.asweep_ttl() == 1
    assert await members(admin, key_prefix, ns) == ["kept:0"]


async def test_plain_writer_keeps_an_existing_set_in_step(
    admin: Any, key_prefix: str, open_store: Opener
) -> None:
    """Another process on the plain engine (same prefix) updates the sets it finds."""
    ours = open_store()
    plain = open_store(engine="plain")
    ns = ("mixed",)
    await ours.aput(ns, "a", {"text": "alpha"})
    await plain.aput(ns, "b", {"text": "beta"})
    await plain.adelete(ns, "a")
    assert await members(admin, key_prefix, ns) == ["b:0"]
    found = await ours.asearch(ns, query="beta")
    assert [(i.key, round(i.score or 0, 5)) for i in found] == [("b", 1.0)]


async def test_setup_backfills_in_bounded_steps(
    admin: Any, key_prefix: str, monkeypatch: pytest.MonkeyPatch, open_store: Opener
) -> None:
    """Data written by the plain engine gets its vector sets at the vector-set engine's
    setup; a second setup finds nothing to do; results equal the plain engine's."""
    plain = open_store(engine="plain")
    namespaces = [("bf", f"u{i}") for i in range(5)]
    await plain.abatch(
        [
            PutOp(ns, f"k{j}", {"text": f"memory {j} of {ns[1]}", "j": j})
            for ns in namespaces
            for j in range(40)
        ]
        + [PutOp(("bf", "novec"), "n", {"x": 1}, index=False)]
    )
    assert await members(admin, key_prefix, namespaces[0]) == []  # plain writes no set
    monkeypatch.setattr(vset, "BACKFILL_CHUNK", 7)  # several ZSCAN steps per namespace
    ours = open_store()
    await ours.asetup()
    assert ours.engine == "vset"
    for ns in namespaces:
        assert len(await members(admin, key_prefix, ns)) == 40
        mark = await admin.hget(sk.version_key(key_prefix, sk.ns_text(ns)), "vs")
        assert mark == b"1"
    # Idempotent: every namespace is marked complete (the one without vectors too).
    assert ours._vcfg is not None
    assert await ours._conn.run(vset.plan_backfill(key_prefix, ours._vcfg)) == 0
    for query, flt in (
        ("memory 3 of u2", None),
        ("memory 7", {"j": 7}),
        ("x", {"j": {"$gt": 30}}),
    ):
        got = await ours.asearch(("bf",), query=query, filter=flt, limit=12)
        want = await plain.asearch(("bf",), query=query, filter=flt, limit=12)
        assert [(i.namespace, i.key) for i in got] == [(i.namespace, i.key) for i in want]
        for g, w in zip(got, want, strict=True):
            assert g.score == pytest.approx(w.score, abs=1e-5)


def test_filter_push_down_only_where_exact() -> None:
    expr = vset.filter_expression
    assert expr(compile_filter({"kind": "note", "n": 42})) == '.kind == "note" and .n == 42'
    assert expr(compile_filter({"kind": {"$eq": "a/b"}})) == '.kind == "a/b"'
    # Left to the client: what the attributes cannot compare exactly.
    for spec in (
        {"n": 1},  # True == 1 in Python; booleans are no attribute
        {"n": True},
        {"n": 0.5},
        {"n": 10**15},
        {"s": 'q"uote'},
        {"s": "back\\slash"},
        {"s": "new\nline"},
        {"s": "x" * 200},
        {"a.b": "dotted"},
        {"a-b": "not an identifier"},
        {"n": {"$gt": 3}},
        {"$or": [{"a": "x"}, {"a": "y"}]},
        {"nested": {"k": "v"}},
    ):
        assert expr(compile_filter(spec)) is None, spec


async def test_filtered_search_matches_plain_engine(open_store: Opener) -> None:
    """Values the push-down must not lose: booleans equal to 1, floats equal to ints,
    strings with slashes and non-ASCII, long strings, nested values."""
    ours = open_store()
    plain = open_store(engine="plain")
    values: list[Any] = [1, True, 1.0, 42, 42.0, "a/b", "ünï", "x" * 200, None, {"k": "a/b"}]
    ns = ("flt",)
    await ours.abatch(
        [
            PutOp(ns, f"k{i}_{j}", {"text": f"t{i} {j}", "v": v, "w": j % 3})
            for i, v in enumerate(values)
            for j in range(4)
        ]
    )
    filters: list[Any] = [{"v": v} for v in values if v is not None] + [
        {"v": 42, "w": 2},
        {"v": "a/b", "w": {"$ne": 1}},
        {"w": 2},
    ]
    for flt in filters:
        got = await ours.asearch(ns, query="t3 1", filter=flt, limit=6)
        want = await plain.asearch(ns, query="t3 1", filter=flt, limit=6)
        assert [i.key for i in got] == [i.key for i in want], flt
        assert got, flt


async def test_exact_settings_equal_plain_engine_at_scale(open_store: Opener) -> None:
    """FLAT (VSIM TRUTH): the plain engine's items, order and scores on clustered data,
    across several namespaces (merged by score) with offsets; HNSW: close to it."""
    rng = np.random.default_rng(7)
    centres = rng.standard_normal((8, 16))
    table: dict[str, list[float]] = {}

    class Table(FakeEmbeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return [table[t] for t in texts]

        def embed_query(self, text: str) -> list[float]:
            return table[text]

    for i in range(1500):
        table[f"d{i}"] = (centres[i % 8] + 0.3 * rng.standard_normal(16)).tolist()
    for q in range(10):
        table[f"q{q}"] = (centres[q % 8] + 0.3 * rng.standard_normal(16)).tolist()
    emb = Table()
    ours = open_store(index=index_config(emb))
    plain = open_store(engine="plain", index=index_config(emb))
    await ours.abatch([PutOp(("sc", f"n{i % 6}"), f"k{i}", {"text": f"d{i}"}) for i in range(1500)])
    for q in range(10):
        for offset in (0, 7):
            got = await ours.asearch(("sc",), query=f"q{q}", limit=10, offset=offset)
            want = await plain.asearch(("sc",), query=f"q{q}", limit=10, offset=offset)
            assert [i.key for i in got] == [i.key for i in want]
            for g, w in zip(got, want, strict=True):
                assert g.score == pytest.approx(w.score, abs=1e-5)


@pytest.mark.parametrize(
    ("extra", "why"),
    [
        ({"distance_type": "l2"}, "cosine only"),
        ({"ann_index_config": {"vector_type": "halfvec"}}, "float32"),
    ],
)
async def test_unsuited_vectors_use_the_plain_engine(
    key_prefix: str,
    embedder: FakeEmbeddings,
    extra: Any,
    why: str,
    caplog: pytest.LogCaptureFixture,
    open_store: Opener,
) -> None:
    store = open_store(index=index_config(embedder, **extra))
    forced = open_store(
        prefix=key_prefix + "f", index=index_config(embedder, **extra), engine="vset"
    )
    await store.asetup()
    assert store.engine == "plain"
    with pytest.raises(RuntimeError, match=why):
        await forced.asetup()


async def test_engine_logged_once_with_reason(
    caplog: pytest.LogCaptureFixture, open_store: Opener
) -> None:
    caplog.set_level(logging.INFO, logger="langgraph_redis")
    store = open_store()
    await store.asetup()
    await store.asetup()
    lines = [r.getMessage() for r in caplog.records if "store engine" in r.getMessage()]
    assert len(lines) == 1 and lines[0].startswith("store engine: vset")


async def test_quantized_sets_report_recall(
    admin: Any, key_prefix: str, embedder: FakeEmbeddings, open_store: Opener
) -> None:
    """Q8 and HNSW settings reach the server (recall is measured by the benchmarks)."""
    index = index_config(
        embedder, ann_index_config={"algorithm": "hnsw", "quantization": "q8", "ef_runtime": 50}
    )
    store = open_store(index=index)
    await store.aput(("q",), "a", {"text": "alpha"})
    info = await admin.execute_command("VINFO", sk.vset_key(key_prefix, "q"))
    if not isinstance(info, dict):
        info = dict(zip(info[::2], info[1::2], strict=False))
    fields = {(k.decode() if isinstance(k, bytes) else k): v for k, v in info.items()}
    assert fields["quant-type"] in (b"int8", "int8")
    found = await store.asearch(("q",), query="alpha")
    assert found[0].key == "a" and found[0].score == pytest.approx(1.0, abs=1e-2)
