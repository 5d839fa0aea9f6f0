"""A functional-API graph with a cached task, importable by a test and a child process.

LangGraph keys a task's cache entries by the task's module and name, so both processes
must import the same function from the same module.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from langgraph.func import entrypoint, task
from langgraph.types import CachePolicy

from langgraph_redis import RedisCache


def run(url: str, prefix: str, xs: list[int], log: Path) -> list[int]:
    """Run the graph once; every real execution of the task appends a line to ``log``."""

    policy: CachePolicy[Any] = CachePolicy(ttl=300)

    @task(cache_policy=policy)
    def square(x: int) -> int:
        with log.open("a") as out:
            out.write(f"{x}\n")
        return x * x

    with RedisCache.from_conn_string(url, prefix=prefix) as cache:

        @entrypoint(cache=cache)
        def flow(values: list[int]) -> list[int]:
            return [square(v).result() for v in values]

        result: Any = flow.invoke(xs)
    return list(result)


def main() -> None:
    """``python -c 'from tests.cache_graph import main; main()' URL PREFIX LOG X...``

    Imported rather than run as ``__main__``: the task's cache namespace carries its
    module name, which must be the same in both processes.
    """
    url, prefix, log, *rest = sys.argv[1:]
    print(run(url, prefix, [int(x) for x in rest], Path(log)))
