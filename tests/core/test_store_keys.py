"""Store key formats: escaping round-trips and keeps hash tags intact."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from langgraph_redis._core.plans import check_prefix
from langgraph_redis._core.store import keys as sk

HOSTILE = [
    "a-b",
    "c:d",
    "@x|y",
    "*",
    "q'\"",
    "sp ace",
    "{br}",
    "ünï©ode",
    "%41",
    "b\\s",
    "t\tab",
    "a.b",
]

labels = st.text(min_size=1).filter(lambda s: "." not in s and "\x00" not in s)


@given(st.text())
def test_escape_round_trips(text: str) -> None:
    esc = sk.escape(text)
    assert sk.unescape(esc) == text
    assert not set(esc) & set(".:{}|,*?[]")


@given(st.lists(labels, min_size=1, max_size=5))
def test_namespace_round_trips(ns: list[str]) -> None:
    assert sk.ns_from_text(sk.ns_text(tuple(ns))) == tuple(ns)


def test_hostile_labels_and_keys_share_one_hash_tag() -> None:
    ns = tuple(h for h in HOSTILE if "." not in h)
    for key in HOSTILE:
        nst = sk.ns_text(ns)
        item = sk.item_key("p", nst, key)
        tag = item[item.index("{") + 1 : item.index("}")]
        assert tag == nst
        assert sk.keys_key("p", nst).endswith("{" + nst + "}")
        assert sk.version_key("p", nst).endswith("{" + nst + "}")
        assert sk.stamps_key("p", nst).endswith("{" + nst + "}")
        assert sk.tombstones_key("p", nst).endswith("{" + nst + "}")
        assert sk.vec_key_base("p", nst, key).startswith("p:v:{" + nst + "}:")
        # The snapshot scripts build item and vector keys from these and the escaped key.
        assert sk.item_key_prefix("p", nst) + sk.escape(key) == item
        base = sk.vec_ns_prefix("p", nst) + sk.escape(key) + ":"
        assert base == sk.vec_key_base("p", nst, key)


@given(st.lists(labels, min_size=1, max_size=4), st.lists(labels, min_size=1, max_size=4))
def test_is_under_matches_tuple_prefix(a: list[str], b: list[str]) -> None:
    ta, tb = tuple(a), tuple(b)
    assert sk.is_under(sk.ns_text(ta), sk.ns_text(tb)) == (ta[: len(tb)] == tb)
    lo, hi = sk.ns_lex_range(sk.ns_text(tb))
    if ta[: len(tb)] == tb:
        text = sk.ns_text(ta).encode()
        assert lo[1:].encode() <= text < hi[1:].encode()


def test_prefix_with_braces_is_refused() -> None:
    import pytest

    with pytest.raises(ValueError):
        check_prefix("a{b}", "store")
    assert sk.ns_lex_range("") == ("-", "+")
