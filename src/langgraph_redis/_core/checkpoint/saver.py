"""Every plan a saver calls, gathered in one module (the savers' one import of the core).

The full and the shallow saver call the same functions; the shallow one passes
``shallow=True`` to ``plan_put`` and ``plan_put_writes``, whose scripts then also drop
the older checkpoints of the namespace (see :mod:`.plans`). The plans themselves live
by operation: :mod:`.plans` (put, put_writes), :mod:`.reads` (get_tuple),
:mod:`.listing` (list) and :mod:`.threads` (delete, prune, copy).
"""

from __future__ import annotations

# ``name as name``: re-exported for the savers.
from langgraph_redis._core.checkpoint.listing import plan_list_page as plan_list_page
from langgraph_redis._core.checkpoint.listing import plan_list_scopes as plan_list_scopes
from langgraph_redis._core.checkpoint.plans import PUT, PUT_WRITES
from langgraph_redis._core.checkpoint.plans import plan_put as plan_put
from langgraph_redis._core.checkpoint.plans import plan_put_writes as plan_put_writes
from langgraph_redis._core.checkpoint.reads import GET_TUPLE
from langgraph_redis._core.checkpoint.reads import plan_get_tuple as plan_get_tuple
from langgraph_redis._core.checkpoint.registry import CONFIRM_REGISTRY
from langgraph_redis._core.checkpoint.threads import DELETE_THREAD, DROP_RUNS, KEEP_LATEST
from langgraph_redis._core.checkpoint.threads import plan_copy_thread as plan_copy_thread
from langgraph_redis._core.checkpoint.threads import plan_delete_for_runs as plan_delete_for_runs
from langgraph_redis._core.checkpoint.threads import plan_delete_thread as plan_delete_thread
from langgraph_redis._core.checkpoint.threads import plan_prune as plan_prune

SCRIPTS = (PUT, PUT_WRITES, GET_TUPLE, DROP_RUNS, KEEP_LATEST, DELETE_THREAD, CONFIRM_REGISTRY)
"""Every script the savers send, loaded once at setup."""
