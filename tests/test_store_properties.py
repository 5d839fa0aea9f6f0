"""Property tests: random store operation sequences agree with LangGraph's InMemoryStore.

Namespace labels, item keys, JSON keys, filter values and query texts are drawn from
query-language and key-syntax metacharacters (plus spaces, unicode and NUL where the
store API allows them), so an escaping mistake shows up as a disagreement with the
oracle: an item that matches another item's filter, a label that reaches another
namespace, a query that changes meaning. Runs on every engine (``redis_url``), with a
fresh key prefix per example and the same embedder (``HashEmbeddings``) on both sides.

Normalised, because the two stores genuinely leave them unspecified or differ on
purpose (both documented in ``docs/design.md``, Store):

* order without a query: InMemoryStore keeps insertion order, ours is newest update
  first; the oracle's full result is re-sorted by the last write of each item;
* order among equal scores, and float32 vs float64 scores: compared by score (1e-4),
  so a tie may be broken either way, even at the page boundary;
* items without vectors after the scored ones: re-sorted like the no-query order;
* operators: InMemoryStore raises on a range operator over a non-number and knows no
  ``$in``/``$nin``; the oracle is given our documented semantics for exactly those
  (a non-number does not match; ``$in``/``$nin``: equals any / none);
* InMemoryStore quirks worked around: it keeps (and a get creates) namespaces with no
  items, and keeps an item's old vectors when it is overwritten with nothing to embed;
* dotted filter keys (``"meta.lang"``, our extension) are given to the oracle as the
  equivalent nested filter (no generated value has a literal dotted key).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import langgraph.store.memory
import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langgraph.store.base import Item, SearchItem
from langgraph.store.memory import InMemoryStore

from langgraph_redis import RedisStore
from langgraph_redis.demo import HashEmbeddings

DIMS = 32
META = "-.:@|*\"'{}()[]\\$%~ é漢🙂"
WORDS = ["coffee", "tea", "jazz", "bob", "paris", "night"]
chars = st.sampled_from([*META, "a", "b"])
label = st.text(
    alphabet=st.sampled_from([c for c in [*META, "a", "b"] if c != "."]), min_size=1, max_size=4
)
key = st.text(alphabet=st.sampled_from([*META, "a", "\x00"]), max_size=4)
hostile = st.text(alphabet=chars | st.just("\x00"), max_size=5)
word_text = st.builds(lambda w, h: f"{w} {h}", st.sampled_from(WORDS), hostile)
json_key = st.text(
    alphabet=st.sampled_from([c for c in [*META, "a", "\x00"] if c != "."]), max_size=3
).filter(lambda s: not s.startswith("$"))  # a top-level "$..." filter key is an operator
number = st.integers(-5, 5) | st.floats(-5, 5, allow_nan=False, width=32)
scalar = st.one_of(
    number,
    st.booleans(),
    st.none(),
    hostile,
)


def _value(draw: st.DrawFn) -> dict[str, Any]:
    value: dict[str, Any] = {}
    if draw(st.booleans()):
        value["text"] = draw(word_text)
    if draw(st.integers(0, 3)) == 0:
        # Never the same text as "text": InMemoryStore dedupes equal texts of one item
        # and then fails ("Number of embeddings ... does not match").
        value["alt"] = "alt " + draw(word_text)
    if draw(st.booleans()):
        value["n"] = draw(number | scalar)  # a number often: range filters compare it
    if draw(st.booleans()):
        value["meta"] = {"lang": draw(st.sampled_from(["en", "fr"]) | hostile), "s": draw(scalar)}
    if draw(st.booleans()):
        value[draw(json_key)] = draw(scalar)
    if draw(st.integers(0, 3)) == 0:
        value["lst"] = draw(st.lists(st.integers(0, 3), max_size=2))
    return value


RANGE = ["$gt", "$gte", "$lt", "$lte"]


def _bound(draw: st.DrawFn, numbers: list[tuple[str, float]]) -> dict[str, Any]:
    """A range filter at, or just beside, a number an item was put with, on that
    number's own field (``numbers``: (field, number) pairs), so an operator that
    compares the wrong way, or takes > for >=, changes the answer."""
    field, at = draw(st.sampled_from(numbers))
    return {field: {draw(st.sampled_from(RANGE)): at + draw(st.sampled_from([0, -0.5, 0.5]))}}


def _filter(draw: st.DrawFn, seen: list[Any], numbers: list[tuple[str, float]]) -> dict[str, Any]:
    """A filter made from values the items hold (so it can match) or fresh hostile ones."""
    pick = st.sampled_from(seen) if seen else scalar
    target = draw(st.one_of(pick, scalar))
    num = draw(number)
    # Dotted keys ("meta.s") only where a missing parent cannot match: with a missing
    # parent our path lookup yields None (like a missing top-level key), while the
    # oracle's nested form fails on the missing parent, so None-matching operators
    # ($ne, $nin, == None) would differ by construction.
    field = draw(st.sampled_from(["n", "lst", "text", "tag"]))
    kind = draw(st.integers(0, 13))
    if kind == 0:
        return {field: target}
    if kind == 1 or kind > 8:  # the range operators: nearly half the filters
        near = draw(st.booleans())  # half of them at a number the items hold
        if numbers and near:
            return _bound(draw, numbers)
        ranged = draw(st.sampled_from(["n", "meta.s", "text"]))
        return {ranged: {draw(st.sampled_from(RANGE)): num}}
    if kind == 2:
        return {field: {"$ne": target}}
    if kind == 3:
        return {field: {"$in": [target, draw(scalar)]}}
    if kind == 4:
        return {"meta": {"lang": draw(st.sampled_from(["en", "fr"]) | hostile)}}
    if kind == 5:
        return {
            "meta.lang": draw(st.sampled_from(["en", "fr"]) | pick.filter(lambda v: v is not None))
        }
    if kind == 6:
        return {field: {"$nin": [target]}, "n": {"$gte": num}}
    if kind == 7:
        return {draw(json_key): target}
    return {}


@st.composite
def scenarios(draw: st.DrawFn) -> list[tuple[Any, ...]]:
    roots = draw(st.lists(label, min_size=1, max_size=2, unique=True))
    pool = draw(
        st.lists(
            st.builds(
                lambda r, rest: (r, *rest), st.sampled_from(roots), st.lists(label, max_size=2)
            ),
            min_size=1,
            max_size=4,
            unique=True,
        )
    )
    keys = draw(st.lists(key, min_size=1, max_size=3, unique=True))
    seen: list[Any] = []
    numbers: list[tuple[str, float]] = []
    steps: list[tuple[Any, ...]] = []
    for _ in range(draw(st.integers(3, 14))):
        ns = draw(st.sampled_from(pool))
        kind = draw(
            st.sampled_from(["put", "put", "put", "delete", "get", "search", "search", "list"])
        )
        if kind == "put":
            value = _value(draw)
            seen.extend(v for v in value.values() if not isinstance(v, (dict, list)))
            seen.extend(value.get("meta", {}).values())
            for path, held in (("n", value.get("n")), ("meta.s", value.get("meta", {}).get("s"))):
                if isinstance(held, (int, float)) and not isinstance(held, bool):
                    numbers.append((path, held))
            steps.append(("put", ns, draw(st.sampled_from(keys)), value))
        elif kind in ("delete", "get"):
            steps.append((kind, ns, draw(st.sampled_from(keys))))
        elif kind == "search":
            prefix = ns[: draw(st.integers(0, len(ns)))]
            query = draw(st.none() | word_text)
            steps.append(
                (
                    "search",
                    prefix,
                    _filter(draw, seen, numbers),
                    query,
                    draw(st.integers(1, 6)),
                    draw(st.integers(0, 3)),
                )
            )
        else:
            prefix = tuple(
                draw(st.sampled_from([lbl, "*"])) for lbl in ns[: draw(st.integers(0, 2))]
            )
            suffix = tuple(
                draw(st.sampled_from([lbl, "*"])) for lbl in ns[len(ns) - draw(st.integers(0, 1)) :]
            )
            steps.append(
                (
                    "list",
                    prefix or None,
                    suffix or None,
                    draw(st.none() | st.integers(1, 3)),
                    draw(st.integers(1, 10)),
                    draw(st.integers(0, 2)),
                )
            )
    if numbers:
        # Last, a range search over every namespace, bounded near a number an item
        # holds: most scenarios then check a range operator where it decides the answer.
        steps.append(("search", (), _bound(draw, numbers), None, 20, 0))
    return steps


def _as_nested(spec: dict[str, Any]) -> dict[str, Any]:
    """``{"a.b": v}`` as ``{"a": {"b": v}}`` for the oracle (no value has a dotted key)."""
    out: dict[str, Any] = {}
    for k, v in spec.items():
        head, dot, rest = k.partition(".")
        if dot:
            out.setdefault(head, {})[rest] = v
        else:
            out[k] = v
    return out


_memory_operator = langgraph.store.memory._apply_operator  # before oracle_operators patches it


def _operator(value: Any, operator: str, op_value: Any) -> bool:
    """InMemoryStore's own operators, plus our documented answers where it has none:
    ``$in``/``$nin`` (equals any / none) and a range over a non-number (no match)."""
    if operator in ("$in", "$nin"):
        found = any(_memory_operator(value, "$eq", v) for v in op_value)
        return found if operator == "$in" else not found
    try:
        return bool(_memory_operator(value, operator, op_value))
    except (TypeError, ValueError):
        if operator not in ("$gt", "$gte", "$lt", "$lte"):
            raise
        return False  # ours: a non-number does not match (InMemoryStore raises)


def _plain(found: Any) -> Any:
    if found is None:
        return None
    return (tuple(found.namespace), found.key, found.value)


@pytest.fixture
def oracle_operators(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr("langgraph.store.memory._apply_operator", _operator)
    yield


def _examples(n: int) -> settings:
    """Hypothesis settings for a server test: ``n`` examples, no per-example deadline."""
    return settings(
        max_examples=n,
        deadline=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
        ],
    )


INDEX: Any = {"dims": DIMS, "embed": HashEmbeddings(DIMS), "fields": ["text", "alt"]}


@_examples(120)
@given(steps=scenarios())
def test_store_agrees_with_in_memory_store(
    redis_url: str, oracle_operators: None, steps: list[tuple[Any, ...]]
) -> None:
    _agrees(redis_url, steps)


@_examples(30)
@given(steps=scenarios())
def test_store_agrees_on_the_redis8_cluster(
    redis8_cluster_url: str, oracle_operators: None, steps: list[tuple[Any, ...]]
) -> None:
    """The vector-set engine on the 3-master Redis 8 cluster (prefix searches merge the
    namespaces' VSIM results across masters)."""
    _agrees(redis8_cluster_url, steps)


@pytest.fixture
def redis8_cluster_url() -> str:
    from tests.topology import CLUSTER_ENGINES, shared_cluster

    if "redis8" not in CLUSTER_ENGINES:
        pytest.skip("the Redis 8 cluster is not part of this run")
    return shared_cluster("redis8").url


def _agrees(redis_url: str, steps: list[tuple[Any, ...]]) -> None:
    prefix = f"prop_{uuid.uuid4().hex[:10]}"
    index: Any = {**INDEX, "ann_index_config": {"algorithm": "flat"}}
    ours = RedisStore(redis_url, index=index, prefix=prefix)
    oracle = InMemoryStore(index=INDEX)
    last_write: dict[tuple[tuple[str, ...], str], int] = {}

    def recency(item: Item) -> tuple[Any, ...]:
        return (-last_write[(tuple(item.namespace), item.key)], tuple(item.namespace), item.key)

    try:
        for i, step in enumerate(steps):
            if step[0] == "put":
                _, ns, k, value = step
                ours.put(ns, k, value)
                # InMemoryStore keeps an item's old vectors when a new value has no text
                # to embed (so it still scores by the old text); ours drops them.
                oracle._vectors.get(ns, {}).pop(k, None)
                oracle.put(ns, k, value)
                last_write[(ns, k)] = i
            elif step[0] == "delete":
                ours.delete(step[1], step[2])
                oracle.delete(step[1], step[2])
            elif step[0] == "get":
                assert _plain(ours.get(step[1], step[2])) == _plain(oracle.get(step[1], step[2]))
            elif step[0] == "search":
                _, prefix_ns, spec, query, limit, offset = step
                got = ours.search(prefix_ns, filter=spec, query=query, limit=limit, offset=offset)
                full = oracle.search(prefix_ns, filter=_as_nested(spec), query=query, limit=10**6)
                _check_search(got, full, query, limit, offset, recency, step)
            else:
                _, pre, suf, depth, limit, offset = step
                kwargs = {"prefix": pre, "suffix": suf, "max_depth": depth}
                # InMemoryStore keeps (and a get creates) namespaces without items; ours,
                # like PostgresStore, lists only namespaces that hold items.
                for empty in [n for n, items in oracle._data.items() if not items]:
                    del oracle._data[empty]
                assert ours.list_namespaces(**kwargs, limit=limit, offset=offset) == (
                    oracle.list_namespaces(**kwargs, limit=limit, offset=offset)
                ), step
    finally:
        if ours.engine == "query":
            with redis.Redis.from_url(redis_url) as admin:
                admin.execute_command("FT.DROPINDEX", f"{prefix}:idx")
        ours.close()


def _check_search(
    got: list[SearchItem],
    full: list[SearchItem],
    query: str | None,
    limit: int,
    offset: int,
    recency: Any,
    step: Any,
) -> None:
    if query is None:
        expected = sorted(full, key=recency)[offset : offset + limit]
        assert [_plain(g) for g in got] == [_plain(e) for e in expected], step
        return
    scored = [f for f in full if f.score is not None]
    scoreless = sorted((f for f in full if f.score is None), key=recency)
    page = scored[offset : offset + limit]
    expected_tail = scoreless[: limit - len(page)]
    assert len(got) == len(page) + len(expected_tail), (step, got, full)
    oracle_score = {(tuple(f.namespace), f.key): (f.score, _plain(f)) for f in scored}
    seen = set()
    for g, e in zip(got, page, strict=False):
        ident = (tuple(g.namespace), g.key)
        assert ident not in seen, step
        seen.add(ident)
        assert g.score is not None and e.score is not None, step
        assert g.score == pytest.approx(e.score, abs=1e-4), step  # same rank, same score
        score, plain = oracle_score[ident]  # an item the oracle ranks too ...
        assert g.score == pytest.approx(score, abs=1e-4), step  # ... with that score
        assert _plain(g) == plain, step
    tail = got[len(page) :]
    assert all(g.score is None for g in tail), step
    assert [_plain(g) for g in tail] == [_plain(e) for e in expected_tail], step
