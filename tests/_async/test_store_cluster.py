"""The store on a real Redis Cluster (3 masters, 3 replicas) per engine.

Every scenario runs twice, on the cluster and on a standalone server of the same engine,
and the results must be equal (same items, same order, same scores). The sync twin
(``tests/_sync/test_store_cluster.py``) is generated from this file; clusters are shared
per engine (``tests/topology.py``).
"""

from __future__ import annotations

import logging
from typing import Any, cast

import pytest
from langgraph.store.base import Item, PutOp, SearchItem
from redis.crc import key_slot

from langgraph_redis import AsyncRedisSaver, AsyncRedisStore
from langgraph_redis._acompat import AsyncIterator, AsyncRedisCluster, ainit_cluster
from langgraph_redis._core.store import keys as sk
from langgraph_redis.demo import HashEmbeddings
from langgraph_redis.demo.chatbot import INDEX, make_workflow
from tests._async.clock import ttl_clock
from tests.roundtrips import RoundTrips
from tests.servers import LocalCluster, require_engine, start_cluster

pytestmark = pytest.mark.cluster

DIMS = 64
WORDS = ["coffee", "tea", "morning", "night", "music", "jazz", "rock", "bob", "alice", "paris"]
# Enough namespaces that their hash tags cover every master, some with hostile labels.
NAMESPACES: list[tuple[str, ...]] = [
    ("users", f"u{i}", kind) for i in range(8) for kind in ("memories", "prefs")
] + [("users", "a-b:c", "memories"), ("users", "{x}|*", "prefs"), ("teams", "t 1")]


def index(**extra: Any) -> Any:
    return {"dims": DIMS, "embed": HashEmbeddings(DIMS), "fields": ["text"], **extra}


@pytest.fixture
async def astore(cluster: LocalCluster, key_prefix: str) -> AsyncIterator[AsyncRedisStore]:
    store = AsyncRedisStore(cluster.url, index=index(), prefix=key_prefix)
    await store.asetup()
    yield store
    await store.aclose()


@pytest.fixture
async def standalone(
    cluster: LocalCluster, _servers: dict[str, str], key_prefix: str
) -> AsyncIterator[AsyncRedisStore]:
    """The same store on a standalone server of the cluster's engine: the reference."""
    store = AsyncRedisStore(_servers[cluster.engine], index=index(), prefix=key_prefix)
    await store.asetup()
    yield store
    await store.aclose()


@pytest.fixture
async def aclient(cluster: LocalCluster) -> AsyncIterator[AsyncRedisCluster]:
    client = AsyncRedisCluster.from_url(cluster.url)
    await ainit_cluster(client)
    yield client
    await client.aclose()


def norm(found: Any) -> Any:
    """Results without timestamps (the two servers write at different times)."""
    if isinstance(found, SearchItem):
        score = None if found.score is None else round(found.score, 6)
        return (found.namespace, found.key, found.value, score)
    if isinstance(found, Item):
        return (found.namespace, found.key, found.value)
    if isinstance(found, list):
        return [norm(f) for f in found]
    return found


def doc(ns: tuple[str, ...], j: int) -> dict[str, Any]:
    words = f"{WORDS[(len(ns[-1]) + j) % len(WORDS)]} {WORDS[(j * 3) % len(WORDS)]}"
    return {"text": f"{ns[-1]} {words}", "n": j, "meta": {"lang": ["en", "fr"][j % 2]}}


async def _scenario(store: AsyncRedisStore) -> list[Any]:
    """Puts, gets, searches, listings and deletes; every read result, normalised."""
    out: list[Any] = []
    await store.abatch([PutOp(ns, f"k{j}", doc(ns, j)) for ns in NAMESPACES for j in range(4)])
    # Individual writes later, so "newest first" has more than one timestamp to order.
    await store.aput(NAMESPACES[3], "late", {"text": "late jazz night", "n": 9})
    await store.aput(NAMESPACES[0], "k1", {"text": "overwritten coffee", "n": 1, "meta": {}})
    await store.aput(("users", "a-b:c", "memories"), "q'\"x y", {"text": "odd key bob", "n": 2})
    for ns, key in [(NAMESPACES[0], "k1"), (NAMESPACES[5], "k3"), (NAMESPACES[5], "nope")]:
        out.append(norm(await store.aget(ns, key)))
    out.append(norm(await store.aget(("users", "a-b:c", "memories"), "q'\"x y")))
    searches: list[tuple[tuple[str, ...], dict[str, Any]]] = [
        (("users",), {"limit": 100}),
        (("users",), {"filter": {"n": {"$gte": 2}}, "limit": 20, "offset": 3}),
        (("users",), {"filter": {"meta": {"lang": "en"}}, "limit": 10}),
        ((), {"filter": {"n": {"$in": [1, 9]}, "text": {"$ne": "x"}}}),
        (("users",), {"query": "coffee morning", "limit": 10}),
        (("users", "u3"), {"query": "jazz", "filter": {"n": {"$lt": 3}}}),
        ((), {"query": "bob paris", "limit": 5, "offset": 2}),
        (("users", "{x}|*"), {"query": "tea"}),
        (("teams",), {"query": "night", "limit": 3}),
    ]
    for prefix, kwargs in searches:
        out.append(norm(await store.asearch(prefix, **kwargs)))
    listings: list[dict[str, Any]] = [
        {},
        {"prefix": ("users",), "max_depth": 2},
        {"suffix": ("memories",), "limit": 5, "offset": 2},
        {"prefix": ("users", "*", "prefs")},
        {"prefix": ("users",), "suffix": ("prefs",), "max_depth": 3, "limit": 4},
        {"max_depth": 1},
    ]
    for kwargs in listings:
        out.append(await store.alist_namespaces(**kwargs))
    await store.adelete(NAMESPACES[1], "k0")
    for j in range(4):  # empties the namespace: it leaves the index too
        await store.adelete(NAMESPACES[2], f"k{j}")
    out.append(norm(await store.asearch(("users",), limit=200)))
    out.append(await store.alist_namespaces(prefix=("users",)))
    out.append(norm(await store.asearch(("users",), query="tea music", limit=7)))
    return out


async def test_results_equal_standalone(
    astore: AsyncRedisStore,
    standalone: AsyncRedisStore,
    aclient: AsyncRedisCluster,
    cluster: LocalCluster,
) -> None:
    # Redis 8 answers vector-set commands: server-side search on the cluster too.
    expected = "vset" if cluster.engine == "redis8" else "plain"
    assert astore.engine == expected and isinstance(astore.client, AsyncRedisCluster)
    assert standalone.engine == expected
    ours = await _scenario(astore)
    reference = await _scenario(standalone)
    assert ours == reference
    assert len(ours[4]) > 60 and all(r[3] is not None for r in ours[8])  # non-trivial pages
    # One hash tag per namespace: an item and its namespace's bookkeeping share a slot,
    # and the namespaces are spread over every master.
    prefix = astore._prefix
    nodes = set()
    for ns in NAMESPACES:
        nst = sk.ns_text(ns)
        slots = {
            key_slot(k.encode())
            for k in (
                sk.item_key(prefix, nst, "k1"),
                sk.vec_key_base(prefix, nst, "k1") + "0",
                sk.keys_key(prefix, nst),
                sk.stamps_key(prefix, nst),
                sk.version_key(prefix, nst),
                sk.tombstones_key(prefix, nst),
            )
        }
        assert len(slots) == 1
        node: Any = cast(Any, aclient).get_node_from_key(sk.keys_key(prefix, nst))
        nodes.add(node.name)
    assert len(nodes) == 3


async def test_round_trips_on_cluster(astore: AsyncRedisStore, roundtrips: RoundTrips) -> None:
    """Cross-namespace work is one pipeline, sent to every master at once."""
    puts = [PutOp(ns, f"k{j}", doc(ns, j)) for ns in NAMESPACES for j in range(3)]
    await astore.abatch(puts)
    await astore.asearch(("users",), query="warm up")  # snapshots loaded, scripts cached
    with roundtrips as count:
        await astore.abatch(puts)
    # The namespace index (one slot) first, then the item scripts on the three masters.
    assert count.value <= 4
    with roundtrips as count:
        found = await astore.asearch(("users",), query="coffee", limit=5)
    assert len(found) == 5
    # The index read and one delta script per namespace: one packet per master (vset:
    # the index read, then one search script per namespace, one packet per master).
    assert count.value <= (4 if astore.engine == "vset" else 3)
    with roundtrips as count:
        await astore.aget(NAMESPACES[4], "k1")
    assert count.value == 1
    with roundtrips as count:
        assert len(await astore.alist_namespaces(prefix=("users",))) == 18
    assert count.value == 1


async def test_ttl_on_cluster(astore: AsyncRedisStore, aclient: AsyncRedisCluster) -> None:
    short = 1  # minute; the test moves TTL time itself (tests/_async/clock.py)
    clock = ttl_clock(astore, aclient)
    ns_gone, ns_kept = ("ttl", "gone"), ("ttl", "kept")
    await astore.abatch(
        [PutOp(ns_gone, f"k{i}", {"text": f"brief {i}"}, ttl=short) for i in range(5)]
        + [PutOp(ns_kept, "t", {"text": "brief too"}, ttl=short), PutOp(ns_kept, "p", {"x": 1})]
    )
    assert len(await astore.asearch(("ttl",), query="brief")) == 7
    await clock.advance(61)
    assert await astore.aget(ns_gone, "k0") is None
    assert [i.key for i in await astore.asearch(("ttl",), query="brief")] == ["p"]
    assert await astore.asweep_ttl() == 6
    assert await astore.alist_namespaces(prefix=("ttl",)) == [ns_kept]
    assert await aclient.exists(sk.keys_key(astore._prefix, sk.ns_text(ns_gone))) == 0
    # Reading renews a TTL: the refresh script runs on the item's own node.
    await astore.aput(ns_kept, "r", {"text": "renewed"}, ttl=short)
    for _ in range(3):
        await clock.advance(40)  # 120 s in all, past the TTL unless each read renews it
        assert await astore.aget(ns_kept, "r") is not None
    await clock.advance(61)
    assert await astore.aget(ns_kept, "r") is None


async def test_guide_chatbot_on_cluster(cluster: LocalCluster, key_prefix: str) -> None:
    """LangGraph's cross-thread-persistence guide, store and checkpointer on the cluster."""
    async with AsyncRedisStore.from_conn_string(cluster.url, index=INDEX, prefix=key_prefix) as s:
        await s.asetup()
        store = s
    # The saver stays inside its block here (see test_guide_demo_code_on_cluster).
    async with AsyncRedisSaver.from_conn_string(cluster.url, prefix=key_prefix) as checkpointer:
        await checkpointer.asetup()
        workflow = make_workflow(checkpointer, store)
        answers = []
        for thread, user, text in [
            ("1", "1", "Hi! Remember: my name is Bob"),
            ("2", "1", "what is my name?"),
            ("3", "2", "what is my name?"),
        ]:
            cfg: Any = {"configurable": {"thread_id": key_prefix + thread, "user_id": user}}
            reply = await workflow.ainvoke([{"role": "user", "content": text}], cfg)
            answers.append(str(reply.content))
    assert "remember" in answers[0].lower()
    assert answers[1] == "Your name is Bob."
    assert "don't know your name" in answers[2]
    memories = await store.asearch(("memories", "1"), query="what is my name?")
    assert [m.value for m in memories] == [{"data": "User name is Bob"}]
    await store.aclose()


_stack: list[LocalCluster] = []


def stack_cluster() -> LocalCluster:
    """A 3-master Redis Stack cluster (modules loaded, no coordinator), once per module."""
    require_engine("stack")
    if not _stack:
        _stack.append(start_cluster("stack", masters=3, replicas_per_master=0))
    return _stack[0]


@pytest.fixture(scope="module")
def stack_url() -> Any:
    yield stack_cluster().url
    _stack.pop().stop()


@pytest.mark.parametrize("choice", ["auto", "query"])
async def test_query_engine_never_used_on_a_cluster(
    stack_url: str, key_prefix: str, choice: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """FT.SEARCH on an OSS cluster sees one shard only, so the plain engine is forced."""
    caplog.set_level(logging.INFO, logger="langgraph_redis")
    store = AsyncRedisStore(stack_url, index=index(), prefix=key_prefix, engine=choice)
    try:
        await store.asetup()
        assert store.engine == "plain"
        assert "query engine available" in caplog.text  # the probe saw FT.*
        expected = "ignored" if choice == "query" else "no coordinator"
        record = next(r for r in caplog.records if "store engine" in r.getMessage())
        assert expected in record.getMessage()
        assert record.levelno == (logging.WARNING if choice == "query" else logging.INFO)
        await store.abatch([PutOp(ns, "k", doc(ns, 1)) for ns in NAMESPACES])
        found = await store.asearch((), query="coffee", limit=100)
        assert len(found) == len(NAMESPACES)  # every shard's items, not one shard's
    finally:
        await store.aclose()
