"""What prune, delete_for_runs and delete_thread leave behind, against real servers.

LangGraph's ``InMemorySaver`` is the oracle: it never prunes or deletes runs, so what
must survive is what it shows for the same graph (a pruned history is a prefix of its
history; after deleting a run, the thread reads as if the run never happened).
The sync twin (``tests/_sync/test_saver_lifecycle.py``) is generated from this file.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Annotated, Any, cast

import pytest
from langgraph.channels import DeltaChannel
from langgraph.checkpoint.base import CheckpointMetadata
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

from langgraph_redis import AsyncRedisSaver, AsyncShallowRedisSaver
from langgraph_redis._acompat import AsyncRedis


@pytest.fixture
async def asaver(redis_url: str, key_prefix: str) -> AsyncIterator[AsyncRedisSaver]:
    async with AsyncRedisSaver.from_conn_string(redis_url, prefix=key_prefix) as saver:
        await saver.asetup()
        yield saver


@pytest.fixture
async def aclient(redis_url: str) -> AsyncIterator[AsyncRedis]:
    client = AsyncRedis.from_url(redis_url)
    yield client
    await client.aclose()


def _extend(state: list[str], writes: Sequence[list[str]]) -> list[str]:
    out = list(state)
    for batch in writes:
        out.extend(batch)
    return out


class DeltaChat(TypedDict):
    # a value is stored every 5th update; in between it is rebuilt from ancestor writes
    messages: Annotated[list[str], DeltaChannel(_extend, snapshot_frequency=5)]


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
