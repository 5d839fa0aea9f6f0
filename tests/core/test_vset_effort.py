"""How hard a vector-set search looks: a linear scan only when FLAT is asked for (no server)."""

from __future__ import annotations

from langgraph_redis._core.plans import ScriptCall
from langgraph_redis._core.store.config import vector_config
from langgraph_redis._core.store.engines.vset import search_call


def _effort(ann: dict[str, object]) -> object:
    cfg = vector_config({"dims": 4, "ann_index_config": ann})
    call = search_call("pfx", "ns", b"\0" * 16, 10, cfg, None, 10)
    assert isinstance(call, ScriptCall)
    return call.args[2]


def test_truth_only_when_flat_is_given() -> None:
    # FLAT is the store's default algorithm (for the query engine's write cost), but a
    # vector set builds its graph at every VADD anyway: the default walks the graph.
    assert _effort({}) == "10"  # EF = max(ef_runtime, count)
    assert _effort({"algorithm": "flat"}) == "TRUTH"
    assert _effort({"algorithm": "hnsw", "ef_runtime": 50}) == "50"
