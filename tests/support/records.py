"""Sample records from tests/fixtures/records/, fresh copies each call."""

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
ROUTING_YAML = Path(__file__).resolve().parents[2] / "routing.yaml"


def load(name: str) -> Any:
    """The parsed JSON of tests/fixtures/records/<name>.json."""
    return json.loads((FIXTURES / "records" / f"{name}.json").read_text(encoding="utf-8"))
