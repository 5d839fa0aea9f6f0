# WARNING: generated from tests/_async/test_saver.py by scripts/async_to_sync.py.
# DO NOT EDIT: change the async source and regenerate.
"""Checkpointer tests against real servers: conformance, real graphs, limits, bad input.

The sync twin (``tests/_sync/test_saver.py``) is generated from this file.
"""

from __future__ import annotations

import operator
import uuid
from typing import Annotated, Any, cast

import pytest
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    empty_checkpoint,
)
from langgraph.checkpoint.base.id import uuid6
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.serde.encrypted import EncryptedSerializer
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.func import entrypoint, task
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt
from pydantic import BaseModel
from typing_extensions import TypedDict

from langgraph_redis import RedisSaver, ShallowRedisSaver, UnsupportedFormatError
from langgraph_redis._acompat import Redis
from langgraph_redis._core.checkpoint.keys import ThreadKeys
from tests._sync.clock import TtlClock
from tests.conformance import run_conformance
from tests.roundtrips import RoundTrips


class AllowedItem(BaseModel):
    foo: str


def config(thread_id: str, ns: str = "", checkpoint_id: str | None = None) -> Any:
    conf: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": ns}
    if checkpoint_id:
        conf["checkpoint_id"] = checkpoint_id
    return {"configurable": conf}


def snapshot(values: dict[str, Any], versions: dict[str, str] | None = None) -> Checkpoint:
    """A checkpoint with these channel values (version "1" unless given)."""
    cp = empty_checkpoint()
    cp["id"] = str(uuid6())
    cp["channel_values"] = dict(values)
    cp["channel_versions"] = dict(versions if versions is not None else dict.fromkeys(values, "1"))
    return cp


# -- conformance -----------------------------------------------------------------------


def test_conformance(redis_url: str, key_prefix: str) -> None:
    """LangGraph's public conformance suite, every capability, on this engine."""
    report = run_conformance(
        lambda: RedisSaver.from_conn_string(redis_url, prefix=key_prefix)
    )
    failures = {
        name: result.failures for name, result in report.results.items() if not result.passed
    }
    assert not failures, failures
    assert all(result.detected for result in report.results.values())


# -- round trips and storage -----------------------------------------------------------


def test_one_round_trip_per_call(saver: RedisSaver, roundtrips: RoundTrips) -> None:
    tid = str(uuid.uuid4())
    checkpoint = snapshot({"a": 1, "b": 2})
    with roundtrips as count:
        stored = saver.put(config(tid), checkpoint, {"step": 1}, {"a": "1", "b": "1"})
    assert count.value == 1
    with roundtrips as count:
        saver.put_writes(stored, [("a", 5), ("b", 6)], "task-1")
    assert count.value == 1
    with roundtrips as count:
        found = saver.get_tuple(config(tid))
    assert count.value == 1
    assert found is not None
    assert found.checkpoint["channel_values"] == {"a": 1, "b": 2}
    assert [w[1:] for w in found.pending_writes or []] == [("a", 5), ("b", 6)]


def test_get_tuple_cost_does_not_grow(
    saver: RedisSaver, roundtrips: RoundTrips
) -> None:
    tid = str(uuid.uuid4())
    parent = config(tid)
    version = None
    for step in range(60):
        version = saver.get_next_version(version, None)
        checkpoint = snapshot({"n": step}, {"n": version})
        parent = saver.put(parent, checkpoint, {"step": step}, {"n": version})
    with roundtrips as count:
        latest = saver.get_tuple(config(tid))
    assert count.value == 1
    assert latest is not None and latest.checkpoint["channel_values"] == {"n": 59}
    with roundtrips as count:
        listed = [t for t in saver.list(config(tid))]
    assert count.value == 2  # one page: the ids, then the checkpoints
    oldest_id = listed[-1].config["configurable"]["checkpoint_id"]
    first = saver.get_tuple(config(tid, checkpoint_id=oldest_id))
    assert first is not None and first.checkpoint["channel_values"] == {"n": 0}


def test_unchanged_channel_is_written_once(
    saver: RedisSaver, client: Redis, key_prefix: str
) -> None:
    tid = str(uuid.uuid4())
    parent = config(tid)
    big = "x" * 10_000
    big_version = saver.get_next_version(None, None)
    n_version = None
    for step in range(5):
        n_version = saver.get_next_version(n_version, None)
        checkpoint = snapshot({"big": big, "n": step}, {"big": big_version, "n": n_version})
        new: ChannelVersions = {"n": n_version, **({"big": big_version} if step == 0 else {})}
        parent = saver.put(parent, checkpoint, {"step": step}, new)
    blobs = client.smembers(ThreadKeys(key_prefix, tid).blobs(""))
    big_blobs = [b for b in blobs if b":big:" in b]
    assert len(big_blobs) == 1
    assert len(blobs) == 6
    for t in [t for t in saver.list(config(tid))]:
        assert t.checkpoint["channel_values"]["big"] == big


def test_list_semantics(saver: RedisSaver) -> None:
    tid = str(uuid.uuid4())
    parent = config(tid)
    ids = []
    for step in range(250):
        cp = snapshot({})
        metadata = cast(CheckpointMetadata, {"step": step, "user_id": f"u{step % 3}"})
        parent = saver.put(parent, cp, metadata, {})
        ids.append(parent["configurable"]["checkpoint_id"])
    listed = [t.config["configurable"]["checkpoint_id"] for t in saver.list(config(tid))]
    assert listed == ids[::-1]
    assert len([t for t in saver.list(config(tid), limit=-1)]) == 250
    assert [t for t in saver.list(config(tid), limit=0)] == []
    limited = [t for t in saver.list(config(tid), limit=7)]
    assert [t.config["configurable"]["checkpoint_id"] for t in limited] == ids[::-1][:7]
    before = [
        t.config["configurable"]["checkpoint_id"]
        for t in saver.list(
            config(tid), before=config(tid, checkpoint_id=ids[100]), limit=3
        )
    ]
    assert before == [ids[99], ids[98], ids[97]]
    by_user = [t for t in saver.list(config(tid), filter={"user_id": "u1"})]
    assert len(by_user) == len([i for i in range(250) if i % 3 == 1])
    assert all(cast(dict[str, Any], t.metadata)["user_id"] == "u1" for t in by_user)
    by_user_limit = [t for t in saver.list(config(tid), filter={"user_id": "u2"}, limit=90)]
    assert len(by_user_limit) == len([i for i in range(250) if i % 3 == 2])


def test_list_without_namespace_covers_all(saver: RedisSaver) -> None:
    tid = str(uuid.uuid4())
    saver.put(config(tid, ""), empty_checkpoint(), {"step": 0}, {})
    saver.put(config(tid, "child:1"), empty_checkpoint(), {"step": 0}, {})
    everything = [t for t in saver.list({"configurable": {"thread_id": tid}})]
    assert sorted(t.config["configurable"]["checkpoint_ns"] for t in everything) == ["", "child:1"]
    root = [t for t in saver.list(config(tid, ""))]
    assert [t.config["configurable"]["checkpoint_ns"] for t in root] == [""]
    # more checkpoints, namespaces interleaved: a thread-wide listing is newest first
    for step in range(1, 7):
        saver.put(config(tid, ["", "child:1", "x"][step % 3]), snapshot({}), {}, {})
    ids = [
        t.config["configurable"]["checkpoint_id"]
        for t in saver.list({"configurable": {"thread_id": tid}})
    ]
    assert len(ids) == 8 and ids == sorted(ids, reverse=True)
    two = [t for t in saver.list({"configurable": {"thread_id": tid}}, limit=2)]
    assert [t.config["configurable"]["checkpoint_id"] for t in two] == ids[:2]


class _Tracked:
    """A channel value that counts how many decoded copies are alive."""

    alive = 0

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        _Tracked.alive += 1

    def __del__(self) -> None:
        _Tracked.alive -= 1


class _TrackingSerde(JsonPlusSerializer):
    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        if isinstance(obj, _Tracked):
            return "tracked", obj.payload
        return super().dumps_typed(obj)

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        if data[0] == "tracked":
            return _Tracked(data[1])
        return super().loads_typed(data)


def test_list_decodes_each_checkpoint_as_the_caller_takes_it(
    redis_url: str, key_prefix: str
) -> None:
    """A page of checkpoints is not decoded as a whole: only the one being handed out is
    alive (a whole page of decoded chat histories outlived the garbage collector's young
    generation and made ``list`` pay for full collections)."""
    serde = _TrackingSerde()
    with RedisSaver.from_conn_string(redis_url, prefix=key_prefix, serde=serde) as saver:
        tid = str(uuid.uuid4())
        parent = config(tid)
        for step in range(6):
            cp = snapshot({"v": _Tracked(b"step %d" % step)}, {"v": f"{step + 1}"})
            parent = saver.put(parent, cp, {"step": step}, {"v": f"{step + 1}"})
        del cp
        held = _Tracked.alive  # what the puts' callers still hold, if anything
        seen = []
        for t in saver.list(config(tid), limit=5):
            seen.append(t.checkpoint["channel_values"]["v"].payload)
            decoded = _Tracked.alive - held
            assert decoded == 1, f"{decoded} decoded at checkpoint {len(seen)}"
        assert seen == [b"step %d" % step for step in (5, 4, 3, 2, 1)]


# -- configuration, lifecycle, bad input -----------------------------------------------


def test_usable_after_with_block(redis_url: str, key_prefix: str) -> None:
    with RedisSaver.from_conn_string(redis_url, prefix=key_prefix) as saver:
        saver.setup()
    tid = str(uuid.uuid4())
    saver.put(config(tid), empty_checkpoint(), {"step": 0}, {})
    assert saver.get_tuple(config(tid)) is not None
    saver.close()


def test_existing_client_is_not_closed(client: Redis, key_prefix: str) -> None:
    with RedisSaver(client, prefix=key_prefix) as saver:
        saver.put(config("t"), empty_checkpoint(), {"step": 0}, {})
    assert client.ping()


def test_prefixes_isolate_apps(redis_url: str, key_prefix: str) -> None:
    with (
        RedisSaver.from_conn_string(redis_url, prefix=key_prefix + "a") as one,
        RedisSaver.from_conn_string(redis_url, prefix=key_prefix + "b") as two,
    ):
        one.put(config("same"), empty_checkpoint(), {"step": 0}, {})
        assert two.get_tuple(config("same")) is None
        assert [t for t in two.list(None)] == []
        assert len([t for t in one.list(None)]) == 1


def test_bad_input_is_rejected_before_writing(saver: RedisSaver) -> None:
    with pytest.raises(ValueError, match="thread_id"):
        saver.put({"configurable": {}}, empty_checkpoint(), {}, {})
    with pytest.raises(ValueError, match="configurable"):
        saver.get_tuple({})
    with pytest.raises(ValueError, match="checkpoint_id"):
        saver.put_writes(config("t"), [("a", 1)], "task")
    tid = str(uuid.uuid4())
    checkpoint = snapshot({"a": object()})
    with pytest.raises(ValueError, match="serialize"):
        saver.put(config(tid), checkpoint, {}, {"a": "1"})
    assert saver.get_tuple(config(tid)) is None
    with pytest.raises(ValueError, match="strategy"):
        saver.prune([tid], strategy="sometimes")


def test_ttl_applies_to_every_key(
    redis_url: str, key_prefix: str, client: Redis
) -> None:
    ttl = {"default_ttl": 2, "refresh_on_read": True}
    with RedisSaver.from_conn_string(redis_url, prefix=key_prefix, ttl=ttl) as saver:
        tid = str(uuid.uuid4())
        cp = snapshot({"a": 1})
        stored = saver.put(config(tid), cp, {"step": 1}, {"a": "1"})
        saver.put_writes(stored, [("a", 2)], "task")
        owned = client.smembers(ThreadKeys(key_prefix, tid).registry)
        assert owned
        for key in [*owned, ThreadKeys(key_prefix, tid).registry.encode()]:
            remaining = client.ttl(key)
            assert 0 < remaining <= 120, key
        with pytest.raises(ValueError, match="default_ttl"):
            RedisSaver(redis_url, ttl={"default_ttl": -1})


def test_encrypted_serializer_round_trips(redis_url: str, key_prefix: str) -> None:
    serde = EncryptedSerializer.from_pycryptodome_aes(key=b"1234567890abcdef")
    with RedisSaver.from_conn_string(redis_url, prefix=key_prefix, serde=serde) as saver:
        tid = str(uuid.uuid4())
        cp = snapshot({"secret": {"a": {1, 2}}})
        saver.put(config(tid), cp, {"step": 1}, {"secret": "1"})
        found = saver.get_tuple(config(tid))
        assert found is not None
        assert found.checkpoint["channel_values"]["secret"] == {"a": {1, 2}}


def test_newer_format_is_refused(
    saver: RedisSaver, client: Redis, key_prefix: str
) -> None:
    tid = str(uuid.uuid4())
    stored = saver.put(config(tid), empty_checkpoint(), {"step": 0}, {})
    cid = stored["configurable"]["checkpoint_id"]
    client.hset(ThreadKeys(key_prefix, tid).checkpoint("", cid), "fmt", "99")
    with pytest.raises(UnsupportedFormatError):
        saver.get_tuple(config(tid))


def test_hostile_thread_ids(saver: RedisSaver) -> None:
    for tid in ["a}b{c", "x:y:z", "%7B", "thread with spaces", "ünï©ødé", "{}"]:
        cp = snapshot({"v": tid})
        saver.put(config(tid, "ns:{x}"), cp, {"step": 1}, {"v": "1"})
        found = saver.get_tuple(config(tid, "ns:{x}"))
        assert found is not None and found.checkpoint["channel_values"] == {"v": tid}
        assert found.config["configurable"]["thread_id"] == tid
    saver.delete_thread("a}b{c")
    assert saver.get_tuple(config("a}b{c", "ns:{x}")) is None
    assert saver.get_tuple(config("{}", "ns:{x}")) is not None


def test_delete_thread_leaves_no_keys(
    saver: RedisSaver, client: Redis, key_prefix: str
) -> None:
    tid = str(uuid.uuid4())
    parent = config(tid)
    for step in range(3):
        cp = snapshot({"a": step}, {"a": str(step)})
        parent = saver.put(parent, cp, {"step": step}, {"a": str(step)})
        saver.put_writes(parent, [("a", step)], "t")
    saver.delete_thread(tid)
    leftovers = [k for k in client.scan_iter(match=f"{key_prefix}:{{{tid}}}*")]
    assert leftovers == []


# -- shallow ---------------------------------------------------------------------------


def test_shallow_keeps_only_latest(
    shallow: ShallowRedisSaver, client: Redis, key_prefix: str
) -> None:
    tid = str(uuid.uuid4())
    parent = config(tid)
    k_version = shallow.get_next_version(None, None)
    a_version = None
    for step in range(4):
        a_version = shallow.get_next_version(a_version, None)
        checkpoint = snapshot({"a": step, "k": "const"}, {"a": a_version, "k": k_version})
        new: ChannelVersions = {"a": a_version, **({"k": k_version} if step == 0 else {})}
        parent = shallow.put(parent, checkpoint, {"step": step}, new)
        shallow.put_writes(parent, [("a", 100 + step)], "t")
    listed = [t for t in shallow.list(config(tid))]
    assert len(listed) == 1
    assert listed[0].checkpoint["channel_values"] == {"a": 3, "k": "const"}
    assert [w[2] for w in listed[0].pending_writes or []] == [103]
    keys = ThreadKeys(key_prefix, tid)
    assert len(client.smembers(keys.blobs(""))) == 2
    assert client.zcard(keys.index("")) == 1


# -- real graphs -----------------------------------------------------------------------


def test_functional_api_previous_and_final(saver: RedisSaver) -> None:
    @task
    def add_one(x: int) -> int:
        return x + 1

    @entrypoint(checkpointer=saver)
    def counter(n: int, *, previous: int | None = None) -> Any:
        bumped = add_one(n).result()
        total = (previous or 0) + bumped
        return entrypoint.final(value=total, save=total * 10)

    cfg: Any = {"configurable": {"thread_id": str(uuid.uuid4())}}
    assert counter.invoke(1, cfg) == 2
    assert counter.invoke(1, cfg) == 22  # previous is the saved 20, not 2
    assert counter.invoke(1, cfg) == 222
    other: Any = {"configurable": {"thread_id": str(uuid.uuid4())}}
    assert counter.invoke(5, other) == 6


class Chat(TypedDict):
    messages: Annotated[list[str], operator.add]


def _approval_graph() -> StateGraph[Chat]:
    def ask(state: Chat) -> dict[str, list[str]]:
        answer = interrupt({"question": "approve?", "seen": len(state["messages"])})
        return {"messages": [f"human:{answer}"]}

    def finish(state: Chat) -> dict[str, list[str]]:
        return {"messages": ["done"]}

    builder = StateGraph(Chat)
    builder.add_node("before", lambda state: {"messages": ["prepared"]})
    builder.add_node("ask", ask)
    builder.add_node("finish", finish)
    builder.add_edge(START, "before")
    builder.add_edge("before", "ask")
    builder.add_edge("ask", "finish")
    builder.add_edge("finish", END)
    return builder


def _interrupt_story(saver: Any) -> list[Any]:
    """Interrupt, resume, then time travel; returns what a user would observe."""
    graph = _approval_graph().compile(checkpointer=saver)
    cfg: Any = {"configurable": {"thread_id": "story"}}
    seen: list[Any] = []
    first = graph.invoke({"messages": ["hi"]}, cfg)
    seen.append([i.value for i in first["__interrupt__"]])
    state = graph.get_state(cfg)
    seen.append((state.next, [i.value for t in state.tasks for i in t.interrupts]))
    done = graph.invoke(Command(resume="yes"), cfg)
    seen.append(done["messages"])
    history = [s for s in graph.get_state_history(cfg)]
    seen.append(
        [
            (s.next, s.values.get("messages"), cast(CheckpointMetadata, s.metadata)["step"])
            for s in history
        ]
    )
    # time travel: replay from the checkpoint before "before" ran, with an edited input
    start = next(s for s in history if s.next == ("before",))
    forked_cfg = graph.update_state(start.config, {"messages": ["edited"]})
    again = graph.invoke(None, forked_cfg)
    seen.append([i.value for i in again["__interrupt__"]])
    final = graph.invoke(Command(resume="no"), cfg)
    seen.append(final["messages"])
    seen.append(len([s for s in graph.get_state_history(cfg)]))
    return seen


def test_interrupt_resume_and_time_travel(saver: RedisSaver) -> None:
    ours = _interrupt_story(saver)
    oracle = _interrupt_story(InMemorySaver())
    assert ours == oracle
    assert ours[2] == ["hi", "prepared", "human:yes", "done"]
    assert ours[5][-2:] == ["human:no", "done"]


def _subgraph_story(saver: Any, thread_id: str) -> list[Any]:
    def inner(state: Chat) -> dict[str, list[str]]:
        answer = interrupt("inner?")
        return {"messages": [f"inner:{answer}"]}

    sub = StateGraph(Chat)
    sub.add_node("inner", inner)
    sub.add_edge(START, "inner")
    sub.add_edge("inner", END)

    parent = StateGraph(Chat)
    parent.add_node("child", sub.compile())
    parent.add_edge(START, "child")
    parent.add_edge("child", END)
    graph = parent.compile(checkpointer=saver)
    cfg: Any = {"configurable": {"thread_id": thread_id}}
    first = graph.invoke({"messages": ["start"]}, cfg)
    state = graph.get_state(cfg, subgraphs=True)
    sub_state = state.tasks[0].state
    done = graph.invoke(Command(resume="ok"), cfg)
    return [
        [i.value for i in first["__interrupt__"]],
        sub_state.values if sub_state is not None and not isinstance(sub_state, dict) else None,
        done["messages"],
    ]


def test_subgraph_state_is_namespaced(saver: RedisSaver) -> None:
    tid = str(uuid.uuid4())
    ours = _subgraph_story(saver, tid)
    assert ours == _subgraph_story(InMemorySaver(), tid)
    assert ours[1] == {"messages": ["start"]}
    namespaces = {
        t.config["configurable"]["checkpoint_ns"]
        for t in saver.list({"configurable": {"thread_id": tid}})
    }
    assert "" in namespaces and any(ns.startswith("child") for ns in namespaces)


def test_many_threads_at_once(saver: RedisSaver) -> None:
    graph = _approval_graph().compile(checkpointer=saver)
    tids = [str(uuid.uuid4()) for _ in range(40)]

    def run_one(tid: str) -> list[str]:
        cfg: Any = {"configurable": {"thread_id": tid}}
        graph.invoke({"messages": [tid]}, cfg)
        out = graph.invoke(Command(resume=tid[:4]), cfg)
        return list(out["messages"])

    out = [*map(run_one, tids)]
    for tid, messages in zip(tids, out):
        assert messages == [tid, "prepared", f"human:{tid[:4]}", "done"]


def test_pending_writes_sorted_by_task_path(saver: RedisSaver) -> None:
    tid = str(uuid.uuid4())
    stored = saver.put(config(tid), empty_checkpoint(), {"step": 0}, {})
    saver.put_writes(stored, [("c", 3)], "task-z", "~b")
    saver.put_writes(stored, [("c", 1), ("c", 2)], "task-a", "~a")
    saver.put_writes(stored, [("c", 0)], "task-m", "")
    found = saver.get_tuple(config(tid))
    assert isinstance(found, CheckpointTuple)
    assert [w[2] for w in found.pending_writes or []] == [0, 1, 2, 3]


# -- compatibility and pool behaviour --------------------------------------------------


def test_spellings_from_langgraph_checkpoint_redis(redis_url: str, key_prefix: str) -> None:
    with RedisSaver.from_conn_string(
        redis_url=redis_url, prefix=key_prefix, connection_args={"socket_timeout": 5}
    ) as saver:
        saver.setup()  # LangGraph's async savers spell setup as a coroutine
        saver.put(config("t"), empty_checkpoint(), {"step": 0}, {})
        assert saver.get_tuple(config("t")) is not None


def test_decoding_client_is_refused(redis_url: str) -> None:
    client = Redis.from_url(redis_url, decode_responses=True)
    with pytest.raises(ValueError, match="decode_responses"):
        RedisSaver(client)
    client.close()


def test_small_pool_queues_callers(redis_url: str, key_prefix: str) -> None:
    with RedisSaver.from_conn_string(redis_url, prefix=key_prefix, pool_size=2) as saver:
        saver.setup()

        def one(i: int) -> None:
            saver.put(config(f"t{i % 7}"), snapshot({"i": i}), {"step": i}, {"i": "1"})

        [*map(one, range(300))]
        listed = [t for t in saver.list(None)]
        assert len(listed) == 300


def test_ttl_bookkeeping_follows_live_data(
    redis_url: str, key_prefix: str, client: Redis
) -> None:
    """Expired checkpoints leave no growing index behind while the thread stays busy.

    Time is moved by the test (:class:`TtlClock`), not waited for: every 6 steps, 18 s
    of the 60 s TTL pass, so a checkpoint lives through three such pauses and expires
    in the fourth, however fast or slow the machine runs the steps in between.
    """
    ttl = {"default_ttl": 1}  # 60 s
    clock = TtlClock(client, f"{key_prefix}:*")
    with RedisSaver.from_conn_string(redis_url, prefix=key_prefix, ttl=ttl) as saver:
        tid = str(uuid.uuid4())
        parent = config(tid)
        ids = []
        for step in range(60):
            version = f"{step:04}"
            parent = saver.put(
                parent, snapshot({"n": step}, {"n": version}), {}, {"n": version}
            )
            ids.append(parent["configurable"]["checkpoint_id"])
            if step % 6 == 5:
                clock.advance(18)  # old checkpoints expire while the thread stays busy
        keys = ThreadKeys(key_prefix, tid)
        live = [i for i in ids if client.exists(keys.checkpoint("", i))]
        assert live == ids[-18:]  # the last three pauses' worth
        indexed = client.zrange(keys.index(""), 0, -1)
        assert len(indexed) - len(live) <= 8
        registry = client.smembers(keys.registry)
        dead = [k for k in registry if not client.exists(k)]
        # sampled pruning keeps dead entries a bounded fraction (without it: over 2/3)
        assert len(dead) <= len(registry) // 3, (len(dead), len(registry))
        assert len([t for t in saver.list(config(tid))]) == len(live)


def test_with_allowlist_reaches_the_serializer(redis_url: str, key_prefix: str) -> None:
    """LangGraph's compile() calls with_allowlist; the copy must use the wider serializer."""
    strict = JsonPlusSerializer(allowed_msgpack_modules=None)
    with RedisSaver.from_conn_string(
        redis_url, prefix=key_prefix, serde=strict
    ) as saver:
        proxy = saver.with_allowlist([(AllowedItem.__module__, "AllowedItem")])
        assert proxy is not saver
        stored = proxy.put(
            config("t"), snapshot({"item": AllowedItem(foo="bar")}), {}, {"item": "1"}
        )
        found = proxy.get_tuple(stored)
        assert found is not None
        assert found.checkpoint["channel_values"]["item"] == AllowedItem(foo="bar")
        plain = saver.get_tuple(stored)  # the original keeps its strict serializer
        assert plain is not None and not isinstance(
            plain.checkpoint["channel_values"]["item"], AllowedItem
        )


def test_scripts_reload_after_script_flush(
    saver: RedisSaver, client: Redis
) -> None:
    """A server that lost the scripts (restart, failover, SCRIPT FLUSH) is reloaded once."""
    stored = saver.put(config(str(uuid.uuid4())), snapshot({"a": 1}), {}, {"a": "1"})
    client.script_flush()
    found = saver.get_tuple(stored)
    assert found is not None and found.checkpoint["channel_values"] == {"a": 1}
    # A put is a MULTI/EXEC with its index entries: NOSCRIPT comes back inside EXEC
    # (the index entries committed), and the runner reloads and resends the whole batch.
    client.script_flush()
    again = saver.put(stored, snapshot({"a": 2}, {"a": "2"}), {}, {"a": "2"})
    found = saver.get_tuple(again)
    assert found is not None and found.checkpoint["channel_values"] == {"a": 2}
