"""Command line: ``langgraph-redis`` (or ``python -m langgraph_redis``): the demo and the
read-only inspector commands."""

from __future__ import annotations

import argparse
import logging
import sys
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
    demo = sub.add_parser(
        "demo",
        help="run LangGraph's cross-thread-persistence chatbot offline "
        "(embedded Valkey unless REDIS_URL is set)",
    )
    demo.add_argument(
        "--keep",
        action="store_true",
        help="keep the demo's keys on REDIS_URL (by default they are removed at the end)",
    )
    # For tests: wait for a signal once the server is up (see demo.chatbot.run).
    demo.add_argument("--hold", action="store_true", help=argparse.SUPPRESS)
    from langgraph_redis._inspector import add_commands
    from langgraph_redis._inspector import run as inspect

    add_commands(sub)
    from langgraph_redis import _migrate

    _migrate.add_command(sub)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.command == "demo":
        from langgraph_redis.demo.chatbot import run

        run(keep=args.keep, hold=args.hold)
        return
    if args.command == "migrate":
        sys.exit(_migrate.run(args))
    sys.exit(inspect(args))


if __name__ == "__main__":
    main(prog="python -m langgraph_redis")
