"""Runs LangGraph's conformance suite (PyPI ``langgraph-checkpoint-conformance``).

The suite drives a saver through its async methods. For the sync savers those are the
thread-executor bridges over the generated sync code, so the sync implementation is
what gets exercised.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.checkpoint.conformance.report import CapabilityReport


async def arun_conformance(
    open_saver: Callable[[], Any], name: str = "langgraph-redis"
) -> CapabilityReport:
    """Validate savers made by ``open_saver`` (a sync or async context manager).

    Imports nothing from the package or the test tree: ``scripts/wheel_smoke.py``
    loads this file by path to run the same suite against the installed wheel.
    """

    @checkpointer_test(name=name)
    async def factory() -> AsyncIterator[Any]:
        manager = open_saver()
        if isinstance(manager, contextlib.AbstractAsyncContextManager):
            async with manager as saver:
                yield saver
        else:
            with manager as saver:
                yield saver

    return await validate(factory)


def run_conformance(open_saver: Callable[[], Any]) -> CapabilityReport:
    """Blocking twin of :func:`arun_conformance` for the generated sync tests."""
    return asyncio.run(arun_conformance(open_saver))
