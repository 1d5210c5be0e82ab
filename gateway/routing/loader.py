"""Read routing.yaml into data, remembering the line of every key, so errors can name it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from adapters.base import format_path
from gateway.errors import ConfigProblem

KeyPath = tuple[str | int, ...]


@dataclass
class YamlDocument:
    """Parsed YAML plus the line (1-based) where each key path starts."""

    file: str
    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line_of(self, path: KeyPath) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None

    def problem(self, path: KeyPath, message: str) -> ConfigProblem:
        """A problem located at ``path`` in this document."""
        return ConfigProblem(self.file, self.line_of(path), format_path(path), message)


def parse_yaml(text: str, file: str) -> tuple[YamlDocument | None, list[ConfigProblem]]:
    """Parse one YAML document; on a syntax error return the problem with its line."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.load(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        reason = " ".join(str(x) for x in (exc.context, exc.problem) if x)
        return None, [ConfigProblem(file, line, "", f"malformed YAML: {reason}")]
    except yaml.YAMLError as exc:
        return None, [ConfigProblem(file, None, "", f"malformed YAML: {exc}")]
    document = YamlDocument(file, data)
    problems: list[ConfigProblem] = []
    if node is not None:
        _record_lines(node, (), document, problems)
    return document, problems


def _record_lines(
    node: yaml.Node, path: KeyPath, document: YamlDocument, problems: list[ConfigProblem]
) -> None:
    document.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            child = (*path, key)
            if key in seen:
                problems.append(
                    ConfigProblem(
                        document.file,
                        line,
                        format_path(child),
                        f"duplicate key (first defined on line {seen[key]})",
                    )
                )
                continue
            seen[key] = line
            document.lines[child] = line
            _record_lines(value_node, child, document, problems)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record_lines(item, (*path, index), document, problems)


def pydantic_problems(
    document: YamlDocument, errors: list[Mapping[str, Any]]
) -> list[ConfigProblem]:
    """Turn pydantic's error list into located problems."""
    problems = []
    for error in errors:
        loc = tuple(part for part in error["loc"] if part != "[key]")
        path = _yaml_path(loc, document)
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        elif error["type"] == "missing":
            message = "required key is missing"
        problems.append(document.problem(path, message))
    return problems


def _yaml_path(loc: tuple[Any, ...], document: YamlDocument) -> KeyPath:
    """pydantic's loc may name union members (``tuple[...]``, ``str``); keep only real keys."""
    path: list[str | int] = []
    node = document.data
    for part in loc:
        if (isinstance(node, Mapping) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            path.append(part)
            node = node[part]
        elif isinstance(node, Mapping | list):
            # a key that is not in the data (a missing one): name it, stop descending
            if isinstance(part, str) and not _looks_like_type_tag(part):
                path.append(part)
            break
    return tuple(path)


def _looks_like_type_tag(part: str) -> bool:
    return part in {"str", "int", "float", "bool"} or "[" in part or "function-" in part
