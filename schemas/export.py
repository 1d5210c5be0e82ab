"""Export the records' JSON Schemas (2020-12) to files, one per record version."""

from pathlib import Path
from typing import Final

import orjson

from schemas.registry import REGISTRY, SchemaRegistry, parse_schema_id

JSON_SCHEMA_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"


def export_json_schemas(directory: Path, registry: SchemaRegistry = REGISTRY) -> list[Path]:
    """Write ``{name}.v{version}.schema.json`` for every record; return the paths sorted."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for schema_id, model in registry.items():
        name, version = parse_schema_id(schema_id)
        schema = model.model_json_schema()
        schema["$schema"] = JSON_SCHEMA_DIALECT
        schema["$id"] = f"urn:e-integratsiya:schema:{name}/{version}"
        schema["title"] = model.__name__
        path = directory / f"{name}.v{version}.schema.json"
        path.write_bytes(
            orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
        )
        paths.append(path)
    return sorted(paths)
