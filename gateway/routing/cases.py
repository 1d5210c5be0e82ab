"""Route tests: YAML cases (a record pushed to a feed → the destinations expected, or the error
expected) run against a routing table without a broker, as Benthos runs its config tests.

A case file holds ``cases:`` and, optionally, the ``feed:`` and ``client:`` its cases default
to. Each case has a ``name``, an ``input`` (``record:`` inline, or ``file:`` a JSON file
relative to the case file; ``set:`` and ``unset:`` change fields of it, by dotted path) and an
``expect`` (``destinations:`` and optionally the ``routes:`` taken; or ``error:`` a code and
optionally the ``fields:`` its problems name). A failure is shown as a diff, with the
conditions that made each route go where it went.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from adapters.base import InboundAdapter
from gateway.errors import ConfigProblem
from gateway.ingest.dry_run import DryRun, dry_run
from gateway.routing.loader import parse_yaml, pydantic_problems
from gateway.routing.table import RoutingTable

CASE_SUFFIXES = (".yaml", ".yml")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CaseInput(_Strict):
    """The record pushed: inline or from a file, with fields changed."""

    record: Any = None
    file: str | None = None
    set: dict[str, Any] = Field(default_factory=dict)
    unset: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_source(self) -> CaseInput:
        if (self.record is None) == (self.file is None):
            raise ValueError("give exactly one of record: (inline) or file: (a JSON file)")
        return self


class CaseExpectation(_Strict):
    """Where the record goes (``destinations``, ``routes``), or the error it gets."""

    destinations: list[str] | None = None
    routes: list[str] | None = None
    error: str | None = None
    fields: list[str] | None = None

    @model_validator(mode="after")
    def _one_outcome(self) -> CaseExpectation:
        routed = self.destinations is not None or self.routes is not None
        failed = self.error is not None or self.fields is not None
        if routed == failed:
            raise ValueError(
                "expect either destinations: (and routes:) or error: (and fields:), not both"
                if routed
                else "expect destinations: (and routes:) or error: (and fields:)"
            )
        if self.fields is not None and self.error is None:
            raise ValueError("fields: goes with error: client.schema_violation")
        return self


class Case(_Strict):
    """One route test."""

    name: str = Field(min_length=1)
    feed: str | None = None
    client: str | None = None
    input: CaseInput
    expect: CaseExpectation


class CaseFile(_Strict):
    """A file of route tests."""

    feed: str | None = None
    client: str | None = None
    cases: list[Case] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class CaseResult:
    """One case's outcome: ``diff`` is empty when it passed."""

    file: str
    line: int | None
    name: str
    diff: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        """True when the table did what the case expects."""
        return not self.diff

    def where(self) -> str:
        """``file:line``."""
        return f"{self.file}:{self.line}" if self.line is not None else self.file


@dataclass
class RunReport:
    """Every case's result, and the problems of case files that could not be read."""

    results: list[CaseResult] = field(default_factory=list)
    problems: list[ConfigProblem] = field(default_factory=list)

    @property
    def failed(self) -> list[CaseResult]:
        """The cases that did not pass."""
        return [r for r in self.results if not r.passed]


def case_files(where: Path) -> list[Path]:
    """``where`` itself when it is a file, else its ``*.yaml``/``*.yml`` files, recursively,
    in name order."""
    if where.is_file():
        return [where]
    return sorted(p for p in where.rglob("*") if p.is_file() and p.suffix in CASE_SUFFIXES)


def run_cases(
    files: Iterable[Path],
    table: RoutingTable,
    adapters: Mapping[str, InboundAdapter],
    schemas: Mapping[str, type[BaseModel]],
) -> RunReport:
    """Run every case of ``files`` against ``table``."""
    report = RunReport()
    for path in files:
        loaded = _load(path, report.problems)
        if loaded is None:
            continue
        spec, lines = loaded
        for index, case in enumerate(spec.cases):
            line = lines.get(index)
            feed = case.feed or spec.feed
            if feed is None:
                report.problems.append(
                    ConfigProblem(str(path), line, f"cases[{index}]", "no feed: (here or above)")
                )
                continue
            try:
                native = _record(case.input, path.parent)
            except ValueError as exc:
                report.problems.append(
                    ConfigProblem(str(path), line, f"cases[{index}].input", str(exc))
                )
                continue
            client = case.client or spec.client or _default_client(table, feed)
            outcome = dry_run(table, adapters, schemas, feed, client, native)
            diff = compare(case.expect, outcome)
            report.results.append(CaseResult(str(path), line, case.name, tuple(diff)))
    return report


def _load(path: Path, problems: list[ConfigProblem]) -> tuple[CaseFile, dict[int, int]] | None:
    """The case file and the line of each case, or None after adding its problems."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(ConfigProblem(str(path), None, "", f"cannot read: {exc}"))
        return None
    document, found = parse_yaml(text, str(path))
    problems += found
    if document is None or found:
        return None
    try:
        spec = CaseFile.model_validate(document.data)
    except ValidationError as exc:
        problems += pydantic_problems(document, exc.errors())  # type: ignore[arg-type]
        return None
    lines = {i: document.lines[("cases", i)] for i in range(len(spec.cases))}
    return spec, lines


def _record(given: CaseInput, base: Path) -> Any:
    """The record a case pushes: its file or inline record, with ``set`` and ``unset`` done."""
    if given.file is not None:
        path = base / given.file
        try:
            record = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError) as exc:
            raise ValueError(f"file {given.file}: {exc}") from exc
    else:
        record = copy.deepcopy(given.record)
    for dotted, value in given.set.items():
        parent, key = _parent(record, dotted, create=True)
        parent[key] = value
    for dotted in given.unset:
        parent, key = _parent(record, dotted, create=False)
        if key not in parent:
            raise ValueError(f"unset: the record has no field {dotted}")
        del parent[key]
    return record


def _parent(record: Any, dotted: str, *, create: bool) -> tuple[dict[str, Any], str]:
    *steps, last = dotted.split(".")
    node = record
    for step in steps:
        if not isinstance(node, dict):
            break
        if step not in node and create:
            node[step] = {}
        node = node.get(step)
    if not isinstance(node, dict):
        raise ValueError(f"{dotted}: the record has no object there")
    return node, last


def _default_client(table: RoutingTable, feed: str) -> str:
    """The first system allowed to push to ``feed`` (the feed's first from: entry if none)."""
    spec = table.feeds.get(feed)
    if spec is None:
        return next(iter(table.systems), "")
    return next((s for s in table.systems if table.may_push(s, spec)), spec.from_[0])


def compare(expect: CaseExpectation, got: DryRun) -> list[str]:
    """The differences between what a case expects and what the table did, as lines meant
    to be read: what was missing, what was not expected, and why."""
    if expect.error is not None:
        return _compare_error(expect, got)
    lines: list[str] = []
    if got.error is not None:
        lines += [
            f"expected destinations {_listed(expect.destinations or [])}",
            f"got error {got.error}: {got.message}",
        ]
        lines += [f"  {p.field or '<record>'}: {p.message}" for p in got.problems]
        return lines
    if expect.destinations is not None:
        lines += _set_diff("destinations", expect.destinations, got.destinations)
        for name in sorted(set(got.destinations) - set(expect.destinations)):
            lines += _why_sent(got, name)
        for name in sorted(set(expect.destinations) - set(got.destinations)):
            lines += _why_not_sent(got, name)
    if expect.routes is not None:
        lines += _set_diff("routes taken", expect.routes, got.taken)
        for route in got.routes:
            if route.route in expect.routes and not route.taken:
                failed = "; ".join(c.describe() for c in route.failed)
                lines.append(f"  route {route.route} not taken: {failed}")
    return lines


def _compare_error(expect: CaseExpectation, got: DryRun) -> list[str]:
    if got.error is None:
        return [
            f"expected error {expect.error}",
            f"got destinations {_listed(got.destinations)} (routes taken: {_listed(got.taken)})",
        ]
    lines: list[str] = []
    if got.error != expect.error:
        lines += [f"expected error {expect.error}", f"got error {got.error}: {got.message}"]
    if expect.fields is not None:
        named = sorted({p.field for p in got.problems})
        lines += _set_diff("fields at fault", expect.fields, named)
        if lines:
            lines += [f"  {p.field or '<record>'}: {p.message}" for p in got.problems]
    return lines


def _set_diff(what: str, expected: Iterable[str], got: Iterable[str]) -> list[str]:
    expected_set, got_set = set(expected), set(got)
    if expected_set == got_set:
        return []
    lines = [f"{what}:", f"  expected: {_listed(sorted(expected_set))}"]
    lines.append(f"  got:      {_listed(sorted(got_set))}")
    lines += [f"  + {name}   (not expected)" for name in sorted(got_set - expected_set)]
    lines += [f"  - {name}   (missing)" for name in sorted(expected_set - got_set)]
    return lines


def _why_sent(got: DryRun, destination: str) -> list[str]:
    taken = [r for r in got.routes if r.taken and destination in r.destinations]
    if not taken:  # no route took it
        return [f"  {destination}: no route took the record"]
    return [
        f"  {destination} came by route {r.route}: "
        + ("; ".join(c.describe() for c in r.conditions) or "it has no conditions")
        for r in taken
    ]


def _why_not_sent(got: DryRun, destination: str) -> list[str]:
    leading = [r for r in got.routes if destination in r.destinations]
    if not leading:
        return [f"  {destination}: no route of the table leads there"]
    return [
        f"  {destination} would come by route {r.route}, not taken: "
        + "; ".join(c.describe() for c in r.failed)
        for r in leading
    ]


def _listed(names: Iterable[str]) -> str:
    return "[" + ", ".join(names) + "]"
