"""What prune, delete_for_runs and delete_thread leave behind, against real servers.

LangGraph's ``InMemorySaver`` is the oracle: it never prunes or deletes runs, so what
must survive is what it shows for the same graph (a pruned history is a prefix of its
history; after deleting a run, the thread reads as if the run never happened).
The sync twin (``tests/_sync/test_saver_lifecycle.py``) is generated from this file.
"""

from __future__ import annotations

import operator
import uuid
from collections.abc import Sequence
from typing import Annotated, Any, cast

import pytest

try:
    from langgraph.channels import DeltaChannel

    HAS_DELTA = True
except ImportError:  # LangGraph before delta channels, e.g. the declared floor
    HAS_DELTA = False
from langgraph.checkpoint.base import Checkpoint, CheckpointMetadata, empty_checkpoint
from langgraph.checkpoint.base.id import uuid6
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, Interrupt, interrupt
from typing_extensions import TypedDict

from langgraph_redis import AsyncRedisSaver, AsyncShallowRedisSaver
from langgraph_redis._acompat import AsyncRedis
from langgraph_redis._async import saver as saver_module


def snapshot() -> Checkpoint:
    cp = empty_checkpoint()
    cp["id"] = str(uuid6())
    return cp


def _extend(state: list[str], writes: Sequence[list[str]]) -> list[str]:
    out = list(state)
    for batch in writes:
        out.extend(batch)
    return out


class DeltaChat(TypedDict):
    # a value is stored every 5th update; in between it is rebuilt from ancestor writes
    messages: Annotated[list[str], DeltaChannel(_extend, snapshot_frequency=5)]


needs_delta = pytest.mark.skipif(not HAS_DELTA, reason="this LangGraph has no DeltaChannel")


def _delta_graph(saver: Any) -> Any:
    builder = StateGraph(DeltaChat)
    builder.add_node("reply", lambda state: {"messages": [f"echo{len(state['messages'])}"]})
    builder.add_edge(START, "reply")
    builder.add_edge("reply", END)
    return builder.compile(checkpointer=saver)


async def _history(graph: Any, cfg: Any) -> list[tuple[Any, ...]]:
    return [
        (s.next, s.values, cast(CheckpointMetadata, s.metadata)["step"])
        async for s in graph.aget_state_history(cfg)
    ]


async def _chat(graph: Any, cfg: Any, turns: range) -> None:
    for turn in turns:
        await graph.ainvoke({"messages": [f"m{turn}"]}, cfg)


# -- item 6: prune keeps what delta channels need -------------------------------------


@needs_delta
async def test_prune_keeps_delta_channel_ancestors(asaver: AsyncRedisSaver) -> None:
    """keep_latest keeps the ancestors a DeltaChannel is rebuilt from (16 messages, not [])."""
    cfg: Any = {"configurable": {"thread_id": str(uuid.uuid4())}}
    oracle_graph, graph = _delta_graph(InMemorySaver()), _delta_graph(asaver)
    await _chat(oracle_graph, cfg, range(8))
    await _chat(graph, cfg, range(8))
    oracle = await _history(oracle_graph, cfg)
    assert len(oracle[0][1]["messages"]) == 16

    await asaver.aprune([cfg["configurable"]["thread_id"]], strategy="keep_latest")
    kept = await _history(graph, cfg)
    assert kept[0] == oracle[0]  # the state LangGraph reads back
    assert kept == oracle[: len(kept)]  # every kept checkpoint reads as before
    assert len(kept) < len(oracle)  # and prune did drop the rest

    await _chat(oracle_graph, cfg, range(8, 12))  # the pruned thread carries on alike
    await _chat(graph, cfg, range(8, 12))
    assert (await graph.aget_state(cfg)).values == (await oracle_graph.aget_state(cfg)).values


async def test_prune_is_unchanged_without_delta_channels(asaver: AsyncRedisSaver) -> None:
    """Threads without delta channels still keep exactly one checkpoint per namespace."""
    builder = StateGraph(dict)  # type: ignore[type-var]  # a plain LastValue channel
    builder.add_node("n", lambda state: {"x": state["x"] + 1})
    builder.add_edge(START, "n")
    builder.add_edge("n", END)
    graph = builder.compile(checkpointer=asaver)
    cfg: Any = {"configurable": {"thread_id": str(uuid.uuid4())}}
    for i in range(3):
        await graph.ainvoke({"x": i}, cfg)
    await asaver.aprune([cfg["configurable"]["thread_id"]])
    assert len([t async for t in asaver.alist(cfg)]) == 1
    assert (await graph.aget_state(cfg)).values == {"x": 3}


@needs_delta
async def test_shallow_keeps_delta_channel_ancestors(redis_url: str, key_prefix: str) -> None:
    """The shallow saver keeps the ancestors a DeltaChannel needs, and no more."""
    async with AsyncShallowRedisSaver.from_conn_string(redis_url, prefix=key_prefix) as saver:
        cfg: Any = {"configurable": {"thread_id": str(uuid.uuid4())}}
        oracle_graph, graph = _delta_graph(InMemorySaver()), _delta_graph(saver)
        for turns in (range(8), range(8, 20)):
            await _chat(oracle_graph, cfg, turns)
            await _chat(graph, cfg, turns)
            oracle = await _history(oracle_graph, cfg)
            kept = await _history(graph, cfg)
            assert kept == oracle[: len(kept)]
            assert len(kept) <= 6  # newest, up to 5 updates back to the last snapshot
        await saver.aprune([cfg["configurable"]["thread_id"]])
        assert (await graph.aget_state(cfg)).values == oracle[0][1]


# -- item 7: delete_for_runs leaves nothing of the run ---------------------------------


class Chat(TypedDict):
    messages: Annotated[list[str], operator.add]


def _approval_graph(saver: Any) -> Any:
    def ask(state: Chat) -> dict[str, list[str]]:
        return {"messages": [f"answer:{interrupt('approve?')}"]}

    builder = StateGraph(Chat)
    builder.add_node("ask", ask)
    builder.add_node("finish", lambda state: {"messages": ["done"]})
    builder.add_edge(START, "ask")
    builder.add_edge("ask", "finish")
    builder.add_edge("finish", END)
    return builder.compile(checkpointer=saver)


def _run(thread_id: str, run_id: str) -> Any:
    return {"configurable": {"thread_id": thread_id}, "metadata": {"run_id": run_id}}


def _plain(value: Any) -> Any:
    """Interrupt ids derive from checkpoint ids, which differ between savers."""
    if isinstance(value, Interrupt):
        return ("interrupt", value.value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


async def _observe(graph: Any, cfg: Any) -> list[Any]:
    """State, pending writes of the latest checkpoint, then what ``invoke(None)`` does."""
    state = await graph.aget_state(cfg)
    latest = await graph.checkpointer.aget_tuple(cfg)
    pending = sorted(repr(_plain(w[1:])) for w in latest.pending_writes or [])
    out = await graph.ainvoke(None, cfg)
    return [_plain(state.values), state.next, pending, _plain(out)]


async def test_delete_for_runs_removes_the_runs_pending_writes(asaver: AsyncRedisSaver) -> None:
    """Run R resumed run A's interrupt; deleting R leaves no write of R for a replay."""
    tid = str(uuid.uuid4())
    graph = _approval_graph(asaver)
    await graph.ainvoke({"messages": ["hi"]}, _run(tid, "A"))
    done = await graph.ainvoke(Command(resume="yes"), _run(tid, "R"))
    assert done["messages"] == ["hi", "answer:yes", "done"]
    await asaver.adelete_for_runs(["R"])

    oracle = _approval_graph(InMemorySaver())  # the thread as if R never ran
    await oracle.ainvoke({"messages": ["hi"]}, _run(tid, "A"))
    ours = await _observe(graph, _run(tid, "B"))
    assert ours == await _observe(oracle, _run(tid, "B"))
    assert "answer:yes" not in repr(ours)  # the interrupt fires again: nothing replayed


async def test_delete_for_runs_reaches_copies(asaver: AsyncRedisSaver) -> None:
    """A copied thread is filed under the runs of its source, writes included."""
    tid, copy = str(uuid.uuid4()), str(uuid.uuid4())
    graph = _approval_graph(asaver)
    await graph.ainvoke({"messages": ["hi"]}, _run(tid, "A"))
    await graph.ainvoke(Command(resume="yes"), _run(tid, "R"))
    await asaver.acopy_thread(tid, copy)
    await asaver.adelete_for_runs(["R"])
    oracle = _approval_graph(InMemorySaver())
    await oracle.ainvoke({"messages": ["hi"]}, _run(tid, "A"))
    expected = await _observe(oracle, _run(tid, "B"))
    assert await _observe(graph, _run(copy, "B")) == expected
    assert await _observe(graph, _run(tid, "B")) == expected


async def test_delete_for_runs_keeps_other_runs_writes(asaver: AsyncRedisSaver) -> None:
    """Only writes the deleted run stored go; the same fields written first by another
    run (first write wins) stay."""
    tid = str(uuid.uuid4())
    stored = await asaver.aput(
        _run(tid, "A"), snapshot(), cast(CheckpointMetadata, {"step": 0}), {}
    )
    await asaver.aput_writes({**stored, "metadata": {"run_id": "A"}}, [("c", "a")], "t1")
    await asaver.aput_writes({**stored, "metadata": {"run_id": "R"}}, [("c", "r")], "t1")
    await asaver.aput_writes({**stored, "metadata": {"run_id": "R"}}, [("c", "r2")], "t2")
    await asaver.adelete_for_runs(["R"])
    found = await asaver.aget_tuple(stored)
    assert found is not None
    assert [(w[0], w[2]) for w in found.pending_writes or []] == [("t1", "a")]


async def test_delete_for_runs_reads_entries_of_earlier_releases(
    asaver: AsyncRedisSaver, aclient: AsyncRedis, key_prefix: str
) -> None:
    """Run indexes written before this format named one checkpoint each."""
    tid = str(uuid.uuid4())
    meta = cast(CheckpointMetadata, {"step": 0})
    old = await asaver.aput({"configurable": {"thread_id": tid}}, snapshot(), meta, {})
    kept = await asaver.aput(old, snapshot(), meta, {})
    cid = old["configurable"]["checkpoint_id"]
    await aclient.sadd(f"{key_prefix}:run:{{R}}", f"{tid}\0\0{cid}")
    await asaver.adelete_for_runs(["R"])
    assert await asaver.aget_tuple(old) is None
    assert await asaver.aget_tuple(kept) is not None
    assert not await aclient.exists(f"{key_prefix}:run:{{R}}")


# -- item 8: nothing leaks -------------------------------------------------------------


async def _keys(client: AsyncRedis, prefix: str) -> list[bytes]:
    return sorted([k async for k in client.scan_iter(match=f"{prefix}:*", count=1000)])


@pytest.mark.parametrize("strategy", ["delete_thread", "prune"])
async def test_deleting_threads_unlists_them_from_run_indexes(
    asaver: AsyncRedisSaver, aclient: AsyncRedis, key_prefix: str, strategy: str
) -> None:
    """After every thread is deleted, no key is left under the prefix, run indexes included."""
    tids = [str(uuid.uuid4()) for _ in range(3)]
    graph = _approval_graph(asaver)
    for tid in tids:
        await graph.ainvoke({"messages": ["hi"]}, _run(tid, "A"))
        await graph.ainvoke(Command(resume="yes"), _run(tid, f"R-{tid}"))
    await asaver.adelete_thread(tids[0]) if strategy == "delete_thread" else await asaver.aprune(
        tids[:1], strategy="delete"
    )
    assert not await aclient.exists(f"{key_prefix}:run:{{R-{tids[0]}}}")
    assert await aclient.smembers(f"{key_prefix}:run:{{A}}") == {
        b"\0" + t.encode() for t in tids[1:]
    }
    await asaver.adelete_for_runs(["A"])  # the rest of the thread is still there
    assert await graph.aget_state(_run(tids[1], "x")) is not None
    for tid in tids[1:]:
        await asaver.adelete_thread(tid)
    assert await _keys(aclient, key_prefix) == []


class Counter(TypedDict):
    n: int
    payload: str


def _loop_graph(saver: Any, until: int) -> Any:
    builder = StateGraph(Counter)
    builder.add_node("step", lambda state: {"n": state["n"] + 1, "payload": "x" * 200})
    builder.add_edge(START, "step")
    builder.add_conditional_edges("step", lambda state: END if state["n"] >= until else "step")
    return builder.compile(checkpointer=saver)


async def _footprint(client: AsyncRedis, prefix: str) -> tuple[int, int, dict[str, int]]:
    """Key count, bytes (MEMORY USAGE) and the size of every set under ``prefix``."""
    keys = await _keys(client, prefix)
    memory = sum([await client.memory_usage(k) or 0 for k in keys])
    sets = {k.decode(): await client.scard(k) for k in keys if await client.type(k) == b"set"}
    return len(keys), memory, sets


@pytest.mark.parametrize("run_id", [None, "run-1"])
async def test_shallow_thread_storage_stays_flat(
    redis_url: str, key_prefix: str, aclient: AsyncRedis, run_id: str | None
) -> None:
    """1,000 steps of one run: same keys, same set sizes, same memory at 10, 100, 1,000."""
    async with AsyncShallowRedisSaver.from_conn_string(redis_url, prefix=key_prefix) as saver:
        graph = _loop_graph(saver, 1000)
        cfg: Any = {
            "configurable": {"thread_id": str(uuid.uuid4())},
            "metadata": {"run_id": run_id} if run_id else {},
            "recursion_limit": 2000,
        }
        seen = {}
        # sync durability: each step's writes are stored before the next step starts
        kw: Any = {"stream_mode": "values", "durability": "sync"}
        first = {"n": 0, "payload": ""}
        steps = graph.astream(first, cfg, **kw)  # sync: steps = graph.stream(first, cfg, **kw)
        async for state in steps:
            if state["n"] in (10, 100, 1000):
                seen[state["n"]] = await _footprint(aclient, key_prefix)
        (k10, m10, s10), (k100, m100, s100), (k1000, m1000, s1000) = seen.values()
        assert k10 == k100 == k1000
        assert s10 == s100 == s1000
        # Flat up to a constant: MEMORY USAGE counts allocator size classes, and version
        # strings (a random tiebreak) vary by a few bytes, so one reading moved by ~300
        # bytes (4 %) between otherwise equal states. A per-step leak of even 2 bytes is
        # ~2 KB by step 1,000.
        assert m1000 <= m10 + 1024 and m1000 <= m100 + 1024
        if run_id:
            assert await aclient.smembers(f"{key_prefix}:run:{{{run_id}}}") == {
                b"\0" + cfg["configurable"]["thread_id"].encode()
            }


async def test_shallow_thread_with_a_run_per_invocation_stays_flat(
    redis_url: str, key_prefix: str, aclient: AsyncRedis
) -> None:
    """Each invocation a new ``run_id`` (what LangGraph's server does): a run whose last
    checkpoint the shallow put dropped leaves the thread's run set and the run's index,
    so keys and sets stay the same from invocation to invocation (before: one run index
    key per invocation, and the thread's run set grew by one)."""
    async with AsyncShallowRedisSaver.from_conn_string(redis_url, prefix=key_prefix) as saver:
        graph = _loop_graph(saver, 3)
        tid = str(uuid.uuid4())
        seen = []
        for i in range(12):
            cfg: Any = {"configurable": {"thread_id": tid}, "metadata": {"run_id": f"run-{i}"}}
            await graph.ainvoke({"n": 0, "payload": ""}, cfg)
            if i in (2, 11):
                seen.append(await _footprint(aclient, key_prefix))
        (k2, _, s2), (k11, _, s11) = seen
        assert (k11, sorted(s11.values())) == (k2, sorted(s2.values()))
        assert await aclient.smembers(f"{key_prefix}:{{{tid}}}:runs") == {b"run-11"}
        await saver.adelete_thread(tid)
        assert await _keys(aclient, key_prefix) == []


async def test_shallow_ignores_writes_for_dropped_checkpoints(
    redis_url: str, key_prefix: str, aclient: AsyncRedis
) -> None:
    """With async durability a step's writes can land after the next put dropped their
    checkpoint; stored, nothing would ever read or delete them. Writes that come before
    their own checkpoint's put are kept."""
    async with AsyncShallowRedisSaver.from_conn_string(redis_url, prefix=key_prefix) as saver:
        tid = str(uuid.uuid4())
        meta = cast(CheckpointMetadata, {"step": 0})
        first = await saver.aput(_run(tid, "A"), snapshot(), meta, {})
        second = await saver.aput(first, snapshot(), meta, {})
        await saver.aput_writes(first, [("c", "late")], "t1")  # first is gone
        upcoming = snapshot()
        early: Any = {"configurable": {**second["configurable"], "checkpoint_id": upcoming["id"]}}
        await saver.aput_writes(early, [("c", "early")], "t2")  # before its put
        await saver.aput(second, upcoming, meta, {})
        found = await saver.aget_tuple(early)
        assert found is not None and [w[2] for w in found.pending_writes or []] == ["early"]
        keys = [k.decode() for k in await _keys(aclient, key_prefix)]
        assert [k for k in keys if ":w:" in k] == [f"{key_prefix}:{{{tid}}}:w::{upcoming['id']}"]


# -- registries follow expiry (the saver's clock is set by the test, never waited on) ---

T0 = 1_900_000_000_000  # ms; registry scores use the saver's clock, key TTLs the server's


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    now = [T0]
    monkeypatch.setattr(saver_module, "now_ms", lambda: now[0])
    return now


async def _listed(saver: AsyncRedisSaver) -> set[str]:
    return {t.config["configurable"]["thread_id"] async for t in saver.alist(None)}


async def test_thread_kept_alive_by_reads_stays_listed(
    redis_url: str, key_prefix: str, clock: list[int]
) -> None:
    ttl = {"default_ttl": 1, "refresh_on_read": True}  # 60 s
    async with AsyncRedisSaver.from_conn_string(redis_url, prefix=key_prefix, ttl=ttl) as saver:
        meta = cast(CheckpointMetadata, {"step": 0})
        reader = await saver.aput(_run("reader", "A"), snapshot(), meta, {})
        clock[0] += 50_000
        assert await saver.aget_tuple(reader) is not None  # now expires at +110 s
        clock[0] += 20_000  # past the write's expiry (+60 s), before the read's
        await saver.aput(_run("writer", "B"), snapshot(), meta, {})  # prunes the registry
        assert await _listed(saver) == {"reader", "writer"}


async def test_reads_keep_the_run_index_alive(
    redis_url: str, key_prefix: str, aclient: AsyncRedis
) -> None:
    """A thread kept alive by reads keeps its runs' ``P:run:{R}``, so
    ``delete_for_runs`` still finds it once the write's own expiry has passed (the
    index, in another slot, was renewed by writes only and expired under the thread)."""
    ttl = {"default_ttl": 1, "refresh_on_read": True}  # 60 s
    async with AsyncRedisSaver.from_conn_string(redis_url, prefix=key_prefix, ttl=ttl) as saver:
        meta = cast(CheckpointMetadata, {"step": 0})
        written = await saver.aput(_run("kept", "R"), snapshot(), meta, {})
        index = f"{key_prefix}:run:{{R}}"
        await aclient.pexpire(index, 5)  # as if the write's 60 s had all but passed
        assert await saver.aget_tuple(written) is not None
        assert await aclient.pttl(index) > 50_000
        await aclient.persist(index)  # a TTL-less index (older data) is not given one
        await saver.aget_tuple(written)
        assert await aclient.pttl(index) == -1
        await saver.adelete_for_runs(["R"])
        assert await saver.aget_tuple(written) is None


async def test_expired_threads_leave_the_registries(
    redis_url: str, key_prefix: str, aclient: AsyncRedis, clock: list[int]
) -> None:
    """Copies included: a copy made under TTL was listed forever (score 0)."""
    async with AsyncRedisSaver.from_conn_string(
        redis_url, prefix=key_prefix, ttl={"default_ttl": 1}
    ) as saver:
        meta = cast(CheckpointMetadata, {"step": 0})
        await saver.aput(_run("source", "R"), snapshot(), meta, {})
        await saver.acopy_thread("source", "copy")
        assert await _listed(saver) == {"source", "copy"}
        assert 0 < await aclient.pttl(f"{key_prefix}:run:{{R}}") <= 60_000
        for tid in ("source", "copy"):  # expire both threads' keys now
            registry = f"{key_prefix}:{{{tid}}}:keys"
            await aclient.unlink(*await aclient.smembers(registry), registry)
        clock[0] += 61_000
        await saver.aput(_run("later", "L"), snapshot(), meta, {})
        threads = await aclient.zrange(f"{key_prefix}:threads", 0, -1)
        assert threads == [b"later"]
