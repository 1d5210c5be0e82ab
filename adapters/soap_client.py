"""zeep's async client as the gateway uses it, for deliveries and record requests alike.

- :func:`hardened_settings`: strict parsing; no DTDs, entities, external references or huge
  trees, in WSDLs and in replies alike;
- :class:`WsdlPort`: one port of a WSDL, loaded once off the event loop (zeep loads WSDLs
  synchronously) under a lock, a failed load tried again on the next use, bound as an
  AsyncServiceProxy to the WSDL's address or another;
- :func:`fault_kind`: what a SOAP fault code says (``soap:Client.Auth`` → ``Client``).

zeep is imported where it is used, so the gateway starts without it when nothing speaks SOAP.
What a failure means (retry or not, whose fault) is the caller's to decide: a WSDL that cannot
be loaded is :class:`WsdlUnavailableError` (it may load later), a WSDL without the service,
port, address or operation asked for is :class:`WsdlMismatchError` (it will not).
"""

from __future__ import annotations

import asyncio
import urllib.parse
import urllib.request
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from zeep import AsyncClient, Settings

#: SOAP 1.1 / 1.2 fault codes that say the message (or how it was sent) is at fault
PERMANENT_FAULT_CODES = frozenset(
    {"Client", "Sender", "VersionMismatch", "MustUnderstand", "DataEncodingUnknown"}
)
_TEXT_LIMIT = 300


class WsdlUnavailableError(Exception):
    """The WSDL cannot be loaded (unreachable, malformed, refused by the hardened parser)."""


class WsdlMismatchError(Exception):
    """The WSDL has no such service, port or operation, or no address for the port."""


def hardened_settings() -> Settings:
    """zeep settings that refuse what a hostile WSDL or reply could do to the parser."""
    import zeep

    return zeep.Settings(
        strict=True,
        xml_huge_tree=False,
        forbid_dtd=True,
        forbid_entities=True,
        forbid_external=True,
    )


class WsdlPort:
    """One port of a WSDL: its operations, callable asynchronously over ``http``.

    ``wsdl`` is a URL, a file path or a ``file://`` URL; a URL is fetched with ``wsdl_http``
    (zeep's loader is synchronous, so it runs in a thread). ``service`` and ``port`` default to
    the WSDL's first ones, ``address`` to the port's own; ``address_setting`` names the
    setting that gives one, for the error when neither does.
    """

    def __init__(
        self,
        wsdl: str,
        *,
        http: httpx.AsyncClient,
        wsdl_http: httpx.Client,
        timeout: float,
        service: str | None = None,
        port: str | None = None,
        address: str | None = None,
        address_setting: str = "address",
    ) -> None:
        self.wsdl = local_path(wsdl)
        self._http = http
        self._wsdl_http = wsdl_http
        self._timeout = timeout
        self._service = service
        self._port = port
        self._address = address
        self._address_setting = address_setting
        self._lock = asyncio.Lock()
        self._client: AsyncClient | None = None
        self._proxy: Any = None

    async def operation(self, name: str) -> Any:
        """The operation ``name``, an awaitable taking its wrapper's children as keywords."""
        if self._proxy is None:
            async with self._lock:
                if self._proxy is None:
                    if self._client is None:
                        self._client = await self._load()
                    self._proxy = self._bind(self._client)
        try:
            return self._proxy[name]
        except AttributeError as exc:
            raise WsdlMismatchError(f"the WSDL {self.wsdl} has no operation {name!r}") from exc

    async def _load(self) -> AsyncClient:
        import zeep
        from zeep.transports import AsyncTransport

        transport = AsyncTransport(client=self._http, wsdl_client=self._wsdl_http)
        try:
            return await asyncio.to_thread(
                zeep.AsyncClient, self.wsdl, transport=transport, settings=hardened_settings()
            )
        except httpx.TimeoutException as exc:
            raise WsdlUnavailableError(
                f"the WSDL {self.wsdl} cannot be loaded: no answer within {self._timeout:g}s"
            ) from exc
        except Exception as exc:  # unreachable, malformed, refused by the hardened parser, ...
            raise WsdlUnavailableError(
                f"the WSDL {self.wsdl} cannot be loaded: {type(exc).__name__}: {exc}"
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
            raise WsdlMismatchError(
                f"the WSDL {self.wsdl} has no {wanted} (it has {known or 'no service'})"
            ) from exc
        address = self._address or port.binding_options.get("address")
        if not address:
            raise WsdlMismatchError(
                f"the WSDL {self.wsdl} gives no address for port {port.name}: "
                f"set {self._address_setting}"
            )
        # AsyncServiceProxy, as AsyncClient.bind makes (create_service would make a sync one)
        options = {**port.binding_options, "address": address}
        return AsyncServiceProxy(client, port.binding, **options)


def fault_kind(code: str) -> str:
    """``soap:Client.Authentication`` → ``Client``; ``{ns}Receiver`` → ``Receiver``."""
    local = code.rsplit("}", 1)[-1].rsplit(":", 1)[-1]
    return local.split(".", 1)[0].strip()


def local_path(wsdl: str) -> str:
    """A ``file://`` URL as the path zeep can open; anything else as given."""
    parsed = urllib.parse.urlparse(wsdl)
    if parsed.scheme == "file":
        return urllib.request.url2pathname(parsed.path)
    return wsdl


def shorten(text: str) -> str:
    """``text`` on one line, cut to a length fit for an error message."""
    text = " ".join(text.split())
    return text if len(text) <= _TEXT_LIMIT else text[: _TEXT_LIMIT - 1] + "…"
