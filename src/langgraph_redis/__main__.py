"""Command line: ``langgraph-redis demo`` and the read-only inspector commands."""

from __future__ import annotations

import argparse
import logging
import sys


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="langgraph_redis")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "demo",
        help="run LangGraph's cross-thread-persistence chatbot offline "
        "(embedded Valkey unless REDIS_URL is set)",
    )
    from langgraph_redis._inspector import add_commands
    from langgraph_redis._inspector import run as inspect

    add_commands(sub)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.command == "demo":
        from langgraph_redis.demo.chatbot import run

        run()
        return
    sys.exit(inspect(args))


if __name__ == "__main__":
    main()
