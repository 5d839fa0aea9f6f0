"""Parsing of query-engine replies, with reply shapes recorded from Redis Stack 7.4
(RediSearch 2.10) and, for ``FT.INFO`` of valkey-search, from its documented fields.

The server tests (``tests/_async/test_store_query.py``) cover the behaviour end to end;
these pin the shapes that are hard to provoke on demand (valkey-search, RESP2 and RESP3
of an expired document).
"""

from __future__ import annotations

import logging

import pytest

from langgraph_redis._core.store.engines.query import decode_rows
from langgraph_redis._core.store.engines.query_index import is_indexing, is_missing_index


def test_expired_documents_count_but_yield_no_row(caplog: pytest.LogCaptureFixture) -> None:
    # FT.SEARCH ... RETURN 3 ns key __d with v:0 expired but not reclaimed (RESP2).
    resp2 = [2, b"v:0", None, b"v:1", [b"__d", b"1", b"ns", b"x", b"key", b"1"]]
    resp3 = {
        b"total_results": 2,
        b"results": [
            {b"id": b"v:0", b"extra_attributes": None, b"values": []},
            {b"id": b"v:1", b"extra_attributes": {b"__d": b"1", b"ns": b"x", b"key": b"1"}},
        ],
    }
    with caplog.at_level(logging.WARNING, logger="langgraph_redis"):
        for reply in (resp2, resp3):
            assert decode_rows(reply) == ([("x", "1", 1.0)], 2)
    assert not caplog.records


def test_a_foreign_hash_is_skipped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    reply = [1, b"v:9", [b"__d", b"0.5"]]
    with caplog.at_level(logging.WARNING, logger="langgraph_redis"):
        assert decode_rows(reply) == ([], 1)
    assert "unreadable vector key" in caplog.text


def test_index_state() -> None:
    assert is_indexing([b"indexing", 1, b"percent_indexed", b"0.25"])
    assert not is_indexing({b"indexing": 0, b"percent_indexed": b"1"})
    assert is_indexing({"backfill_in_progress": "1", "state": "backfill_in_progress"})
    assert not is_indexing({"backfill_in_progress": "0", "state": "ready"})
    assert is_missing_index(Exception("Unknown Index name"))
    assert is_missing_index(Exception("p:idx: no such index"))
    assert not is_missing_index("Unknown Index name")  # a value, not an error
