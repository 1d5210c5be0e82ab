"""Ministry of Internal Affairs (IIV / MVD): its population registry, a SOAP 1.1 service.

The registry's WSDL is ``wsdl/mvd_population.wsdl`` (document/literal wrapped). One operation,
``GetPersonByPinfl(jshshir)``, answers ``GetPersonByPinflResponse/shaxs``: the person in the
ministry's own Uzbek field names, like its crime registry's records::

    jshshir          31205850123456          → pinfl
    familiya, ismi, otasining_ismi           → last_name, first_name, patronymic
    tugilgan_sana    12.05.1985              → birth_date   (DD.MM.YYYY)
    jinsi            1 | 2                   → gender       (male | female)
    fuqaroligi       UZB                     → citizenship  (ISO 3166-1 alpha-3)
    pasport          seriya AA, raqami 1234567  → passport  AA1234567
    yashash_manzili  soato, tuman, matn      → address      (region from the SOATO code)
    vafot_sanasi     DD.MM.YYYY, optional    → deceased_on

Failures, most specific first:

    SOAP fault whose detail code is PERSON_NOT_FOUND     ProviderNotFoundError
    other Client (Sender, VersionMismatch, ...) fault    ProviderFaultError, with its fault string
    Server fault, a fault without a code                 ProviderUnavailableError
    HTTP 408, 425, 429 or 5xx without a SOAP fault       ProviderUnavailableError
    another HTTP 4xx without a SOAP fault                ProviderFaultError
    no answer within the provider's timeout              ProviderTimeoutError
    connection refused or reset                          ProviderUnavailableError
    a WSDL that cannot be loaded, or that lacks the      ProviderUnavailableError
      operation or an address (and no url is given)
    a reply that cannot be decoded, is not the SOAP      ProviderAnswerError
      the WSDL promises, or whose person does not map    (naming the ministry's field)
      to person/1
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import httpx

from adapters.converters import code_table, dotted_date, soato_region
from adapters.mapping import FieldMap, MappingAdapter
from adapters.providers._answers import canonical_answer, expect_query, without_nulls
from adapters.soap_client import (
    PERMANENT_FAULT_CODES,
    WsdlMismatchError,
    WsdlPort,
    WsdlUnavailableError,
    fault_kind,
    shorten,
)
from gateway.errors import (
    ProviderAnswerError,
    ProviderError,
    ProviderFaultError,
    ProviderNotFoundError,
    ProviderTimeoutError,
    ProviderUnavailableError,
)
from gateway.routing.spec import ProviderSpec
from schemas import PersonByPinfl, Query

if TYPE_CHECKING:
    from zeep.exceptions import Fault

#: the registry's WSDL, used when routing.yaml's provider gives none
WSDL_FILE = Path(__file__).resolve().parent / "wsdl" / "mvd_population.wsdl"
NAMESPACE = "urn:uz:gov:mvd:population:1"
OPERATION = "GetPersonByPinfl"
#: the detail code (``xatolik/kod``) of the fault that says no person has the PINFL
NOT_FOUND = "PERSON_NOT_FOUND"
PROVIDER = "the population registry"

GENDERS = {"1": "male", "2": "female"}  # erkak, ayol

#: HTTP statuses without a SOAP fault that may pass if the call is made again
_TRANSIENT_STATUSES = frozenset({408, 425, 429})
_NAMESPACE_IN_MESSAGE = re.compile(r"\{[^}]*\}")


def passport(value: Any) -> str:
    """``{"seriya": "AA", "raqami": "1234567"}`` → ``"AA1234567"``."""
    if not isinstance(value, Mapping):
        raise ValueError("expected seriya and raqami")
    series, number = value.get("seriya"), value.get("raqami")
    if series is None or number is None:
        missing = " and ".join(n for n, v in (("seriya", series), ("raqami", number)) if v is None)
        raise ValueError(f"{missing} missing")
    series, number = str(series).strip().upper(), str(number).strip()
    if re.fullmatch(r"[A-Z]{2}", series) is None:
        raise ValueError("seriya must be two Latin letters")
    if re.fullmatch(r"[0-9]{7}", number) is None:
        raise ValueError("raqami must be 7 digits")
    return series + number


_FIELDS = (
    FieldMap("pinfl", "jshshir"),
    FieldMap("last_name", "familiya"),
    FieldMap("first_name", "ismi"),
    FieldMap("patronymic", "otasining_ismi"),
    FieldMap("birth_date", "tugilgan_sana", dotted_date),
    FieldMap("gender", "jinsi", code_table(GENDERS, "gender")),
    FieldMap("citizenship", "fuqaroligi"),
    FieldMap("passport", "pasport", passport),
    FieldMap("address.region", "yashash_manzili.soato", soato_region),
    FieldMap("address.district", "yashash_manzili.tuman"),
    FieldMap("address.text", "yashash_manzili.matn"),
    FieldMap("deceased_on", "vafot_sanasi", dotted_date),
)

#: the registry's person (``shaxs``) → canonical person/1
PERSON = MappingAdapter("mvd.person", "person/1", _FIELDS)

#: what the WSDL requires of a person (and of an address, when there is one)
_REQUIRED = {
    f.native: f.canonical
    for f in _FIELDS
    if f.native
    in (
        "jshshir",
        "familiya",
        "ismi",
        "tugilgan_sana",
        "jinsi",
        "fuqaroligi",
        "yashash_manzili.soato",
        "yashash_manzili.matn",
    )
}


class PopulationRegistryAdapter:
    """``mvd.person_lookup``: a person by PINFL, from the Interior ministry's registry."""

    @property
    def name(self) -> str:
        """As routing.yaml names it."""
        return "mvd.person_lookup"

    @property
    def channel(self) -> Literal["soap"]:
        """SOAP: ``provider.wsdl`` (else the repository's copy); ``provider.url`` overrides
        the WSDL's address."""
        return "soap"

    @property
    def query(self) -> type[Query]:
        """A person by PINFL."""
        return PersonByPinfl

    @property
    def answer_schema(self) -> str:
        """The canonical person."""
        return "person/1"

    def connect(self, spec: ProviderSpec) -> PopulationRegistryClient:
        """A client of the registry ``spec`` describes; nothing is loaded until used."""
        return PopulationRegistryClient(spec)


class PopulationRegistryClient:
    """Calls GetPersonByPinfl with zeep's async client over httpx.

    The WSDL is loaded once, in a thread, on ``prepare`` or the first call; a failed load is
    tried again on the next. ``provider.headers`` go with every request (the WSDL's too);
    ``provider.timeout`` bounds each call as a whole, and each HTTP exchange.
    """

    def __init__(self, spec: ProviderSpec) -> None:
        self._timeout = spec.timeout
        headers = dict(spec.headers)

        async def add_headers(request: httpx.Request) -> None:
            request.headers.update(headers)

        def add_wsdl_headers(request: httpx.Request) -> None:
            request.headers.update(headers)

        # zeep's transport replaces the clients' default headers: hooks add ours to each request
        async_hooks: dict[str, list[Callable[..., Any]]] = {"request": [add_headers]}
        sync_hooks: dict[str, list[Callable[..., Any]]] = {"request": [add_wsdl_headers]}
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(spec.timeout), follow_redirects=False, event_hooks=async_hooks
        )
        self._wsdl_http = httpx.Client(
            timeout=httpx.Timeout(spec.timeout), follow_redirects=False, event_hooks=sync_hooks
        )
        self._port = WsdlPort(
            spec.wsdl or str(WSDL_FILE),
            http=self._http,
            wsdl_http=self._wsdl_http,
            timeout=spec.timeout,
            address=spec.url,
            address_setting="the provider's url",
        )

    async def prepare(self) -> None:
        """Load the WSDL and find the operation; ProviderUnavailableError if that fails."""
        await self._operation()

    async def call(self, query: Query) -> dict[str, Any]:
        """The person with the query's PINFL, as canonical person/1."""
        pinfl = expect_query(query, PersonByPinfl).pinfl
        operation = await self._operation()
        reply = await self._call(operation, pinfl)
        return self._person(reply, pinfl)

    async def aclose(self) -> None:
        """Close the connection pools (twice is harmless)."""
        await self._http.aclose()
        self._wsdl_http.close()

    async def _operation(self) -> Any:
        try:
            return await self._port.operation(OPERATION)
        except (WsdlUnavailableError, WsdlMismatchError) as exc:
            raise ProviderUnavailableError(f"{PROVIDER}: {exc}") from exc

    async def _call(self, operation: Any, pinfl: str) -> Any:
        from zeep.exceptions import Error as ZeepError
        from zeep.exceptions import Fault, TransportError

        try:
            async with asyncio.timeout(self._timeout):
                return await operation(jshshir=pinfl)
        except Fault as exc:
            raise _fault_error(exc) from exc
        except TransportError as exc:
            raise _status_error(exc.status_code, exc.content) from exc
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise ProviderTimeoutError(
                f"{PROVIDER} did not answer within {self._timeout:g}s"
            ) from exc
        except httpx.DecodingError as exc:
            raise ProviderAnswerError(f"{PROVIDER}'s answer cannot be decoded: {exc}") from exc
        except httpx.RequestError as exc:
            raise ProviderUnavailableError(
                f"{PROVIDER} cannot be reached: {type(exc).__name__}: {exc}"
            ) from exc
        # zeep's errors and lxml's (XMLSyntaxError is a SyntaxError), reading the reply: not
        # the SOAP the WSDL promises (not XML, another element, a DOCTYPE, ...)
        except (ZeepError, SyntaxError, ValueError) as exc:
            text = _NAMESPACE_IN_MESSAGE.sub("", str(exc)) or type(exc).__name__
            raise ProviderAnswerError(
                f"{PROVIDER}'s answer cannot be read: {shorten(text)}"
            ) from exc

    def _person(self, reply: Any, pinfl: str) -> dict[str, Any]:
        from zeep.helpers import serialize_object

        native = without_nulls(serialize_object(reply, dict))
        if not isinstance(native, dict) or not native:
            raise ProviderAnswerError(f"{PROVIDER}'s answer has no person (shaxs)")
        person = canonical_answer(PROVIDER, PERSON, native, required=_REQUIRED)
        if person["pinfl"] != pinfl:
            raise ProviderAnswerError(
                f"{PROVIDER} answered about another person than the one asked about (jshshir)"
            )
        return person


def _fault_error(fault: Fault) -> ProviderError:
    code = str(fault.code or "")
    detail = _detail_code(fault.detail)
    text = shorten(str(fault.message or "")) or "(no fault string)"
    if detail == NOT_FOUND:
        return ProviderNotFoundError(f"{PROVIDER} has no person with this PINFL: {text}")
    said = f"{code or '(no code)'}{f' {detail}' if detail else ''}: {text}"
    if fault_kind(code) in PERMANENT_FAULT_CODES:
        return ProviderFaultError(f"{PROVIDER} refused the request: {said}")
    return ProviderUnavailableError(f"{PROVIDER} failed: {said}")


def _detail_code(detail: Any) -> str | None:
    """The ministry's error code, ``detail/xatolik/kod``, if the fault carries one."""
    if detail is None or isinstance(detail, str | bytes):  # an element, or zeep's text of one
        return None
    code = detail.find(f"{{{NAMESPACE}}}xatolik/{{{NAMESPACE}}}kod")
    text = getattr(code, "text", None)
    return str(text).strip() or None if text else None


def _status_error(status: int, content: bytes | None) -> ProviderError:
    """An HTTP answer without a SOAP fault: its status (and body, shortened) say what failed."""
    body = shorten(content.decode("utf-8", "replace")) if content else ""
    said = f"HTTP {status}: {body}" if body else f"HTTP {status}"
    if status >= 500 or status in _TRANSIENT_STATUSES:
        return ProviderUnavailableError(f"{PROVIDER} failed: {said}")
    if status >= 400:
        return ProviderFaultError(f"{PROVIDER} refused the request: {said}")
    # a 2xx (or a redirect, not followed) whose body is not XML
    return ProviderAnswerError(f"{PROVIDER}'s answer is not SOAP: {said}")


PERSON_LOOKUP = PopulationRegistryAdapter()
"""The Interior ministry's population registry: person/1 by PINFL, over SOAP."""
