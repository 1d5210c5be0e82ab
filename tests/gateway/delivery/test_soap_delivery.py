"""End to end: a court decision pushed to the gateway reaches E-tergov's inbox by a SOAP call."""

import pytest

from adapters import ADAPTERS
from adapters.outbound import deliverer_for
from gateway.delivery import headers as h
from gateway.routing import compile_routing_table
from schemas import REGISTRY
from tests.support import keys
from tests.support.amqp import take, until
from tests.support.metrics import sample
from tests.support.process import free_port
from tests.support.records import load
from tests.support.soap_receiver import FakeSoapReceiver, client_fault, server_fault

DESTINATION = "etergov.court-decisions"
ROUTING = """\
version: 1
systems:
  sud.e-xsud: {title: Supreme Court, api_keys: ["${EXSUD_KEY}"]}
feeds:
  court-decisions:
    from: [sud.e-xsud]
    adapter: canonical.court_decision
    schema: court_decision/1
routes:
  - {name: court-decisions, to: [etergov.court-decisions]}
destinations:
  etergov.court-decisions:
    queue: {type: quorum}
    deliver:
      soap: {wsdl: "${ETERGOV_WSDL}", operation: SubmitCourtDecision, timeout: 2s}
    prefetch: 4
    retry: {delays: [200ms, 200ms], immediate: {attempts: 2, max_wait: 50ms}}
    dedup: {key: message_id, window: 1d}
"""


@pytest.fixture
async def soap_receiver():
    """The fake E-tergov inbox."""
    fake = FakeSoapReceiver()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def soap_gateway(start_gateway, delivery_settings, soap_receiver):
    """(gateway, client) whose destination delivers by SOAP, with its worker running."""
    table = compile_routing_table(
        ROUTING,
        "soap-delivery.yaml",
        schemas=REGISTRY,
        adapters=ADAPTERS,
        env={**keys.ENV, "ETERGOV_WSDL": soap_receiver.wsdl_url},
    )
    gateway, client = await start_gateway(delivery_settings, table, deliverers=deliverer_for)
    await gateway.wait_workers(15)
    return gateway, client


async def push(client):
    """Push the fixture's court decision as E-XSUD; return the receipt."""
    response = await client.post(
        "/v1/feeds/court-decisions", json=load("court_decision"), headers=keys.bearer(keys.EXSUD)
    )
    assert 202 == response.status, await response.text()
    return await response.json()


async def test_court_decision_is_delivered_once_with_its_fields(soap_gateway, soap_receiver):
    """E-tergov's inbox gets the decision once, its fields as the operation's elements."""
    gateway, client = soap_gateway
    receipt = await push(client)
    await soap_receiver.wait_for(1)
    await until(
        lambda: (
            1
            == sample(
                gateway, "gateway_deliveries_total", destination=DESTINATION, outcome="delivered"
            )
        )
    )
    [call] = soap_receiver.received
    assert ("SubmitCourtDecision", receipt["message_id"]) == (
        call.operation,
        call.headers["Idempotency-Key"],
    )
    assert ("1-1203-2026/451", "convicted", "Karimov") == (
        call.fields["decision_number"],
        call.fields["outcome"],
        call.fields["defendant"]["last_name"],
    )
    assert 1 == soap_receiver.wsdl_requests


async def test_server_fault_then_success_walks_the_retry_ladder(soap_gateway, soap_receiver):
    """Server faults on the first attempt (tried twice in-process), success on the second."""
    _, client = soap_gateway
    soap_receiver.answer(server_fault(), server_fault())
    await push(client)
    await soap_receiver.wait_for(1)
    assert ["fault", "fault", "ok"] == [c.answer.kind for c in soap_receiver.received]
    assert ["1", "1", "2"] == [c.headers["X-Attempt"] for c in soap_receiver.received]


async def test_client_fault_is_dead_lettered_as_rejected(soap_gateway, soap_receiver, amqp_channel):
    """A Client fault is not retried: one call, then the DLQ with reason rejected."""
    gateway, client = soap_gateway
    soap_receiver.answer(client_fault("case 1-1203-2026 is not in E-tergov"))
    receipt = await push(client)
    [dead] = await take(amqp_channel, gateway.broker.topology.dead_letter_queue_of(DESTINATION), 1)
    assert (receipt["message_id"], "rejected", 1) == (
        dead.message_id,
        dead.headers[h.REASON],
        dead.headers[h.ATTEMPTS],
    )
    assert "case 1-1203-2026 is not in E-tergov" in dead.headers[h.LAST_ERROR]
    assert 1 == len(soap_receiver.received)


async def test_unloadable_wsdl_walks_the_ladder_without_claiming(
    start_gateway, delivery_settings, amqp_channel
):
    """The receiver's WSDL cannot be loaded: each attempt fails as transient before anything
    is claimed, and past the ladder the message is dead-lettered naming the WSDL."""
    wsdl = f"http://127.0.0.1:{free_port()}/soap?wsdl"
    table = compile_routing_table(
        ROUTING,
        "soap-delivery.yaml",
        schemas=REGISTRY,
        adapters=ADAPTERS,
        env={**keys.ENV, "ETERGOV_WSDL": wsdl},
    )
    gateway, client = await start_gateway(delivery_settings, table, deliverers=deliverer_for)
    await gateway.wait_workers(15)
    await push(client)
    [dead] = await take(amqp_channel, gateway.broker.topology.dead_letter_queue_of(DESTINATION), 1)
    assert ("retries_exhausted", 3) == (dead.headers[h.REASON], dead.headers[h.ATTEMPTS])
    assert f"the WSDL {wsdl} cannot be loaded" in dead.headers[h.LAST_ERROR]
    claim = await gateway.store.claim(
        f"destination:{DESTINATION}", dead.message_id, owner="t", lease_s=1, retention_s=1
    )
    assert "claimed" == claim.state  # no attempt left a claim behind
