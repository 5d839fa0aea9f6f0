"""Command line: ``python -m langgraph_redis demo``."""

from __future__ import annotations

import argparse
import logging


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="langgraph_redis")
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
    from langgraph_redis import _migrate

    _migrate.add_command(sub)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.command == "demo":
        from langgraph_redis.demo.chatbot import run

        run(keep=args.keep, hold=args.hold)
    elif args.command == "migrate":
        raise SystemExit(_migrate.run(args))


if __name__ == "__main__":
    main()
