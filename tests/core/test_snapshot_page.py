"""A search page without a query reads the items of the page, not the whole namespace.

Pure ``_core`` (snapshots built in memory): the order must be the one the store has
always used (newest update first, then namespace, then key; what the store property
tests compare with InMemoryStore), and a page of 10 from 3,000 items must not filter
every item (before: every item was filtered and the whole list sorted per search).
"""

from __future__ import annotations

import random
from typing import Any

from langgraph_redis._core.store.filters import CompiledFilter, compile_filter
from langgraph_redis._core.store.snapshot import ItemRec, NsSnapshot, snapshot_items


def _snaps(seed: int = 7) -> list[NsSnapshot]:
    rng = random.Random(seed)
    snaps = []
    for ns in (("a",), ("a", "b"), ("c",)):
        snap = NsSnapshot(ns, 0)
        for i in range(1000):
            ua = rng.randrange(50)  # many ties: the namespace and key decide them
            snap.put(f"k{i}", ItemRec({"n": i % 3}, ua, ua, 0, 0), [])
        snaps.append(snap)
    return snaps


def _reference(snaps: list[NsSnapshot], flt: CompiledFilter) -> list[tuple[Any, str]]:
    out = [
        (s.namespace, k)
        for s in snaps
        for k, rec in s.items.items()
        if flt.empty or flt.matches(rec.value)
    ]
    out.sort(key=lambda t: (-next(s for s in snaps if s.namespace == t[0]).items[t[1]].ua, t))
    return out


def test_page_order_matches_a_full_sort() -> None:
    snaps = _snaps()
    snaps[1].remove("k5")
    snaps[2].put("k7", ItemRec({"n": 0}, 99, 99, 0, 0), [])  # now the newest
    for spec in (None, {"n": 1}):
        flt = compile_filter(spec)
        want = _reference(snaps, flt)
        for stop in (None, 1, 10, 35, 5000):
            got = [(s.namespace, k) for s, k, _ in snapshot_items(snaps, flt, 0, stop)]
            assert got == want[:stop], (spec, stop)
    assert snapshot_items(snaps, compile_filter(None), 0)[0][1] == "k7"


def test_a_page_filters_only_what_it_reads() -> None:
    snaps = _snaps()
    calls = 0

    class Counting(CompiledFilter):
        def matches(self, value: Any) -> bool:
            nonlocal calls
            calls += 1
            return super().matches(value)

    base = compile_filter({"n": 2})
    flt = Counting(base.spec, base.tag_groups, base.logic)
    page = snapshot_items(snaps, flt, 0, 10)
    assert len(page) == 10
    assert calls < 100  # a third of the items match: ~30 read, not 3,000
