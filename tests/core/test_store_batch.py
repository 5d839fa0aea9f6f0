"""Batch grouping (``_core/store/batch.py``): pure, no server."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from langgraph.store.base import GetOp, Op, PutOp, SearchOp

from langgraph_redis._core.store.batch import prepare_batch
from langgraph_redis._core.store.config import VectorConfig, vector_bytes

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


_EDGES = [0.0, -0.0, 1e-45, -1e-45, 1.17e-38, 3.4028234e38, 3.5e38, -1e300, math.inf, -math.inf]


@given(
    st.lists(
        st.one_of(
            st.floats(allow_nan=False, width=64),
            st.integers(min_value=-(2**60), max_value=2**60),
            st.sampled_from(_EDGES),
            st.floats(width=32).map(np.float32),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_vectors_pack_to_the_bytes_numpy_gives(vector: list[Any]) -> None:
    """The struct fast path stores what ``np.asarray(v, float32)`` stored before it: the
    same rounding, subnormals, signed zeros, and infinity past float32's range."""
    with np.errstate(over="ignore"):  # numpy warns where it stores infinity
        expected = np.asarray(vector, dtype=np.float32).tobytes()
        assert vector_bytes(vector, np.float32) == expected
        assert vector_bytes(np.asarray(vector, dtype=np.float64), np.float32) == expected
        half = np.asarray(vector, dtype=np.float16).tobytes()
        assert vector_bytes(vector, np.float16) == half


def test_nan_packs_as_nan() -> None:
    (value,) = np.frombuffer(vector_bytes([math.nan], np.float32), dtype=np.float32)
    assert math.isnan(value)
