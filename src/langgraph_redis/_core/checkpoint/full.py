"""The full saver's plans (every checkpoint kept), gathered in one module.

The savers hold their plans as a :class:`~langgraph_redis._core.checkpoint.SaverPlans`;
this module is the full saver's, :mod:`.shallow` the shallow saver's. The plans
themselves live by operation: :mod:`.plans` (put, put_writes, get_tuple),
:mod:`.listing` (list) and :mod:`.threads` (delete, prune, copy).
"""

from __future__ import annotations

from langgraph_redis._core.checkpoint.listing import plan_list_page, plan_list_scopes
from langgraph_redis._core.checkpoint.plans import (
    GET_TUPLE,
    PUT,
    PUT_WRITES,
    plan_get_tuple,
    plan_put,
    plan_put_writes,
)
from langgraph_redis._core.checkpoint.threads import (
    DELETE_THREAD,
    DROP_RUNS,
    KEEP_LATEST,
    plan_copy_thread,
    plan_delete_for_runs,
    plan_delete_thread,
    plan_prune,
)

SCRIPTS = (PUT, PUT_WRITES, GET_TUPLE, DROP_RUNS, KEEP_LATEST, DELETE_THREAD)
"""Every script the savers send, loaded once at setup."""

__all__ = [
    "SCRIPTS",
    "plan_copy_thread",
    "plan_delete_for_runs",
    "plan_delete_thread",
    "plan_get_tuple",
    "plan_list_page",
    "plan_list_scopes",
    "plan_prune",
    "plan_put",
    "plan_put_writes",
]
