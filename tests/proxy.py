"""A small TCP proxy that cuts and stalls connections on command, for fault tests.

It runs its own event loop in a daemon thread, so sync and async clients alike can sit
behind it and the test drives it with plain method calls:

- :meth:`FaultProxy.cut_next_reply`: the next bytes the server sends are dropped and
  every connection is closed, i.e. the server executed the pipeline but the client
  never hears back (the case where a retry could duplicate a write).
- :meth:`FaultProxy.cut`: close every open connection now.
- :meth:`FaultProxy.stall`: hold all traffic (both directions) until :meth:`resume`.

:func:`saver_behind_proxy` puts an ``AsyncRedisSaver`` behind one, for the stall tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator
from types import TracebackType

from redis.backoff import NoBackoff

from langgraph_redis import AsyncRedisSaver
from langgraph_redis._acompat import AsyncRetry
from tests.servers import LocalServer


class FaultProxy:
    """``127.0.0.1:<port>`` forwarding to ``upstream``; ``url`` is ready to use."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = 0
        self.cuts = 0
        self._loop = asyncio.new_event_loop()
        self._writers: set[asyncio.StreamWriter] = set()
        self._flowing = asyncio.Event()
        self._cut_reply = False
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    # -- control (called from the test thread) ---------------------------------------

    def cut_next_reply(self) -> None:
        self._cut_reply = True

    def cut(self) -> None:
        asyncio.run_coroutine_threadsafe(self._close_all(), self._loop).result()

    def stall(self) -> None:
        self._loop.call_soon_threadsafe(self._flowing.clear)

    def resume(self) -> None:
        self._loop.call_soon_threadsafe(self._flowing.set)

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> FaultProxy:
        self._thread.start()
        if not self._ready.wait(5):
            raise RuntimeError("proxy did not start")
        return self

    def stop(self) -> None:
        if self._loop.is_running():
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(5)
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- the proxy itself (runs on its own loop) ------------------------------------------

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._listen())
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()

    async def _listen(self) -> None:
        self._flowing.set()
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}
        await asyncio.gather(
            self._pump(reader, up_writer, reply=False),
            self._pump(up_reader, writer, reply=True),
            return_exceptions=True,
        )
        for w in (writer, up_writer):
            self._writers.discard(w)
            w.close()

    async def _pump(
        self, src: asyncio.StreamReader, dst: asyncio.StreamWriter, *, reply: bool
    ) -> None:
        while True:
            data = await src.read(65536)
            if not data:
                break
            await self._flowing.wait()
            if reply and self._cut_reply:
                self._cut_reply = False
                await self._close_all()
                return
            dst.write(data)
            await dst.drain()
        with contextlib.suppress(OSError):
            dst.close()

    async def _close_all(self) -> None:
        self.cuts += 1
        for w in list(self._writers):
            with contextlib.suppress(OSError):
                w.transport.abort()
        self._writers.clear()

    async def _shutdown(self) -> None:
        self._flowing.set()
        await self._close_all()
        if self._server is not None:
            self._server.close()


@contextlib.asynccontextmanager
async def saver_behind_proxy(
    server: LocalServer,
    prefix: str,
    *,
    socket_timeout: float,
    recovery_timeout: float,
    retries: int,
) -> AsyncIterator[tuple[FaultProxy, AsyncRedisSaver]]:
    """A saver opened from the URL of a :class:`FaultProxy` in front of ``server``, with
    these timeouts and ``retries`` immediate redis-py retries (no backoff, so a stalled
    call's time is the timeouts' alone); both closed when the block ends."""
    with FaultProxy(server.host, server.port) as proxy:
        async with AsyncRedisSaver.from_conn_string(
            proxy.url,
            prefix=prefix,
            socket_timeout=socket_timeout,
            recovery_timeout=recovery_timeout,
            retry=AsyncRetry(NoBackoff(), retries),
        ) as saver:
            yield proxy, saver
