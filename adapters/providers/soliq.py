"""State Tax Committee (Soliq qoʻmitasi): its register of legal entities, a REST/JSON service.

``GET {url}/legal-entities/{stir}`` with ``Accept: application/json`` (and routing.yaml's
``provider.headers``) answers the organization in the register's native form, the same as its
feed pushes (``adapters/mappings/soliq.py``, which maps it to organization/1)::

    {"tin": "301234567", "company_name": "...", "opf": "MChJ", "reg_date": "2015-03-01",
     "status_code": 3, "oked": "47190", "soato": "1726290", "address": "...",
     "director": {"pinfl": "...", "fio": "KARIMOV ANVAR ALIYEVICH"}}

Errors carry ``{"code": ..., "message": ...}``. Failures:

    404                                      ProviderNotFoundError
    408, 425, 429, 5xx                       ProviderUnavailableError, with the register's message
    another 4xx                              ProviderFaultError, with the register's message
    another status (2xx but 200, 3xx)        ProviderAnswerError
    no answer within the provider's timeout  ProviderTimeoutError
    connection refused or reset              ProviderUnavailableError
    a body that is not a JSON object, over   ProviderAnswerError (naming the register's field)
      1 MiB, or that does not map
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import httpx
import orjson

from adapters.mappings.soliq import ORGANIZATION
from adapters.providers._answers import canonical_answer, expect_query
from adapters.soap_client import shorten
from gateway.errors import (
    ProviderAnswerError,
    ProviderError,
    ProviderFaultError,
    ProviderNotFoundError,
    ProviderTimeoutError,
    ProviderUnavailableError,
)
from gateway.routing.spec import ProviderSpec
from schemas import OrganizationByStir, Query

PROVIDER = "the tax register"
#: the largest answer read; a bigger one is refused, not buffered
MAX_ANSWER_BYTES = 1024 * 1024
_TRANSIENT_STATUSES = frozenset({408, 425, 429})


class TaxRegisterAdapter:
    """``soliq.organization_lookup``: an organization by STIR, from the Tax Committee."""

    @property
    def name(self) -> str:
        """As routing.yaml names it."""
        return "soliq.organization_lookup"

    @property
    def channel(self) -> Literal["rest"]:
        """REST: ``provider.url`` is the register's base URL."""
        return "rest"

    @property
    def query(self) -> type[Query]:
        """An organization by STIR."""
        return OrganizationByStir

    @property
    def answer_schema(self) -> str:
        """The canonical organization."""
        return "organization/1"

    def connect(self, spec: ProviderSpec) -> TaxRegisterClient:
        """A client of the register at ``spec.url`` (required)."""
        return TaxRegisterClient(spec)


class TaxRegisterClient:
    """Looks legal entities up by STIR over httpx; ``provider.timeout`` bounds each call."""

    def __init__(self, spec: ProviderSpec) -> None:
        if spec.url is None:
            raise ValueError(f"{spec.adapter} needs the register's url")
        self._base = spec.url.rstrip("/")
        self._timeout = spec.timeout
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(spec.timeout),
            headers={"Accept": "application/json", **spec.headers},
            follow_redirects=False,
        )

    async def prepare(self) -> None:
        """Nothing to load: the register is asked on each call."""

    async def call(self, query: Query) -> dict[str, Any]:
        """The organization with the query's STIR, as canonical organization/1."""
        stir = expect_query(query, OrganizationByStir).stir
        url = f"{self._base}/legal-entities/{stir}"
        try:
            async with asyncio.timeout(self._timeout):
                status, body = await self._get(url)
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
        if status != 200:
            raise _status_error(status, body)
        return self._organization(body, stir)

    async def aclose(self) -> None:
        """Close the connection pool (twice is harmless)."""
        await self._http.aclose()

    async def _get(self, url: str) -> tuple[int, bytes]:
        async with self._http.stream("GET", url) as response:
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > MAX_ANSWER_BYTES:
                raise _too_large()
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_ANSWER_BYTES:
                    raise _too_large()
            return response.status_code, bytes(body)

    def _organization(self, body: bytes, stir: str) -> dict[str, Any]:
        try:
            native = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise ProviderAnswerError(f"{PROVIDER}'s answer is not JSON: {exc}") from exc
        if not isinstance(native, dict):
            raise ProviderAnswerError(f"{PROVIDER}'s answer is not a JSON object")
        organization = canonical_answer(PROVIDER, ORGANIZATION, native)
        if organization["stir"] != stir:
            raise ProviderAnswerError(
                f"{PROVIDER} answered about another organization than the one asked about (tin)"
            )
        return organization


def _status_error(status: int, body: bytes) -> ProviderError:
    said = f"HTTP {status}: {_message(body)}" if body.strip() else f"HTTP {status}"
    if status == 404:
        return ProviderNotFoundError(f"{PROVIDER} has no legal entity with this STIR ({said})")
    if status >= 500 or status in _TRANSIENT_STATUSES:
        return ProviderUnavailableError(f"{PROVIDER} failed: {said}")
    if status >= 400:
        return ProviderFaultError(f"{PROVIDER} refused the request: {said}")
    return ProviderAnswerError(f"{PROVIDER} answered {said}, not a legal entity")


def _message(body: bytes) -> str:
    """The register's own message (``message``, or ``error.message``), else the body itself."""
    try:
        error = orjson.loads(body)
    except orjson.JSONDecodeError:
        error = None
    if isinstance(error, dict) and isinstance(error.get("error"), dict):
        error = error["error"]
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        code = error.get("code")
        return shorten(
            f"{error['message']} ({code})" if isinstance(code, str) else error["message"]
        )
    return shorten(body.decode("utf-8", "replace"))


def _too_large() -> ProviderAnswerError:
    return ProviderAnswerError(f"{PROVIDER}'s answer is larger than {MAX_ANSWER_BYTES} bytes")


ORGANIZATION_LOOKUP = TaxRegisterAdapter()
"""The Tax Committee's register of legal entities: organization/1 by STIR, over REST."""
