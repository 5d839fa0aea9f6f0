"""Decoding the langgraph-checkpoint-redis layout (pure; the real package is exercised
against a server in ``tests/test_migrate.py``)."""

from __future__ import annotations

import io
import json
import struct

from langgraph_redis._core import migrate as m


def test_namespace_is_decoded_as_the_old_store_decodes_it() -> None:
    assert m.decode_namespace(r"users\.u\-1") == ("users", "u-1")
    assert m.decode_namespace("docs") == ("docs",)
    # a label holding "." is indistinguishable from two labels, as in the old package
    assert m.decode_namespace(r"a\.b\.c") == ("a", "b", "c")


def test_storage_sentinels_and_scan_pattern() -> None:
    assert m.from_storage_safe("__empty__") == ""
    assert m.from_storage_safe(m.EMPTY_ID_SENTINEL) == ""
    assert m.from_storage_safe("t1") == "t1"
    assert m.scan_pattern("app*[1]") == r"app\*\[1\]:*"


def doc(**over: object) -> str:
    base = {"prefix": r"users\.u1", "key": "k", "value": {"a": 1}, "created_at": 5, "updated_at": 7}
    base.update(over)
    return json.dumps([base])


def test_store_document() -> None:
    item = m.decode_store_doc("store:01", doc(), 120_000)
    assert isinstance(item, m.OldStoreItem)
    assert (item.namespace, item.key, item.value) == (("users", "u1"), "k", {"a": 1})
    assert (item.created_us, item.updated_us, item.ttl_ms) == (5, 7, 120_000)
    assert m.decode_store_doc("store:01", doc(), -1).ttl_ms is None  # type: ignore[union-attr]


def test_store_documents_that_cannot_be_copied_say_why() -> None:
    wrapped = doc(value={"__serde_type__": "json", "__serde_data__": "{}"})
    skip = m.decode_store_doc("store:01", wrapped, -1)
    assert isinstance(skip, m.Skip) and "old serializer" in skip.reason
    assert isinstance(m.decode_store_doc("store:01", None, -2), m.Skip)
    assert isinstance(m.decode_store_doc("store:01", doc(value=[1]), -1), m.Skip)
    assert isinstance(m.decode_store_doc("store:01", json.dumps([{"key": "k"}]), -1), m.Skip)


def test_vectors_json_and_hash() -> None:
    assert m.decode_vector(json.dumps([{"embedding": [1, 0.5], "field_name": "text"}])) == (
        [1.0, 0.5],
        "text",
    )
    raw = struct.pack("<2f", 0.25, -1.0)
    assert m.decode_vector({b"embedding": raw, b"field_name": b"$"}) == ([0.25, -1.0], "$")
    assert m.decode_vector(None) == (None, None)
    assert m.decode_vector({b"embedding": b"abc"}) == (None, None)
    assert m.vector_doc_key("store:01X", "store", "store_vectors") == "store_vectors:01X"


def test_already_copied_decisions() -> None:
    item = m.OldStoreItem("store:1", ("a",), "k", {}, created_us=5, updated_us=7, ttl_ms=None)
    assert m.item_is_current([b"5", b"7"], item) and m.item_is_current([b"5", b"9"], item)
    assert not m.item_is_current(None, item) and not m.item_is_current([None, None], item)
    assert not m.item_is_current([b"5", b"6"], item)  # the source changed since
    assert not m.item_is_current([b"8", b"8"], item)  # put, but timestamps not restored
    assert m.writes_missing(1, [1, 2]) and not m.writes_missing(2, [1, 2])


def test_writes_grouped_per_task_in_order() -> None:
    writes = [("t1", "a", 1), ("t2", "b", 2), ("t1", "c", 3)]
    assert m.group_writes(writes) == [("t1", [("a", 1), ("c", 3)]), ("t2", [("b", 2)])]


def test_report_summary_names_skips() -> None:
    r = m.MigrationReport(threads=2, threads_copied=2, checkpoints=3, checkpoints_copied=3)
    r.skipped.append(m.Skip("item", "('x',)/'k'", "why"))
    text = r.summary()
    assert "threads:     2 seen, 2 copied" in text and "1 item(s): why: ('x',)/'k'" in text
    dry = m.MigrationReport(dry_run=True).summary()
    assert "would copy" in dry and "copied" not in dry


def test_reports_of_workers_add_up() -> None:
    total = m.MigrationReport(threads=2)
    for _ in range(2):
        part = m.MigrationReport(threads_copied=1, checkpoints=3, checkpoints_copied=2)
        part.checkpoints_present, part.writes_copied = 1, 4
        part.skipped.append(m.Skip("checkpoint", "x", "y"))
        total.merge(part)
    assert (total.threads, total.threads_copied, total.checkpoints) == (2, 2, 6)
    assert (total.checkpoints_copied, total.checkpoints_present, total.writes_copied) == (4, 2, 8)
    assert len(total.skipped) == 2


def test_fuller_writes() -> None:
    assert m.fuller([1, 2], [1]) == [1, 2] and m.fuller([], [1]) == [1]


class _Out(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_progress_is_a_bar_on_a_tty_and_counts_otherwise() -> None:
    from langgraph_redis._migrate import _Bar

    tty = _Out(True)
    bar = _Bar(tty)
    for done in (1, 2, 4):
        bar("items", done, 4)
    assert tty.getvalue().count("\r") == 3 and tty.getvalue().endswith("] 4/4\n")
    assert "[" + "#" * 30 + "]" in tty.getvalue()
    plain = _Out(False)
    bar = _Bar(plain)
    for done in range(1, 101):
        bar("checkpoints", done, 100)
    lines = plain.getvalue().splitlines()
    assert "\r" not in plain.getvalue() and lines[-1] == "checkpoints: 100/100"
    assert len(lines) <= 11  # about every 10%
