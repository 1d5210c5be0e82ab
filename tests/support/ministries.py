"""Fake ministry services on loopback, real aiohttp servers, for the tests and the demo.

FakePopulationRegistry   the Interior ministry's population registry, SOAP 1.1
    GET  /population?wsdl          the repository's WSDL (adapters/providers/wsdl/), its
                                   address rewritten to the host the client asked
    POST /population               GetPersonByPinfl(jshshir) → GetPersonByPinflResponse/shaxs;
                                   an unknown PINFL is a soap:Client fault with detail code
                                   PERSON_NOT_FOUND, a malformed one INVALID_JSHSHIR, a request
                                   that is not GetPersonByPinfl (or not SOAP) INVALID_REQUEST
FakeTaxRegister          the Tax Committee's register of legal entities, REST/JSON
    GET  /legal-entities/{stir}    200 the native organization; 404 NOT_FOUND; 400 INVALID_TIN;
                                   406 unless the client accepts JSON

Switches, each fake on its own; they hold until ``normal()``:

    slow(seconds)      every call is answered only after ``seconds``
    fail_with(x)       every call is answered with HTTP status x (an int), or the SoapFault x
                       (the population registry only: server_fault(), client_fault())
    malformed()        every call is answered 200 with a body that is not XML (not JSON)
    normal()           back to answering from the register
    calls              how many calls came (WSDL downloads apart: ``wsdl_downloads``)

``python -m tests.support.ministries [--host H] [--port P]`` (``make ministries``) serves both
on one port until interrupted; there the switches are HTTP calls, see ``Ministries``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import signal
import sys
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from aiohttp import web
from lxml import etree
from multidict import CIMultiDict

from tests.support.records import FIXTURES, load

WSDL_FILE = FIXTURES.parents[1] / "adapters" / "providers" / "wsdl" / "mvd_population.wsdl"
NAMESPACE = "urn:uz:gov:mvd:population:1"
OPERATION = "GetPersonByPinfl"
SOAP_ACTION = f"{NAMESPACE}/{OPERATION}"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
_WSDL_SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
POPULATION_PATH = "/population"

#: the person's elements in the order the WSDL's sequences declare them
_ORDER: Mapping[str, tuple[str, ...]] = {
    "shaxs": (
        "jshshir",
        "familiya",
        "ismi",
        "otasining_ismi",
        "tugilgan_sana",
        "jinsi",
        "fuqaroligi",
        "pasport",
        "yashash_manzili",
        "vafot_sanasi",
    ),
    "pasport": ("seriya", "raqami"),
    "yashash_manzili": ("soato", "tuman", "matn"),
}

#: organizations the tax register knows besides tests/fixtures/records/soliq_organization.json
_MORE_ORGANIZATIONS = (
    {
        "tin": "207654321",
        "company_name": '"Chorsu Qurilish" AJ',
        "opf": "AJ",
        "reg_date": "2009-06-15",
        "status_code": 1,
        "oked": "41200",
        "soato": "1703202",
        "address": "Andijon shahri, Navoiy koʻchasi, 15",
        "director": {"pinfl": "42703550234567", "fio": "YUSUPOVA MALIKA"},
    },
    {
        "tin": "305556667",
        "company_name": '"Bogʻishamol" XK',
        "opf": "XK",
        "reg_date": "2012-02-01",
        "status_code": 4,
        "liquidation_date": "2022-12-30",
        "soato": "1718401",
        "address": "Samarqand shahri, Registon koʻchasi, 3",
    },
)


def seed_people() -> list[dict[str, Any]]:
    """The population registry's people: tests/fixtures/records/mvd_population.json."""
    people: list[dict[str, Any]] = load("mvd_population")
    return people


def seed_organizations() -> list[dict[str, Any]]:
    """The tax register's organizations: the feed's sample and two more."""
    return [load("soliq_organization"), *(dict(o) for o in _MORE_ORGANIZATIONS)]


@dataclass(frozen=True)
class SoapFault:
    """A SOAP 1.1 fault: its code, its string, and the ministry's detail code."""

    code: str
    text: str
    detail_code: str | None = None


def server_fault(text: str = "Ichki xatolik: maʼlumotlar bazasi javob bermayapti") -> SoapFault:
    """soap:Server INTERNAL_ERROR: the registry failed."""
    return SoapFault("soap:Server", text, "INTERNAL_ERROR")


def client_fault(
    text: str = "Tizimga soʻrov yuborishga ruxsat berilmagan", detail_code: str = "ACCESS_DENIED"
) -> SoapFault:
    """soap:Client with a detail code (ACCESS_DENIED by default): the registry refused."""
    return SoapFault("soap:Client", text, detail_code)


@dataclass(frozen=True)
class Received:
    """One call a fake got."""

    method: str
    path: str
    headers: CIMultiDict[str]
    body: bytes


class _FakeMinistry(ABC):
    """What both fakes share: the switches, the calls received, listening on loopback."""

    #: the fake's name in the demo's switch URLs
    kind: ClassVar[str]

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.base_url = ""
        self._delay = 0.0
        self._failure: int | SoapFault | None = None
        self._malformed = False
        self._runner: web.AppRunner | None = None
        self._stopping = asyncio.Event()

    @property
    def calls(self) -> int:
        """How many calls came, answered or not yet."""
        return len(self.received)

    def slow(self, seconds: float) -> None:
        """Answer every call only after ``seconds`` (0: at once)."""
        if seconds < 0:
            raise ValueError("seconds cannot be negative")
        self._delay = seconds

    def fail_with(self, failure: int | SoapFault) -> None:
        """Answer every call with this HTTP status (or SOAP fault)."""
        self._check_failure(failure)
        self._failure, self._malformed = failure, False

    def malformed(self) -> None:
        """Answer every call 200 with a body that cannot be parsed."""
        self._failure, self._malformed = None, True

    def normal(self) -> None:
        """Answer from the register again, at once."""
        self._delay, self._failure, self._malformed = 0.0, None, False

    def state(self) -> dict[str, Any]:
        """The switches and the number of calls, as the demo's ``GET /_fakes`` shows them."""
        failure = self._failure
        return {
            "calls": self.calls,
            "slow_seconds": self._delay,
            "fail_with": failure.code if isinstance(failure, SoapFault) else failure,
            "malformed": self._malformed,
        }

    @abstractmethod
    def add_routes(self, app: web.Application) -> None:
        """Serve this fake's paths on ``app``."""

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host`` (a free port unless given)."""
        app = web.Application()
        self.add_routes(app)
        self._runner, self.base_url = await _listen(app, host, port)

    async def stop(self) -> None:
        """Let slow calls go, and stop listening."""
        self.let_go()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def let_go(self) -> None:
        """Answer the calls that are being slow now."""
        self._stopping.set()

    def _check_failure(self, failure: int | SoapFault) -> None:
        if isinstance(failure, bool) or not isinstance(failure, int | SoapFault):
            raise TypeError(f"fail with an HTTP status or a SoapFault, not {failure!r}")
        if isinstance(failure, int) and not 400 <= failure <= 599:
            raise ValueError(f"fail with a 4xx or 5xx status, not {failure}")

    async def _switched(self, request: web.Request, body: bytes) -> web.Response | None:
        """Count the call, wait if slow; the answer the switches make, if they make one."""
        self.received.append(
            Received(request.method, request.path_qs, CIMultiDict(request.headers), body)
        )
        if self._delay:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._delay)
        if self._malformed:
            return self._garbage()
        if self._failure is not None:
            return self._failure_response(self._failure)
        return None

    @abstractmethod
    def _garbage(self) -> web.Response:
        """A 200 whose body cannot be parsed."""

    @abstractmethod
    def _failure_response(self, failure: int | SoapFault) -> web.Response:
        """The answer ``fail_with`` asked for."""


class FakePopulationRegistry(_FakeMinistry):
    """The Interior ministry's population registry over SOAP 1.1, from ``people`` (by PINFL;
    seeded from tests/fixtures/records/mvd_population.json unless given)."""

    kind = "population"

    def __init__(self, people: Iterable[Mapping[str, Any]] | None = None) -> None:
        super().__init__()
        given = seed_people() if people is None else people
        self.people: dict[str, dict[str, Any]] = {p["jshshir"]: dict(p) for p in given}
        self.wsdl_downloads = 0

    @property
    def url(self) -> str:
        """The SOAP endpoint: routing.yaml's provider ``url``."""
        return self.base_url + POPULATION_PATH

    @property
    def wsdl_url(self) -> str:
        """Where the WSDL is served: routing.yaml's provider ``wsdl``."""
        return self.url + "?wsdl"

    def add_routes(self, app: web.Application) -> None:
        """``GET /population?wsdl`` and ``POST /population``."""
        app.router.add_get(POPULATION_PATH, self._wsdl)
        app.router.add_post(POPULATION_PATH, self._call)

    async def _wsdl(self, request: web.Request) -> web.Response:
        if "wsdl" not in request.query:
            return web.Response(status=404, text="ask for ?wsdl")
        self.wsdl_downloads += 1
        body = wsdl_with_address(f"{request.scheme}://{request.host}{POPULATION_PATH}")
        return web.Response(body=body, content_type="text/xml", charset="utf-8")

    async def _call(self, request: web.Request) -> web.Response:
        body = await request.read()
        switched = await self._switched(request, body)
        if switched is not None:
            return switched
        try:
            jshshir = parse_request(body, request.headers.get("SOAPAction"))
        except ValueError as exc:
            return _fault_response(SoapFault("soap:Client", str(exc), "INVALID_REQUEST"))
        if re.fullmatch(r"[0-9]{14}", jshshir) is None:
            text = "JShShIR 14 ta raqamdan iborat boʻlishi kerak"
            return _fault_response(SoapFault("soap:Client", text, "INVALID_JSHSHIR"))
        person = self.people.get(jshshir)
        if person is None:
            text = "Berilgan JShShIR boʻyicha shaxs topilmadi"
            return _fault_response(SoapFault("soap:Client", text, "PERSON_NOT_FOUND"))
        return web.Response(body=answer_envelope(person), content_type="text/xml", charset="utf-8")

    def _garbage(self) -> web.Response:
        return web.Response(body=b"<<< this is not XML >>>", content_type="text/xml")

    def _failure_response(self, failure: int | SoapFault) -> web.Response:
        if isinstance(failure, SoapFault):
            return _fault_response(failure)
        return web.Response(status=failure, text=f"fake population registry fails with {failure}")


class FakeTaxRegister(_FakeMinistry):
    """The Tax Committee's register of legal entities over REST/JSON, from ``organizations``
    (by STIR; seeded from tests/fixtures/records/soliq_organization.json and two more unless
    given)."""

    kind = "tax"

    def __init__(self, organizations: Iterable[Mapping[str, Any]] | None = None) -> None:
        super().__init__()
        given = seed_organizations() if organizations is None else organizations
        self.organizations: dict[str, dict[str, Any]] = {o["tin"]: dict(o) for o in given}

    @property
    def url(self) -> str:
        """The register's base URL: routing.yaml's provider ``url``."""
        return self.base_url

    def add_routes(self, app: web.Application) -> None:
        """``GET /legal-entities/{stir}``."""
        app.router.add_get("/legal-entities/{stir}", self._lookup)

    def _check_failure(self, failure: int | SoapFault) -> None:
        if isinstance(failure, SoapFault):
            raise TypeError("the tax register speaks REST: fail with an HTTP status")
        super()._check_failure(failure)

    async def _lookup(self, request: web.Request) -> web.Response:
        switched = await self._switched(request, b"")
        if switched is not None:
            return switched
        accept = request.headers.get("Accept", "*/*")
        if not any(kind in accept for kind in ("application/json", "application/*", "*/*")):
            return _json_error(406, "NOT_ACCEPTABLE", "Faqat application/json qaytariladi")
        stir = request.match_info["stir"]
        if re.fullmatch(r"[0-9]{9}", stir) is None:
            return _json_error(400, "INVALID_TIN", "STIR 9 ta raqamdan iborat boʻlishi kerak")
        organization = self.organizations.get(stir)
        if organization is None:
            return _json_error(404, "NOT_FOUND", "Berilgan STIR boʻyicha yuridik shaxs topilmadi")
        return web.json_response(organization)

    def _garbage(self) -> web.Response:
        return web.Response(
            body=b'{"tin": "301234567", "company_name": ', content_type="application/json"
        )

    def _failure_response(self, failure: int | SoapFault) -> web.Response:
        assert isinstance(failure, int)
        return _json_error(failure, f"HTTP_{failure}", f"fake tax register fails with {failure}")


class Ministries:
    """Both fakes on one server, as ``python -m tests.support.ministries`` runs them.

    Their switches are HTTP calls there::

        GET  /_fakes                                  the switches and calls of both
        POST /_fakes/{population|tax}/slow?seconds=N
        POST /_fakes/{population|tax}/fail?status=N   (4xx or 5xx)
        POST /_fakes/population/fail?fault=soap:Server   (or soap:Client: ACCESS_DENIED)
        POST /_fakes/{population|tax}/malformed
        POST /_fakes/{population|tax}/normal
    """

    def __init__(self) -> None:
        self.population = FakePopulationRegistry()
        self.tax = FakeTaxRegister()
        self.base_url = ""
        self._runner: web.AppRunner | None = None

    @property
    def fakes(self) -> dict[str, _FakeMinistry]:
        """Each fake by the name its switches go by."""
        return {self.population.kind: self.population, self.tax.kind: self.tax}

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host``:``port`` (a free port if 0)."""
        app = web.Application()
        self.population.add_routes(app)
        self.tax.add_routes(app)
        app.router.add_get("/_fakes", self._state)
        app.router.add_post("/_fakes/{fake}/{switch}", self._switch)
        self._runner, self.base_url = await _listen(app, host, port)
        for fake in self.fakes.values():
            fake.base_url = self.base_url

    async def stop(self) -> None:
        """Let slow calls go, and stop listening."""
        for fake in self.fakes.values():
            fake.let_go()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def describe(self) -> str:
        """What is served where, and how to use it (printed by the demo)."""
        base, people = self.base_url, ", ".join(self.population.people)
        organizations = ", ".join(self.tax.organizations)
        return f"""\
Fake ministries on {base} (Ctrl-C stops them)

Interior ministry, population registry (SOAP 1.1), operation {OPERATION}(jshshir):
  wsdl      {self.population.wsdl_url}
  url       {self.population.url}
  people    {people}
Tax Committee, register of legal entities (REST/JSON), GET /legal-entities/{{stir}}:
  url       {self.tax.url}
  STIRs     {organizations}
  try       curl -s {self.tax.url}/legal-entities/301234567

In routing.yaml's services:
  provider: {{adapter: mvd.person_lookup, wsdl: "{self.population.wsdl_url}"}}
  provider: {{adapter: soliq.organization_lookup, url: "{self.tax.url}"}}

Switches (fake: population or tax; each holds until normal):
  answer after 5 s      curl -s -X POST '{base}/_fakes/population/slow?seconds=5'
  answer HTTP 503       curl -s -X POST '{base}/_fakes/tax/fail?status=503'
  answer a SOAP fault   curl -s -X POST '{base}/_fakes/population/fail?fault=soap:Server'
  answer garbage        curl -s -X POST '{base}/_fakes/tax/malformed'
  back to normal        curl -s -X POST '{base}/_fakes/population/normal'
  calls and switches    curl -s '{base}/_fakes'
"""

    async def _state(self, _request: web.Request) -> web.Response:
        return web.json_response({name: fake.state() for name, fake in self.fakes.items()})

    async def _switch(self, request: web.Request) -> web.Response:
        fake = self.fakes.get(request.match_info["fake"])
        if fake is None:
            return web.json_response({"error": "no such fake: population or tax"}, status=404)
        switch, query = request.match_info["switch"], request.query
        try:
            if switch == "slow":
                fake.slow(float(query.get("seconds", "")))
            elif switch == "fail" and "fault" in query:
                faults = {"soap:Server": server_fault(), "soap:Client": client_fault()}
                if query["fault"] not in faults:
                    raise ValueError("fault is soap:Server or soap:Client")
                fake.fail_with(faults[query["fault"]])
            elif switch == "fail":
                fake.fail_with(int(query.get("status", "")))
            elif switch == "malformed":
                fake.malformed()
            elif switch == "normal":
                fake.normal()
            else:
                return web.json_response(
                    {"error": "no such switch: slow, fail, malformed or normal"}, status=404
                )
        except (TypeError, ValueError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response(fake.state())


def wsdl_with_address(url: str) -> bytes:
    """The repository's population registry WSDL with its endpoint address set to ``url``."""
    root = etree.fromstring(WSDL_FILE.read_bytes(), parser=_hardened_parser())
    for address in root.iter(f"{{{_WSDL_SOAP}}}address"):
        address.set("location", url)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))


def parse_request(body: bytes, soap_action: str | None) -> str:
    """The ``jshshir`` of a GetPersonByPinfl request; ValueError saying what is wrong."""
    if soap_action is None or soap_action.strip().strip('"') != SOAP_ACTION:
        raise ValueError(f"SOAPAction must be {SOAP_ACTION}")
    try:
        root = etree.fromstring(body, parser=_hardened_parser())
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"the request is not XML: {exc}") from exc
    if root.getroottree().docinfo.doctype:
        raise ValueError("a DOCTYPE is not accepted")
    if root.tag != f"{{{SOAP_ENV}}}Envelope":
        raise ValueError("the request is not a SOAP 1.1 Envelope")
    request = root.find(f"{{{SOAP_ENV}}}Body/{{{NAMESPACE}}}{OPERATION}")
    if request is None:
        raise ValueError(f"the Body has no {OPERATION}")
    jshshir = request.find(f"{{{NAMESPACE}}}jshshir")
    if jshshir is None:
        raise ValueError(f"{OPERATION} has no jshshir")
    return str(jshshir.text or "").strip()


def answer_envelope(person: Mapping[str, Any]) -> bytes:
    """GetPersonByPinflResponse/shaxs in a SOAP 1.1 Envelope; ``person``'s fields in the WSDL's
    order, unknown ones after them, null ones left out."""
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV, "p": NAMESPACE})
    body = etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body")
    response = etree.SubElement(body, f"{{{NAMESPACE}}}{OPERATION}Response")
    _append(response, "shaxs", person)
    return bytes(etree.tostring(envelope, xml_declaration=True, encoding="utf-8"))


def fault_envelope(fault: SoapFault) -> bytes:
    """A SOAP 1.1 Fault; the detail code as ``detail/xatolik/kod`` with the text as ``matn``."""
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV})
    element = etree.SubElement(
        etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body"), f"{{{SOAP_ENV}}}Fault"
    )
    etree.SubElement(element, "faultcode").text = fault.code
    etree.SubElement(element, "faultstring").text = fault.text
    if fault.detail_code is not None:
        error = etree.SubElement(
            etree.SubElement(element, "detail"), f"{{{NAMESPACE}}}xatolik", nsmap={"p": NAMESPACE}
        )
        etree.SubElement(error, f"{{{NAMESPACE}}}kod").text = fault.detail_code
        etree.SubElement(error, f"{{{NAMESPACE}}}matn").text = fault.text
    return bytes(etree.tostring(envelope, xml_declaration=True, encoding="utf-8"))


def _append(parent: Any, name: str, value: Any) -> None:
    element = etree.SubElement(parent, f"{{{NAMESPACE}}}{name}")
    if isinstance(value, Mapping):
        order = _ORDER.get(name, ())
        names = [n for n in order if n in value] + [n for n in value if n not in order]
        for child in names:
            if value[child] is not None:
                _append(element, child, value[child])
    else:
        element.text = str(value)


def _fault_response(fault: SoapFault) -> web.Response:
    # SOAP 1.1 over HTTP: a fault comes with status 500
    return web.Response(
        status=500, body=fault_envelope(fault), content_type="text/xml", charset="utf-8"
    )


def _json_error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message}, status=status)


def _hardened_parser() -> Any:
    """No DTDs loaded, no entities resolved, no network, no huge trees."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


async def _listen(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except Exception:
        await runner.cleanup()
        raise
    bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    shown = "127.0.0.1" if host in ("", "0.0.0.0") else host
    shown = f"[{shown}]" if ":" in shown else shown
    return runner, f"http://{shown}:{bound}"


async def _serve(host: str, port: int) -> None:
    ministries = Ministries()
    await ministries.start(host, port)
    print(ministries.describe(), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await ministries.stop()


def main(argv: list[str] | None = None) -> int:
    """Serve both fake ministries on one port until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.ministries",
        description="Serve the fake population registry (SOAP) and tax register (REST) on one "
        "port, for trying record requests against `make run`.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="default: 127.0.0.1")
    parser.add_argument("--port", type=int, default=8081, help="default: 8081")
    args = parser.parse_args(argv)
    try:
        asyncio.run(_serve(args.host, args.port))
    except OSError as exc:
        print(f"cannot serve on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
