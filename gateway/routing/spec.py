"""The shape of routing.yaml: frozen pydantic models that refuse unknown keys.

These models check each value on its own (types, names, patterns, environment references).
Rules that relate one part of the file to another (a route to a destination that exists, a feed
whose schema and adapter are known) are checked when the table is compiled, in ``table.py``.
"""

from __future__ import annotations

import codecs
import hashlib
import math
import os
import re
from collections.abc import Mapping
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
MIN_API_KEY_LENGTH = 16

SystemId = Annotated[
    str, StringConstraints(pattern=r"^[a-z][a-z0-9-]*(\.[a-z0-9-]+)*$", max_length=64)
]
FeedName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]*$", max_length=64)]
RouteName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9.-]*$", max_length=100)]
DestinationName = Annotated[
    str, StringConstraints(pattern=r"^[a-z][a-z0-9-]*(\.[a-z0-9-]+)*$", max_length=100)
]
QueueName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9._-]*$", max_length=200)]
Scalar = str | int | float | bool


_DURATION = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: object) -> float:
    """``"500ms"``, ``"10s"``, ``"1m"``, ``"2h"``, ``"30d"`` (or a number of seconds) → seconds."""
    if isinstance(value, bool):
        raise ValueError("a duration must be like 500ms, 10s, 1m, 2h or 30d")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.fullmatch(str(value).strip())
        if match is None:
            raise ValueError(
                f"{value!r} is not a duration: write it like 500ms, 10s, 1m, 2h or 30d"
            )
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]


def _env(info: ValidationInfo) -> Mapping[str, str]:
    context = info.context or {}
    env: Mapping[str, str] = context.get("env", os.environ)
    return env


def substitute_env(value: str, env: Mapping[str, str]) -> str:
    """Replace every ``${NAME}`` in ``value`` by that environment variable; a missing one fails."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise ValueError(f"environment variable {name} is not set")
        return env[name]

    return _ENV_REF.sub(replace, value)


_SHA256_ENTRY = re.compile(r"sha256:([0-9A-Fa-f]{64})")


def _api_key_digest(value: str, info: ValidationInfo) -> str:
    """``${VARIABLE}`` (the key, from the environment) or ``sha256:<64 hex digits>`` (its
    digest, as ``gateway keys new`` prints it): either way, the key's SHA-256 in hex."""
    text = value.strip()
    digest = _SHA256_ENTRY.fullmatch(text)
    if digest is not None:
        return digest.group(1).lower()
    if text.lower().startswith("sha256:"):
        raise ValueError(
            "a key's digest is written sha256: and 64 hexadecimal digits "
            f"(found {len(text) - len('sha256:')} characters after sha256:)"
        )
    match = _ENV_REF.fullmatch(text)
    if match is None:
        raise ValueError(
            "an API key is written as its digest, sha256:<64 hex digits> (gateway keys new "
            "prints it), or comes from the environment as ${VARIABLE}; never write a key in clear"
        )
    key = substitute_env(text, _env(info))
    if len(key) < MIN_API_KEY_LENGTH:
        raise ValueError(
            f"the key in {match.group(1)} is too short "
            f"({len(key)} characters, at least {MIN_API_KEY_LENGTH})"
        )
    return api_key_digest(key)


def api_key_digest(key: str) -> str:
    """The form in which the gateway keeps an API key: its SHA-256, hex."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


ApiKeyDigest = Annotated[str, AfterValidator(_api_key_digest)]
"""An API key as routing.yaml gives it (``sha256:<hex>`` or ``${VARIABLE}``), kept as its
SHA-256 in hex: the key itself is never kept."""


def _substitute_from_context(value: str, info: ValidationInfo) -> str:
    return substitute_env(value, _env(info))


EnvStr = Annotated[str, AfterValidator(_substitute_from_context)]
"""A string in which ``${VARIABLE}`` references are replaced from the environment."""

DedupKey = Annotated[
    str, StringConstraints(pattern=r"^(message_id|payload(\.[A-Za-z_][A-Za-z0-9_]*)+)$")
]


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


_GROUP_NAME = re.compile(r"[a-z][a-z0-9_.-]*")
_SYSTEM_PATTERN = re.compile(r"[a-z0-9*][a-z0-9.*-]*")

GroupName = Annotated[str, StringConstraints(pattern=_GROUP_NAME.pattern, max_length=64)]


def _system_pattern(value: str) -> str:
    if len(value) > 64 or _SYSTEM_PATTERN.fullmatch(value) is None:
        raise ValueError(
            f"{value!r} is not a system id or pattern: lower-case letters, digits, . - and * "
            "(agencies.*)"
        )
    return value


def _grantee(value: str) -> str:
    if value.startswith("@"):
        if len(value) > 65 or _GROUP_NAME.fullmatch(value[1:]) is None:
            raise ValueError(
                f"{value!r} is not a group reference: @ and the name of one of groups: "
                "(lower-case letters, digits, _ . -)"
            )
        return value
    if len(value) > 64 or _SYSTEM_PATTERN.fullmatch(value) is None:
        raise ValueError(
            f"{value!r} is neither a system id, a pattern (agencies.*) nor a group (@name)"
        )
    return value


SystemPattern = Annotated[str, AfterValidator(_system_pattern)]
"""A system id, or a glob pattern over system ids (``agencies.*``)."""

GroupMembers = Annotated[tuple[SystemPattern, ...], Field(min_length=1)]

Grantee = Annotated[str, AfterValidator(_grantee)]
"""Who a feed's ``from`` or a service's ``allow`` names: a system id, a pattern, or
``@group``."""


_RATE = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*/\s*([0-9]+(?:\.[0-9]+)?)?\s*(ms|s|m|h|d)")


def parse_rate(value: object) -> tuple[float, float]:
    """``"100/s"``, ``"10/m"``, ``"5/10s"``, ``"1000/h"`` → (count, period in seconds)."""
    match = _RATE.fullmatch(str(value).strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{value!r} is not a rate: write it like 100/s, 10/m, 1000/h or 5/10s")
    count = float(match.group(1))
    period = float(match.group(2) or 1) * _UNIT_SECONDS[match.group(3)]
    if count <= 0 or period <= 0:
        raise ValueError(f"{value!r}: a rate must be more than zero")
    return count, period


def _rate(value: str) -> str:
    parse_rate(value)
    return value.strip()


Rate = Annotated[str, AfterValidator(_rate)]


class RateLimitSpec(_Spec):
    """A token bucket: ``rate`` tokens come back per period, at most ``burst`` are kept; each
    request takes one."""

    rate: Rate = Field(description="100/s, 10/m, 1000/h, 5/10s")
    burst: int | None = Field(
        default=None, ge=1, le=1_000_000, description="default: the count of rate (100 for 100/s)"
    )

    @property
    def per_second(self) -> float:
        """Tokens that come back per second."""
        count, period = parse_rate(self.rate)
        return count / period

    @property
    def capacity(self) -> int:
        """The most tokens the bucket keeps: ``burst``, or the count of ``rate``."""
        if self.burst is not None:
            return self.burst
        count, _ = parse_rate(self.rate)
        return max(1, math.ceil(count))


# the attribute types of a distinguished name, by any name they are written with
_DN_TYPES: Final = {
    "COMMONNAME": "CN",
    "ORGANIZATIONNAME": "O",
    "ORGANIZATIONALUNITNAME": "OU",
    "COUNTRYNAME": "C",
    "LOCALITYNAME": "L",
    "STATEORPROVINCENAME": "ST",
    "S": "ST",
    "STREETADDRESS": "STREET",
    "DOMAINCOMPONENT": "DC",
    "USERID": "UID",
    "E": "EMAILADDRESS",
    "SERIALNUMBER": "SERIALNUMBER",
}
_DN_TYPE: Final = re.compile(r"[A-Za-z][A-Za-z0-9-]*|[0-9]+(\.[0-9]+)+")

DistinguishedName = frozenset[tuple[str, str]]
"""A certificate subject as a set of (attribute type, value): ``CN=a,O=b`` is
``{("CN", "a"), ("O", "b")}``; the order attributes are written in does not matter."""


def dn_attribute(kind: str, value: str) -> tuple[str, str]:
    """One attribute in its compared form: the type's short upper-case name, the value as
    written (``commonName`` → ``CN``)."""
    upper = kind.strip().upper()
    return _DN_TYPES.get(upper, upper), value


def parse_subject(text: str) -> DistinguishedName:
    """``CN=e-tergov,O=Prosecutor General's Office,C=UZ`` (RFC 4514: ``,`` or ``+`` between
    attributes, ``\\`` escapes the next character) → its attributes."""
    attributes: set[tuple[str, str]] = set()
    kind: str | None = None  # the type of the attribute being read, once its = was seen
    current: list[str] = []

    def close() -> None:
        written = f"{kind}={''.join(current)}" if kind is not None else "".join(current)
        if kind is None or _DN_TYPE.fullmatch(kind.strip()) is None or not "".join(current).strip():
            raise ValueError(
                f"{written.strip()!r} is not an attribute of a subject: write TYPE=value, "
                "e.g. CN=e-tergov,O=Prosecutor General's Office,C=UZ"
            )
        attributes.add(dn_attribute(kind, "".join(current).strip()))

    chars = iter(text)
    for char in chars:
        if char == "\\":
            escaped = next(chars, None)
            if escaped is None:
                raise ValueError("a subject cannot end with \\")
            current.append(escaped)
        elif char in ",+":
            close()
            kind, current = None, []
        elif char == "=" and kind is None:
            kind, current = "".join(current), []
        else:
            current.append(char)
    close()
    return frozenset(attributes)


_FINGERPRINT = re.compile(r"[0-9A-Fa-f]{2}(:?[0-9A-Fa-f]{2}){31}")


class CertificateSpec(_Spec):
    """A TLS client certificate that identifies its system: by subject or by fingerprint."""

    subject: str | None = Field(
        default=None, min_length=1, max_length=1000, description="CN=...,O=...,C=..."
    )
    sha256: str | None = Field(
        default=None, description="SHA-256 fingerprint of the certificate (DER), hex"
    )

    @field_validator("subject")
    @classmethod
    def _subject_parses(cls, value: str | None) -> str | None:
        if value is not None:
            parse_subject(value)
        return value

    @field_validator("sha256")
    @classmethod
    def _fingerprint(cls, value: str | None) -> str | None:
        if value is None:
            return None
        text = value.strip()
        if _FINGERPRINT.fullmatch(text) is None or (":" in text and text.count(":") != 31):
            raise ValueError(
                "a fingerprint is the certificate's SHA-256: 64 hexadecimal digits, with or "
                "without a colon between each two (openssl x509 -fingerprint -sha256)"
            )
        return text.replace(":", "").lower()

    @model_validator(mode="after")
    def _one_of(self) -> CertificateSpec:
        if (self.subject is None) == (self.sha256 is None):
            raise ValueError("give exactly one of subject or sha256")
        return self

    @property
    def distinguished_name(self) -> DistinguishedName | None:
        """The subject's attributes (None when the certificate is named by fingerprint)."""
        return None if self.subject is None else parse_subject(self.subject)


class SystemSpec(_Spec):
    """A system that may talk to the gateway (a ministry's system, a prosecutorial system)."""

    title: str = Field(min_length=1, max_length=200)
    api_keys: tuple[ApiKeyDigest, ...] = Field(
        default=(),
        description="sha256:<hex> digests or ${VARIABLE} references; kept only as SHA-256 digests",
    )
    revoked_keys: tuple[ApiKeyDigest, ...] = Field(
        default=(), description="keys no longer accepted (401 client.key_revoked)"
    )
    certificates: tuple[CertificateSpec, ...] = Field(
        default=(), description="TLS client certificates that identify this system"
    )
    rate_limit: RateLimitSpec | None = Field(
        default=None, description="one bucket for every request of this system"
    )


class DedupSpec(_Spec):
    """What makes two messages the same, and for how long that is remembered."""

    key: DedupKey = "message_id"
    window: Duration = Field(default=30 * 86400.0, gt=0)
    scope: FeedName | None = Field(
        default=None,
        description="feeds with the same scope share their keys (one record pushed over two "
        "channels is accepted once); default: the feed's own name",
    )


def _ascii_compatible_encoding(value: str) -> str:
    try:
        info = codecs.lookup(value)
    except LookupError:
        raise ValueError(f"unknown encoding {value!r}") from None
    sample = '\n\r,;|\t"{}<>=abcXYZ019'
    if info.encode(sample)[0] != sample.encode("ascii"):
        raise ValueError(
            f"{value!r} is not ASCII-compatible; files are read as utf-8, cp1251, koi8-r, "
            "latin-1 or another encoding in which ASCII stays ASCII"
        )
    return info.name


Encoding = Annotated[str, AfterValidator(_ascii_compatible_encoding)]
"""A text encoding Python knows, in which ASCII characters keep their bytes."""


class ReadLockSpec(_Spec):
    """When a dropped file is complete: its done marker exists, or it stopped changing."""

    done_marker: bool = Field(
        default=False, description="taken once <name>.done exists beside it (Camel doneFileName)"
    )
    changed_for: Duration | None = Field(
        default=None,
        gt=0,
        description="taken once its size and mtime stayed the same this long (readLock=changed)",
    )

    @model_validator(mode="after")
    def _exactly_one_rule(self) -> ReadLockSpec:
        if self.done_marker == (self.changed_for is not None):
            raise ValueError("give exactly one rule: done_marker: true, or changed_for: <duration>")
        return self


class FileFeedSpec(_Spec):
    """How a ``channel: file`` feed reads the files a system drops into its directory."""

    system: SystemId = Field(description="the system the files count as coming from")
    format: Literal["csv", "xml", "jsonl"]
    pattern: str = Field(
        default="*",
        min_length=1,
        max_length=200,
        pattern=r"^[^/\\\x00]+$",
        description="names taken (a glob); others are left in the inbox",
    )
    encoding: Encoding | None = Field(
        default=None, description="csv, jsonl: default utf-8; xml: default as the file declares"
    )
    delimiter: str = Field(default=",", min_length=1, max_length=1, description="csv only")
    record: str = Field(
        default="record",
        pattern=r"^[A-Za-z_][A-Za-z0-9_.-]*$",
        max_length=100,
        description="xml only: the element of one record, a child of the root",
    )
    read_lock: ReadLockSpec = Field(default_factory=lambda: ReadLockSpec(changed_for=2.0))
    on_bad_record: Literal["reject_file", "skip_and_report"] = "reject_file"
    batch: int = Field(default=500, ge=1, le=10_000, description="records published together")
    poll: Duration = Field(default=1.0, gt=0, le=3600, description="between scans of the inbox")

    @model_validator(mode="after")
    def _options_of_the_format(self) -> FileFeedSpec:
        given = self.model_fields_set
        if "delimiter" in given and self.format != "csv":
            raise ValueError(f"delimiter is for csv files; this feed reads {self.format}")
        if "record" in given and self.format != "xml":
            raise ValueError(f"record is for xml files; this feed reads {self.format}")
        return self


class FeedSpec(_Spec):
    """A one-way inbound flow: who may push, how it is mapped, what it becomes."""

    from_: tuple[Grantee, ...] = Field(alias="from", min_length=1)
    enabled: bool = Field(default=True, description="false: pushes get 503 gateway.disabled")
    rate_limit: RateLimitSpec | None = Field(
        default=None, description="one bucket for every push to this feed, whoever sends"
    )
    channel: Literal["rest", "soap", "file"] = "rest"
    adapter: str = Field(min_length=1)
    schema_id: str = Field(alias="schema", pattern=r"^[a-z][a-z0-9_]*/[0-9]+$")
    max_batch: int = Field(default=1000, ge=1, le=10_000)
    dedup: DedupSpec | None = None
    file: FileFeedSpec | None = None
    log_body: Literal["metadata", "full"] = Field(
        default="metadata",
        description="what the audit log keeps of each exchange: its metadata and the SHA-256 "
        "of the bodies, or the bodies themselves too",
    )
    description: str = ""

    @model_validator(mode="before")
    @classmethod
    def _file_feeds_deduplicate(cls, data: Any) -> Any:
        """A file feed always deduplicates (by the file's SHA-256 and the record's index):
        without ``dedup:`` it gets the defaults (its own scope, 30 days)."""
        if isinstance(data, Mapping) and data.get("channel") == "file" and not data.get("dedup"):
            return {**data, "dedup": {}}
        return data


class RouteSpec(_Spec):
    """One rule of the routing table: conditions on a message, and where it then goes."""

    name: RouteName
    description: str = ""
    when: dict[str, Scalar | tuple[Scalar, ...]] = Field(default_factory=dict)
    to: tuple[DestinationName, ...] = Field(min_length=1)

    @field_validator("when")
    @classmethod
    def _known_condition_keys(
        cls, value: dict[str, Scalar | tuple[Scalar, ...]]
    ) -> dict[str, Scalar | tuple[Scalar, ...]]:
        for key, expected in value.items():
            if key not in ("schema", "feed", "client") and not re.fullmatch(
                r"payload(\.[A-Za-z_][A-Za-z0-9_]*)+", key
            ):
                raise ValueError(
                    f"unknown condition {key!r}: use schema, feed, client or payload.<field>"
                )
            if isinstance(expected, tuple) and not expected:
                raise ValueError(f"condition {key!r} lists no values")
        return value


class QueueSpec(_Spec):
    """The RabbitMQ queue behind a destination."""

    name: QueueName | None = None
    type: Literal["classic", "quorum"] = "quorum"


def _http_url(value: str) -> str:
    if re.match(r"^https?://", value) is None:
        raise ValueError("must be an http:// or https:// URL")
    return value


HttpUrlEnvStr = Annotated[EnvStr, AfterValidator(_http_url)]
"""An http(s) URL, checked after its ``${VARIABLE}`` references are replaced."""


class HttpDeliverySpec(_Spec):
    """POST each message's canonical JSON to a receiving system's URL."""

    url: HttpUrlEnvStr
    timeout: Duration = Field(default=10.0, gt=0, description="per attempt")
    headers: dict[str, EnvStr] = Field(default_factory=dict)


# XML 1.0 (fifth edition) NameStartChar and NameChar, without the colon: an NCName
_NAME_START = (
    "A-Z_a-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff"
    "\u200c-\u200d\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd"
    "\U00010000-\U000effff"
)
_NCNAME = re.compile(f"[{_NAME_START}][{_NAME_START}\\-.0-9\u00b7\u0300-\u036f\u203f-\u2040]*")


def _ncname(value: str) -> str:
    if _NCNAME.fullmatch(value) is None:
        raise ValueError(
            f"{value!r} is not an XML name (NCName): a letter or _ first, then letters, "
            "digits, _, - or .; no colon, no spaces"
        )
    return value


XmlName = Annotated[str, AfterValidator(_ncname)]
"""An XML NCName: the name of a WSDL operation, service or port."""


class SoapDeliverySpec(_Spec):
    """Call one operation of the receiving system's WSDL with each message's canonical fields."""

    wsdl: EnvStr = Field(min_length=1, description="URL or file path of the WSDL")
    operation: XmlName
    service: XmlName | None = Field(default=None, description="when the WSDL has several")
    port: XmlName | None = None
    address: HttpUrlEnvStr | None = Field(
        default=None, description="overrides the endpoint address in the WSDL"
    )
    timeout: Duration = Field(default=10.0, gt=0, description="per attempt")


class FileDeliverySpec(_Spec):
    """Write the messages into a directory the receiving system reads, in batches: each batch
    one file, written under a temporary name, fsynced, then renamed (never seen half-written)."""

    dir: EnvStr = Field(min_length=1, description="the directory (created if missing)")
    format: Literal["jsonl", "xml"] = "jsonl"
    batch_size: int = Field(default=100, ge=1, le=10_000, description="records per file at most")
    batch_seconds: Duration = Field(
        default=1.0, gt=0, le=3600, description="longest a record waits for its batch to fill"
    )
    timeout: Duration = Field(default=30.0, gt=0, description="longest the write of a batch takes")


class DeliverySpec(_Spec):
    """How a destination's messages reach the receiving system: exactly one protocol."""

    http: HttpDeliverySpec | None = None
    soap: SoapDeliverySpec | None = None
    file: FileDeliverySpec | None = None

    @model_validator(mode="after")
    def _exactly_one_protocol(self) -> DeliverySpec:
        given = [name for name in ("http", "soap", "file") if getattr(self, name) is not None]
        if len(given) != 1:
            found = (
                "neither"
                if not given
                else f"both {' and '.join(given)}"
                if len(given) == 2
                else "http, soap and file"
            )
            raise ValueError(f"give exactly one protocol, http, soap or file (found {found})")
        return self

    @property
    def timeout(self) -> float:
        """Seconds one attempt may take, whichever protocol delivers (a file record: waiting
        for its batch to fill, then the write)."""
        if self.file is not None:
            return self.file.batch_seconds + self.file.timeout
        protocol = self.http or self.soap
        assert protocol is not None  # the validator requires one
        return protocol.timeout


class ImmediateRetrySpec(_Spec):
    """Short in-process retries of one delivery attempt, before the broker ladder."""

    attempts: int = Field(default=3, ge=1, le=10)
    max_wait: Duration = Field(default=2.0, ge=0, le=60)


class RetrySpec(_Spec):
    """The retry ladder: a delay queue per step, then the dead-letter queue."""

    delays: tuple[Duration, ...] = (1.0, 10.0, 60.0, 600.0)
    then: Literal["dead-letter"] = "dead-letter"
    immediate: ImmediateRetrySpec = Field(default_factory=ImmediateRetrySpec)

    @field_validator("delays")
    @classmethod
    def _positive(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(d <= 0 for d in value):
            raise ValueError("every delay must be greater than zero")
        return value


class DestinationSpec(_Spec):
    """A receiving system's inbox: a durable queue with its own dead-letter exchange."""

    description: str = ""
    queue: QueueSpec = Field(default_factory=QueueSpec)
    deliver: DeliverySpec | None = None
    prefetch: int = Field(default=16, ge=1, le=1000)
    retry: RetrySpec = Field(default_factory=RetrySpec)
    dedup: DedupSpec | None = None


class ProviderSpec(_Spec):
    """The ministry's service behind a record request: which adapter speaks to it, and where."""

    adapter: str = Field(min_length=1, description="the provider adapter (protocol and mapping)")
    url: HttpUrlEnvStr | None = Field(
        default=None, description="REST: the service's base URL; SOAP: overrides the WSDL's"
    )
    wsdl: EnvStr | None = Field(default=None, description="SOAP: URL or path of the WSDL")
    timeout: Duration = Field(default=5.0, gt=0, description="per call to the provider")
    headers: dict[str, EnvStr] = Field(default_factory=dict)


class ServiceSpec(_Spec):
    """A request-reply service: who may ask, what they must say, who answers, how fast."""

    description: str = ""
    provider: ProviderSpec
    allow: tuple[Grantee, ...] = Field(min_length=1)
    enabled: bool = Field(default=True, description="false: requests get 503 gateway.disabled")
    rate_limit: RateLimitSpec | None = Field(
        default=None, description="one bucket for every request to this service, whoever asks"
    )
    require: tuple[Literal["user_id", "issue"], ...] = ()
    timeout: Duration = Field(default=10.0, gt=0, le=300, description="the caller's whole wait")
    prefetch: int = Field(default=32, ge=1, le=1000)
    log_body: Literal["metadata", "full"] = Field(
        default="metadata",
        description="what the audit log keeps of each exchange: its metadata and the SHA-256 "
        "of the bodies, or the bodies themselves too",
    )


class RoutingSpec(_Spec):
    """The whole of routing.yaml."""

    version: Literal[1]
    systems: dict[SystemId, SystemSpec] = Field(default_factory=dict)
    groups: dict[GroupName, GroupMembers] = Field(
        default_factory=dict,
        description="named groups of systems (X-Road's local groups), granted as @name",
    )
    feeds: dict[FeedName, FeedSpec] = Field(default_factory=dict)
    routes: tuple[RouteSpec, ...] = ()
    destinations: dict[DestinationName, DestinationSpec] = Field(default_factory=dict)
    services: dict[DestinationName, ServiceSpec] = Field(default_factory=dict)
