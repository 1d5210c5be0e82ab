"""What several subcommands share: loading the routing table with the shipped adapters."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from pydantic import BaseModel

from gateway.errors import RoutingConfigError
from gateway.routing import RoutingTable, load_routing_table

DEFAULT_ROUTING = "routing.yaml"


def default_routing_file() -> str:
    """``$GATEWAY_ROUTING``, else ``routing.yaml`` in the working directory."""
    return os.environ.get("GATEWAY_ROUTING", DEFAULT_ROUTING)


def schema_models() -> Mapping[str, type[BaseModel]]:
    """Schema id → canonical model, for every schema the gateway ships."""
    from schemas import REGISTRY

    return REGISTRY


def load_table(path: str) -> RoutingTable | None:
    """The compiled table, or None after printing every problem to stderr."""
    from adapters import ADAPTERS

    try:
        return load_routing_table(path, schemas=schema_models(), adapters=ADAPTERS)
    except RoutingConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"{path}: refused, {len(exc.problems)} problem(s)", file=sys.stderr)
        return None
