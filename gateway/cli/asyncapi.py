"""``gateway asyncapi``: the AsyncAPI 3.0 document of the broker topology.

What each receiving system will consume (a channel per destination's work queue with the
canonical schemas that can reach it, its dead-letter queue, each service's request queue and
replies), from the routing table, ``GATEWAY_NAMESPACE`` and ``GATEWAY_AMQP_URL`` (without its
credentials). Nothing is asked of RabbitMQ. YAML, or JSON when ``--output`` ends in ``.json``
or ``--format json`` says so.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(commands: Any) -> None:
    """Add ``asyncapi``."""
    from gateway.cli._common import default_routing_file

    parser = commands.add_parser(
        "asyncapi",
        help="write the AsyncAPI 3.0 document of the broker topology",
        description="Write the AsyncAPI 3.0 document of the broker topology the routing table "
        "asks for: what each receiving system consumes, with the canonical schemas. Reads "
        "GATEWAY_AMQP_URL (written without its credentials) and GATEWAY_NAMESPACE, and the "
        "${VARIABLES} of the routing table, like the gateway; connects to nothing.",
    )
    parser.add_argument(
        "--routing",
        default=default_routing_file(),
        help="routing table (default: $GATEWAY_ROUTING or routing.yaml)",
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        help="write the document to this file (default: standard output)",
    )
    parser.add_argument(
        "--format",
        choices=("yaml", "json"),
        help="yaml (default) or json (the default when --output ends in .json)",
    )
    parser.set_defaults(handler=_asyncapi)


def _asyncapi(args: argparse.Namespace) -> int:
    import orjson
    import yaml
    from pydantic import ValidationError

    from adapters.providers import PROVIDERS
    from gateway.broker.asyncapi import asyncapi_document
    from gateway.cli._common import load_table, schema_models
    from gateway.config import Settings

    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"invalid GATEWAY_* settings: {exc}", file=sys.stderr)
        return 2
    table = load_table(args.routing)
    if table is None:
        return 2
    schemas = schema_models()
    providers = {name: PROVIDERS[spec.provider.adapter] for name, spec in table.services.items()}
    document = asyncapi_document(
        table,
        namespace=settings.namespace,
        amqp_url=settings.amqp_url,
        schemas=schemas,
        queries={name: provider.query for name, provider in providers.items()},
        answers={name: schemas[provider.answer_schema] for name, provider in providers.items()},
    )
    as_json = args.format == "json" or (
        args.format is None and args.output is not None and args.output.suffix == ".json"
    )
    if as_json:
        text = orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n"
    else:
        text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
        print(args.output)
    return 0
