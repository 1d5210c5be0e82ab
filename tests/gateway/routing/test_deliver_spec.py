"""``deliver:`` names exactly one protocol; a SOAP delivery is checked like every key."""

import pytest

from adapters import ADAPTERS
from gateway.errors import RoutingConfigError
from gateway.routing import compile_routing_table
from gateway.routing.spec import SoapDeliverySpec
from schemas import REGISTRY
from tests.support import keys

ENV = {**keys.ENV, "ETERGOV_WSDL": "https://etergov.test/inbox?wsdl"}

TABLE = """\
version: 1
systems:
  sud.e-xsud:
    title: Supreme Court
    api_keys: ["${{EXSUD_KEY}}"]
feeds:
  court-decisions:
    from: [sud.e-xsud]
    adapter: canonical.court_decision
    schema: court_decision/1
routes:
  - name: court-decisions
    to: [etergov.court-decisions]
destinations:
  etergov.court-decisions:
    deliver:
{deliver}
"""

SOAP = """\
      soap:
        wsdl: "${ETERGOV_WSDL}"
        operation: SubmitCourtDecision
        timeout: 5s
"""
HTTP = """\
      http:
        url: "https://etergov.test/inbox"
"""


def compile_with(deliver: str, env=ENV):
    """Compile the table with this ``deliver:`` body (indented under the destination)."""
    return compile_routing_table(
        TABLE.format(deliver=deliver.rstrip("\n")),
        "routing.yaml",
        schemas=REGISTRY,
        adapters=ADAPTERS,
        env=env,
    )


def problems(deliver: str, env=ENV) -> list[str]:
    """Every problem of the table, as the CLI prints them."""
    with pytest.raises(RoutingConfigError) as caught:
        compile_with(deliver, env)
    return [str(p) for p in caught.value.problems]


def test_soap_delivery_compiles():
    """A soap deliver with its WSDL from the environment compiles, timeout in seconds."""
    deliver = compile_with(SOAP).destinations["etergov.court-decisions"].deliver
    assert (
        SoapDeliverySpec(
            wsdl="https://etergov.test/inbox?wsdl", operation="SubmitCourtDecision", timeout=5.0
        ),
        None,
        5.0,
    ) == (deliver.soap, deliver.http, deliver.timeout)


def test_soap_delivery_with_every_option_compiles():
    """service, port and an address from the environment are taken."""
    soap = SOAP + (
        "        service: InboxService\n"
        "        port: InboxPort\n"
        '        address: "${ETERGOV_SOAP_URL}"\n'
    )
    env = {**ENV, "ETERGOV_SOAP_URL": "https://etergov.test/soap"}
    deliver = compile_with(soap, env).destinations["etergov.court-decisions"].deliver
    assert ("InboxService", "InboxPort", "https://etergov.test/soap") == (
        deliver.soap.service,
        deliver.soap.port,
        deliver.soap.address,
    )


def test_http_delivery_timeout_is_the_protocols():
    """The delivery's timeout is the configured protocol's (10 s by default)."""
    deliver = compile_with(HTTP).destinations["etergov.court-decisions"].deliver
    assert 10.0 == deliver.timeout


def test_both_protocols_are_refused_with_the_key_path():
    """http and soap together are refused at the deliver key."""
    assert [
        "routing.yaml:16: destinations.etergov.court-decisions.deliver: "
        "give exactly one protocol, http, soap or file (found both http and soap)"
    ] == problems(HTTP + SOAP)


def test_no_protocol_is_refused_with_the_key_path():
    """An empty deliver names no protocol: refused at the deliver key."""
    assert [
        "routing.yaml:16: destinations.etergov.court-decisions.deliver: "
        "give exactly one protocol, http, soap or file (found neither)"
    ] == problems("      {}")


@pytest.mark.parametrize("operation", ["Submit:CourtDecision", "1Submit", "Submit Decision", "''"])
def test_operation_that_is_not_an_xml_name_is_refused(operation):
    """The operation must be an XML NCName; the error names its line and key path."""
    [found] = problems(SOAP.replace("SubmitCourtDecision", operation))
    assert found.startswith(
        "routing.yaml:19: destinations.etergov.court-decisions.deliver.soap.operation: "
    )
    assert "is not an XML name (NCName)" in found


def test_operation_in_another_script_is_an_xml_name():
    """NCNames are not only ASCII: a Cyrillic operation name is taken."""
    spec = compile_with(SOAP.replace("SubmitCourtDecision", "ПередатьРешение"))
    deliver = spec.destinations["etergov.court-decisions"].deliver
    assert "ПередатьРешение" == deliver.soap.operation


def test_missing_operation_is_refused():
    """operation is required."""
    assert [
        "routing.yaml:17: destinations.etergov.court-decisions.deliver.soap.operation: "
        "required key is missing"
    ] == problems(SOAP.replace("        operation: SubmitCourtDecision\n", ""))


def test_unset_wsdl_variable_is_named():
    """The WSDL's ${VARIABLE} must be set."""
    env = {k: v for k, v in ENV.items() if k != "ETERGOV_WSDL"}
    assert [
        "routing.yaml:18: destinations.etergov.court-decisions.deliver.soap.wsdl: "
        "environment variable ETERGOV_WSDL is not set"
    ] == problems(SOAP, env)


def test_address_that_is_not_http_is_refused():
    """address, after its variables are replaced, must be an http(s) URL."""
    [found] = problems(SOAP + '        address: "ftp://etergov.test/soap"\n')
    assert found == (
        "routing.yaml:21: destinations.etergov.court-decisions.deliver.soap.address: "
        "must be an http:// or https:// URL"
    )


def test_unknown_soap_key_is_refused():
    """A key the soap form does not know is named."""
    assert [
        "routing.yaml:21: destinations.etergov.court-decisions.deliver.soap.action: unknown key"
    ] == problems(SOAP + "        action: Submit\n")


def test_http_url_from_the_environment_is_checked_after_substitution():
    """url: "${VAR}" takes the variable's value, which must be an http(s) URL."""
    deliver = '      http:\n        url: "${ETERGOV_INBOX_URL}"\n'
    table = compile_with(deliver, {**ENV, "ETERGOV_INBOX_URL": "https://etergov.test/in"})
    refused = problems(deliver, {**ENV, "ETERGOV_INBOX_URL": "ftp://etergov.test/in"})
    assert (
        "https://etergov.test/in" == table.destinations["etergov.court-decisions"].deliver.http.url
    )
    assert [
        "routing.yaml:18: destinations.etergov.court-decisions.deliver.http.url: "
        "must be an http:// or https:// URL"
    ] == refused
