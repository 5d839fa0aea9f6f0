"""What savers and the store share as owners of a :class:`Connection`."""

from __future__ import annotations

from typing_extensions import Self

from langgraph_redis._async._run import AnyAsyncClient
from langgraph_redis._async.connection import Connection


class ConnectionOwner:
    """Context-manager protocol and client access for objects holding a connection."""

    _conn: Connection

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close connections this object opened; a client passed in is left open."""
        await self._conn.aclose()

    @property
    def client(self) -> AnyAsyncClient:
        """The redis-py client in use."""
        return self._conn.client
