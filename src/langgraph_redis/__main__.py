"""Command line: ``langgraph-redis demo`` or ``python -m langgraph_redis demo``."""

from __future__ import annotations

import argparse
import logging
from importlib.metadata import PackageNotFoundError, version

DISTRIBUTION = "langgraph-redis"


def installed_version() -> str:
    """The installed distribution's version (package metadata, so never out of sync)."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # imported from a source tree that was never installed
        return "unknown (not installed)"


def main(argv: list[str] | None = None, *, prog: str = DISTRIBUTION) -> None:
    """Entry point of the ``langgraph-redis`` script and of ``python -m langgraph_redis``.

    ``prog`` is the name ``--help`` and usage errors show: argparse would otherwise take
    it from ``sys.argv[0]``, which is ``__main__.py`` under ``python -m``.
    """
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument(
        "--version", action="version", version=f"{DISTRIBUTION} {installed_version()}"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "demo",
        help="run LangGraph's cross-thread-persistence chatbot offline "
        "(embedded Valkey unless REDIS_URL is set)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.command == "demo":
        from langgraph_redis.demo.chatbot import run

        run()


if __name__ == "__main__":
    main(prog="python -m langgraph_redis")
