"""Reply normalisers (``_core/replies.py``): every RESP2/RESP3 shape reads the same."""

from __future__ import annotations

import pytest

from langgraph_redis._core.replies import as_map, check_format, pairs, text, text_pairs
from langgraph_redis.errors import CorruptDataError, UnsupportedFormatError


def test_text_decodes_bytes_and_stringifies_the_rest() -> None:
    assert [text(b"a"), text("b"), text(3), text(1.5)] == ["a", "b", "3", "1.5"]


@pytest.mark.parametrize(
    "reply",
    [
        {b"m": b"1", b"n": b"2"},  # RESP3 map
        [[b"m", b"1"], [b"n", b"2"]],  # RESP3 WITHSCORES: a list of pairs
        [b"m", b"1", b"n", b"2"],  # RESP2 and script replies: flat
    ],
)
def test_pairs_reads_every_shape_alike(reply: object) -> None:
    assert pairs(reply) == [(b"m", b"1"), (b"n", b"2")]
    assert text_pairs(reply) == [("m", b"1"), ("n", b"2")]
    assert as_map(reply) == {"m": b"1", "n": b"2"}


def test_empty_and_non_map_replies() -> None:
    assert pairs([]) == [] and pairs({}) == []
    assert as_map(None) == {} and as_map(b"x") == {}
    # a flat reply whose values are lists keeps them as values
    assert as_map([b"prefixes", [b"a:", b"b:"]]) == {"prefixes": [b"a:", b"b:"]}


def test_check_format() -> None:
    check_format(b"1", "1", "thing")
    check_format("1", "1", "thing")
    for missing in (None, b"", ""):
        with pytest.raises(CorruptDataError, match="thing: no format field"):
            check_format(missing, "1", "thing")
    with pytest.raises(UnsupportedFormatError, match="stored with format '2'"):
        check_format(b"2", "1", "thing")
