"""Every public exception of langgraph-redis, for the async and the sync API alike.

All share one base, :class:`LangGraphRedisError`, and each also keeps the base it has
always had, so both ``except langgraph_redis.LangGraphRedisError`` and older clauses such
as ``except ValueError`` or ``except redis.exceptions.ConnectionError`` catch it:

====================== ==================================================================
class                  also a
====================== ==================================================================
CorruptDataError       ``ValueError``: data under the prefix cannot be decoded
UnsupportedFormatError ``ValueError``: data written by a newer, incompatible format
RecoveryTimeout        ``redis.exceptions.ConnectionError``: transient errors outlasted
                       ``recovery_timeout``
ServerUnreachable      ``redis.exceptions.ConnectionError``: the server was never reached
                       (refused, unresolvable, silent, or a TLS mismatch)
PoolTimeout            ``redis.exceptions.ConnectionError``: no pooled connection became
                       free within ``pool_timeout``
NotReplicatedError     ``redis.exceptions.RedisError``: fewer replicas than
                       ``wait_replicas`` acknowledged a write
MemoryLimitError       ``redis.exceptions.OutOfMemoryError``: the server is at its
                       ``maxmemory`` limit and refused a write before it changed anything
====================== ==================================================================

They are defined once, outside the generated code: ``scripts/async_to_sync.py`` copies
``_async`` into ``_sync``, so a class defined in ``_async`` would exist twice and the sync
API would raise a copy that ``except langgraph_redis.<Name>`` does not catch.

The base and the data errors are defined in ``langgraph_redis._core.errors`` (``_core``
raises them and imports no redis) and re-exported here; the connection errors subclass
redis-py's exceptions and so live here. Import them from this module or from the
package.
"""

from __future__ import annotations

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import OutOfMemoryError, RedisError

from langgraph_redis._core.errors import (
    CorruptDataError,
    LangGraphRedisError,
    UnsupportedFormatError,
)

__all__ = [
    "CorruptDataError",
    "LangGraphRedisError",
    "MemoryLimitError",
    "NotReplicatedError",
    "PoolTimeout",
    "RecoveryTimeout",
    "ServerUnreachable",
    "UnsupportedFormatError",
]


class RecoveryTimeout(LangGraphRedisError, RedisConnectionError):
    """A call kept failing with transient errors for longer than ``recovery_timeout``."""


class ServerUnreachable(LangGraphRedisError, RedisConnectionError):
    """The server was never reached: refused, unresolvable, silent or a TLS mismatch.

    Raised within about ``FIRST_CONTACT_TIMEOUT`` (2 s; a TLS handshake that never
    completes takes one ``socket_connect_timeout``) by an object that has not yet
    talked to its server; a server that answered once gets ``recovery_timeout``.
    """


class PoolTimeout(LangGraphRedisError, RedisConnectionError):
    """Every pooled connection stayed busy for ``pool_timeout`` seconds."""


class NotReplicatedError(LangGraphRedisError, RedisError):
    """A write was applied on the primary but fewer replicas than asked acknowledged it."""


class MemoryLimitError(LangGraphRedisError, OutOfMemoryError):
    """The server refused a write because it is at its memory limit (``maxmemory``).

    Raised instead of redis-py's ``OutOfMemoryError`` (its base class, so existing
    ``except`` clauses still match). The write was refused before it changed anything;
    deletes, ``prune`` and reads keep working at the limit, so freeing memory is possible.
    """
