"""The checkpointer's core: key layout, serialization and the saver plans (full and shallow).

:class:`SaverPlans` is what a saver needs of its plans module. The full saver uses
:mod:`.full`, the shallow one :mod:`.shallow`; both are checked against it where the
savers name them (``_plans: SaverPlans``), so mypy refuses a variant that lacks a
function or changes a signature.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # annotations only: the plans modules import this package
    from langchain_core.runnables import RunnableConfig
    from langgraph.checkpoint.base import (
        ChannelVersions,
        Checkpoint,
        CheckpointMetadata,
        CheckpointTuple,
    )

    from langgraph_redis._core.checkpoint.config import SaverConfig
    from langgraph_redis._core.checkpoint.listing import Listed, ListQuery
    from langgraph_redis._core.plans import Batch, Plan, Script


class SaverPlans(Protocol):
    """The functions (and scripts) every checkpoint plans module provides."""

    @property
    def SCRIPTS(self) -> tuple[Script, ...]: ...

    def plan_get_tuple(
        self, cfg: SaverConfig, config: RunnableConfig, *, now_ms: int = 0, cluster: bool = True
    ) -> Batch[CheckpointTuple | None]: ...

    def plan_list_scopes(
        self, cfg: SaverConfig, query: ListQuery
    ) -> Generator[Batch[Any], Any, list[tuple[str, str]]]: ...

    def plan_list_page(
        self,
        cfg: SaverConfig,
        query: ListQuery,
        thread_id: str,
        ns: str,
        after: str | None,
        want: int | None,
        *,
        now_ms: int = 0,
    ) -> Generator[Batch[Any], Any, tuple[list[Listed], str | None]]: ...

    def plan_put(
        self,
        cfg: SaverConfig,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
        *,
        now_ms: int = 0,
        cluster: bool = False,
    ) -> Plan[RunnableConfig]: ...

    def plan_put_writes(
        self,
        cfg: SaverConfig,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
        *,
        cluster: bool = False,
    ) -> Batch[None]: ...

    def plan_delete_thread(
        self, cfg: SaverConfig, thread_id: str, *, cluster: bool = False
    ) -> Generator[Batch[Any], Any, None]: ...

    def plan_delete_for_runs(
        self, cfg: SaverConfig, run_ids: Sequence[str]
    ) -> Generator[Batch[Any], Any, None]: ...

    def plan_copy_thread(
        self,
        cfg: SaverConfig,
        source: str,
        target_id: str,
        *,
        now_ms: int = 0,
        cluster: bool = False,
    ) -> Generator[Batch[Any], Any, None]: ...

    def plan_prune(
        self, cfg: SaverConfig, thread_ids: Sequence[str], strategy: str, *, cluster: bool = False
    ) -> Plan[None]: ...
