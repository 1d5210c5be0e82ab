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

import asyncio
import contextvars
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
import orjson

from adapters.outbound.base import Delivery, envelope_headers
from adapters.outbound.http import TRANSIENT_STATUSES, retry_after_seconds
from gateway.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError

if TYPE_CHECKING:
    from zeep import AsyncClient
    from zeep.exceptions import Fault

#: SOAP 1.1 / 1.2 fault codes that say the message (or how it was sent) is at fault
PERMANENT_FAULT_CODES = frozenset(
    {"Client", "Sender", "VersionMismatch", "MustUnderstand", "DataEncodingUnknown"}
)
_TEXT_LIMIT = 300


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
        self._wsdl = _local_path(wsdl)
        self._operation = operation
        self._timeout = timeout
        self._service = service
        self._port = port
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
        self._lock = asyncio.Lock()
        self._client: AsyncClient | None = None
        self._proxy: Any = None

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
        if self._proxy is None:
            async with self._lock:
                if self._proxy is None:
                    if self._client is None:
                        self._client = await self._load()
                    self._proxy = self._bind(self._client)
        try:
            return self._proxy[self._operation]
        except AttributeError as exc:
            raise PermanentDeliveryError(
                f"the WSDL {self._wsdl} has no operation {self._operation!r}"
            ) from exc

    async def _load(self) -> AsyncClient:
        import zeep
        from zeep.transports import AsyncTransport

        settings = zeep.Settings(
            strict=True,
            xml_huge_tree=False,
            forbid_dtd=True,
            forbid_entities=True,
            forbid_external=True,
        )
        transport = AsyncTransport(client=self._http, wsdl_client=self._wsdl_http)
        try:
            return await asyncio.to_thread(
                zeep.AsyncClient, self._wsdl, transport=transport, settings=settings
            )
        except httpx.TimeoutException as exc:
            raise TransientDeliveryError(
                f"the WSDL {self._wsdl} cannot be loaded: no answer within {self._timeout:g}s"
            ) from exc
        except Exception as exc:  # unreachable, malformed, refused by the hardened parser, ...
            raise TransientDeliveryError(
                f"the WSDL {self._wsdl} cannot be loaded: {type(exc).__name__}: {exc}"
            ) from exc

    def _bind(self, client: AsyncClient) -> Any:
        """The service proxy of the configured service and port (the WSDL's first ones)."""
        from zeep.proxy import AsyncServiceProxy

        services = client.wsdl.services
        try:
            service = services[self._service] if self._service else next(iter(services.values()))
            ports = service.ports
            port = ports[self._port] if self._port else next(iter(ports.values()))
        except (KeyError, StopIteration) as exc:
            wanted = f"service {self._service or '(any)'}, port {self._port or '(any)'}"
            known = ", ".join(f"{s}: {', '.join(services[s].ports)}" for s in services)
            raise PermanentDeliveryError(
                f"the WSDL {self._wsdl} has no {wanted} (it has {known or 'no service'})"
            ) from exc
        address = self._address or port.binding_options.get("address")
        if not address:
            raise PermanentDeliveryError(
                f"the WSDL {self._wsdl} gives no address for port {port.name}: set address"
            )
        # AsyncServiceProxy, as AsyncClient.bind makes (create_service would make a sync one)
        options = {**port.binding_options, "address": address}
        return AsyncServiceProxy(client, port.binding, **options)

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
                f"{summary}: {_short(str(exc))}", status=exchange.status, summary=summary
            ) from exc

    def _fault_error(self, fault: Fault, exchange: _Exchange) -> DeliveryError:
        code = fault.code or ""
        summary = (
            f"{self._where(exchange)} answered {self._operation} with SOAP fault "
            f"{code or '(no code)'}"
        )
        text = f"{summary}: {_short(str(fault.message or ''))}"
        if _fault_kind(code) in PERMANENT_FAULT_CODES:
            return PermanentDeliveryError(text, status=exchange.status, summary=summary)
        return TransientDeliveryError(
            text,
            status=exchange.status,
            retry_after=retry_after_seconds(exchange.response_headers),
            summary=summary,
        )

    def _status_error(self, status: int, message: str, exchange: _Exchange) -> DeliveryError:
        summary = f"{self._where(exchange)} answered HTTP {status}"
        text = f"{summary}: {_short(message)}"
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
        return exchange.url or self._address or self._wsdl


def _fault_kind(code: str) -> str:
    """``soap:Client.Authentication`` → ``Client``; ``{ns}Receiver`` → ``Receiver``."""
    local = code.rsplit("}", 1)[-1].rsplit(":", 1)[-1]
    return local.split(".", 1)[0].strip()


def _local_path(wsdl: str) -> str:
    """A ``file://`` URL as the path zeep can open; anything else as given."""
    parsed = urllib.parse.urlparse(wsdl)
    if parsed.scheme == "file":
        return urllib.request.url2pathname(parsed.path)
    return wsdl


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _TEXT_LIMIT else text[: _TEXT_LIMIT - 1] + "…"
