"""Which searches each engine answers from the client-side snapshots (no server).

The store asks ``engine.uses_snapshots(req)`` to decide whether a search that waited
while another refreshed the snapshots may reuse them (``SearchRequest.reuse``). That
answer must be what ``plan_search`` does: with ``reuse`` a snapshot search sends
nothing (the snapshots are fresh), and every other search asks the server.
"""

from __future__ import annotations

from typing import Any

import pytest
from langgraph.store.base import SearchOp

from langgraph_redis._core.store.config import VectorConfig, vector_config
from langgraph_redis._core.store.engines import Engine, SearchRequest, by_name
from langgraph_redis._core.store.engines.query import Hints
from langgraph_redis._core.store.filters import compile_filter

CFG = vector_config({"dims": 4})
FILTERS: list[dict[str, Any] | None] = [None, {"n": 1}, {"n": {"$gt": 1}}, {"n": {"$ne": 1}}]


def _request(spec: dict[str, Any] | None, query: bool, cfg: VectorConfig | None) -> SearchRequest:
    op = SearchOp(("ns",), filter=spec, limit=10, query="q" if query else None)
    vector = [1.0, 0.0, 0.0, 0.0] if query and cfg is not None else None
    return SearchRequest(op, compile_filter(spec), vector, cfg, now_ms=0, reuse=True)


def _sends_nothing(engine: Engine, req: SearchRequest) -> bool:
    plan = engine.plan_search("pfx", {}, req, hints=Hints())
    try:
        next(plan)
    except StopIteration:
        return True
    return False


@pytest.mark.parametrize("name", ["plain", "query", "vset"])
@pytest.mark.parametrize("spec", FILTERS)
@pytest.mark.parametrize("query", [False, True])
@pytest.mark.parametrize("cfg", [CFG, None], ids=["vectors", "no-index"])
def test_uses_snapshots_is_what_the_plan_does(
    name: str, spec: dict[str, Any] | None, query: bool, cfg: VectorConfig | None
) -> None:
    engine = by_name(name)
    req = _request(spec, query, cfg)
    assert engine.uses_snapshots(req) == _sends_nothing(engine, req)


def test_which_searches_read_snapshots() -> None:
    """Plain: all; vset: those without a query; query: those without a query whose
    filter has no equality for the index to narrow with (ranges, ``$ne``)."""
    for spec in FILTERS:
        assert by_name("plain").uses_snapshots(_request(spec, True, CFG))
        assert by_name("vset").uses_snapshots(_request(spec, False, CFG))
        assert not by_name("vset").uses_snapshots(_request(spec, True, CFG))
        assert not by_name("query").uses_snapshots(_request(spec, True, CFG))
    narrowed = [by_name("query").uses_snapshots(_request(s, False, CFG)) for s in FILTERS]
    assert narrowed == [False, False, True, True]
    for name in ("plain", "query", "vset"):  # a store that embeds nothing
        assert by_name(name).uses_snapshots(_request({"n": 1}, False, None))
