"""The compiled routing table: immutable, checked as a whole, answers "where does this go?".

Routing semantics (documented in the README):
- every route whose conditions all hold is taken (fan-out); the message goes once to each
  distinct destination of those routes, in the order the routes are written;
- a message that no route takes goes to the ``unrouted`` queue, never nowhere;
- a condition on a list-valued payload field holds when any element is among the values.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError

from gateway.errors import ConfigProblem, RoutingConfigError
from gateway.routing.loader import KeyPath, YamlDocument, parse_yaml, pydantic_problems
from gateway.routing.spec import (
    DestinationSpec,
    DistinguishedName,
    FeedSpec,
    RouteSpec,
    RoutingSpec,
    Scalar,
    ServiceSpec,
    SystemSpec,
    api_key_digest,
)

UNROUTED = "unrouted"
_ABSENT = object()


# an XML NCName, close enough: a letter or underscore, then letters, digits, ``_ - .``
_XML_NAME = re.compile(r"[^\W\d][\w.\-]*")


class AdapterLike(Protocol):
    """What the table needs to know of an inbound adapter."""

    @property
    def schema_id(self) -> str: ...


class ProviderLike(Protocol):
    """What the table needs to know of a provider adapter (the client of a ministry's service)."""

    @property
    def channel(self) -> str:
        """``soap`` (needs ``wsdl``) or ``rest`` (needs ``url``)."""
        ...


@dataclass(frozen=True, slots=True)
class MatchContext:
    """What routes may look at: the message's schema, feed, sender and canonical payload."""

    schema_id: str
    feed: str
    client: str
    payload: Mapping[str, Any]

    def value(self, key: str) -> Any:
        """The value a condition key names, or a sentinel when the payload lacks it."""
        if key == "schema":
            return self.schema_id
        if key == "feed":
            return self.feed
        if key == "client":
            return self.client
        node: Any = self.payload
        for part in key.split(".")[1:]:
            if not isinstance(node, Mapping) or part not in node:
                return _ABSENT
            node = node[part]
        return node


@dataclass(frozen=True, slots=True)
class ConditionResult:
    """One condition evaluated against one message."""

    key: str
    expected: tuple[Scalar, ...]
    actual: Any
    holds: bool

    def describe(self) -> str:
        """``payload.severity = 'grave' ∈ [grave, especially_grave]`` (∉ when it fails;
        ``<absent>`` when the record lacks the field)."""
        actual = "<absent>" if self.actual is _ABSENT else repr(self.actual)
        listed = ", ".join(str(v) for v in self.expected)
        return f"{self.key} = {actual} {'∈' if self.holds else '∉'} [{listed}]"

    def shown_actual(self) -> Any:
        """The value found, as JSON would show it (None when the record lacks the field)."""
        return None if self.actual is _ABSENT else self.actual


@dataclass(frozen=True, slots=True)
class Condition:
    """``key`` must take one of ``expected`` (glob patterns for ``client``)."""

    key: str
    expected: tuple[Scalar, ...]

    def evaluate(self, ctx: MatchContext) -> ConditionResult:
        """Evaluate this condition for one message."""
        actual = ctx.value(self.key)
        if actual is _ABSENT:
            holds = False
        elif self.key == "client":
            holds = any(fnmatch.fnmatchcase(str(actual), str(p)) for p in self.expected)
        elif isinstance(actual, list):
            holds = any(_scalar_in(item, self.expected) for item in actual)
        else:
            holds = _scalar_in(actual, self.expected)
        return ConditionResult(self.key, self.expected, actual, holds)


def _scalar_in(actual: Any, expected: tuple[Scalar, ...]) -> bool:
    # YAML `true` must not equal JSON 1, nor YAML 1 equal JSON true
    return any(actual == e and isinstance(actual, bool) == isinstance(e, bool) for e in expected)


@dataclass(frozen=True, slots=True)
class Route:
    """A compiled route."""

    name: str
    conditions: tuple[Condition, ...]
    destinations: tuple[str, ...]

    def matches(self, ctx: MatchContext) -> bool:
        """True when every condition holds."""
        return all(c.evaluate(ctx).holds for c in self.conditions)


@dataclass(frozen=True, slots=True)
class RouteExplanation:
    """Why one route did or did not take a message."""

    route: str
    taken: bool
    conditions: tuple[ConditionResult, ...]
    destinations: tuple[str, ...]

    @property
    def failed(self) -> tuple[ConditionResult, ...]:
        """The conditions that do not hold: why the route was not taken."""
        return tuple(c for c in self.conditions if not c.holds)


@dataclass(frozen=True)
class RoutingTable:
    """The checked, immutable routing table the gateway serves with."""

    source: str
    sha256: str
    loaded_at: datetime
    spec: RoutingSpec
    routes: tuple[Route, ...]
    _systems_by_key: Mapping[str, str] = field(repr=False)
    _revoked_by: Mapping[str, str] = field(repr=False)
    _systems_by_subject: Mapping[DistinguishedName, str] = field(repr=False)
    _systems_by_fingerprint: Mapping[str, str] = field(repr=False)

    @property
    def systems(self) -> Mapping[str, SystemSpec]:
        """System id → its spec."""
        return self.spec.systems

    @property
    def groups(self) -> Mapping[str, tuple[str, ...]]:
        """Group name → its members (system ids or patterns)."""
        return self.spec.groups

    @property
    def feeds(self) -> Mapping[str, FeedSpec]:
        """Feed name → its spec."""
        return self.spec.feeds

    @property
    def destinations(self) -> Mapping[str, DestinationSpec]:
        """Destination name → its spec."""
        return self.spec.destinations

    @property
    def services(self) -> Mapping[str, ServiceSpec]:
        """Service name → its spec."""
        return self.spec.services

    # Keys are looked up by their SHA-256, never compared as they are: how long finding a
    # digest takes can tell only about the digest, and a digest tells nothing of any key
    # (SHA-256 is preimage resistant), so the lookup does the work of a constant-time compare.
    def authenticate(self, api_key: str) -> str | None:
        """The system that owns ``api_key``, or None."""
        return self._systems_by_key.get(api_key_digest(api_key))

    def revoked_by(self, api_key: str) -> str | None:
        """The system that revoked ``api_key`` (its ``revoked_keys``), or None."""
        return self._revoked_by.get(api_key_digest(api_key))

    def certificate_owner(self, subject: DistinguishedName, sha256: str) -> str | None:
        """The system a client certificate identifies, by its fingerprint first, then by its
        subject; None when it identifies none."""
        return self._systems_by_fingerprint.get(sha256) or self._systems_by_subject.get(subject)

    def grants(self, system: str, grantees: Iterable[str]) -> bool:
        """True when one of ``grantees`` names ``system``: its id, a glob pattern matching it,
        or ``@group`` with a member that does."""
        return _grants(self.spec, system, grantees)

    def may_push(self, system: str, feed: FeedSpec) -> bool:
        """True when ``system`` is among the feed's ``from`` (patterns and groups allowed)."""
        return self.grants(system, feed.from_)

    def may_call(self, system: str, service: ServiceSpec) -> bool:
        """True when ``system`` is among the service's ``allow`` (patterns and groups
        allowed)."""
        return self.grants(system, service.allow)

    def open_file_feed(self, name: str) -> FeedSpec | None:
        """The file feed ``name`` while files dropped for it are to be taken: it is a file
        feed, enabled, and the system that owns its directory may push to it; else None
        (its files wait in the inbox)."""
        feed = self.spec.feeds.get(name)
        if feed is None or feed.file is None or not feed.enabled:
            return None
        return feed if self.may_push(feed.file.system, feed) else None

    def route(self, ctx: MatchContext) -> tuple[str, ...]:
        """The destinations of a message: the union over every route taken, or ``unrouted``."""
        found: dict[str, None] = {}
        for route in self.routes:
            if route.matches(ctx):
                found.update(dict.fromkeys(route.destinations))
        return tuple(found) or (UNROUTED,)

    def explain(self, ctx: MatchContext) -> list[RouteExplanation]:
        """Every route with each of its conditions evaluated for ``ctx``."""
        out = []
        for route in self.routes:
            results = tuple(c.evaluate(ctx) for c in route.conditions)
            out.append(
                RouteExplanation(
                    route.name, all(r.holds for r in results), results, route.destinations
                )
            )
        return out


def load_routing_table(
    path: str | os.PathLike[str],
    *,
    schemas: Mapping[str, type[BaseModel]],
    adapters: Mapping[str, AdapterLike],
    providers: Mapping[str, ProviderLike] | None = None,
    env: Mapping[str, str] | None = None,
) -> RoutingTable:
    """Read, check and compile routing.yaml; raise RoutingConfigError listing every problem."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RoutingConfigError([ConfigProblem(file, None, "", f"cannot read: {exc}")]) from exc
    return compile_routing_table(
        text, file, schemas=schemas, adapters=adapters, providers=providers, env=env
    )


def compile_routing_table(
    text: str,
    file: str,
    *,
    schemas: Mapping[str, type[BaseModel]],
    adapters: Mapping[str, AdapterLike],
    providers: Mapping[str, ProviderLike] | None = None,
    env: Mapping[str, str] | None = None,
) -> RoutingTable:
    """Check and compile routing.yaml's text; raise RoutingConfigError listing every problem.

    ``providers`` are the provider adapters services may name (none: no service may be
    declared)."""
    document, problems = parse_yaml(text, file)
    if document is None:
        raise RoutingConfigError(problems)
    if not isinstance(document.data, Mapping):
        raise RoutingConfigError([*problems, document.problem((), "must be a mapping")])
    spec, removed = _validate(document, os.environ if env is None else env, problems)
    if spec is None:
        raise RoutingConfigError(problems)
    problems += _cross_check(spec, document, schemas, adapters, removed)
    problems += _check_services(spec, document, providers or {}, removed)
    if problems:
        raise RoutingConfigError(problems)
    return RoutingTable(
        source=file,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        loaded_at=datetime.now(UTC),
        spec=spec,
        routes=tuple(_compile_route(r) for r in spec.routes),
        _systems_by_key={
            digest: system_id
            for system_id, system in spec.systems.items()
            for digest in system.api_keys
        },
        _revoked_by={
            digest: system_id
            for system_id, system in spec.systems.items()
            for digest in system.revoked_keys
        },
        _systems_by_subject={
            dn: system_id
            for system_id, system in spec.systems.items()
            for certificate in system.certificates
            if (dn := certificate.distinguished_name) is not None
        },
        _systems_by_fingerprint={
            certificate.sha256: system_id
            for system_id, system in spec.systems.items()
            for certificate in system.certificates
            if certificate.sha256 is not None
        },
    )


_SECTIONS = ("systems", "groups", "feeds", "routes", "destinations", "services")


def _validate(
    document: YamlDocument, env: Mapping[str, str], problems: list[ConfigProblem]
) -> tuple[RoutingSpec | None, dict[str, set[str | int]]]:
    """Validate the document; on errors, validate again without the faulty entries.

    The second pass lets the cross-checks run over everything that is valid, so one run of
    ``routes check`` reports every problem, not just the first kind of them.
    """
    context = {"env": env}
    try:
        return RoutingSpec.model_validate(document.data, context=context), {}
    except ValidationError as exc:
        errors = exc.errors()
    problems += pydantic_problems(document, errors)  # type: ignore[arg-type]
    removed: dict[str, set[str | int]] = {section: set() for section in _SECTIONS}
    for error in errors:
        loc = error["loc"]
        if len(loc) < 2 or loc[0] not in _SECTIONS:
            return None, removed
        removed[str(loc[0])].add(loc[1])
    data = dict(document.data)
    for section, names in removed.items():
        entries = data.get(section)
        if isinstance(entries, Mapping):
            data[section] = {k: v for k, v in entries.items() if k not in names}
        elif isinstance(entries, list):
            data[section] = [v for i, v in enumerate(entries) if i not in names]
    try:
        return RoutingSpec.model_validate(data, context=context), removed
    except ValidationError:
        return None, removed


def _compile_route(spec: RouteSpec) -> Route:
    conditions = tuple(
        Condition(key, value if isinstance(value, tuple) else (value,))
        for key, value in spec.when.items()
    )
    return Route(spec.name, conditions, spec.to)


def _cross_check(
    spec: RoutingSpec,
    doc: YamlDocument,
    schemas: Mapping[str, type[BaseModel]],
    adapters: Mapping[str, AdapterLike],
    removed: Mapping[str, set[str | int]],
) -> list[ConfigProblem]:
    """Rules between parts of the file; entries already refused are not reported again."""
    problems: list[ConfigProblem] = []
    refused_systems = {str(s) for s in removed.get("systems", ())}

    def problem(path: KeyPath, message: str) -> None:
        problems.append(doc.problem(path, message))

    _check_identities(spec, problem)
    _check_groups(spec, refused_systems, problem)
    refused_groups = {str(g) for g in removed.get("groups", ())}

    for name, feed in spec.feeds.items():
        for i, grantee in enumerate(feed.from_):
            _check_grantee(
                grantee, spec, refused_systems, refused_groups, ("feeds", name, "from", i), problem
            )
        if feed.schema_id not in schemas:
            problem(
                ("feeds", name, "schema"),
                f"unknown schema {feed.schema_id!r} (known: {', '.join(sorted(schemas))})",
            )
        if feed.dedup is not None and feed.schema_id in schemas:
            _check_payload_key(
                feed.dedup.key, [schemas[feed.schema_id]], ("feeds", name, "dedup", "key"), problem
            )
        _check_file_feed(name, feed, spec, refused_systems, problem)
        adapter = adapters.get(feed.adapter)
        if adapter is None:
            problem(
                ("feeds", name, "adapter"),
                f"unknown adapter {feed.adapter!r} (known: {', '.join(sorted(adapters))})",
            )
        elif adapter.schema_id != feed.schema_id:
            problem(
                ("feeds", name, "adapter"),
                f"adapter {feed.adapter!r} produces {adapter.schema_id}, "
                f"but the feed declares {feed.schema_id}",
            )
        elif feed.channel == "soap" and (unsafe := _non_xml_name(adapter)) is not None:
            problem(
                ("feeds", name, "adapter"),
                f"adapter {feed.adapter!r} cannot serve channel: soap: its native field "
                f"{unsafe!r} is not an XML element name",
            )

    if UNROUTED in spec.destinations:
        problem(("destinations", UNROUTED), f"{UNROUTED!r} is reserved for unrouted messages")
    queue_owner: dict[str, str] = {}
    for name, destination in spec.destinations.items():
        if destination.dedup is not None:
            _check_payload_key(
                destination.dedup.key,
                list(schemas.values()),
                ("destinations", name, "dedup", "key"),
                problem,
            )
        to_file = destination.deliver.file if destination.deliver is not None else None
        if to_file is not None and to_file.batch_size > destination.prefetch:
            problem(
                ("destinations", name, "deliver", "file", "batch_size"),
                f"a batch of {to_file.batch_size} can never fill: the worker holds at most "
                f"prefetch = {destination.prefetch} messages at once",
            )
        queue = destination.queue.name or name
        if queue in queue_owner:
            problem(
                ("destinations", name, "queue"),
                f"queue {queue!r} is already used by destination {queue_owner[queue]!r}",
            )
        queue_owner.setdefault(queue, name)

    refused_routes = removed.get("routes", set())
    positions = [  # where each remaining route stands in the file
        i for i in range(len(spec.routes) + len(refused_routes)) if i not in refused_routes
    ]
    route_names: dict[str, int] = {}
    for i, route in zip(positions, spec.routes, strict=True):
        if route.name in route_names:
            problem(
                ("routes", i, "name"),
                f"duplicate route name {route.name!r} (first at routes[{route_names[route.name]}])",
            )
        route_names.setdefault(route.name, i)
        for j, target in enumerate(route.to):
            if target not in spec.destinations and target not in removed.get("destinations", ()):
                problem(("routes", i, "to", j), f"unknown destination {target!r}")
        _check_conditions(route, i, spec, schemas, problem, removed.get("feeds", set()))
    return problems


def _check_identities(spec: RoutingSpec, problem: Any) -> None:
    """A key, a certificate subject or a fingerprint identifies one system only; a revoked
    key is given to no system."""
    key_owner: dict[str, str] = {}
    for system_id, system in spec.systems.items():
        for i, digest in enumerate(system.api_keys):
            if digest in key_owner:
                problem(
                    ("systems", system_id, "api_keys", i),
                    f"the same key is already given to {key_owner[digest]}",
                )
            key_owner.setdefault(digest, system_id)
    for system_id, system in spec.systems.items():
        for i, digest in enumerate(system.revoked_keys):
            if digest in key_owner:
                problem(
                    ("systems", system_id, "revoked_keys", i),
                    f"this key is revoked, but still in the api_keys of {key_owner[digest]}",
                )
    certificate_owner: dict[object, str] = {}
    for system_id, system in spec.systems.items():
        for i, certificate in enumerate(system.certificates):
            identity: object = certificate.sha256 or certificate.distinguished_name
            what = "fingerprint" if certificate.sha256 else "subject"
            if identity in certificate_owner:
                problem(
                    ("systems", system_id, "certificates", i),
                    f"the same certificate {what} already identifies {certificate_owner[identity]}",
                )
            certificate_owner.setdefault(identity, system_id)


def _check_groups(spec: RoutingSpec, refused_systems: set[str], problem: Any) -> None:
    """Each member of a group names a system (a pattern: at least one)."""
    known = (*spec.systems, *refused_systems)
    for group, members in spec.groups.items():
        for i, member in enumerate(members):
            if not any(fnmatch.fnmatchcase(s, member) for s in known):
                problem(("groups", group, i), f"{member!r} matches no system")


def _check_grantee(
    grantee: str,
    spec: RoutingSpec,
    refused_systems: set[str],
    refused_groups: set[str],
    path: KeyPath,
    problem: Any,
) -> None:
    """A ``from``/``allow`` entry names a group that exists, or matches a system."""
    if grantee.startswith("@"):
        group = grantee[1:]
        if group not in spec.groups and group not in refused_groups:
            known = ", ".join(f"@{g}" for g in sorted(spec.groups)) or "none"
            problem(path, f"unknown group {grantee!r} (groups: {known})")
        return
    if not any(fnmatch.fnmatchcase(s, grantee) for s in (*spec.systems, *refused_systems)):
        problem(path, f"{grantee!r} matches no system")


def _grants(spec: RoutingSpec, system: str, grantees: Iterable[str]) -> bool:
    """True when one of ``grantees`` (ids, patterns, ``@group``) names ``system``."""
    for grantee in grantees:
        members = spec.groups.get(grantee[1:], ()) if grantee.startswith("@") else (grantee,)
        if any(fnmatch.fnmatchcase(system, member) for member in members):
            return True
    return False


def _non_xml_name(adapter: AdapterLike) -> str | None:
    """The first native field name of ``adapter`` that cannot name an XML element (a CSV
    column such as ``Номер проверки``), or None. Adapters that describe no shape pass."""
    shape = getattr(adapter, "native_shape", None)
    pending = list(shape()) if shape is not None else []
    while pending:
        field_ = pending.pop(0)
        if ":" in field_.name or not _XML_NAME.fullmatch(field_.name):
            return str(field_.name)
        pending.extend(field_.fields or ())
    return None


def _check_file_feed(
    name: str, feed: FeedSpec, spec: RoutingSpec, refused_systems: set[str], problem: Any
) -> None:
    """A ``file:`` block exactly on ``channel: file`` feeds; its system exists and may push to
    the feed; a file feed deduplicates by file content and record index, never by ``key``."""
    if feed.channel != "file":
        if feed.file is not None:
            problem(
                ("feeds", name, "file"),
                f"file: is for channel: file feeds; this feed's channel is {feed.channel}",
            )
        return
    if feed.file is None:
        problem(
            ("feeds", name, "channel"),
            "a file feed needs a file: block (system, format, read_lock, ...)",
        )
        return
    system = feed.file.system
    if system not in spec.systems:
        if system not in refused_systems:
            problem(("feeds", name, "file", "system"), f"unknown system {system!r}")
    elif not _grants(spec, system, feed.from_):
        problem(
            ("feeds", name, "file", "system"),
            f"system {system!r} may not push to this feed: it is not matched by from",
        )
    if feed.dedup is not None and feed.dedup.key != "message_id":
        problem(
            ("feeds", name, "dedup", "key"),
            "a file feed deduplicates by the file's SHA-256 and the record's index: key does "
            "not apply (scope and window do)",
        )


def _check_services(
    spec: RoutingSpec,
    doc: YamlDocument,
    providers: Mapping[str, ProviderLike],
    removed: Mapping[str, set[str | int]],
) -> list[ConfigProblem]:
    """Services: who may call them exists; the provider adapter exists and has what it needs."""
    problems: list[ConfigProblem] = []
    refused_systems = {str(s) for s in removed.get("systems", ())}
    refused_groups = {str(g) for g in removed.get("groups", ())}

    def problem(path: KeyPath, message: str) -> None:
        problems.append(doc.problem(path, message))

    for name, service in spec.services.items():
        for i, grantee in enumerate(service.allow):
            _check_grantee(
                grantee,
                spec,
                refused_systems,
                refused_groups,
                ("services", name, "allow", i),
                problem,
            )
        where = ("services", name, "provider")
        provider = providers.get(service.provider.adapter)
        if provider is None:
            known = ", ".join(sorted(providers)) or "none"
            problems.append(
                doc.problem(
                    (*where, "adapter"),
                    f"unknown provider adapter {service.provider.adapter!r} (known: {known})",
                )
            )
        elif provider.channel == "soap" and service.provider.wsdl is None:
            problems.append(doc.problem(where, "a SOAP provider needs wsdl"))
        elif provider.channel == "rest" and service.provider.url is None:
            problems.append(doc.problem(where, "a REST provider needs url"))
        if name in spec.destinations:
            problems.append(
                doc.problem(("services", name), f"{name!r} is also a destination: name it apart")
            )
    return problems


def _check_conditions(
    route: RouteSpec,
    index: int,
    spec: RoutingSpec,
    schemas: Mapping[str, type[BaseModel]],
    problem: Any,
    refused_feeds: set[str | int],
) -> None:
    def values(key: str) -> tuple[Scalar, ...]:
        value = route.when[key]
        return value if isinstance(value, tuple) else (value,)

    route_schemas = [str(s) for s in values("schema")] if "schema" in route.when else None
    for s in route_schemas or ():
        if s not in schemas:
            problem(("routes", index, "when", "schema"), f"unknown schema {s!r}")
    if "feed" in route.when:
        for f in values("feed"):
            if f not in spec.feeds and f not in refused_feeds:
                problem(("routes", index, "when", "feed"), f"unknown feed {f!r}")
    visible = [schemas[s] for s in route_schemas or schemas if s in schemas]
    for key in route.when:
        if key.startswith("payload.") and visible:
            parts = key.split(".")[1:]
            if not any(_model_has_path(model, parts) for model in visible):
                names = ", ".join(_schema_ids(schemas, visible))
                problem(("routes", index, "when", key), f"no field {key!r} in {names}")


def _check_payload_key(
    key: str, models: list[type[BaseModel]], path: KeyPath, problem: Any
) -> None:
    if key.startswith("payload.") and not any(
        _model_has_path(model, key.split(".")[1:]) for model in models
    ):
        problem(path, f"no field {key!r} in the schema")


def _schema_ids(
    schemas: Mapping[str, type[BaseModel]], models: Iterable[type[BaseModel]]
) -> list[str]:
    wanted = set(models)
    return [sid for sid, model in schemas.items() if model in wanted]


def _model_has_path(model: type[BaseModel], parts: list[str]) -> bool:
    field_info = model.model_fields.get(parts[0])
    if field_info is None:
        return False
    if len(parts) == 1:
        return True
    return any(_model_has_path(sub, parts[1:]) for sub in _submodels(field_info.annotation))


def _submodels(annotation: Any) -> Iterable[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for arg in getattr(annotation, "__args__", ()):
        yield from _submodels(arg)
