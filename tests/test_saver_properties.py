"""Property tests: random saver operation sequences agree with LangGraph's InMemorySaver.

Labels, thread ids, channel names, metadata keys and values are drawn from query- and
key-syntax metacharacters, so an escaping mistake shows up as a disagreement.
"""

from __future__ import annotations

import uuid
from typing import Any, cast

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    CheckpointMetadata,
    CheckpointTuple,
    empty_checkpoint,
)
from langgraph.checkpoint.base.id import uuid6
from langgraph.checkpoint.memory import InMemorySaver

from langgraph_redis import RedisSaver, ShallowRedisSaver

META = "{}:*@|.-\"' \\%\x00\x01é漢"
text = st.text(alphabet=st.sampled_from([*META, "a", "b"]), min_size=1, max_size=6)
threads = st.sampled_from(["t1", "t}{2", "t:3"])
namespaces = st.sampled_from(["", "child:1", "a|b"])
channels = st.sampled_from(["messages", "x:y", "__error__", "__interrupt__", "{c}"])
values = st.one_of(st.integers(-(2**63), 2**63 - 1), text, st.lists(st.integers(0, 99), max_size=3))

put_op = st.tuples(
    st.just("put"),
    threads,
    namespaces,
    st.dictionaries(st.sampled_from(["messages", "x:y", "{c}"]), values, max_size=3),
    st.dictionaries(st.sampled_from(["user_id", "k.v", "a b"]), text, max_size=2),
)
writes_op = st.tuples(
    st.just("writes"),
    threads,
    namespaces,
    st.lists(st.tuples(channels, values), min_size=1, max_size=3),
    st.sampled_from(["task-1", "task:2"]),
)
list_op = st.tuples(
    st.just("list"),
    st.one_of(st.none(), threads),
    st.one_of(st.none(), namespaces),
    st.one_of(st.none(), st.fixed_dictionaries({"user_id": text})),
    st.one_of(st.none(), st.integers(min_value=0, max_value=4)),
)
get_op = st.tuples(st.just("get"), threads, namespaces)
delete_op = st.tuples(st.just("delete"), threads)
ops = st.lists(st.one_of(put_op, put_op, writes_op, list_op, get_op, delete_op), max_size=14)


def comparable(t: CheckpointTuple | None) -> Any:
    """What must read back equal to the oracle's tuple (the delta tests use it too)."""
    if t is None:
        return None
    return (
        t.config,
        t.checkpoint["id"],
        t.checkpoint["channel_values"],
        t.checkpoint["channel_versions"],
        dict(t.metadata),
        t.parent_config,
        t.pending_writes,
    )


def _apply(saver: BaseCheckpointSaver[Any], heads: dict[Any, Any], op: tuple[Any, ...]) -> Any:
    kind = op[0]
    if kind == "writes":
        _, tid, ns, writes, task = op
        head = heads.get((tid, ns))
        if head is None:
            return None
        cfg: RunnableConfig = {
            "configurable": {"thread_id": tid, "checkpoint_ns": ns, "checkpoint_id": head}
        }
        saver.put_writes(cfg, writes, task)
        return None
    if kind == "list":
        _, tid, ns, flt, limit = op
        ns = None if tid is None else ns  # a namespace only narrows a thread's listing
        list_cfg: RunnableConfig | None = None
        if tid is not None:
            list_cfg = {"configurable": {"thread_id": tid}}
            if ns is not None:
                list_cfg["configurable"]["checkpoint_ns"] = ns
        found = [comparable(t) for t in saver.list(list_cfg, filter=flt, limit=limit)]
        # order across threads is unspecified: compare per-thread order only
        if ns is None and limit is not None:
            return len(found)  # which namespace fills the limit first is unspecified
        if ns is None:
            # order across threads and namespaces is unspecified; within one namespace
            # it is newest first, which the stable sort keeps
            return sorted(
                found,
                key=lambda c: (
                    c[0]["configurable"]["thread_id"],
                    c[0]["configurable"]["checkpoint_ns"],
                ),
            )
        return found
    if kind == "get":
        _, tid, ns = op
        return comparable(
            saver.get_tuple({"configurable": {"thread_id": tid, "checkpoint_ns": ns}})
        )
    if kind == "delete":
        saver.delete_thread(op[1])
        for key in [k for k in heads if k[0] == op[1]]:  # forget the deleted heads
            del heads[key]
        return None
    raise AssertionError(kind)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sequence=ops)
def test_random_operations_match_in_memory_saver(redis_url: str, sequence: list[Any]) -> None:
    prefix = "prop" + uuid.uuid4().hex[:8]
    with RedisSaver.from_conn_string(redis_url, prefix=prefix) as ours:
        oracle = InMemorySaver()
        heads_ours: dict[Any, Any] = {}
        heads_oracle: dict[Any, Any] = {}
        for op in sequence:
            if op[0] == "put":
                # both savers get the same checkpoint id, drawn once
                got, want = _put_both(ours, oracle, heads_ours, heads_oracle, op, str(uuid6()))
            else:
                got, want = _apply(ours, heads_ours, op), _apply(oracle, heads_oracle, op)
            assert got == want, op
        for tid in ("t1", "t}{2", "t:3"):
            for ns in ("", "child:1", "a|b"):
                cfg: Any = {"configurable": {"thread_id": tid, "checkpoint_ns": ns}}
                assert comparable(ours.get_tuple(cfg)) == comparable(oracle.get_tuple(cfg))


def _put_both(
    ours: BaseCheckpointSaver[Any],
    oracle: BaseCheckpointSaver[Any],
    heads_ours: dict[Any, Any],
    heads_oracle: dict[Any, Any],
    op: tuple[Any, ...],
    new_id: str,
) -> tuple[Any, Any]:
    _, tid, ns, vals, meta = op
    results = []
    for saver, heads in ((ours, heads_ours), (oracle, heads_oracle)):
        cp = empty_checkpoint()
        cp["id"] = new_id
        cp["channel_values"] = dict(vals)
        cp["channel_versions"] = dict.fromkeys(vals, new_id)
        cfg: Any = {"configurable": {"thread_id": tid, "checkpoint_ns": ns}}
        if parent := heads.get((tid, ns)):
            cfg["configurable"]["checkpoint_id"] = parent
        stored = saver.put(
            cfg, cp, cast(CheckpointMetadata, dict(meta)), dict(cp["channel_versions"])
        )
        heads[(tid, ns)] = stored["configurable"]["checkpoint_id"]
        results.append(stored)
    return results[0], results[1]


def test_shallow_saver_keeps_one_per_namespace(redis_url: str, key_prefix: str) -> None:
    with ShallowRedisSaver.from_conn_string(redis_url, prefix=key_prefix) as saver:
        cfg: Any = {"configurable": {"thread_id": "x", "checkpoint_ns": ""}}
        for _ in range(3):
            cfg = saver.put(cfg, {**empty_checkpoint(), "id": str(uuid6())}, {}, {})
        assert len(list(saver.list({"configurable": {"thread_id": "x"}}))) == 1
