"""Deliver by calling one SOAP operation (zeep's async client over httpx), classifying failures.

The canonical JSON object becomes the operation's keyword arguments: for a document/literal
wrapped operation, the wrapper element's children are the canonical fields, nested objects
become complex types and lists repeated elements. zeep is imported where it is used, so the
gateway starts without it when no destination delivers by SOAP.

Failures, most specific first:

    SOAP fault Client / Sender                      permanent (the receiver refused the message)
    SOAP fault VersionMismatch / MustUnderstand /   permanent (we and the receiver disagree on
      DataEncodingUnknown                             the protocol; trying again cannot help)
    SOAP fault Server / Receiver / any other / none transient
    HTTP status without a SOAP fault                like HttpDeliverer: 408, 425, 429, 5xx
                                                    transient (with Retry-After), else permanent
    an answer that is not readable SOAP             transient (we cannot know it was taken)
    timeout, connection error                       transient
    a message that does not fit the operation       permanent (an unknown field, a missing one)
    the WSDL cannot be loaded                       transient (named in the error)
    the WSDL has no such operation/service/port     permanent
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
import orjson

from adapters.outbound.base import Delivery, envelope_headers
from adapters.outbound.http import TRANSIENT_STATUSES, retry_after_seconds
from adapters.soap_client import (
    PERMANENT_FAULT_CODES,
    WsdlMismatchError,
    WsdlPort,
    WsdlUnavailableError,
    fault_kind,
    shorten,
)
from gateway.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError

if TYPE_CHECKING:
    from zeep.exceptions import Fault


@dataclass
class _Exchange:
    """One delivery's HTTP exchange, as the httpx event hooks see it."""

    headers: dict[str, str]
    url: str | None = None
    status: int | None = None
    response_headers: Mapping[str, str] = field(default_factory=dict)


#: the exchange of the delivery running in this task (deliveries run concurrently on one client)
_EXCHANGE: contextvars.ContextVar[_Exchange | None] = contextvars.ContextVar(
    "soap_exchange", default=None
)


async def _on_request(request: httpx.Request) -> None:
    exchange = _EXCHANGE.get()
    if exchange is not None:
        request.headers.update(exchange.headers)
        exchange.url = str(request.url)


async def _on_response(response: httpx.Response) -> None:
    exchange = _EXCHANGE.get()
    if exchange is not None:
        exchange.status = response.status_code
        exchange.response_headers = response.headers


class SoapDeliverer:
    """Calls one operation of a WSDL for each message; a reply without a fault is success.

    The WSDL is loaded once, on the first delivery, in a thread (zeep loads WSDLs
    synchronously). The receiver gets ``Idempotency-Key: <message id>`` and the envelope as
    ``X-*`` HTTP headers, as from HttpDeliverer, so it can drop a duplicate itself.
    ``transport`` carries the SOAP calls and ``wsdl_transport`` the WSDL's download (tests give
    them an httpx.MockTransport); ``timeout`` bounds each of them.
    """

    def __init__(
        self,
        wsdl: str,
        operation: str,
        *,
        timeout: float,
        service: str | None = None,
        port: str | None = None,
        address: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        wsdl_transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._operation = operation
        self._timeout = timeout
        self._address = address
        hooks: dict[str, list[Callable[..., Any]]] = {
            "request": [_on_request],
            "response": [_on_response],
        }
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            transport=transport,
            follow_redirects=False,
            event_hooks=hooks,
        )
        self._wsdl_http = httpx.Client(
            timeout=httpx.Timeout(timeout), transport=wsdl_transport, follow_redirects=False
        )
        self._port = WsdlPort(
            wsdl,
            http=self._http,
            wsdl_http=self._wsdl_http,
            timeout=timeout,
            service=service,
            port=port,
            address=address,
        )

    async def prepare(self) -> None:
        """Load the WSDL and find the operation (once); the errors ``deliver`` would raise."""
        await self._operation_proxy()

    async def deliver(self, delivery: Delivery) -> None:
        """Call the operation; raise TransientDeliveryError or PermanentDeliveryError."""
        fields = self._fields(delivery.body)
        operation = await self._operation_proxy()
        exchange = _Exchange(headers=envelope_headers(delivery))
        token = _EXCHANGE.set(exchange)
        try:
            await self._call(operation, fields, exchange)
        finally:
            _EXCHANGE.reset(token)

    async def aclose(self) -> None:
        """Close the connection pools (twice is harmless)."""
        await self._http.aclose()
        self._wsdl_http.close()

    def _fields(self, body: bytes) -> dict[str, Any]:
        try:
            fields = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise PermanentDeliveryError(f"the body is not JSON: {exc}") from exc
        if not isinstance(fields, dict):
            raise PermanentDeliveryError("the body is not a JSON object")
        reserved = sorted(name for name in fields if name.startswith("_"))
        if reserved:
            # zeep takes keyword arguments starting with _ as options of the call
            raise PermanentDeliveryError(
                f"fields starting with _ cannot be sent as SOAP: {', '.join(reserved)}"
            )
        return fields

    async def _operation_proxy(self) -> Any:
        """The operation to call, binding the WSDL's service on the first delivery."""
        try:
            return await self._port.operation(self._operation)
        except WsdlUnavailableError as exc:
            raise TransientDeliveryError(str(exc)) from exc
        except WsdlMismatchError as exc:
            raise PermanentDeliveryError(str(exc)) from exc

    async def _call(self, operation: Any, fields: dict[str, Any], exchange: _Exchange) -> None:
        from zeep.exceptions import Error as ZeepError
        from zeep.exceptions import Fault, TransportError

        try:
            await operation(**fields)
        except Fault as exc:
            raise self._fault_error(exc, exchange) from exc
        except TransportError as exc:
            raise self._status_error(exc.status_code, exc.message, exchange) from exc
        except httpx.TimeoutException as exc:
            raise TransientDeliveryError(
                f"{self._where(exchange)}: no answer within {self._timeout:g}s"
            ) from exc
        except httpx.RequestError as exc:
            raise TransientDeliveryError(
                f"{self._where(exchange)}: {type(exc).__name__}: {exc}"
            ) from exc
        # Building the request, zeep raises TypeError for a field the operation does not
        # declare, ValidationError for a missing one, ValueError for a value its XSD type cannot
        # take. Reading the answer, zeep's errors (and lxml's XMLSyntaxError, a SyntaxError)
        # mean a reply that is not the SOAP the WSDL promises.
        except (ZeepError, SyntaxError, TypeError, ValueError) as exc:
            if exchange.status is None:
                raise PermanentDeliveryError(
                    f"the message does not fit {self._operation}: {exc}",
                    summary=f"the message does not fit {self._operation} ({type(exc).__name__})",
                ) from exc
            summary = (
                f"{self._where(exchange)} answered HTTP {exchange.status} with a reply that "
                "cannot be read"
            )
            raise TransientDeliveryError(
                f"{summary}: {shorten(str(exc))}", status=exchange.status, summary=summary
            ) from exc

    def _fault_error(self, fault: Fault, exchange: _Exchange) -> DeliveryError:
        code = fault.code or ""
        summary = (
            f"{self._where(exchange)} answered {self._operation} with SOAP fault "
            f"{code or '(no code)'}"
        )
        text = f"{summary}: {shorten(str(fault.message or ''))}"
        if fault_kind(code) in PERMANENT_FAULT_CODES:
            return PermanentDeliveryError(text, status=exchange.status, summary=summary)
        return TransientDeliveryError(
            text,
            status=exchange.status,
            retry_after=retry_after_seconds(exchange.response_headers),
            summary=summary,
        )

    def _status_error(self, status: int, message: str, exchange: _Exchange) -> DeliveryError:
        summary = f"{self._where(exchange)} answered HTTP {status}"
        text = f"{summary}: {shorten(message)}"
        # below 300: the status was fine but the body was not SOAP (a broken answer)
        if status in TRANSIENT_STATUSES or status >= 500 or status < 300:
            return TransientDeliveryError(
                text,
                status=status,
                retry_after=retry_after_seconds(exchange.response_headers),
                summary=summary,
            )
        return PermanentDeliveryError(text, status=status, summary=summary)

    def _where(self, exchange: _Exchange) -> str:
        return exchange.url or self._address or self._port.wsdl
