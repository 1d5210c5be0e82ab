"""Fixtures of the access-control tests: the stub provider, and the test PKI (made once)."""

import pytest

from tests.gateway.security.access import Pki, make_pki
from tests.support.providers import StubPersonProvider


@pytest.fixture
def provider() -> StubPersonProvider:
    """The stub provider behind the services of the access-control table."""
    return StubPersonProvider()


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A CA, the gateway's certificate and the clients' (openssl), for the whole run."""
    return make_pki(tmp_path_factory.mktemp("pki"))
