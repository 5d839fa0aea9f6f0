"""Store filters: parity with InMemoryStore, validation, and query-engine prefilters."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langgraph.store.memory import _compare_values

from langgraph_redis._core.store.filters import (
    compile_filter,
    lookup,
    token,
    value_tokens,
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(-5, 5, allow_nan=False),
    st.sampled_from(["a", "b", "a-b:c{d}|*\"'", "ünï", "5", ""]),
)
keys = st.sampled_from(["x", "y", "z"])
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=3)),
    max_leaves=8,
)
docs = st.dictionaries(keys, values, max_size=3)
numbers = st.one_of(st.integers(-5, 5), st.floats(-5, 5, allow_nan=False))
ops = st.one_of(
    st.tuples(st.sampled_from(["$eq", "$ne"]), values),
    st.tuples(st.sampled_from(["$gt", "$gte", "$lt", "$lte"]), numbers),
)
expected = st.one_of(
    values,
    st.dictionaries(st.sampled_from(["$eq", "$ne"]), values, min_size=1),
    ops.map(lambda t: {t[0]: t[1]}),
)
filters = st.dictionaries(keys, expected, max_size=3)


def _memory_matches(doc: dict[str, Any], spec: dict[str, Any]) -> bool | None:
    """InMemoryStore's answer, or None when it raises (non-numeric range operand)."""
    try:
        return all(_compare_values(doc.get(k), v) for k, v in spec.items())
    except (TypeError, ValueError):
        return None


@settings(max_examples=500)
@given(docs, filters)
def test_predicate_matches_in_memory_store(doc: dict[str, Any], spec: dict[str, Any]) -> None:
    want = _memory_matches(doc, spec)
    got = compile_filter(spec).matches(doc)
    if want is None:
        assert isinstance(got, bool)  # we never raise on stored data, and answer yes or no
    else:
        assert got == want


@settings(max_examples=500)
@given(docs, filters)
def test_tag_prefilter_never_drops_a_match(doc: dict[str, Any], spec: dict[str, Any]) -> None:
    flt = compile_filter(spec)
    if flt.matches(doc):
        toks = set(value_tokens(doc))
        for group in flt.tag_groups:
            assert toks & set(group)


@pytest.mark.parametrize(
    "spec",
    [
        {"a": {"$regex": "x"}},
        {"a": {"$gt": "abc"}},
        {"a": {"$in": 3}},
        {"$nor": [{"a": 1}]},
        {"a": {"$eq": 1, "b": 2}},
        {"a": {"b": {"$bogus": 1}}},
    ],
)
def test_bad_filters_raise_value_error(spec: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        compile_filter(spec)


def test_numbers_compare_as_numbers() -> None:
    flt = compile_filter({"n": {"$gt": 9}})
    assert flt.matches({"n": 10})
    assert flt.matches({"n": 10.5})
    assert not flt.matches({"n": 9})
    assert not flt.matches({"n": "abc"})
    assert not flt.matches({})


def test_in_and_nin() -> None:
    assert compile_filter({"c": {"$in": ["red", "blue"]}}).matches({"c": "red"})
    assert not compile_filter({"c": {"$in": ["red", "blue"]}}).matches({"c": "green"})
    assert compile_filter({"c": {"$nin": ["red"]}}).matches({"c": "green"})
    assert not compile_filter({"c": {"$nin": ["red"]}}).matches({"c": "red"})


def test_dotted_keys_reach_nested_objects_and_literal_keys_win() -> None:
    doc = {"a": {"b": {"c": 1}}, "x.y": 2}
    assert lookup(doc, "a.b.c") == 1
    assert lookup(doc, "x.y") == 2
    assert compile_filter({"a.b.c": 1}).matches(doc)
    assert compile_filter({"a": {"b": {"c": {"$gte": 1}}}}).matches(doc)
    assert not compile_filter({"a.b.c": 2}).matches(doc)


def test_equal_numbers_share_a_token() -> None:
    assert token("n", 1) == token("n", 1.0) == token("n", True)
    assert token("n", 1) != token("n", "1")
    assert token("n", None) is None


def test_query_text_needs_no_escaping() -> None:
    text = compile_filter({"s": "a b-c:{d}|\"'", "n": {"$in": [1, 2]}}).query_text()
    assert text.startswith("@flt:{")
    body = text.replace("@flt:{", "").replace("}", "").replace("|", "").replace(" ", "")
    assert body.isalnum()


def test_and_or_combine_filters() -> None:
    items = [{"x": 1, "y": "b"}, {"x": 2, "y": "c"}, {"x": 3, "y": "c"}]
    either = compile_filter({"$or": [{"x": 1}, {"y": "c", "x": {"$gte": 3}}]})
    assert [i["x"] for i in items if either.matches(i)] == [1, 3]
    both = compile_filter({"$and": [{"y": "c"}, {"x": {"$lt": 3}}]})
    assert [i["x"] for i in items if both.matches(i)] == [2]
    assert both.query_text()  # the $and branches narrow the query engine's candidates
    nested = compile_filter({"y": "c", "$or": [{"x": 2}, {"$and": [{"x": 3}, {"y": "c"}]}]})
    assert [i["x"] for i in items if nested.matches(i)] == [2, 3]
    with pytest.raises(ValueError, match=r"\$or takes a list"):
        compile_filter({"$or": {"x": 1}})
    with pytest.raises(ValueError, match=r"\$nor"):
        compile_filter({"$nor": [{"x": 1}]})
