"""``gateway schemas export DIR``: one JSON Schema file per canonical record."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(commands: Any) -> None:
    """Add ``schemas`` and its subcommands."""
    parser = commands.add_parser("schemas", help="canonical schemas")
    sub = parser.add_subparsers(dest="schemas_command", required=True, metavar="COMMAND")
    export = sub.add_parser(
        "export",
        help="write one JSON Schema (2020-12) file per canonical record",
        description="Write one JSON Schema (2020-12) file per canonical record into DIR.",
    )
    export.add_argument("directory", metavar="DIR", type=Path)
    export.set_defaults(handler=_export)


def _export(args: argparse.Namespace) -> int:
    from schemas import export_json_schemas

    for path in export_json_schemas(args.directory):
        print(path)
    return 0
