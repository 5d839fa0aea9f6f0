"""Which store engine ``choose_engine`` picks for each request and server (no server)."""

from __future__ import annotations

import pytest

from langgraph_redis._core.store.config import choose_engine


def test_engine_choice_matrix() -> None:
    assert choose_engine("auto", True, False)[0] == "query"
    assert choose_engine("auto", False, False)[0] == "plain"
    assert choose_engine("plain", True, False)[0] == "plain"
    for choice in ("auto", "query", "plain"):
        for search in (True, False):
            name, why = choose_engine(choice, search, True)
            assert name == "plain" and "cluster" in why.lower()
    with pytest.raises(RuntimeError, match="query engine"):
        choose_engine("query", False, False)


def test_engine_choice_with_vector_sets() -> None:
    # Vector sets: used wherever the query engine is not (cluster, no FT.*, db != 0).
    assert choose_engine("auto", True, False, 0, vsets=True)[0] == "query"
    assert choose_engine("auto", False, False, 0, vsets=True)[0] == "vset"
    assert choose_engine("auto", True, False, 1, vsets=True)[0] == "vset"
    assert choose_engine("plain", False, False, 0, vsets=True)[0] == "plain"
    assert choose_engine("plain", True, True, 0, vsets=True)[0] == "plain"
    for choice in ("auto", "query", "vset"):
        assert choose_engine(choice, True, True, 0, vsets=True)[0] == "vset"
    assert choose_engine("vset", True, False, 0, vsets=True)[0] == "vset"
    with pytest.raises(RuntimeError, match="vector sets"):
        choose_engine("vset", True, False, 0, vsets=False)
