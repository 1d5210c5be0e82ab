"""The seam of record requests: the client of one ministry service, canonical in and out.

A provider adapter knows one ministry service: its protocol (``channel``), the canonical query
it answers (``query``) and the canonical schema of its answer (``answer_schema``). Given the
connection settings of routing.yaml's ``provider:`` it builds a client, whose ``call`` takes the
query and returns the canonical answer as a dict (the gateway validates it against the answer
schema), or raises a ProviderError saying what went wrong on the provider's side:

    ProviderNotFoundError      the provider has no such subject (SOAP fault or HTTP 404 saying so)
    ProviderFaultError         the provider refused the request (a SOAP fault, another 4xx)
    ProviderUnavailableError   unreachable, connection refused or reset, HTTP 5xx, a WSDL that
                               cannot be loaded
    ProviderTimeoutError       no answer within the provider's timeout
    ProviderAnswerError        an answer that cannot be read or mapped to the canonical record

Retries, timeouts of the whole request, access control and logging are the gateway's, never the
adapter's.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

from gateway.routing.spec import ProviderSpec
from schemas import Query


class ProviderClient(Protocol):
    """A connection to one provider: answers canonical queries."""

    async def prepare(self) -> None:
        """Get ready to call (load a WSDL); raise ProviderUnavailableError when that fails."""
        ...

    async def call(self, query: Query) -> dict[str, Any]:
        """The canonical answer to ``query``, as a dict; or a ProviderError."""
        ...

    async def aclose(self) -> None:
        """Release connections; twice is harmless."""
        ...


class ProviderAdapter(Protocol):
    """One ministry service, as the gateway sees it."""

    @property
    def name(self) -> str:
        """The name routing.yaml refers to it by, e.g. ``mvd.person_lookup``."""
        ...

    @property
    def channel(self) -> Literal["soap", "rest"]:
        """The protocol: ``soap`` needs ``provider.wsdl``, ``rest`` needs ``provider.url``."""
        ...

    @property
    def query(self) -> type[Query]:
        """The canonical request it answers."""
        ...

    @property
    def answer_schema(self) -> str:
        """The canonical schema of its answer, e.g. ``person/1``."""
        ...

    def connect(self, spec: ProviderSpec) -> ProviderClient:
        """A client for the provider ``spec`` describes (no I/O until the first call)."""
        ...
