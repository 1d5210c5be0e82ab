"""A fake SOAP receiving system on loopback (E-tergov's inbox): it serves its WSDL, records every
call, and answers as planned (success, a fault, an HTTP status, a hang, a broken reply)."""

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web
from lxml import etree
from multidict import CIMultiDict

from tests.support.records import FIXTURES

WSDL_FILE = FIXTURES / "wsdl" / "etergov_inbox.wsdl"
INBOX_NS = "urn:uz:gov:gp:e-tergov:inbox:1"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
_WSDL_SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
_XML = "text/xml; charset=utf-8"


@dataclass(frozen=True)
class Answer:
    """How the receiver answers one call."""

    kind: Literal["ok", "fault", "status", "hang", "broken"]
    status: int = 200
    fault_code: str = ""
    text: str = ""
    seconds: float = 0.0
    retry_after: str | None = None


OK = Answer("ok")


def client_fault(text: str = "the decision is refused") -> Answer:
    """A SOAP 1.1 fault with code soap:Client (HTTP 500, as SOAP 1.1 requires)."""
    return Answer("fault", 500, "soap:Client", text)


def server_fault(text: str = "the inbox is busy", retry_after: str | None = None) -> Answer:
    """A SOAP 1.1 fault with code soap:Server (HTTP 500)."""
    return Answer("fault", 500, "soap:Server", text, retry_after=retry_after)


def http_status(status: int, retry_after: str | None = None) -> Answer:
    """A bare HTTP status with a plain-text body, no SOAP."""
    return Answer(
        "status", status, text=f"fake SOAP receiver says {status}", retry_after=retry_after
    )


def hang(seconds: float) -> Answer:
    """No answer for ``seconds`` (or until the receiver stops), then success."""
    return Answer("hang", seconds=seconds)


def broken() -> Answer:
    """HTTP 200 with a body that is not XML."""
    return Answer("broken", text="<soap:Envelope><unclosed>")


@dataclass
class SoapCall:
    """One call the receiver got: the operation, its child elements as a dict, HTTP headers."""

    operation: str
    fields: dict[str, Any]
    headers: CIMultiDict[str]
    answer: Answer


@dataclass
class FakeSoapReceiver:
    """``GET /soap?wsdl`` serves the WSDL; ``POST /soap`` answers the next planned Answer
    (success once the plan is used up)."""

    plan: deque[Answer] = field(default_factory=deque)
    received: list[SoapCall] = field(default_factory=list)
    wsdl_requests: int = 0
    #: seconds the WSDL takes to arrive (to widen the window of concurrent first deliveries)
    wsdl_delay: float = 0.0
    url: str = ""
    wsdl_url: str = ""
    _wsdl: bytes = b""
    _runner: web.AppRunner | None = None
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def answer(self, *answers: Answer) -> None:
        """Answer the next calls so, in order."""
        self.plan.extend(answers)

    def delivered(self) -> list[SoapCall]:
        """The calls answered with success."""
        return [c for c in self.received if c.answer.kind == "ok"]

    async def wait_for(self, count: int, *, delivered: bool = True, timeout: float = 20) -> None:
        """Wait until ``count`` calls (answered with success unless ``delivered=False``) came."""

        def enough() -> bool:
            got = self.delivered() if delivered else self.received
            return len(got) >= count

        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(enough)

    async def start(self) -> None:
        """Listen on a free loopback port; the WSDL's address names it."""
        app = web.Application()
        app.router.add_get("/soap", self._get)
        app.router.add_post("/soap", self._post)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/soap"
        self.wsdl_url = f"{self.url}?wsdl"
        self._wsdl = wsdl_with_address(self.url)

    async def stop(self) -> None:
        """Stop listening (a hanging call is let go first)."""
        self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _get(self, request: web.Request) -> web.Response:
        if "wsdl" not in request.query:
            return web.Response(status=404, text="ask for ?wsdl")
        self.wsdl_requests += 1
        if self.wsdl_delay:
            await asyncio.sleep(self.wsdl_delay)
        return web.Response(body=self._wsdl, content_type="text/xml", charset="utf-8")

    async def _post(self, request: web.Request) -> web.Response:
        answer = self.plan.popleft() if self.plan else OK
        try:
            operation, fields = parse_call(await request.read())
        except (etree.XMLSyntaxError, ValueError) as exc:
            answer = client_fault(f"not a SOAP 1.1 request: {exc}")
            operation, fields = "", {}
        self.received.append(SoapCall(operation, fields, CIMultiDict(request.headers), answer))
        async with self._changed:
            self._changed.notify_all()
        headers = {"Retry-After": answer.retry_after} if answer.retry_after else None
        if answer.kind == "hang":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), answer.seconds)
        if answer.kind in ("ok", "hang"):
            number = f"ET-{len(self.received):06d}"
            return web.Response(body=success_envelope(operation, number), content_type="text/xml")
        if answer.kind == "fault":
            body = fault_envelope(answer.fault_code, answer.text)
            return web.Response(
                status=answer.status, body=body, content_type="text/xml", headers=headers
            )
        return web.Response(status=answer.status, text=answer.text, headers=headers)


def wsdl_with_address(url: str) -> bytes:
    """The fixture WSDL with its endpoint address set to ``url``."""
    root = etree.fromstring(WSDL_FILE.read_bytes(), parser=_hardened_parser())
    for address in root.iter(f"{{{_WSDL_SOAP}}}address"):
        address.set("location", url)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def parse_call(body: bytes) -> tuple[str, dict[str, Any]]:
    """The operation (the Body's first element) and its child elements as a dict."""
    root = etree.fromstring(body, parser=_hardened_parser())
    if root.getroottree().docinfo.doctype:
        raise ValueError("a DOCTYPE is not accepted")
    if root.tag != f"{{{SOAP_ENV}}}Envelope":
        raise ValueError(f"the root is {root.tag}, not a SOAP 1.1 Envelope")
    body_element = root.find(f"{{{SOAP_ENV}}}Body")
    if body_element is None or len(body_element) == 0:
        raise ValueError("the Envelope has no Body with an operation")
    operation = body_element[0]
    return etree.QName(operation).localname, _children(operation)


def _children(element: Any) -> dict[str, Any]:
    """Child elements by local name: text, or a dict when they have children; a list when a
    name occurs more than once."""
    out: dict[str, Any] = {}
    for child in element:
        if not isinstance(child.tag, str):
            continue
        name = etree.QName(child).localname
        value = _children(child) if len(child) else (child.text or "")
        if name in out:
            if not isinstance(out[name], list):
                out[name] = [out[name]]
            out[name].append(value)
        else:
            out[name] = value
    return out


def success_envelope(operation: str, registration_number: str) -> bytes:
    """``<OperationResponse><registration_number>`` in a SOAP 1.1 Envelope."""
    return (
        f'<?xml version="1.0" encoding="utf-8"?>'
        f'<soap:Envelope xmlns:soap="{SOAP_ENV}"><soap:Body>'
        f'<tns:{operation}Response xmlns:tns="{INBOX_NS}">'
        f"<tns:registration_number>{registration_number}</tns:registration_number>"
        f"</tns:{operation}Response></soap:Body></soap:Envelope>"
    ).encode()


def fault_envelope(code: str, text: str) -> bytes:
    """A SOAP 1.1 Fault with ``faultcode`` and ``faultstring``."""
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV})
    fault = etree.SubElement(
        etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body"), f"{{{SOAP_ENV}}}Fault"
    )
    etree.SubElement(fault, "faultcode").text = code
    etree.SubElement(fault, "faultstring").text = text
    return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")


def _hardened_parser() -> Any:
    """No DTDs loaded, no entities resolved, no network, no huge trees."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
