"""Redis persistence for LangGraph: checkpointers, a long-term memory store, a node cache.

Runs on plain Redis >= 6.2, Valkey >= 7.2, Redis Stack, Redis 8 and Redis Cluster.
"""

from langgraph_redis._async.cache import AsyncRedisCache
from langgraph_redis._async.saver import AsyncRedisSaver
from langgraph_redis._async.shallow import AsyncShallowRedisSaver
from langgraph_redis._async.store import AsyncRedisStore
from langgraph_redis._core.migrate import MigrationReport
from langgraph_redis._core.probe import ServerInfo
from langgraph_redis._migrate import migrate
from langgraph_redis._sync.cache import RedisCache
from langgraph_redis._sync.saver import RedisSaver
from langgraph_redis._sync.shallow import ShallowRedisSaver
from langgraph_redis._sync.store import RedisStore
from langgraph_redis.errors import (
    CorruptDataError,
    LangGraphRedisError,
    MemoryLimitError,
    NotReplicatedError,
    PoolTimeout,
    RecoveryTimeout,
    ServerUnreachable,
    UnsupportedFormatError,
)

__all__ = [
    "AsyncRedisCache",
    "AsyncRedisSaver",
    "AsyncRedisStore",
    "AsyncShallowRedisSaver",
    "CorruptDataError",
    "LangGraphRedisError",
    "MemoryLimitError",
    "MigrationReport",
    "NotReplicatedError",
    "PoolTimeout",
    "RecoveryTimeout",
    "RedisCache",
    "RedisSaver",
    "RedisStore",
    "ServerInfo",
    "ServerUnreachable",
    "ShallowRedisSaver",
    "UnsupportedFormatError",
    "migrate",
]
