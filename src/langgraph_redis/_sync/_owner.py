# WARNING: generated from src/langgraph_redis/_async/_owner.py by scripts/async_to_sync.py.
# DO NOT EDIT: change the async source and regenerate.
"""What savers and the store share as owners of a :class:`Connection`."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

from typing_extensions import Self

from langgraph_redis._acompat import Iterator
from langgraph_redis._sync._run import AnySyncClient
from langgraph_redis._sync.connection import Connection


class ConnectionOwner:
    """Context-manager protocol and client access for objects holding a connection."""

    _conn: Connection

    @classmethod
    @contextmanager
    def from_conn_string(
        cls, conn_string: str | None = None, **options: Any
    ) -> Iterator[Self]:
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
            made.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close connections this object opened; a client passed in is left open."""
        self._conn.close()

    @property
    def client(self) -> AnySyncClient:
        """The redis-py client in use."""
        return self._conn.client
