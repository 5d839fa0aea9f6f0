"""Store search engines: one module per engine, each conforming to :class:`Engine`.

Every engine reads the same data (:mod:`..items`) and differs only in how a search finds
candidates: :mod:`.plain` ranks client-side snapshots exactly (any server), :mod:`.query`
asks the server's query engine (``FT.*``), :mod:`.vset` asks Redis 8's vector sets. Adding an engine is one module with the names
below, one entry in :func:`by_name` and one case in
:func:`~langgraph_redis._core.store.config.choose_engine`; mypy checks the module
against the Protocol where :func:`by_name` lists it.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from langgraph.store.base import SearchItem, SearchOp

from langgraph_redis._core.store.config import VectorConfig
from langgraph_redis._core.store.filters import CompiledFilter

if TYPE_CHECKING:  # annotations only: the engine modules import this package
    from langgraph_redis._core.plans import Batch, Script
    from langgraph_redis._core.store.engines.query import Hints
    from langgraph_redis._core.store.snapshot import StoreCache


class SearchRequest(NamedTuple):
    """One search of a batch, checked and embedded: what every engine searches for."""

    op: SearchOp
    flt: CompiledFilter  # the op's filter, compiled (prepare_batch)
    query: Sequence[float] | None  # the embedded query; None without one
    cfg: VectorConfig | None  # None when the store embeds nothing
    now_ms: int  # the batch's clock: expiry and TTL renewal
    refresh: bool = False  # renew the TTL of results that carry one
    reuse: bool = False  # snapshots were refreshed by a concurrent search just now


class Engine(Protocol):
    """What the store needs of a search engine module."""

    @property
    def NAME(self) -> str:
        """The engine's name, as ``choose_engine`` returns it and ``store.engine`` reports it."""

    @property
    def SCRIPTS(self) -> tuple[Script, ...]:
        """Every script the store sends on this engine, loaded once at setup."""

    def plan_setup(
        self, prefix: str, cfg: VectorConfig | None
    ) -> Generator[Batch[Any], Any, VectorConfig | None]:
        """Create or verify what the engine keeps on the server (settings, index)."""

    def plan_search(
        self, prefix: str, cache: StoreCache, req: SearchRequest, hints: Hints | None = None
    ) -> Generator[Batch[Any], list[Any], list[SearchItem]]:
        """One search: candidates, filter, ranking, page, TTL refresh; ``hints`` is state
        the store keeps for the engine across searches (the query engine's)."""

    def uses_snapshots(self, req: SearchRequest) -> bool:
        """Whether :meth:`plan_search` answers ``req`` from the store's client-side
        snapshots (then a search that waited while another refreshed them may reuse them:
        ``SearchRequest.reuse``) rather than from what the server ranks or filters."""


def by_name(name: str) -> Engine:
    """The engine module called ``name`` (as :func:`~..config.choose_engine` names it)."""
    # Imported here: the engine modules import this package (for their Protocol).
    from langgraph_redis._core.store.engines import plain, query, vset

    engines: dict[str, Engine] = {plain.NAME: plain, query.NAME: query, vset.NAME: vset}
    return engines[name]
