"""The ``gateway`` command: ``run``, ``worker``, ``routes check|explain``, ``schemas export``,
``dlq list|show|replay|purge``, ``asyncapi``, ``keys new``, ``audit verify|query``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from gateway.cli import asyncapi, audit, dlq, keys, routes, run, schemas, worker


def build_parser() -> argparse.ArgumentParser:
    """The whole command line, one sub-parser per subcommand."""
    parser = argparse.ArgumentParser(
        prog="gateway",
        description="E-Integratsiya: the interagency integration gateway.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run.register(commands)
    worker.register(commands)
    routes.register(commands)
    schemas.register(commands)
    dlq.register(commands)
    asyncapi.register(commands)
    audit.register(commands)
    keys.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gateway`` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        status: int = args.handler(args)
    except BrokenPipeError:
        # The reader of our output went away (``| head``): not an error. Point stdout at
        # /dev/null so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return status
