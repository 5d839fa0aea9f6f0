"""Migration from the real langgraph-checkpoint-redis (pinned in the ``test`` extra).

Graphs run with the old saver and store on Redis Stack (interrupts and resume, a
subgraph, ``Send``, several threads, messages; store items with and without vectors and
with a TTL). After ``migrate`` the same graphs over our saver return identical
``get_state_history`` (every snapshot: values, next, config, metadata, parent config,
tasks, interrupts), identical subgraph state, identical raw ``list`` tuples, and every
store ``get``/``search`` equals the old store's. A re-run copies nothing; a run stopped
midway (its progress callback raises) and then resumed ends identical.
"""

from __future__ import annotations

import hashlib
import importlib
import operator
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, TypedDict, cast

import pytest
import redis
from langchain_core.load import dumpd
from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, HumanMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.store.base import BaseStore, IndexConfig
from langgraph.types import Command, Send, interrupt

from langgraph_redis import MigrationReport, RedisSaver, RedisStore, migrate
from langgraph_redis._core.migrate import item_key
from tests.servers import unavailable
from tests.topology import shared_cluster

old_cp = pytest.importorskip("langgraph.checkpoint.redis")
old_st = pytest.importorskip("langgraph.store.redis")
OLD_VERSION = importlib.import_module("langgraph.checkpoint.redis.version").__version__
# test_from_0_4 writes with 0.4.1, installed into .cache/ by scripts/setup.sh (pure
# Python; its dependencies are 0.5.2's)
ROOT = Path(__file__).resolve().parents[1]
OLD_04 = ROOT / ".cache" / "lcr-0.4.1"

DIMS = 4


def fake_embed(texts: list[str]) -> list[list[float]]:
    """Deterministic embeddings, the same for the old store and ours."""
    out = []
    for t in texts:
        h = hashlib.sha256(t.encode()).digest()
        out.append([(b - 128) / 128 for b in h[:DIMS]])
    return out


INDEX: Any = {"dims": DIMS, "embed": fake_embed, "fields": ["text"]}


class State(TypedDict):
    items: Annotated[list[str], operator.add]
    messages: Annotated[list[AnyMessage], add_messages]
    answer: str


class WorkerState(TypedDict):
    item: str


def build(checkpointer: Any) -> Any:
    def ask(state: State) -> dict[str, Any]:
        answer = interrupt({"question": "ok?", "n": len(state["items"])})
        return {"answer": answer, "messages": [AIMessage(content=f"got {answer}")]}

    sub = StateGraph(State).add_node("ask", ask).add_edge(START, "ask").compile()

    def plan(state: State) -> dict[str, Any]:
        return {"messages": [HumanMessage(content="plan")]}

    def fan_out(state: State) -> list[Send]:
        return [Send("worker", {"item": f"w{i}"}) for i in range(3)]

    def worker(state: WorkerState) -> dict[str, Any]:
        return {"items": [state["item"].upper()]}

    g = StateGraph(State)
    g.add_node("plan", plan)
    g.add_node("worker", worker)
    g.add_node("sub", sub)
    g.add_edge(START, "plan")
    g.add_conditional_edges("plan", fan_out, ["worker"])
    g.add_edge("worker", "sub")
    g.add_edge("sub", END)
    return g.compile(checkpointer=checkpointer)


def cfg(thread: str) -> Any:
    return {"configurable": {"thread_id": thread}}


THREADS = ["t-done", "t-waiting", "t-twice", "t:odd{id}"]


def run_old_graphs(url: str, prefix: str) -> Any:
    old = old_cp.RedisSaver(
        redis_url=url,
        checkpoint_prefix=f"{prefix}cp",
        checkpoint_write_prefix=f"{prefix}cw",
    )
    old.setup()
    graph = build(old)
    start = {"items": ["a"], "messages": [HumanMessage(content="hi")]}
    graph.invoke(start, cfg("t-done"))
    graph.invoke(Command(resume="yes"), cfg("t-done"))
    graph.invoke(start, cfg("t-waiting"))  # left at the interrupt
    for _ in range(2):
        graph.invoke(start, cfg("t-twice"))
        graph.invoke(Command(resume="again"), cfg("t-twice"))
    graph.invoke({"items": ["z"], "messages": []}, cfg("t:odd{id}"))
    return old


ITEMS: list[tuple[tuple[str, ...], str, dict[str, Any], Any, float | None]] = [
    # namespace, key, value, index, ttl (minutes)
    (("users", "u1"), "pref", {"text": "likes green tea", "n": 1}, None, None),
    (("users", "u1"), "food", {"text": "allergic to nuts", "n": 2}, None, None),
    (("users", "u2"), "pref", {"text": "prefers coffee", "n": 3}, None, 60.0),
    (("users", "u2"), "plain", {"n": 4, "nested": {"a": [1, 2]}}, False, None),
    (("docs",), "d1", {"text": "redis streams", "tags": ["x"]}, None, None),
]


def put_old_items(url: str, prefix: str) -> Any:
    store = old_st.RedisStore.from_conn_string(
        url, index=INDEX, store_prefix=f"{prefix}st", vector_prefix=f"{prefix}sv"
    )
    s = store.__enter__()
    s.setup()
    for ns, key, value, index, ttl in ITEMS:
        s.put(ns, key, value, index=index, ttl=ttl)
    s.put(("users", "u1"), "pref", {"text": "likes green tea a lot", "n": 5})  # an update
    s.put(("msgs",), "m1", {"m": HumanMessage(content="not JSON")})  # skipped: not JSON
    return store, s


def lc(x: Any) -> Any:
    """Messages in their serialized (``lc`` constructor) form, recursively."""
    if isinstance(x, BaseMessage):
        return dumpd(x)
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return type(x)(*(lc(v) for v in x))
    if isinstance(x, (list, tuple)):
        return type(x)(lc(v) for v in x)
    if isinstance(x, dict):
        return {k: lc(v) for k, v in x.items()}
    return x


def before_latest(graph: Any, thread: str, ns: str) -> Any:
    c = {"configurable": {"thread_id": thread, "checkpoint_ns": ns}}
    return next(iter(graph.get_state_history(c)))


def same_but_tasks(a: Any, b: Any) -> None:
    """Equal snapshots, except that our tasks may carry results and interrupts the old
    get_state lacks (writes its get_tuple missed; compared with its list() elsewhere)."""
    for f in a._fields:
        if f not in ("tasks", "interrupts"):
            assert getattr(b, f) == getattr(a, f), f
    assert [x[:3] for x in b.tasks] == [x[:3] for x in a.tasks]
    for x, y in zip(a.tasks, b.tasks, strict=True):
        assert x.result is None or y.result == x.result
        assert not x.interrupts or y.interrupts == x.interrupts
    assert all(i in b.interrupts for i in a.interrupts)


def assert_same_threads(old: Any, url_to: str, prefix: str) -> None:
    ours = RedisSaver(url_to, prefix=prefix)
    try:
        old_graph, new_graph = build(old), build(ours)
        for t in THREADS:
            # Every namespace's history (the root's and each subgraph's), snapshot by
            # snapshot, against the old package's get_state (get_tuple) of the same
            # checkpoint. Its get_state_history is no reference: its list() returns
            # messages and Send packets in channel values as serialized dicts (LangGraph
            # then drops the sends: wrong `next`), and ignores an empty checkpoint_ns.
            # But its get_tuple misses the pending writes of some checkpoints that its
            # list() returns (e.g. a task's Send packets): the migration copies them
            # (every stored write), so there our task shows the result the old one lacks.
            listed = {x.config["configurable"]["checkpoint_id"]: x for x in old.list(cfg(t))}
            namespaces = sorted(
                {x.config["configurable"]["checkpoint_ns"] for x in ours.list(cfg(t))}
            )
            assert len(namespaces) > 1, "a subgraph namespace was copied"
            for ns in namespaces:
                c = {"configurable": {"thread_id": t, "checkpoint_ns": ns}}
                before = [
                    old_graph.get_state(s.config)
                    for s in old_graph.get_state_history(c)
                    if s.config["configurable"]["checkpoint_ns"] == ns
                ]
                after = list(new_graph.get_state_history(c))
                assert len(before) == len(after) > 0, (t, ns)
                for a, b in zip(before, after, strict=True):
                    cid = a.config["configurable"]["checkpoint_id"]
                    got = old.get_tuple(a.config).pending_writes or []
                    if len(got) == len(listed[cid].pending_writes or []):
                        assert b == a, (t, ns)
                        continue
                    same_but_tasks(a, b)
            messages = new_graph.get_state(cfg(t)).values["messages"]
            assert messages and all(isinstance(m, BaseMessage) for m in messages), messages
            # the latest state, subgraphs included
            # (by id: on data written by 0.4, 0.5.2's get_tuple without an id returns an
            # empty state; which checkpoint is the latest is checked by the histories)
            latest = new_graph.get_state(cfg(t), subgraphs=True)
            same_but_tasks(old_graph.get_state(latest.config, subgraphs=True), latest)
            for task in latest.tasks:
                if task.state is not None:  # the subgraph's state
                    c = task.state.config
                    same_but_tasks(old_graph.get_state(c), new_graph.get_state(c))
            # and the raw tuples (writes: as list returns them, see above)
            listed = {x.config["configurable"]["checkpoint_id"]: x for x in old.list(cfg(t))}
            for tup in ours.list(cfg(t)):
                a_tup, b_tup = old.get_tuple(tup.config), ours.get_tuple(tup.config)
                assert b_tup is not None
                assert b_tup.checkpoint == a_tup.checkpoint
                assert b_tup.metadata == a_tup.metadata
                assert b_tup.parent_config == a_tup.parent_config
                a_writes = listed[tup.config["configurable"]["checkpoint_id"]].pending_writes
                assert sorted(map(repr, b_tup.pending_writes or [])) == sorted(
                    map(repr, a_writes or [])
                )
    finally:
        ours.close()


def assert_same_store(old: BaseStore, url_to: str, prefix: str) -> None:
    ours = RedisStore(url_to, prefix=prefix, index=INDEX)
    try:
        # The old store's get() misses items of multi-label namespaces (its query does not
        # match them on Redis Stack 7.4), so its search() is the reference for gets too.
        old_all = {(tuple(i.namespace), i.key): i for i in old.search((), limit=1000)}
        assert len(old_all) == len(ITEMS) + 1  # + the message item, not copied
        for ns, key, _, _, _ in ITEMS:
            a, b = old_all[(ns, key)], ours.get(ns, key)
            assert b is not None, (ns, key)
            assert (tuple(b.namespace), b.key, b.value) == (tuple(a.namespace), a.key, a.value)
            assert (b.created_at, b.updated_at) == (a.created_at, a.updated_at)
            direct = old.get(ns, key)
            assert direct is None or direct == b
        assert ours.get(("msgs",), "m1") is None

        def items(found: list[Any]) -> Any:
            return sorted(
                (tuple(i.namespace), i.key, repr(i.value), i.created_at, i.updated_at)
                for i in found
                if tuple(i.namespace) != ("msgs",)  # not JSON: skipped, and reported
            )

        for ns_prefix in [(), ("users",), ("users", "u2"), ("docs",)]:
            assert items(ours.search(ns_prefix, limit=100)) == items(
                old.search(ns_prefix, limit=100)
            )
        for query in ["green tea", "nuts", "coffee", "streams"]:
            a_found = old.search(("users",), query=query, limit=10)
            b_found = [i for i in ours.search(("users",), query=query, limit=10) if i.score]
            assert [(i.key, i.namespace) for i in b_found] == [
                (i.key, i.namespace) for i in a_found
            ]
            for x, y in zip(a_found, b_found, strict=True):
                assert y.score == pytest.approx(x.score, abs=1e-5)
    finally:
        ours.close()


@pytest.fixture
def stack_url(_servers: dict[str, str]) -> str:
    return _servers["stack"]


@pytest.fixture(
    params=["same-server", "valkey", pytest.param("valkey-cluster", marks=pytest.mark.cluster)]
)
def target_url(request: pytest.FixtureRequest, _servers: dict[str, str], stack_url: str) -> str:
    if request.param == "valkey-cluster":
        return shared_cluster("valkey").url
    return stack_url if request.param == "same-server" else _servers["valkey"]


def raw(url: str) -> Any:
    """A plain client for checks, a cluster client on a cluster."""
    client = redis.Redis.from_url(url)
    if client.info("cluster").get("cluster_enabled"):
        client.close()
        return redis.RedisCluster.from_url(url)
    return client


@pytest.fixture
def old_data(stack_url: str, key_prefix: str) -> Iterator[tuple[Any, Any]]:
    saver = run_old_graphs(stack_url, key_prefix)
    ctx, store = put_old_items(stack_url, key_prefix)
    try:
        yield saver, store
    finally:
        ctx.__exit__(None, None, None)
        saver._redis.close()


def _migrate(src: str, dst: str, prefix: str, **kw: Any) -> MigrationReport:
    return migrate(
        src,
        dst,
        target_prefix=f"{prefix}new",
        source_checkpoint_prefix=f"{prefix}cp",
        source_writes_prefix=f"{prefix}cw",
        source_store_prefix=f"{prefix}st",
        source_vector_prefix=f"{prefix}sv",
        index=INDEX,
        **kw,
    )


def test_migrate_identical_and_idempotent(
    old_data: Any, stack_url: str, target_url: str, key_prefix: str
) -> None:
    old_saver, old_store = old_data
    dry = _migrate(stack_url, target_url, key_prefix, dry_run=True)
    assert dry.checkpoints_copied > 0 and dry.items_copied == len(ITEMS)
    assert not list(raw(target_url).scan_iter(match=f"{key_prefix}new*")), "dry run wrote"

    report = _migrate(stack_url, target_url, key_prefix)
    assert report.threads == len(THREADS) == report.threads_copied
    assert report.checkpoints_copied == dry.checkpoints_copied == report.checkpoints
    assert report.writes_copied == dry.writes_copied > 0
    assert report.items_copied == len(ITEMS)
    assert report.vectors_copied == 4  # every item but the one put with index=False
    assert [(s.kind, s.what) for s in report.skipped] == [("item", "('msgs',)/'m1'")]
    assert_same_threads(old_saver, target_url, f"{key_prefix}new")
    assert_same_store(old_store, target_url, f"{key_prefix}new")
    # the TTL item expires when it would have in the old store
    ours = raw(target_url)

    pttl = ours.pttl(item_key(f"{key_prefix}new", ("users", "u2"), "pref"))
    assert 0 < pttl <= 60 * 60_000
    assert ours.pttl(item_key(f"{key_prefix}new", ("users", "u1"), "pref")) == -1

    again = _migrate(stack_url, target_url, key_prefix)
    assert (again.checkpoints_copied, again.writes_copied, again.items_copied) == (0, 0, 0)
    assert again.checkpoints_present == report.checkpoints
    assert again.items_present == len(ITEMS)


class Stop(Exception):
    pass


def test_interrupted_migration_resumes(
    old_data: Any, stack_url: str, target_url: str, key_prefix: str
) -> None:
    old_saver, old_store = old_data

    def stop_at(kind_to_stop: str) -> Any:
        def progress(kind: str, done: int, total: int) -> None:
            if kind == kind_to_stop:
                raise Stop

        return progress

    with pytest.raises(Stop):  # after the first thread (the one in flight finishes)
        _migrate(stack_url, target_url, key_prefix, progress=stop_at("checkpoints"), workers=1)
    partial = _migrate(stack_url, target_url, key_prefix, dry_run=True)
    assert 0 < partial.checkpoints_present < partial.checkpoints
    assert partial.checkpoints_copied == partial.checkpoints - partial.checkpoints_present
    with pytest.raises(Stop):  # threads finish; stops after the first 2 items
        _migrate(stack_url, target_url, key_prefix, progress=stop_at("items"), batch_size=2)
    # and a run killed between a checkpoint and its writes: drop one writes hash
    target = raw(target_url)
    writes_keys = sorted(target.scan_iter(match=f"{key_prefix}new:*:w:*"))
    assert writes_keys
    target.delete(writes_keys[0])
    resumed = _migrate(stack_url, target_url, key_prefix)
    assert resumed.checkpoints_present == resumed.checkpoints
    assert resumed.checkpoints_copied == 0 and resumed.writes_copied > 0
    # the first batch (one may be the skipped one) but for d1
    assert resumed.items_present + resumed.items_copied == len(ITEMS)
    assert 0 < resumed.items_copied < len(ITEMS)
    assert_same_threads(old_saver, target_url, f"{key_prefix}new")
    assert_same_store(old_store, target_url, f"{key_prefix}new")
    final = _migrate(stack_url, target_url, key_prefix)
    assert (final.checkpoints_copied, final.writes_copied, final.items_copied) == (0, 0, 0)
    # a run killed between an item's put and its timestamps (the put stamps "now")
    now_us = int(time.time() * 1_000_000)
    target.hset(item_key(f"{key_prefix}new", ("docs",), "d1"), mapping={"ca": now_us, "ua": now_us})
    assert _migrate(stack_url, target_url, key_prefix).items_copied == 1
    assert_same_store(old_store, target_url, f"{key_prefix}new")


def test_cli(old_data: Any, stack_url: str, key_prefix: str) -> None:
    args = [
        sys.executable,
        "-m",
        "langgraph_redis",
        "migrate",
        "--from",
        stack_url,
        "--to",
        stack_url,
        "--target-prefix",
        f"{key_prefix}new",
        "--source-checkpoint-prefix",
        f"{key_prefix}cp",
        "--source-writes-prefix",
        f"{key_prefix}cw",
        "--source-store-prefix",
        f"{key_prefix}st",
        "--source-vector-prefix",
        f"{key_prefix}sv",
        "--index-dims",
        str(DIMS),
        "--index-fields",
        "text",
    ]
    dry = subprocess.run([*args, "--dry-run"], capture_output=True, text=True, timeout=120)
    assert "would copy" in dry.stdout, dry.stderr
    first = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert first.returncode == 1  # one item skipped (not JSON), named in the report
    assert f"threads:     {len(THREADS)} seen, {len(THREADS)} copied" in first.stdout
    assert "1 item(s): value was stored by the old serializer" in first.stdout
    assert "checkpoints:" in first.stderr  # progress (plain counts: not a TTY)
    second = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert f"{len(ITEMS)} seen, 0 copied, {len(ITEMS)} already there" in second.stdout


def test_reembed(old_data: Any, stack_url: str, key_prefix: str) -> None:
    """With ``reembed`` the target's embedder computes the vectors (the same fake one
    here, so searches match the old store's)."""
    _, old_store = old_data
    calls: list[int] = []

    def counting_embed(texts: list[str]) -> list[list[float]]:
        calls.append(len(texts))
        return fake_embed(texts)

    report = migrate(
        stack_url,
        stack_url,
        target_prefix=f"{key_prefix}new",
        source_store_prefix=f"{key_prefix}st",
        source_vector_prefix=f"{key_prefix}sv",
        index=cast(IndexConfig, {**INDEX, "embed": counting_embed}),
        reembed=True,
        threads=False,
    )
    assert report.items_reembedded == report.items_copied == len(ITEMS)
    assert report.vectors_copied == 0 and sum(calls) == 4  # texts of the 4 indexed items
    assert_same_store(old_store, stack_url, f"{key_prefix}new")


def test_the_pinned_old_version_is_the_one_imported() -> None:
    assert OLD_VERSION == "0.5.2"


WRITE_WITH_04 = """
import sys
from langgraph.checkpoint.redis.version import __version__
assert __version__ == "0.4.1", __version__
import tests.test_migrate as t
t.run_old_graphs(sys.argv[1], sys.argv[2])
t.put_old_items(sys.argv[1], sys.argv[2])
"""


@pytest.mark.parametrize("target", ["same-server"])
def test_from_0_4(stack_url: str, key_prefix: str, target: str) -> None:
    """Data written by langgraph-checkpoint-redis 0.4.1 (in a subprocess, 0.4.1 first on
    PYTHONPATH) migrates identically. 0.4.1's own ``list()`` cannot decode the pending
    sends it wrote (fixed in 0.5), so 0.5.2, which reads the same layout, is both the
    migration's reader and the reference."""
    if not (OLD_04 / "langgraph" / "checkpoint" / "redis").is_dir():
        unavailable(f"{OLD_04} is missing: run scripts/setup.sh")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(OLD_04), str(ROOT)])}
    done = subprocess.run(
        [sys.executable, "-c", WRITE_WITH_04, stack_url, key_prefix],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    reader = old_cp.RedisSaver(
        redis_url=stack_url,
        checkpoint_prefix=f"{key_prefix}cp",
        checkpoint_write_prefix=f"{key_prefix}cw",
    )
    reader.setup()
    ctx = old_st.RedisStore.from_conn_string(
        stack_url, index=INDEX, store_prefix=f"{key_prefix}st", vector_prefix=f"{key_prefix}sv"
    )
    store = ctx.__enter__()
    try:
        report = _migrate(stack_url, stack_url, key_prefix)
        assert report.threads_copied == len(THREADS) and report.items_copied == len(ITEMS)
        assert_same_threads(reader, stack_url, f"{key_prefix}new")
        assert_same_store(store, stack_url, f"{key_prefix}new")
    finally:
        ctx.__exit__(None, None, None)
        reader._redis.close()
