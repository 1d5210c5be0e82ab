"""The gateway's exceptions: one tree, one place.

Every error that reaches a caller is a :class:`GatewayError`. Its ``code`` says on which side
the failure arose, like X-Road's error codes: ``client.*`` is the caller's request,
``gateway.*`` is ours, ``provider.*`` is the system behind us. Retryability is in the type:
a :class:`TransientError` may succeed if tried again later, a :class:`PermanentError` never will.

    GatewayError                         code, HTTP status, message, details
    ├── ClientError                      client.*  (PermanentError)
    │   ├── BadRequestError              400 client.bad_request
    │   │   └── MalformedJsonError       400 client.malformed_json
    │   ├── AuthenticationError          401 client.unauthenticated, client.missing_key,
    │   │                                    client.unknown_key, client.key_revoked,
    │   │                                    client.unknown_certificate,
    │   │                                    client.identity_mismatch
    │   ├── AccessDeniedError            403 client.access_denied
    │   ├── NotFoundError                404 client.unknown_feed, client.not_found
    │   ├── ConflictError                409 client.duplicate_in_progress
    │   ├── PayloadTooLargeError         413 client.payload_too_large
    │   ├── UnsupportedMediaTypeError    415 client.unsupported_media_type
    │   ├── SchemaViolationError         422 client.schema_violation
    │   ├── RoutingRefusedError          422 client.routing_refused (POST /admin/reload)
    │   └── RateLimitedError             429 client.rate_limited + Retry-After
    └── ServerError                      gateway.*
        ├── InternalError                500 gateway.internal (PermanentError)
        ├── BrokerUnavailableError       503 gateway.broker_unavailable (TransientError)
        │   └── PublishFailedError       503 gateway.publish_failed
        ├── DedupUnavailableError        503 gateway.dedup_unavailable (TransientError)
        ├── DisabledError                503 gateway.disabled: enabled: false (TransientError)
        ├── AuditUnavailableError        503 gateway.audit_unavailable (TransientError)
        └── ProviderError                provider.*: the system behind the gateway
            ├── ProviderNotFoundError    404 provider.not_found (PermanentError)
            ├── ProviderFaultError       502 provider.fault: refused the request (SOAP fault, 4xx)
            ├── ProviderUnavailableError 502 provider.unavailable: down, 5xx (TransientError)
            ├── ProviderAnswerError      502 provider.bad_answer: an answer that is not canonical
            └── ProviderTimeoutError     504 provider.timeout (TransientError)

    RoutingConfigError                   routing.yaml refused: every problem with file:line:path

    DeliveryError                        a delivery worker could not hand a message over
    ├── TransientDeliveryError           timeout, connection error, 408, 429, 5xx: retried
    └── PermanentDeliveryError           other 4xx, a rejection: dead-lettered at once

Library exceptions (aio-pika, orjson, pydantic, ...) are translated at the boundary where they
arise, most specific first, with ``raise ... from exc``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar


class TransientError(Exception):
    """Marker: the same request may succeed later (retry, 503 + Retry-After)."""


class PermanentError(Exception):
    """Marker: the same request will fail again (dead-letter it, or return the error)."""


class GatewayError(Exception):
    """An error with a code, an HTTP status and a message fit for the caller."""

    status: ClassVar[int] = 500
    default_code: ClassVar[str] = "gateway.internal"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.details = dict(details or {})
        self.headers = dict(headers or {})


class ClientError(GatewayError, PermanentError):
    """The caller's request is at fault."""

    status = 400
    default_code = "client.bad_request"


class BadRequestError(ClientError):
    """The request is malformed or misses something required."""


class MalformedJsonError(BadRequestError):
    """The body is not valid JSON (or not UTF-8)."""

    default_code = "client.malformed_json"


class AuthenticationError(ClientError):
    """No credentials, or credentials that belong to no known system."""

    status = 401
    default_code = "client.unauthenticated"

    def __init__(self, message: str, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": 'Bearer realm="e-integratsiya"'})
        super().__init__(message, **kwargs)


class AccessDeniedError(ClientError):
    """A known system asked for something it is not allowed to."""

    status = 403
    default_code = "client.access_denied"


class NotFoundError(ClientError):
    """No such feed, service or resource."""

    status = 404
    default_code = "client.not_found"


class ConflictError(ClientError):
    """The same record is being accepted by another request right now; send it again."""

    status = 409
    default_code = "client.duplicate_in_progress"

    def __init__(self, message: str, *, retry_after: int = 1, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"Retry-After": str(retry_after)})
        super().__init__(message, **kwargs)


class PayloadTooLargeError(ClientError):
    """The body (or the batch) exceeds the configured limit."""

    status = 413
    default_code = "client.payload_too_large"


class UnsupportedMediaTypeError(ClientError):
    """The body is not of a content type the endpoint takes."""

    status = 415
    default_code = "client.unsupported_media_type"


class SchemaViolationError(ClientError):
    """One or more records do not satisfy the feed's mapping or canonical schema."""

    status = 422
    default_code = "client.schema_violation"


class RoutingRefusedError(ClientError):
    """An operator's reload found routing.yaml invalid; the table in force keeps serving."""

    status = 422
    default_code = "client.routing_refused"


class RateLimitedError(ClientError):
    """The caller, or everyone together, asked more often than a rate limit allows; a token
    comes back after Retry-After seconds."""

    status = 429
    default_code = "client.rate_limited"

    def __init__(self, message: str, *, retry_after: int, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"Retry-After": str(retry_after)})
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(GatewayError):
    """The gateway itself failed."""

    status = 500
    default_code = "gateway.internal"


class InternalError(ServerError, PermanentError):
    """An unexpected failure inside the gateway (a bug); the error_id finds it in the log."""


class BrokerUnavailableError(ServerError, TransientError):
    """RabbitMQ is unreachable, blocked, or did not confirm in time."""

    status = 503
    default_code = "gateway.broker_unavailable"

    def __init__(self, message: str, *, retry_after: int = 5, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"Retry-After": str(retry_after)})
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class PublishFailedError(BrokerUnavailableError):
    """The broker refused (nacked) or returned (unroutable) a message."""

    default_code = "gateway.publish_failed"


class DedupUnavailableError(ServerError, TransientError):
    """The idempotency store (SQLite or Redis) cannot be reached or does not answer in time."""

    status = 503
    default_code = "gateway.dedup_unavailable"

    def __init__(self, message: str, *, retry_after: int = 5, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"Retry-After": str(retry_after)})
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class AuditUnavailableError(ServerError, TransientError):
    """The audit store cannot take the exchange's record (down, too slow, backlog full): the
    exchange is refused rather than served unlogged."""

    status = 503
    default_code = "gateway.audit_unavailable"

    def __init__(self, message: str, *, retry_after: int = 5, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"Retry-After": str(retry_after)})
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class DisabledError(ServerError, TransientError):
    """The feed or service exists and the caller may use it, but an operator switched it off
    (``enabled: false``)."""

    status = 503
    default_code = "gateway.disabled"

    def __init__(self, message: str, *, retry_after: int, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"Retry-After": str(retry_after)})
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ProviderError(ServerError):
    """The ministry's service behind a record request failed or said no."""

    status = 502
    default_code = "provider.error"


class ProviderNotFoundError(ProviderError, PermanentError):
    """The provider has no record for the subject asked about."""

    status = 404
    default_code = "provider.not_found"


class ProviderFaultError(ProviderError, PermanentError):
    """The provider refused the request (a SOAP fault, an HTTP 4xx): its message is kept."""

    default_code = "provider.fault"


class ProviderUnavailableError(ProviderError, TransientError):
    """The provider could not be reached or answered with a server error."""

    default_code = "provider.unavailable"


class ProviderAnswerError(ProviderError):
    """The provider answered, but not with anything that maps to the canonical answer."""

    default_code = "provider.bad_answer"


class ProviderTimeoutError(ProviderError, TransientError):
    """No answer within the service's timeout."""

    status = 504
    default_code = "provider.timeout"


def provider_error(code: str, message: str) -> ProviderError:
    """The ProviderError of ``code`` (as a provider worker reports it), with ``message``."""
    kinds: dict[str, type[ProviderError]] = {
        cls.default_code: cls
        for cls in (
            ProviderNotFoundError,
            ProviderFaultError,
            ProviderUnavailableError,
            ProviderAnswerError,
            ProviderTimeoutError,
        )
    }
    return kinds.get(code, ProviderError)(message, code=code)


class DeliveryError(Exception):
    """A delivery to a receiving system failed; ``status`` is the HTTP status if there was one.

    ``message`` may quote the receiver's answer, which can echo personal data: it goes into
    the dead-letter queue beside the message itself. ``summary`` quotes nothing the receiver
    said: it is what the log gets.
    """

    def __init__(
        self, message: str, *, status: int | None = None, summary: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.summary = summary or message


class TransientDeliveryError(DeliveryError, TransientError):
    """Worth trying again: in-process first, then on the broker's retry ladder."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        summary: str | None = None,
    ) -> None:
        super().__init__(message, status=status, summary=summary)
        self.retry_after = retry_after


class PermanentDeliveryError(DeliveryError, PermanentError):
    """The receiver refused the message; trying again would not help."""


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One problem in a configuration file, located by line and key path."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class RoutingConfigError(Exception):
    """routing.yaml was refused; ``problems`` lists every reason, each with file:line:path."""

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"routing table refused ({len(self.problems)} problem(s)):\n{lines}")
