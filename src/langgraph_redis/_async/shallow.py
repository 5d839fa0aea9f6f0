"""The shallow checkpointer: only the newest checkpoint of each thread namespace.

Identical to the full saver except for its plans (``_core.shallow``), which drop older
checkpoints inside the same atomic put.
"""

from __future__ import annotations

from types import ModuleType

from langgraph_redis._async.saver import AsyncRedisSaver
from langgraph_redis._core import shallow


class AsyncShallowRedisSaver(AsyncRedisSaver):
    """Checkpointer that keeps one checkpoint per thread namespace (no time travel).

    Not for graphs with LangGraph's (beta) ``DeltaChannel``: such a channel is rebuilt
    from the writes of ancestor checkpoints, which a shallow saver has dropped, so its
    value comes back empty. Use :class:`AsyncRedisSaver` for those graphs.
    """

    _plans: ModuleType = shallow
