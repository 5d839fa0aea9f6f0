"""What savers and the store share as owners of a :class:`Connection`."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any

from typing_extensions import Self

from langgraph_redis._acompat import AsyncIterator
from langgraph_redis._async._run import AnyAsyncClient
from langgraph_redis._async.connection import Connection


class ConnectionOwner:
    """Context-manager protocol and client access for objects holding a connection."""

    _conn: Connection

    @classmethod
    @asynccontextmanager
    async def from_conn_string(
        cls, conn_string: str | None = None, **options: Any
    ) -> AsyncIterator[Self]:
        """Open one for ``conn_string``; the connections it opened close when the block ends.

        It stays usable after the block: a later call opens a connection again, as
        LangGraph's cross-thread-persistence guide expects. ``redis_url=`` is accepted in
        place of ``conn_string`` (langgraph-checkpoint-redis spelling); ``options`` go to
        the constructor.
        """
        made = cls(conn_string, **options)  # type: ignore[call-arg]
        try:
            yield made
        finally:
            await made.aclose()

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
