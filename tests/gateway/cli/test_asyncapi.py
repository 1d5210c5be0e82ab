"""`gateway asyncapi`: the AsyncAPI 3.0 document of the broker topology.

No AsyncAPI JSON Schema ships in a PyPI package, so the document's structure is checked here
against the AsyncAPI 3.0 rules it relies on (keys, references, operations on their channels,
AMQP bindings), its schemas against the JSON Schema metaschema, and its topology and message
schemas against what the gateway really declares and publishes on the real RabbitMQ.
"""

import json
import re
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import yaml
from jsonschema import Draft7Validator, Draft202012Validator

from adapters.providers import PROVIDERS
from gateway.broker import topology_for
from gateway.broker.asyncapi import asyncapi_document
from gateway.cli import main
from gateway.routing import RoutingTable
from schemas import REGISTRY
from tests.support import keys
from tests.support.amqp import take
from tests.support.gateway import repository_table
from tests.support.records import ROUTING_YAML, load

AMQP_URL = "amqp://guest:secret@rabbit.example:5672/%2F"
#: AsyncAPI 3.0: keys of channels, operations and components
KEY = re.compile(r"^[A-Za-z0-9.\-_]+$")
#: the repository's routing.yaml: which canonical records reach each destination's queue
REACHING = {
    "etergov.crime-reports": ["crime_report_v1"],
    "etergov.court-decisions": ["court_decision_v1"],
    "raqamli-prokuror.supervision": [
        "case_event_v1",
        "court_decision_v1",
        "crime_report_v1",
        "inspection_v1",
    ],
    "raqamli-prokuror.registry-updates": ["organization_v1"],
    "inspections-register.inspections": ["inspection_v1"],
}


@pytest.fixture(autouse=True)
def test_keys(monkeypatch):
    """The repository's routing.yaml reads its keys from these variables."""
    for name, value in keys.ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("GATEWAY_AMQP_URL", AMQP_URL)
    monkeypatch.setenv("GATEWAY_NAMESPACE", "eint")


def document_of(table: RoutingTable, namespace: str = "eint", amqp_url: str = AMQP_URL) -> Any:
    """The document of ``table`` with the shipped schemas and providers."""
    providers = {name: PROVIDERS[spec.provider.adapter] for name, spec in table.services.items()}
    return asyncapi_document(
        table,
        namespace=namespace,
        amqp_url=amqp_url,
        schemas=REGISTRY,
        queries={name: provider.query for name, provider in providers.items()},
        answers={name: REGISTRY[p.answer_schema] for name, p in providers.items()},
    )


def resolve(document: Any, ref: str) -> Any:
    """The node a local ``$ref`` (a JSON pointer) points at; KeyError if none."""
    assert ref.startswith("#/"), ref
    node = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def refs(node: Any) -> Iterator[str]:
    """Every ``$ref`` in a JSON document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def validator(document: Any, schema: Any) -> Draft202012Validator:
    """A validator of ``schema`` whose references resolve in ``document``'s components."""
    return Draft202012Validator({**schema, "components": document["components"]})


def test_the_command_writes_yaml_and_json_of_the_same_document(tmp_path, capsys):
    """`gateway asyncapi` prints YAML; `-o FILE.json` writes the same document as JSON and
    prints the file's name."""
    assert 0 == main(["asyncapi", "--routing", str(ROUTING_YAML)])
    printed = yaml.safe_load(capsys.readouterr().out)
    out = tmp_path / "asyncapi.json"
    assert 0 == main(["asyncapi", "--routing", str(ROUTING_YAML), "-o", str(out)])
    assert str(out) == capsys.readouterr().out.strip()
    written = json.loads(out.read_text(encoding="utf-8"))
    assert printed == written
    assert document_of(repository_table()) == written


def test_an_invalid_routing_table_exits_2_naming_its_problems(tmp_path, capsys):
    """A table `routes check` refuses writes no document: each problem on stderr, exit 2."""
    broken = tmp_path / "routing.yaml"
    text = ROUTING_YAML.read_text(encoding="utf-8")
    broken.write_text(text.replace("to: [etergov.crime-reports]", "to: [etergov.nowhere]"))
    assert 2 == main(["asyncapi", "--routing", str(broken)])
    captured = capsys.readouterr()
    assert "" == captured.out
    assert "etergov.nowhere" in captured.err


def test_the_server_is_rabbitmq_without_credentials():
    """The server is GATEWAY_AMQP_URL's host, port and virtual host; no user, no password."""
    document = document_of(repository_table())
    assert {
        "host": "rabbit.example:5672",
        "protocol": "amqp",
        "protocolVersion": "0-9-1",
        "pathname": "/%2F",
    } == {
        k: document["servers"]["rabbitmq"][k]
        for k in ("host", "protocol", "protocolVersion", "pathname")
    }
    assert "secret" not in orjson.dumps(document).decode()
    assert "guest" not in orjson.dumps(document).decode()


def test_the_document_has_the_structure_of_asyncapi_3():
    """Required fields, key shapes, every reference resolving, every operation's messages
    among its channel's, every reply on a channel of the document."""
    document = document_of(repository_table())
    assert "3.0.0" == document["asyncapi"]
    assert {"title", "version"} <= set(document["info"])
    for section in ("channels", "operations"):
        for key in document[section]:
            assert KEY.fullmatch(key), key
    for section, entries in document["components"].items():
        for key in entries:
            assert KEY.fullmatch(key), f"components.{section}.{key}"
    for ref in set(refs(document)):
        resolve(document, ref)  # raises KeyError if it points nowhere
    for key, channel in document["channels"].items():
        assert channel["address"] is None or isinstance(channel["address"], str), key
        assert channel["messages"], key
    for key, operation in document["operations"].items():
        assert operation["action"] in ("send", "receive"), key
        channel_ref = operation["channel"]["$ref"]
        assert channel_ref.startswith("#/channels/"), key
        for message in operation["messages"]:
            assert message["$ref"].startswith(f"{channel_ref}/messages/"), key
        if "reply" in operation:
            reply_ref = operation["reply"]["channel"]["$ref"]
            for message in operation["reply"]["messages"]:
                assert message["$ref"].startswith(f"{reply_ref}/messages/"), key
    for key, message in document["components"]["messages"].items():
        assert {"name", "payload"} <= set(message), key


def test_every_schema_is_a_valid_json_schema():
    """Component schemas, payloads and headers are valid JSON Schemas (draft 7, AsyncAPI's
    default format, and 2020-12)."""
    document = document_of(repository_table())
    schemas = list(document["components"]["schemas"].values())
    for message in document["components"]["messages"].values():
        schemas += [message["payload"], message.get("headers", {})]
    for schema in schemas:
        Draft7Validator.check_schema(schema)
        Draft202012Validator.check_schema(schema)


def test_each_destination_has_its_queue_exchange_dead_letters_and_schemas():
    """Per destination: the work queue (its type, dead-letter exchange, binding to the
    ingress with its name), the dead-letter exchange (fanout) and queue, and as messages the
    canonical records that its routes can bring, with their canonical schemas as payloads."""
    table = repository_table()
    document = document_of(table)
    topology = topology_for(table, "eint")
    channels, messages = document["channels"], document["components"]["messages"]
    assert set(REACHING) == set(table.destinations)
    for name, destination in table.destinations.items():
        key = name.replace(".", "_")
        work, dlx, dlq = channels[key], channels[f"{key}__dlx"], channels[f"{key}__dlq"]
        assert f"eint.{name}" == work["address"] == topology.queue_of(name)
        assert destination.queue.type == work["x-queue"]["type"]
        assert f"eint.{name}.dlx" == work["x-queue"]["arguments"]["x-dead-letter-exchange"]
        assert {"exchange": "eint.ingress", "routingKey": name} == work["x-queue"]["boundTo"]
        assert f"eint.{name}.dlx" == dlx["address"]
        assert "fanout" == dlx["bindings"]["amqp"]["exchange"]["type"]
        assert f"eint.{name}.dlq" == dlq["address"] == topology.dead_letter_queue_of(name)
        assert REACHING[name] == list(work["messages"])
        assert [f"{m}__dead_letter" for m in REACHING[name]] + ["malformed__dead_letter"] == (
            list(dlq["messages"])
        )
        operation = document["operations"][f"receive_{key}"]
        assert ("receive", {"$ref": f"#/channels/{key}"}) == (
            operation["action"],
            operation["channel"],
        )
    for schema_id, model in REGISTRY.items():
        if not any(feed.schema_id == schema_id for feed in table.feeds.values()):
            continue
        message = messages[schema_id.replace("/", "_v")]
        payload = resolve(document, message["payload"]["$ref"])
        assert model.model_json_schema(mode="serialization")["required"] == payload["required"]
        assert schema_id == message["bindings"]["amqp"]["messageType"]


def test_the_ingress_exchange_takes_every_record_and_unrouted_keeps_the_rest():
    """The gateway sends every feed's records to the ingress exchange (direct, mandatory,
    persistent); the unrouted queue holds any of them."""
    table = repository_table()
    document = document_of(table)
    every = sorted({f.schema_id.replace("/", "_v") for f in table.feeds.values()})
    ingress = document["channels"]["ingress"]
    assert "eint.ingress" == ingress["address"]
    assert "direct" == ingress["bindings"]["amqp"]["exchange"]["type"]
    assert every == list(ingress["messages"])
    publish = document["operations"]["publish_ingress"]
    assert ("send", True, 2) == (
        publish["action"],
        publish["bindings"]["amqp"]["mandatory"],
        publish["bindings"]["amqp"]["deliveryMode"],
    )
    assert "eint.unrouted" == document["channels"]["unrouted"]["address"]
    assert every == list(document["channels"]["unrouted"]["messages"])


def test_each_service_has_its_request_queue_and_a_reply_by_direct_reply_to():
    """A service's requests carry its canonical query to its queue; the provider worker
    replies with the canonical answer or the provider's error."""
    document = document_of(repository_table())
    channel = document["channels"]["person_by-pinfl"]
    assert "eint.service.person.by-pinfl" == channel["address"]
    request = resolve(document, channel["messages"]["person_by-pinfl__request"]["$ref"])
    assert {"$ref": "#/components/schemas/PersonByPinfl"} == request["payload"]
    operation = document["operations"]["answer_person_by-pinfl"]
    assert {"$ref": "#/channels/person_by-pinfl__reply"} == operation["reply"]["channel"]
    answer = resolve(document, "#/components/messages/person_by-pinfl__answer")
    assert {"$ref": "#/components/schemas/Person"} == answer["payload"]
    assert None is document["channels"]["person_by-pinfl__reply"]["address"]


async def test_the_document_is_what_the_gateway_declares_and_publishes(
    gateway_client, settings, amqp_channel
):
    """On the real RabbitMQ: every queue and exchange the document names exists once the
    gateway started (passive declarations), and a record it publishes has the body, headers
    and properties its message in the document says."""
    gateway, client = gateway_client
    document = document_of(gateway.table, settings.namespace, settings.amqp_url)
    for channel in document["channels"].values():
        binding = channel.get("bindings", {}).get("amqp")
        if binding is None:
            continue  # the reply channel: direct reply-to, no queue
        if binding["is"] == "queue":
            await amqp_channel.declare_queue(channel["address"], passive=True)
        else:
            await amqp_channel.get_exchange(channel["address"], ensure=True)

    response = await client.post(
        "/v1/feeds/crime-reports", json=load("mvd_crime_report"), headers=keys.bearer(keys.MVD)
    )
    assert 202 == response.status, await response.text()
    [message] = await take(amqp_channel, f"{settings.namespace}.etergov.crime-reports", 1)
    described = document["components"]["messages"]["crime_report_v1"]
    assert [] == [
        e.message
        for e in validator(document, described["payload"]).iter_errors(orjson.loads(message.body))
    ]
    assert [] == [
        e.message
        for e in validator(document, described["headers"]).iter_errors(dict(message.headers))
    ]
    properties = described["x-amqp-properties"]
    assert (
        properties["content_type"],
        properties["content_encoding"],
        properties["delivery_mode"],
        properties["type"],
        properties["app_id"],
    ) == (
        message.content_type,
        message.content_encoding,
        int(message.delivery_mode),
        message.type,
        message.app_id,
    )
