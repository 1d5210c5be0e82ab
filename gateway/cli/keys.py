"""``gateway keys new SYSTEM``: a new API key, printed once, and the line to paste into
routing.yaml. The gateway never stores the key: routing.yaml keeps only its SHA-256."""

from __future__ import annotations

import argparse
import re
import secrets
import sys
from typing import Any

KEY_BYTES = 32  # 256 bits of randomness, 43 characters in URL-safe base64
_SYSTEM_ID = re.compile(r"[a-z][a-z0-9-]*(\.[a-z0-9-]+)*")


def register(commands: Any) -> None:
    """Add ``keys`` and its subcommands."""
    parser = commands.add_parser("keys", help="API keys of the systems")
    sub = parser.add_subparsers(dest="keys_command", required=True, metavar="COMMAND")
    new = sub.add_parser(
        "new",
        help="print a new API key for SYSTEM, once, and the line to paste into routing.yaml",
        description="Print a new random API key for SYSTEM and the api_keys line to paste "
        "under systems.SYSTEM in routing.yaml. The key is shown once and stored nowhere: "
        "give it to the system's operator now. routing.yaml keeps only its SHA-256; to "
        "retire the old key, move its sha256 entry from api_keys to revoked_keys.",
    )
    new.add_argument("system", metavar="SYSTEM", help="the system's id in routing.yaml")
    new.set_defaults(handler=_new)


def _new(args: argparse.Namespace) -> int:
    from gateway.routing import api_key_digest

    system: str = args.system
    if len(system) > 64 or _SYSTEM_ID.fullmatch(system) is None:
        print(
            f"gateway keys new: {system!r} is not a system id (lower-case letters, digits "
            "and -, in parts separated by dots, e.g. gp.e-tergov)",
            file=sys.stderr,
        )
        return 2
    key = secrets.token_urlsafe(KEY_BYTES)
    print(f"# a new API key for {system}: shown once, stored nowhere; give it to its operator")
    print(f"key: {key}")
    print(f"# paste under systems.{system} in routing.yaml (keep any api_keys already there):")
    print(f'api_keys: ["sha256:{api_key_digest(key)}"]')
    return 0
