"""Identities without a server: keys as digests, revoked keys, certificates, and
``gateway keys new``."""

import re

import pytest

from adapters import ADAPTERS
from gateway.cli import main
from gateway.errors import AuthenticationError
from gateway.routing import compile_routing_table
from gateway.routing.spec import parse_subject
from gateway.security import ClientCertificate, authenticate
from schemas import REGISTRY
from tests.gateway.security.access import REVOKED_KEY, STRANGER_KEY, access_table, routing
from tests.support import keys

TABLE_WITH_CERTIFICATE = routing(mvd_certificates='[{subject: "CN=crime-registry,C=UZ"}]')


def certificate(subject="CN=crime-registry,C=UZ", sha256="ab" * 32):
    """A verified client certificate with ``subject``."""
    return ClientCertificate(parse_subject(subject), sha256)


def code_of(headers, table, cert=None):
    """The code of the AuthenticationError ``authenticate`` raises."""
    with pytest.raises(AuthenticationError) as caught:
        authenticate(headers, table, cert)
    return caught.value.code


def test_a_revoked_key_is_told_apart_from_an_unknown_one(provider):
    """client.key_revoked for a key a system revoked, client.unknown_key for any other."""
    table = access_table(provider)
    assert ["client.key_revoked", "client.unknown_key"] == [
        code_of(keys.bearer(REVOKED_KEY), table),
        code_of(keys.bearer(STRANGER_KEY), table),
    ]


def test_a_certificate_alone_identifies_its_system(provider):
    """A certificate whose subject a system lists, and no key: that system."""
    table = access_table(provider, TABLE_WITH_CERTIFICATE)
    assert "mvd.crime-registry" == authenticate({}, table, certificate("C=UZ, CN=crime-registry"))


def test_a_subject_with_an_attribute_more_is_another_subject(provider):
    """Subjects match as whole sets of attributes: one more attribute is an unknown one."""
    table = access_table(provider, TABLE_WITH_CERTIFICATE)
    assert "client.unknown_certificate" == code_of(
        {}, table, certificate("CN=crime-registry,O=Interior,C=UZ")
    )


def test_a_key_and_a_certificate_of_two_systems_are_a_mismatch(provider):
    """E-tergov's key with the Interior's certificate: client.identity_mismatch."""
    table = access_table(provider, TABLE_WITH_CERTIFICATE)
    assert "client.identity_mismatch" == code_of(keys.bearer(keys.ETERGOV), table, certificate())


def _new_key(capsys, system="portal.crime-reports"):
    assert 0 == main(["keys", "new", system])
    out = capsys.readouterr().out
    [key] = re.findall(r"^key: (\S+)$", out, re.MULTILINE)
    [line] = re.findall(r"^api_keys: .*$", out, re.MULTILINE)
    return key, line


def test_keys_new_prints_a_long_random_key_and_its_digest_line(capsys):
    """The key carries at least 32 random bytes; the line holds its sha256 digest only; two
    runs give two keys."""
    key, line = _new_key(capsys)
    other, _ = _new_key(capsys)
    assert len(key) >= 43
    assert key != other
    assert re.fullmatch(r'api_keys: \["sha256:[0-9a-f]{64}"\]', line)
    assert key not in line


def test_a_pasted_key_line_authenticates_the_printed_key(capsys):
    """The printed line pasted under a system in routing.yaml: the printed key is that
    system's, and nothing else in the table holds the key."""
    key, line = _new_key(capsys)
    text = f"""\
version: 1
systems:
  portal.crime-reports:
    title: Portal
    {line}
feeds:
  portal-crime-reports:
    from: [portal.*]
    adapter: canonical.crime_report
    schema: crime_report/1
"""
    table = compile_routing_table(text, "pasted.yaml", schemas=REGISTRY, adapters=ADAPTERS)
    assert "portal.crime-reports" == authenticate(keys.bearer(key), table)
    assert key not in repr(table.spec)


def test_keys_new_refuses_what_is_not_a_system_id(capsys):
    """An id with capitals: exit status 2 and a message naming it; no key printed."""
    assert 2 == main(["keys", "new", "GP.E-Tergov"])
    captured = capsys.readouterr()
    assert ("", True) == (captured.out, "'GP.E-Tergov' is not a system id" in captured.err)
