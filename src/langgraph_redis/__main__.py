"""Command line: ``python -m langgraph_redis demo``."""

from __future__ import annotations

import argparse
import logging


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="langgraph_redis")
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
    main()
