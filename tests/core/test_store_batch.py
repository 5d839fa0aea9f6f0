"""Batch grouping (``_core/store/batch.py``): pure, no server."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langgraph.store.base import GetOp, Op, PutOp, SearchOp

from langgraph_redis._core.store.batch import prepare_batch
from langgraph_redis._core.store.config import VectorConfig

CFG = VectorConfig(dims=3, fields=(("text", ["text"]),))


def test_last_put_of_a_key_wins_and_keeps_its_place_last() -> None:
    ops = [
        PutOp(("a",), "k", {"text": "one"}),
        PutOp(("a",), "j", {"text": "two"}),
        PutOp(("a",), "k", {"text": "three"}),
    ]
    prepared = prepare_batch(ops, CFG)
    assert [(p.key, json.loads(p.value_json or "")) for p in prepared.puts] == [
        ("j", {"text": "two"}),
        ("k", {"text": "three"}),
    ]
    assert prepared.texts == ["two", "three"]


def test_queries_are_distinct_sorted_and_only_with_a_vector_config() -> None:
    ops = [SearchOp(("a",), query="z"), SearchOp(("a",), query="b"), SearchOp(("a",), query="z")]
    assert prepare_batch(ops, CFG).queries == ["b", "z"]
    assert prepare_batch(ops, None).queries == []
    assert sorted(prepare_batch(ops, None).filters) == [0, 1, 2]


def test_gets_keep_their_positions() -> None:
    ops: list[Op] = [SearchOp(("a",)), GetOp(("a",), "k"), GetOp(("b",), "j")]
    assert [i for i, _ in prepare_batch(ops, None).gets] == [1, 2]


def test_a_bad_op_fails_the_batch_before_any_put_is_prepared() -> None:
    namespace: Any = "memories"  # a string, not a tuple
    bad: list[Op] = [PutOp(("a",), "k", {"v": 1}), GetOp(namespace, "k")]
    with pytest.raises(TypeError, match="tuple of strings"):
        prepare_batch(bad, None)


def test_write_must_finish_for_a_delete_or_on_a_cluster() -> None:
    puts_only = prepare_batch([PutOp(("a",), "k", {"v": 1})], None)
    assert not puts_only.write_must_finish(cluster=False)
    assert puts_only.write_must_finish(cluster=True)
    assert prepare_batch([PutOp(("a",), "k", None)], None).write_must_finish(cluster=False)
