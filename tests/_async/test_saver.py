"""Checkpointer tests against real servers: conformance, real graphs, limits, bad input.

The sync twin (``tests/_sync/test_saver.py``) is generated from this file.
"""

from __future__ import annotations

import asyncio  # sync: skip
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

from langgraph_redis import AsyncRedisSaver, AsyncShallowRedisSaver, UnsupportedFormatError
from langgraph_redis._acompat import AsyncRedis
from langgraph_redis._core.checkpoint.keys import ThreadKeys
from tests._async.clock import TtlClock
from tests.conformance import arun_conformance
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


async def test_conformance(redis_url: str, key_prefix: str) -> None:
    """LangGraph's public conformance suite, every capability, on this engine."""
    report = await arun_conformance(
        lambda: AsyncRedisSaver.from_conn_string(redis_url, prefix=key_prefix)
    )
    failures = {
        name: result.failures for name, result in report.results.items() if not result.passed
    }
    assert not failures, failures
    assert all(result.detected for result in report.results.values())


# -- round trips and storage -----------------------------------------------------------


async def test_one_round_trip_per_call(asaver: AsyncRedisSaver, roundtrips: RoundTrips) -> None:
    tid = str(uuid.uuid4())
    checkpoint = snapshot({"a": 1, "b": 2})
    with roundtrips as count:
        stored = await asaver.aput(config(tid), checkpoint, {"step": 1}, {"a": "1", "b": "1"})
    assert count.value == 1
    with roundtrips as count:
        await asaver.aput_writes(stored, [("a", 5), ("b", 6)], "task-1")
    assert count.value == 1
    with roundtrips as count:
        found = await asaver.aget_tuple(config(tid))
    assert count.value == 1
    assert found is not None
    assert found.checkpoint["channel_values"] == {"a": 1, "b": 2}
    assert [w[1:] for w in found.pending_writes or []] == [("a", 5), ("b", 6)]


async def test_get_tuple_cost_does_not_grow(
    asaver: AsyncRedisSaver, roundtrips: RoundTrips
) -> None:
    tid = str(uuid.uuid4())
    parent = config(tid)
    version = None
    for step in range(60):
        version = asaver.get_next_version(version, None)
        checkpoint = snapshot({"n": step}, {"n": version})
        parent = await asaver.aput(parent, checkpoint, {"step": step}, {"n": version})
    with roundtrips as count:
        latest = await asaver.aget_tuple(config(tid))
    assert count.value == 1
    assert latest is not None and latest.checkpoint["channel_values"] == {"n": 59}
    with roundtrips as count:
        listed = [t async for t in asaver.alist(config(tid))]
    assert count.value == 2  # one page: the ids, then the checkpoints
    oldest_id = listed[-1].config["configurable"]["checkpoint_id"]
    first = await asaver.aget_tuple(config(tid, checkpoint_id=oldest_id))
    assert first is not None and first.checkpoint["channel_values"] == {"n": 0}


async def test_unchanged_channel_is_written_once(
    asaver: AsyncRedisSaver, aclient: AsyncRedis, key_prefix: str
) -> None:
    tid = str(uuid.uuid4())
    parent = config(tid)
    big = "x" * 10_000
    big_version = asaver.get_next_version(None, None)
    n_version = None
    for step in range(5):
        n_version = asaver.get_next_version(n_version, None)
        checkpoint = snapshot({"big": big, "n": step}, {"big": big_version, "n": n_version})
        new: ChannelVersions = {"n": n_version, **({"big": big_version} if step == 0 else {})}
        parent = await asaver.aput(parent, checkpoint, {"step": step}, new)
    blobs = await aclient.smembers(ThreadKeys(key_prefix, tid).blobs(""))
    big_blobs = [b for b in blobs if b":big:" in b]
    assert len(big_blobs) == 1
    assert len(blobs) == 6
    for t in [t async for t in asaver.alist(config(tid))]:
        assert t.checkpoint["channel_values"]["big"] == big


async def test_list_semantics(asaver: AsyncRedisSaver) -> None:
    tid = str(uuid.uuid4())
    parent = config(tid)
    ids = []
    for step in range(250):
        cp = snapshot({})
        metadata = cast(CheckpointMetadata, {"step": step, "user_id": f"u{step % 3}"})
        parent = await asaver.aput(parent, cp, metadata, {})
        ids.append(parent["configurable"]["checkpoint_id"])
    listed = [t.config["configurable"]["checkpoint_id"] async for t in asaver.alist(config(tid))]
    assert listed == ids[::-1]
    assert len([t async for t in asaver.alist(config(tid), limit=-1)]) == 250
    assert [t async for t in asaver.alist(config(tid), limit=0)] == []
    limited = [t async for t in asaver.alist(config(tid), limit=7)]
    assert [t.config["configurable"]["checkpoint_id"] for t in limited] == ids[::-1][:7]
    before = [
        t.config["configurable"]["checkpoint_id"]
        async for t in asaver.alist(
            config(tid), before=config(tid, checkpoint_id=ids[100]), limit=3
        )
    ]
    assert before == [ids[99], ids[98], ids[97]]
    by_user = [t async for t in asaver.alist(config(tid), filter={"user_id": "u1"})]
    assert len(by_user) == len([i for i in range(250) if i % 3 == 1])
    assert all(cast(dict[str, Any], t.metadata)["user_id"] == "u1" for t in by_user)
    by_user_limit = [t async for t in asaver.alist(config(tid), filter={"user_id": "u2"}, limit=90)]
    assert len(by_user_limit) == len([i for i in range(250) if i % 3 == 2])


async def test_list_without_namespace_covers_all(asaver: AsyncRedisSaver) -> None:
    tid = str(uuid.uuid4())
    await asaver.aput(config(tid, ""), empty_checkpoint(), {"step": 0}, {})
    await asaver.aput(config(tid, "child:1"), empty_checkpoint(), {"step": 0}, {})
    everything = [t async for t in asaver.alist({"configurable": {"thread_id": tid}})]
    assert sorted(t.config["configurable"]["checkpoint_ns"] for t in everything) == ["", "child:1"]
    root = [t async for t in asaver.alist(config(tid, ""))]
    assert [t.config["configurable"]["checkpoint_ns"] for t in root] == [""]
    # more checkpoints, namespaces interleaved: a thread-wide listing is newest first
    for step in range(1, 7):
        await asaver.aput(config(tid, ["", "child:1", "x"][step % 3]), snapshot({}), {}, {})
    ids = [
        t.config["configurable"]["checkpoint_id"]
        async for t in asaver.alist({"configurable": {"thread_id": tid}})
    ]
    assert len(ids) == 8 and ids == sorted(ids, reverse=True)
    two = [t async for t in asaver.alist({"configurable": {"thread_id": tid}}, limit=2)]
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


async def test_list_decodes_each_checkpoint_as_the_caller_takes_it(
    redis_url: str, key_prefix: str
) -> None:
    """A page of checkpoints is not decoded as a whole: only the one being handed out is
    alive (a whole page of decoded chat histories outlived the garbage collector's young
    generation and made ``list`` pay for full collections)."""
    serde = _TrackingSerde()
    async with AsyncRedisSaver.from_conn_string(redis_url, prefix=key_prefix, serde=serde) as saver:
        tid = str(uuid.uuid4())
        parent = config(tid)
        for step in range(6):
            cp = snapshot({"v": _Tracked(b"step %d" % step)}, {"v": f"{step + 1}"})
            parent = await saver.aput(parent, cp, {"step": step}, {"v": f"{step + 1}"})
        del cp
        held = _Tracked.alive  # what the puts' callers still hold, if anything
        seen = []
        async for t in saver.alist(config(tid), limit=5):
            seen.append(t.checkpoint["channel_values"]["v"].payload)
            decoded = _Tracked.alive - held
            assert decoded == 1, f"{decoded} decoded at checkpoint {len(seen)}"
        assert seen == [b"step %d" % step for step in (5, 4, 3, 2, 1)]


# -- configuration, lifecycle, bad input -----------------------------------------------


async def test_usable_after_with_block(redis_url: str, key_prefix: str) -> None:
    async with AsyncRedisSaver.from_conn_string(redis_url, prefix=key_prefix) as saver:
        await saver.asetup()
    tid = str(uuid.uuid4())
    await saver.aput(config(tid), empty_checkpoint(), {"step": 0}, {})
    assert await saver.aget_tuple(config(tid)) is not None
    await saver.aclose()


async def test_existing_client_is_not_closed(aclient: AsyncRedis, key_prefix: str) -> None:
    async with AsyncRedisSaver(aclient, prefix=key_prefix) as saver:
        await saver.aput(config("t"), empty_checkpoint(), {"step": 0}, {})
    assert await aclient.ping()


async def test_prefixes_isolate_apps(redis_url: str, key_prefix: str) -> None:
    async with (
        AsyncRedisSaver.from_conn_string(redis_url, prefix=key_prefix + "a") as one,
        AsyncRedisSaver.from_conn_string(redis_url, prefix=key_prefix + "b") as two,
    ):
        await one.aput(config("same"), empty_checkpoint(), {"step": 0}, {})
        assert await two.aget_tuple(config("same")) is None
        assert [t async for t in two.alist(None)] == []
        assert len([t async for t in one.alist(None)]) == 1


async def test_bad_input_is_rejected_before_writing(asaver: AsyncRedisSaver) -> None:
    with pytest.raises(ValueError, match="thread_id"):
        await asaver.aput({"configurable": {}}, empty_checkpoint(), {}, {})
    with pytest.raises(ValueError, match="configurable"):
        await asaver.aget_tuple({})
    with pytest.raises(ValueError, match="checkpoint_id"):
        await asaver.aput_writes(config("t"), [("a", 1)], "task")
    tid = str(uuid.uuid4())
    checkpoint = snapshot({"a": object()})
    with pytest.raises(ValueError, match="serialize"):
        await asaver.aput(config(tid), checkpoint, {}, {"a": "1"})
    assert await asaver.aget_tuple(config(tid)) is None
    with pytest.raises(ValueError, match="strategy"):
        await asaver.aprune([tid], strategy="sometimes")


async def test_ttl_applies_to_every_key(
    redis_url: str, key_prefix: str, aclient: AsyncRedis
) -> None:
    ttl = {"default_ttl": 2, "refresh_on_read": True}
    async with AsyncRedisSaver.from_conn_string(redis_url, prefix=key_prefix, ttl=ttl) as saver:
        tid = str(uuid.uuid4())
        cp = snapshot({"a": 1})
        stored = await saver.aput(config(tid), cp, {"step": 1}, {"a": "1"})
        await saver.aput_writes(stored, [("a", 2)], "task")
        owned = await aclient.smembers(ThreadKeys(key_prefix, tid).registry)
        assert owned
        for key in [*owned, ThreadKeys(key_prefix, tid).registry.encode()]:
            remaining = await aclient.ttl(key)
            assert 0 < remaining <= 120, key
        with pytest.raises(ValueError, match="default_ttl"):
            AsyncRedisSaver(redis_url, ttl={"default_ttl": -1})


async def test_encrypted_serializer_round_trips(redis_url: str, key_prefix: str) -> None:
    serde = EncryptedSerializer.from_pycryptodome_aes(key=b"1234567890abcdef")
    async with AsyncRedisSaver.from_conn_string(redis_url, prefix=key_prefix, serde=serde) as saver:
        tid = str(uuid.uuid4())
        cp = snapshot({"secret": {"a": {1, 2}}})
        await saver.aput(config(tid), cp, {"step": 1}, {"secret": "1"})
        found = await saver.aget_tuple(config(tid))
        assert found is not None
        assert found.checkpoint["channel_values"]["secret"] == {"a": {1, 2}}


async def test_newer_format_is_refused(
    asaver: AsyncRedisSaver, aclient: AsyncRedis, key_prefix: str
) -> None:
    tid = str(uuid.uuid4())
    stored = await asaver.aput(config(tid), empty_checkpoint(), {"step": 0}, {})
    cid = stored["configurable"]["checkpoint_id"]
    await aclient.hset(ThreadKeys(key_prefix, tid).checkpoint("", cid), "fmt", "99")
    with pytest.raises(UnsupportedFormatError):
        await asaver.aget_tuple(config(tid))


async def test_hostile_thread_ids(asaver: AsyncRedisSaver) -> None:
    for tid in ["a}b{c", "x:y:z", "%7B", "thread with spaces", "ünï©ødé", "{}"]:
        cp = snapshot({"v": tid})
        await asaver.aput(config(tid, "ns:{x}"), cp, {"step": 1}, {"v": "1"})
        found = await asaver.aget_tuple(config(tid, "ns:{x}"))
        assert found is not None and found.checkpoint["channel_values"] == {"v": tid}
        assert found.config["configurable"]["thread_id"] == tid
    await asaver.adelete_thread("a}b{c")
    assert await asaver.aget_tuple(config("a}b{c", "ns:{x}")) is None
    assert await asaver.aget_tuple(config("{}", "ns:{x}")) is not None


async def test_delete_thread_leaves_no_keys(
    asaver: AsyncRedisSaver, aclient: AsyncRedis, key_prefix: str
) -> None:
    tid = str(uuid.uuid4())
    parent = config(tid)
    for step in range(3):
        cp = snapshot({"a": step}, {"a": str(step)})
        parent = await asaver.aput(parent, cp, {"step": step}, {"a": str(step)})
        await asaver.aput_writes(parent, [("a", step)], "t")
    await asaver.adelete_thread(tid)
    leftovers = [k async for k in aclient.scan_iter(match=f"{key_prefix}:{{{tid}}}*")]
    assert leftovers == []


# -- shallow ---------------------------------------------------------------------------


async def test_shallow_keeps_only_latest(
    ashallow: AsyncShallowRedisSaver, aclient: AsyncRedis, key_prefix: str
) -> None:
    tid = str(uuid.uuid4())
    parent = config(tid)
    k_version = ashallow.get_next_version(None, None)
    a_version = None
    for step in range(4):
        a_version = ashallow.get_next_version(a_version, None)
        checkpoint = snapshot({"a": step, "k": "const"}, {"a": a_version, "k": k_version})
        new: ChannelVersions = {"a": a_version, **({"k": k_version} if step == 0 else {})}
        parent = await ashallow.aput(parent, checkpoint, {"step": step}, new)
        await ashallow.aput_writes(parent, [("a", 100 + step)], "t")
    listed = [t async for t in ashallow.alist(config(tid))]
    assert len(listed) == 1
    assert listed[0].checkpoint["channel_values"] == {"a": 3, "k": "const"}
    assert [w[2] for w in listed[0].pending_writes or []] == [103]
    keys = ThreadKeys(key_prefix, tid)
    assert len(await aclient.smembers(keys.blobs(""))) == 2
    assert await aclient.zcard(keys.index("")) == 1


# -- real graphs -----------------------------------------------------------------------


async def test_functional_api_previous_and_final(asaver: AsyncRedisSaver) -> None:
    @task
    def add_one(x: int) -> int:
        return x + 1

    @entrypoint(checkpointer=asaver)
    async def counter(n: int, *, previous: int | None = None) -> Any:
        bumped = await add_one(n)  # sync: bumped = add_one(n).result()
        total = (previous or 0) + bumped
        return entrypoint.final(value=total, save=total * 10)

    cfg: Any = {"configurable": {"thread_id": str(uuid.uuid4())}}
    assert await counter.ainvoke(1, cfg) == 2
    assert await counter.ainvoke(1, cfg) == 22  # previous is the saved 20, not 2
    assert await counter.ainvoke(1, cfg) == 222
    other: Any = {"configurable": {"thread_id": str(uuid.uuid4())}}
    assert await counter.ainvoke(5, other) == 6


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


async def _interrupt_story(saver: Any) -> list[Any]:
    """Interrupt, resume, then time travel; returns what a user would observe."""
    graph = _approval_graph().compile(checkpointer=saver)
    cfg: Any = {"configurable": {"thread_id": "story"}}
    seen: list[Any] = []
    first = await graph.ainvoke({"messages": ["hi"]}, cfg)
    seen.append([i.value for i in first["__interrupt__"]])
    state = await graph.aget_state(cfg)
    seen.append((state.next, [i.value for t in state.tasks for i in t.interrupts]))
    done = await graph.ainvoke(Command(resume="yes"), cfg)
    seen.append(done["messages"])
    history = [s async for s in graph.aget_state_history(cfg)]
    seen.append(
        [
            (s.next, s.values.get("messages"), cast(CheckpointMetadata, s.metadata)["step"])
            for s in history
        ]
    )
    # time travel: replay from the checkpoint before "before" ran, with an edited input
    start = next(s for s in history if s.next == ("before",))
    forked_cfg = await graph.aupdate_state(start.config, {"messages": ["edited"]})
    again = await graph.ainvoke(None, forked_cfg)
    seen.append([i.value for i in again["__interrupt__"]])
    final = await graph.ainvoke(Command(resume="no"), cfg)
    seen.append(final["messages"])
    seen.append(len([s async for s in graph.aget_state_history(cfg)]))
    return seen


async def test_interrupt_resume_and_time_travel(asaver: AsyncRedisSaver) -> None:
    ours = await _interrupt_story(asaver)
    oracle = await _interrupt_story(InMemorySaver())
    assert ours == oracle
    assert ours[2] == ["hi", "prepared", "human:yes", "done"]
    assert ours[5][-2:] == ["human:no", "done"]


async def _subgraph_story(saver: Any, thread_id: str) -> list[Any]:
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
    first = await graph.ainvoke({"messages": ["start"]}, cfg)
    state = await graph.aget_state(cfg, subgraphs=True)
    sub_state = state.tasks[0].state
    done = await graph.ainvoke(Command(resume="ok"), cfg)
    return [
        [i.value for i in first["__interrupt__"]],
        sub_state.values if sub_state is not None and not isinstance(sub_state, dict) else None,
        done["messages"],
    ]


async def test_subgraph_state_is_namespaced(asaver: AsyncRedisSaver) -> None:
    tid = str(uuid.uuid4())
    ours = await _subgraph_story(asaver, tid)
    assert ours == await _subgraph_story(InMemorySaver(), tid)
    assert ours[1] == {"messages": ["start"]}
    namespaces = {
        t.config["configurable"]["checkpoint_ns"]
        async for t in asaver.alist({"configurable": {"thread_id": tid}})
    }
    assert "" in namespaces and any(ns.startswith("child") for ns in namespaces)


async def test_many_threads_at_once(asaver: AsyncRedisSaver) -> None:
    graph = _approval_graph().compile(checkpointer=asaver)
    tids = [str(uuid.uuid4()) for _ in range(40)]

    async def run_one(tid: str) -> list[str]:
        cfg: Any = {"configurable": {"thread_id": tid}}
        await graph.ainvoke({"messages": [tid]}, cfg)
        out = await graph.ainvoke(Command(resume=tid[:4]), cfg)
        return list(out["messages"])

    out = await asyncio.gather(*map(run_one, tids))  # sync: out = [*map(run_one, tids)]
    for tid, messages in zip(tids, out):
        assert messages == [tid, "prepared", f"human:{tid[:4]}", "done"]


async def test_pending_writes_sorted_by_task_path(asaver: AsyncRedisSaver) -> None:
    tid = str(uuid.uuid4())
    stored = await asaver.aput(config(tid), empty_checkpoint(), {"step": 0}, {})
    await asaver.aput_writes(stored, [("c", 3)], "task-z", "~b")
    await asaver.aput_writes(stored, [("c", 1), ("c", 2)], "task-a", "~a")
    await asaver.aput_writes(stored, [("c", 0)], "task-m", "")
    found = await asaver.aget_tuple(config(tid))
    assert isinstance(found, CheckpointTuple)
    assert [w[2] for w in found.pending_writes or []] == [0, 1, 2, 3]


# -- compatibility and pool behaviour --------------------------------------------------


async def test_spellings_from_langgraph_checkpoint_redis(redis_url: str, key_prefix: str) -> None:
    async with AsyncRedisSaver.from_conn_string(
        redis_url=redis_url, prefix=key_prefix, connection_args={"socket_timeout": 5}
    ) as saver:
        await saver.setup()  # LangGraph's async savers spell setup as a coroutine
        await saver.aput(config("t"), empty_checkpoint(), {"step": 0}, {})
        assert await saver.aget_tuple(config("t")) is not None


async def test_decoding_client_is_refused(redis_url: str) -> None:
    client = AsyncRedis.from_url(redis_url, decode_responses=True)
    with pytest.raises(ValueError, match="decode_responses"):
        AsyncRedisSaver(client)
    await client.aclose()


async def test_small_pool_queues_callers(redis_url: str, key_prefix: str) -> None:
    async with AsyncRedisSaver.from_conn_string(redis_url, prefix=key_prefix, pool_size=2) as saver:
        await saver.asetup()

        async def one(i: int) -> None:
            await saver.aput(config(f"t{i % 7}"), snapshot({"i": i}), {"step": i}, {"i": "1"})

        await asyncio.gather(*map(one, range(300)))  # sync: [*map(one, range(300))]
        listed = [t async for t in saver.alist(None)]
        assert len(listed) == 300


async def test_ttl_bookkeeping_follows_live_data(
    redis_url: str, key_prefix: str, aclient: AsyncRedis
) -> None:
    """Expired checkpoints leave no growing index behind while the thread stays busy.

    Time is moved by the test (:class:`TtlClock`), not waited for: every 6 steps, 18 s
    of the 60 s TTL pass, so a checkpoint lives through three such pauses and expires
    in the fourth, however fast or slow the machine runs the steps in between.
    """
    ttl = {"default_ttl": 1}  # 60 s
    clock = TtlClock(aclient, f"{key_prefix}:*")
    async with AsyncRedisSaver.from_conn_string(redis_url, prefix=key_prefix, ttl=ttl) as saver:
        tid = str(uuid.uuid4())
        parent = config(tid)
        ids = []
        for step in range(60):
            version = f"{step:04}"
            parent = await saver.aput(
                parent, snapshot({"n": step}, {"n": version}), {}, {"n": version}
            )
            ids.append(parent["configurable"]["checkpoint_id"])
            if step % 6 == 5:
                await clock.advance(18)  # old checkpoints expire while the thread stays busy
        keys = ThreadKeys(key_prefix, tid)
        live = [i for i in ids if await aclient.exists(keys.checkpoint("", i))]
        assert live == ids[-18:]  # the last three pauses' worth
        indexed = await aclient.zrange(keys.index(""), 0, -1)
        assert len(indexed) - len(live) <= 8
        registry = await aclient.smembers(keys.registry)
        dead = [k for k in registry if not await aclient.exists(k)]
        # sampled pruning keeps dead entries a bounded fraction (without it: over 2/3)
        assert len(dead) <= len(registry) // 3, (len(dead), len(registry))
        assert len([t async for t in saver.alist(config(tid))]) == len(live)


async def test_with_allowlist_reaches_the_serializer(redis_url: str, key_prefix: str) -> None:
    """LangGraph's compile() calls with_allowlist; the copy must use the wider serializer."""
    strict = JsonPlusSerializer(allowed_msgpack_modules=None)
    async with AsyncRedisSaver.from_conn_string(
        redis_url, prefix=key_prefix, serde=strict
    ) as saver:
        proxy = saver.with_allowlist([(AllowedItem.__module__, "AllowedItem")])
        assert proxy is not saver
        stored = await proxy.aput(
            config("t"), snapshot({"item": AllowedItem(foo="bar")}), {}, {"item": "1"}
        )
        found = await proxy.aget_tuple(stored)
        assert found is not None
        assert found.checkpoint["channel_values"]["item"] == AllowedItem(foo="bar")
        plain = await saver.aget_tuple(stored)  # the original keeps its strict serializer
        assert plain is not None and not isinstance(
            plain.checkpoint["channel_values"]["item"], AllowedItem
        )


async def test_scripts_reload_after_script_flush(
    asaver: AsyncRedisSaver, aclient: AsyncRedis
) -> None:
    """A server that lost the scripts (restart, failover, SCRIPT FLUSH) is reloaded once."""
    stored = await asaver.aput(config(str(uuid.uuid4())), snapshot({"a": 1}), {}, {"a": "1"})
    await aclient.script_flush()
    found = await asaver.aget_tuple(stored)
    assert found is not None and found.checkpoint["channel_values"] == {"a": 1}
    # A put is a MULTI/EXEC with its index entries: NOSCRIPT comes back inside EXEC
    # (the index entries committed), and the runner reloads and resends the whole batch.
    await aclient.script_flush()
    again = await asaver.aput(stored, snapshot({"a": 2}, {"a": "2"}), {}, {"a": "2"})
    found = await asaver.aget_tuple(again)
    assert found is not None and found.checkpoint["channel_values"] == {"a": 2}
