# WARNING: generated from tests/_async/test_saver_lifecycle.py by scripts/async_to_sync.py.
# DO NOT EDIT: change the async source and regenerate.
"""What prune, delete_for_runs and delete_thread leave behind, against real servers.

LangGraph's ``InMemorySaver`` is the oracle: it never prunes or deletes runs, so what
must survive is what it shows for the same graph (a pruned history is a prefix of its
history; after deleting a run, the thread reads as if the run never happened).
The sync twin (``tests/_sync/test_saver_lifecycle.py``) is generated from this file.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from typing import Annotated, Any, cast

import pytest
from langgraph.channels import DeltaChannel
from langgraph.checkpoint.base import CheckpointMetadata
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

from langgraph_redis import RedisSaver, ShallowRedisSaver
from langgraph_redis._acompat import Redis


@pytest.fixture
def saver(redis_url: str, key_prefix: str) -> Iterator[RedisSaver]:
    with RedisSaver.from_conn_string(redis_url, prefix=key_prefix) as saver:
        saver.setup()
        yield saver


@pytest.fixture
def client(redis_url: str) -> Iterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    client.close()


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


def _history(graph: Any, cfg: Any) -> list[tuple[Any, ...]]:
    return [
        (s.next, s.values, cast(CheckpointMetadata, s.metadata)["step"])
        for s in graph.get_state_history(cfg)
    ]


def _chat(graph: Any, cfg: Any, turns: range) -> None:
    for turn in turns:
        graph.invoke({"messages": [f"m{turn}"]}, cfg)


# -- item 6: prune keeps what delta channels need -------------------------------------


def test_prune_keeps_delta_channel_ancestors(saver: RedisSaver) -> None:
    """keep_latest keeps the ancestors a DeltaChannel is rebuilt from (16 messages, not [])."""
    cfg: Any = {"configurable": {"thread_id": str(uuid.uuid4())}}
    oracle_graph, graph = _delta_graph(InMemorySaver()), _delta_graph(saver)
    _chat(oracle_graph, cfg, range(8))
    _chat(graph, cfg, range(8))
    oracle = _history(oracle_graph, cfg)
    assert len(oracle[0][1]["messages"]) == 16

    saver.prune([cfg["configurable"]["thread_id"]], strategy="keep_latest")
    kept = _history(graph, cfg)
    assert kept[0] == oracle[0]  # the state LangGraph reads back
    assert kept == oracle[: len(kept)]  # every kept checkpoint reads as before
    assert len(kept) < len(oracle)  # and prune did drop the rest

    _chat(oracle_graph, cfg, range(8, 12))  # the pruned thread carries on alike
    _chat(graph, cfg, range(8, 12))
    assert (graph.get_state(cfg)).values == (oracle_graph.get_state(cfg)).values


def test_prune_is_unchanged_without_delta_channels(saver: RedisSaver) -> None:
    """Threads without delta channels still keep exactly one checkpoint per namespace."""
    builder = StateGraph(dict)  # type: ignore[type-var]  # a plain LastValue channel
    builder.add_node("n", lambda state: {"x": state["x"] + 1})
    builder.add_edge(START, "n")
    builder.add_edge("n", END)
    graph = builder.compile(checkpointer=saver)
    cfg: Any = {"configurable": {"thread_id": str(uuid.uuid4())}}
    for i in range(3):
        graph.invoke({"x": i}, cfg)
    saver.prune([cfg["configurable"]["thread_id"]])
    assert len([t for t in saver.list(cfg)]) == 1
    assert (graph.get_state(cfg)).values == {"x": 3}


def test_shallow_keeps_delta_channel_ancestors(redis_url: str, key_prefix: str) -> None:
    """The shallow saver keeps the ancestors a DeltaChannel needs, and no more."""
    with ShallowRedisSaver.from_conn_string(redis_url, prefix=key_prefix) as saver:
        cfg: Any = {"configurable": {"thread_id": str(uuid.uuid4())}}
        oracle_graph, graph = _delta_graph(InMemorySaver()), _delta_graph(saver)
        for turns in (range(8), range(8, 20)):
            _chat(oracle_graph, cfg, turns)
            _chat(graph, cfg, turns)
            oracle = _history(oracle_graph, cfg)
            kept = _history(graph, cfg)
            assert kept == oracle[: len(kept)]
            assert len(kept) <= 6  # newest, up to 5 updates back to the last snapshot
        saver.prune([cfg["configurable"]["thread_id"]])
        assert (graph.get_state(cfg)).values == oracle[0][1]
