"""The node cache's plans and entry format, without a server."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from langgraph_redis._core import cache
from langgraph_redis._core.cache import CacheConfig, namespace_tag
from langgraph_redis._core.plans import Batch, ScriptCall

CFG = CacheConfig("p", JsonPlusSerializer())
labels = st.text(alphabet=st.characters(codec="utf-8"), max_size=6)


@given(st.lists(st.tuples(*[]) | st.lists(labels, max_size=4).map(tuple), min_size=2, max_size=2))
def test_namespace_tags_are_unique_and_keep_the_hash_tag(pair: list[tuple[str, ...]]) -> None:
    one, two = pair
    assert (namespace_tag(one) == namespace_tag(two)) == (one == two)
    for ns in pair:
        assert "{" not in namespace_tag(ns) and "}" not in namespace_tag(ns)


def test_empty_namespace_and_one_empty_label_differ() -> None:
    assert namespace_tag(()) != namespace_tag(("",))
    assert CFG.entry(namespace_tag(("a",)), "k") == "p:cache:{1:a}:e:k"


@pytest.mark.parametrize(
    ("ttl", "ms"), [(None, -1), (0, 0), (-5, 0), (0.0004, 1), (1, 1000), (2.5, 2500)]
)
def test_ttl_seconds_to_ms(ttl: Any, ms: int) -> None:
    assert cache.ttl_ms(ttl) == ms


@pytest.mark.parametrize("ttl", ["10", True, float("nan"), [1]])
def test_bad_ttl_is_a_type_error(ttl: Any) -> None:
    with pytest.raises(TypeError):
        cache.ttl_ms(ttl)


def test_set_plan_writes_the_registry_first_and_one_script_per_namespace() -> None:
    pairs: dict[cache.FullKey, tuple[Any, Any]] = {
        (("a",), "1"): ("x", 10),
        (("a",), "2"): ("y", None),
        (("b",), "3"): ("z", 0),
    }
    plan = cache.plan_set(CFG, pairs, now_ms=1_000)
    calls = [c for c in plan.commands if isinstance(c, ScriptCall)]
    assert [c.script.name for c in calls] == ["cache_registry", "cache_set", "cache_set"]
    # namespace ("b",) only drops its entry: it is not registered
    assert calls[0].args == (1_000, "inf", "1:a")
    assert calls[1].keys[0] == "p:cache:{1:a}:idx"
    assert calls[2].args[1] == 0  # TTL 0: removed, not stored
    assert plan.writes


def test_set_plan_registers_the_latest_expiry() -> None:
    plan = cache.plan_set(CFG, {(("a",), "1"): (1, 10), (("a",), "2"): (2, 30)}, now_ms=5)
    registry = plan.commands[0]
    assert isinstance(registry, ScriptCall)
    assert registry.args == (5, str(5 + 30_000), "1:a")


def test_entry_round_trip_and_misses(caplog: pytest.LogCaptureFixture) -> None:
    raw = cache.encode_entry(*CFG.serde.dumps_typed({"a": [1, 2]}))
    assert cache.decode_entry(CFG, "k", raw) == (True, {"a": [1, 2]})
    cfg = CacheConfig("p", JsonPlusSerializer())
    bad = [None, b"", b"garbage", b"9\x00json\x00{}", b"1\x00json\x00{", ValueError("boom"), 7]
    with caplog.at_level(logging.DEBUG, logger="langgraph_redis"):
        for _ in range(2):
            for value in bad:
                assert cache.decode_entry(cfg, "k", value) == (False, None)
    warned = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == len({r.getMessage().split(": ", 1)[1] for r in warned}) == 5


def test_clear_plan_walks_the_registry_until_empty() -> None:
    plan = cache.plan_clear(CFG, None)
    assert not isinstance(plan, Batch)
    first = next(plan)
    assert first.commands == (("ZRANGE", "p:cache:namespaces", 0, cache.CLEAR_CHUNK - 1),)
    step = plan.send([[b"1:a", b"0:"]])
    assert [c.keys for c in step.commands if isinstance(c, ScriptCall)] == [
        ("p:cache:{1:a}:idx",),
        ("p:cache:{0:}:idx",),
    ]
    step = plan.send([3, 0])  # ("a",) still has entries left: it is cleared again
    assert [c.keys for c in step.commands if isinstance(c, ScriptCall)] == [("p:cache:{1:a}:idx",)]
    step = plan.send([0])
    assert step.commands == (("ZREM", "p:cache:namespaces", "1:a", "0:"),)
    step = plan.send([2])
    assert step.commands == (("ZRANGE", "p:cache:namespaces", 0, cache.CLEAR_CHUNK - 1),)
    with pytest.raises(StopIteration):
        plan.send([[]])


def test_keys_and_namespaces_are_checked() -> None:
    with pytest.raises(TypeError, match="tuple"):
        cache.plan_get(CFG, [("a", "k")])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="tuples"):
        cache.plan_clear(CFG, "ab")  # type: ignore[arg-type]
