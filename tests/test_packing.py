"""Commands packed by hiredis in our asyncio connections (``langgraph_redis._packing``).

The packer must give the bytes redis-py's own asyncio packer gives for every argument
our plans (or a user's value) can carry, and refuse what redis-py refuses, with the same
error; a real server then reads those bytes back as the same values.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis.asyncio
import redis.asyncio.connection
from hypothesis import given, settings
from hypothesis import strategies as st
from redis.exceptions import DataError

from langgraph_redis import AsyncRedisSaver
from langgraph_redis._deadline import deadline_class
from langgraph_redis._packing import PackingMixin

ours = deadline_class(redis.asyncio.connection.Connection)()
theirs = redis.asyncio.connection.Connection()

argument = st.one_of(
    st.binary(max_size=64),
    st.binary(min_size=6000, max_size=7000),  # over redis-py's buffer cutoff
    st.text(max_size=32),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
)
name = st.sampled_from(["EVALSHA", "SET", "CONFIG GET", b"HSET", b"SCRIPT LOAD"])


def _joined(chunks: list[Any]) -> bytes:
    return b"".join(bytes(c) for c in chunks)


@settings(max_examples=300, deadline=None)
@given(name=name, args=st.lists(argument, max_size=12))
def test_the_same_bytes_as_redis_py(name: Any, args: list[Any]) -> None:
    assert isinstance(ours, PackingMixin)
    assert _joined(ours.pack_command(name, *args)) == _joined(theirs.pack_command(name, *args))


@pytest.mark.parametrize("bad", [True, None, object(), 1j])
def test_refuses_what_redis_py_refuses(bad: Any) -> None:
    with pytest.raises(DataError) as mine:
        ours.pack_command("SET", "k", bad)
    with pytest.raises(DataError) as reference:
        theirs.pack_command("SET", "k", bad)
    assert str(mine.value) == str(reference.value)


def test_another_encoding_keeps_redis_py_packer() -> None:
    latin = deadline_class(redis.asyncio.connection.Connection)(encoding="latin-1")
    assert (
        _joined(latin.pack_command("SET", "k", "é"))
        == b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\n\xe9\r\n"
    )


def test_a_client_we_make_round_trips_every_kind(redis_url: str) -> None:
    async def main() -> list[Any]:
        saver = AsyncRedisSaver(redis_url=redis_url)
        try:
            client: Any = saver.client
            assert issubclass(client.connection_pool.connection_class, PackingMixin)
            big = bytes(range(256)) * 40
            await client.execute_command("SET", "packing:b", big)
            await client.execute_command("SET", "packing:s", "é ü 中")
            await client.execute_command("SET", "packing:i", 2**62)
            await client.execute_command("SET", "packing:f", 0.1 + 0.2)
            got = [
                await client.execute_command("GET", f"packing:{k}") for k in ("b", "s", "i", "f")
            ]
            got.append(await client.execute_command("CONFIG GET", "maxmemory"))
            await client.execute_command("DEL", "packing:b", "packing:s", "packing:i", "packing:f")
            return got
        finally:
            await saver.aclose()

    got = asyncio.run(main())
    assert got[:4] == [
        bytes(range(256)) * 40,
        "é ü 中".encode(),
        str(2**62).encode(),
        repr(0.1 + 0.2).encode(),
    ]
    assert got[4]
