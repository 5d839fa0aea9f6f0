"""Async/sync name pairs used by the generated sync code.

The async sources import the left-hand names; ``scripts/async_to_sync.py`` maps each to
its right-hand twin, so the generator only ever renames and never rewrites logic.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator

import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.asyncio.sentinel
import redis.cluster
import redis.sentinel

ALock = asyncio.Lock
Lock = threading.Lock
asleep = asyncio.sleep
sleep = time.sleep

AsyncRedis = redis.asyncio.Redis
Redis = redis.Redis
AsyncRedisCluster = redis.asyncio.cluster.RedisCluster
RedisCluster = redis.cluster.RedisCluster
AsyncSentinel = redis.asyncio.sentinel.Sentinel
Sentinel = redis.sentinel.Sentinel
AsyncConnectionPool = redis.asyncio.ConnectionPool
ConnectionPool = redis.ConnectionPool
AsyncBlockingConnectionPool = redis.asyncio.BlockingConnectionPool
BlockingConnectionPool = redis.BlockingConnectionPool

__all__ = [
    "ALock",
    "AsyncBlockingConnectionPool",
    "AsyncConnectionPool",
    "AsyncIterator",
    "AsyncRedis",
    "AsyncRedisCluster",
    "AsyncSentinel",
    "BlockingConnectionPool",
    "ConnectionPool",
    "Iterator",
    "Lock",
    "Redis",
    "RedisCluster",
    "Sentinel",
    "asleep",
    "sleep",
]
