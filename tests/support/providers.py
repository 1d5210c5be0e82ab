"""A provider adapter of the tests' own: answers person queries from memory, on command.

It stands in for a ministry only where the gateway's own machinery is under test (the
request's way through RabbitMQ, the worker, the statuses); the real adapters are tested against
the fake ministries in tests/support/ministries.py.
"""

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from gateway.errors import ProviderNotFoundError
from schemas import PersonByPinfl

PERSON = {
    "pinfl": "31205850123456",
    "last_name": "Karimova",
    "first_name": "Dilnoza",
    "patronymic": "Anvarovna",
    "birth_date": "1985-05-12",
    "gender": "female",
}
OTHER = {**PERSON, "pinfl": "41204870654321", "first_name": "Aziza", "birth_date": "1987-04-12"}


@dataclass
class StubPersonProvider:
    """``test.person_lookup``: people by PINFL; ``then(...)`` plans the next calls' behaviour:
    an error to raise, a number of seconds to wait first, or an answer to give instead."""

    people: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {p["pinfl"]: dict(p) for p in (PERSON, OTHER)}
    )
    plan: deque[Any] = field(default_factory=deque)
    calls: list[str] = field(default_factory=list)
    name: str = "test.person_lookup"
    channel: str = "rest"
    query: type = PersonByPinfl
    answer_schema: str = "person/1"

    def then(self, *steps: Any) -> None:
        """Plan the next calls: an exception to raise (a ProviderError, or a bug), seconds to
        sleep (float), or an answer (dict)."""
        self.plan.extend(steps)

    def connect(self, _spec: Any) -> "StubPersonProvider":
        """The client is the provider itself."""
        return self

    async def prepare(self) -> None:
        """Nothing to prepare."""

    async def call(self, query: PersonByPinfl) -> dict[str, Any]:
        """Answer from memory, or as planned."""
        self.calls.append(query.pinfl)
        step = self.plan.popleft() if self.plan else None
        if isinstance(step, Exception):
            raise step
        if isinstance(step, int | float):
            await asyncio.sleep(step)
        if isinstance(step, dict):
            return step
        person = self.people.get(query.pinfl)
        if person is None:
            raise ProviderNotFoundError(f"no person with PINFL {query.pinfl}")
        return person

    async def aclose(self) -> None:
        """Nothing to close."""
