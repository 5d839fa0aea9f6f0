"""Redis persistence for LangGraph: checkpointers and a long-term memory store.

Runs on plain Redis >= 6.2, Valkey >= 7.2, Redis Stack, Redis 8 and Redis Cluster.
"""

from langgraph_redis._async._run import (
    NotReplicatedError,
    PoolTimeout,
    RecoveryTimeout,
    ServerUnreachable,
)
from langgraph_redis._async.saver import AsyncRedisSaver
from langgraph_redis._async.shallow import AsyncShallowRedisSaver
from langgraph_redis._async.store import AsyncRedisStore
from langgraph_redis._core.serde import CorruptDataError, UnsupportedFormatError
from langgraph_redis._core.server import ServerInfo
from langgraph_redis._sync.saver import RedisSaver
from langgraph_redis._sync.shallow import ShallowRedisSaver
from langgraph_redis._sync.store import RedisStore

__all__ = [
    "AsyncRedisSaver",
    "AsyncRedisStore",
    "AsyncShallowRedisSaver",
    "CorruptDataError",
    "NotReplicatedError",
    "PoolTimeout",
    "RecoveryTimeout",
    "RedisSaver",
    "RedisStore",
    "ServerInfo",
    "ServerUnreachable",
    "ShallowRedisSaver",
    "UnsupportedFormatError",
]
