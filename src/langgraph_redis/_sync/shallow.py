# WARNING: generated from src/langgraph_redis/_async/shallow.py by scripts/async_to_sync.py.
# DO NOT EDIT: change the async source and regenerate.
"""The shallow checkpointer: only the newest checkpoint of each thread namespace.

Identical to the full saver except for its plans (``_core.shallow``), which drop older
checkpoints inside the same atomic put.
"""

from __future__ import annotations

from types import ModuleType

from langgraph_redis._sync.saver import RedisSaver
from langgraph_redis._core import shallow


class ShallowRedisSaver(RedisSaver):
    """Checkpointer that keeps one checkpoint per thread namespace (no time travel).

    Not for graphs with LangGraph's (beta) ``DeltaChannel``: such a channel is rebuilt
    from the writes of ancestor checkpoints, which a shallow saver has dropped, so its
    value comes back empty. Use :class:`RedisSaver` for those graphs.
    """

    _plans: ModuleType = shallow
