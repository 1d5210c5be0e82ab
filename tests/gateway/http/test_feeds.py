"""POST /v1/feeds/{feed} end to end: a real gateway on loopback, the real RabbitMQ."""

import hashlib
import json

import orjson

from tests.support import keys
from tests.support.amqp import depth, take
from tests.support.records import load


async def test_pushed_record_arrives_as_canonical_json_with_the_envelope(
    gateway_client, amqp_channel
):
    """A record pushed in the ministry's native form arrives canonical, persistent, enveloped."""
    gateway, client = gateway_client
    response = await client.post(
        "/v1/feeds/crime-reports",
        json=load("mvd_crime_report"),
        headers={**keys.bearer(keys.MVD), "X-Correlation-Id": "corr-1", "X-User-Id": "u.karimov"},
    )
    receipt = await response.json()
    assert 202 == response.status
    queue = gateway.broker.topology.queue_of("etergov.crime-reports")
    [message] = await take(amqp_channel, queue, 1)
    body = orjson.loads(message.body)
    assert "IIV-2026-0012345" == body["report_number"]
    assert "grave" == body["severity"]
    assert "31205850123456" == body["applicant"]["pinfl"]
    assert "2026-11-20T10:15:00+05:00" == body["registered_at"]
    assert receipt["message_id"] == message.message_id
    assert "corr-1" == message.correlation_id
    assert 2 == message.delivery_mode  # persistent
    assert "application/json" == message.content_type
    assert "crime_report/1" == message.type
    assert {
        "client": "mvd.crime-registry",
        "feed": "crime-reports",
        "schema": "crime_report/1",
        "user_id": "u.karimov",
        "payload_sha256": hashlib.sha256(message.body).hexdigest(),
    }.items() <= message.headers.items()


async def test_receipt_lists_message_id_status_and_routes(gateway_client):
    """The 202 receipt names the message id, the status and every destination."""
    _, client = gateway_client
    response = await client.post(
        "/v1/feeds/crime-reports", json=load("mvd_crime_report"), headers=keys.bearer(keys.MVD)
    )
    receipt = await response.json()
    assert "accepted" == receipt["status"]
    assert ["etergov.crime-reports", "raqamli-prokuror.supervision"] == receipt["routes"]
    assert 36 == len(receipt["message_id"])


async def test_record_fans_out_to_every_matching_destination(gateway_client, amqp_channel):
    """A grave crime goes to E-tergov and to supervision: one copy each, same message id."""
    gateway, client = gateway_client
    response = await client.post(
        "/v1/feeds/crime-reports", json=load("mvd_crime_report"), headers=keys.bearer(keys.MVD)
    )
    receipt = await response.json()
    topology = gateway.broker.topology
    [to_etergov] = await take(amqp_channel, topology.queue_of("etergov.crime-reports"), 1)
    [to_supervision] = await take(
        amqp_channel, topology.queue_of("raqamli-prokuror.supervision"), 1
    )
    assert receipt["message_id"] == to_etergov.message_id == to_supervision.message_id
    assert to_etergov.body == to_supervision.body


async def test_record_that_no_route_takes_goes_to_the_unrouted_queue(gateway_client, amqp_channel):
    """An active organization matches no route: it is kept in the unrouted queue, not lost."""
    gateway, client = gateway_client
    organization = load("soliq_organization")
    organization["status_code"] = 1
    response = await client.post(
        "/v1/feeds/organizations", json=organization, headers=keys.bearer(keys.SOLIQ)
    )
    receipt = await response.json()
    assert 202 == response.status
    assert ["unrouted"] == receipt["routes"]
    [message] = await take(amqp_channel, gateway.broker.topology.queue_of("unrouted"), 1)
    assert receipt["message_id"] == message.message_id
    assert "301234567" == orjson.loads(message.body)["stir"]


async def test_tax_committee_mapping_reaches_canonical_organization(gateway_client, amqp_channel):
    """The Tax Committee's native names and codes become the canonical organization."""
    gateway, client = gateway_client
    response = await client.post(
        "/v1/feeds/organizations", json=load("soliq_organization"), headers=keys.bearer(keys.SOLIQ)
    )
    assert 202 == response.status
    queue = gateway.broker.topology.queue_of("raqamli-prokuror.registry-updates")
    [message] = await take(amqp_channel, queue, 1)
    body = orjson.loads(message.body)
    assert ("llc", "in_liquidation", "1726") == (
        body["legal_form"],
        body["status"],
        body["address"]["region"],
    )
    assert {
        "pinfl": "30101800123456",
        "last_name": "Karimov",
        "first_name": "Anvar",
        "patronymic": "Aliyevich",
        "birth_date": None,
    } == body["director"]


async def test_batch_is_accepted_with_a_receipt_per_record(gateway_client, amqp_channel):
    """A JSON array is a batch: 202 only when every record is confirmed, one receipt each."""
    gateway, client = gateway_client
    response = await client.post(
        "/v1/feeds/crime-reports",
        json=load("mvd_crime_reports_batch"),
        headers=keys.bearer(keys.MVD),
    )
    body = await response.json()
    assert 202 == response.status
    assert (2, [0, 1]) == (body["count"], [r["index"] for r in body["records"]])
    assert ["accepted", "accepted"] == [r["status"] for r in body["records"]]
    queue = gateway.broker.topology.queue_of("etergov.crime-reports")
    messages = await take(amqp_channel, queue, 2)
    assert [r["message_id"] for r in body["records"]] == [m.message_id for m in messages]


async def test_batch_with_an_invalid_record_is_refused_whole(gateway_client, amqp_channel):
    """One invalid record refuses the batch: 422 naming it, and nothing is published."""
    gateway, client = gateway_client
    batch = load("mvd_crime_reports_batch")
    batch[1]["hudud_soato"] = "9999"
    response = await client.post(
        "/v1/feeds/crime-reports", json=batch, headers=keys.bearer(keys.MVD)
    )
    error = (await response.json())["error"]
    assert 422 == response.status
    assert [1] == [r["index"] for r in error["records"]]
    assert "hudud_soato" == error["records"][0]["problems"][0]["field"]
    assert 0 == await depth(amqp_channel, gateway.broker.topology.queue_of("etergov.crime-reports"))


async def test_schema_violation_names_every_native_field(gateway_client):
    """422 lists every problem of the record under the ministry's own field names."""
    _, client = gateway_client
    response = await client.post(
        "/v1/feeds/crime-reports",
        json=load("mvd_crime_report_invalid"),
        headers=keys.bearer(keys.MVD),
    )
    error = (await response.json())["error"]
    assert 422 == response.status
    assert "client.schema_violation" == error["code"]
    assert ["hodisa_sanasi", "ogirlik_toifasi", "arizachi.jshshir"] == [
        p["field"] for p in error["records"][0]["problems"]
    ]
    assert "applicant.pinfl" == error["records"][0]["problems"][2]["canonical_field"]


async def test_unknown_native_field_is_refused(gateway_client):
    """A field the mapping does not know (a typo) is a 422, never silently dropped."""
    _, client = gateway_client
    record = load("mvd_crime_report")
    record["arizachi"]["jshshr"] = record["arizachi"].pop("jshshir")
    response = await client.post(
        "/v1/feeds/crime-reports", json=record, headers=keys.bearer(keys.MVD)
    )
    problems = (await response.json())["error"]["records"][0]["problems"]
    assert [{"field": "arizachi.jshshr", "message": "unknown field"}] == problems


async def test_malformed_json_is_400_with_its_position(gateway_client):
    """A body that is not JSON gets 400 naming line and column."""
    _, client = gateway_client
    response = await client.post(
        "/v1/feeds/crime-reports",
        data=b'{\n  "xabar_raqami": "IIV-1",\n  "holat": \n}',
        headers={**keys.bearer(keys.MVD), "Content-Type": "application/json"},
    )
    error = (await response.json())["error"]
    assert 400 == response.status
    assert "client.malformed_json" == error["code"]
    assert (4, 1) == (error["line"], error["column"])


async def test_unknown_feed_is_404(gateway_client):
    """A feed the routing table does not declare is 404 client.unknown_feed."""
    _, client = gateway_client
    response = await client.post("/v1/feeds/no-such-feed", json={}, headers=keys.bearer(keys.MVD))
    assert 404 == response.status
    assert "client.unknown_feed" == (await response.json())["error"]["code"]


async def test_missing_key_is_401(gateway_client):
    """No Authorization header is 401 client.missing_key, with WWW-Authenticate."""
    _, client = gateway_client
    response = await client.post("/v1/feeds/crime-reports", json=load("mvd_crime_report"))
    assert 401 == response.status
    assert "client.missing_key" == (await response.json())["error"]["code"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_unknown_key_is_401(gateway_client):
    """A key that belongs to no system is 401 client.unknown_key."""
    _, client = gateway_client
    response = await client.post(
        "/v1/feeds/crime-reports",
        json=load("mvd_crime_report"),
        headers=keys.bearer("not-a-key-of-anyone-at-all"),
    )
    assert 401 == response.status
    assert "client.unknown_key" == (await response.json())["error"]["code"]


async def test_system_not_allowed_on_feed_is_403(gateway_client):
    """The Tax Committee may not push crime reports: 403 client.access_denied."""
    _, client = gateway_client
    response = await client.post(
        "/v1/feeds/crime-reports", json=load("mvd_crime_report"), headers=keys.bearer(keys.SOLIQ)
    )
    error = (await response.json())["error"]
    assert 403 == response.status
    assert "client.access_denied" == error["code"]
    assert "soliq.legal-entities" in error["message"]


async def test_body_over_the_limit_is_413(start_gateway, settings):
    """A body over GATEWAY_MAX_BODY_BYTES is 413 client.payload_too_large."""
    _, client = await start_gateway(settings.model_copy(update={"max_body_bytes": 2048}))
    record = load("mvd_crime_report")
    record["qisqacha_mazmun"] = "x" * 4096
    response = await client.post(
        "/v1/feeds/crime-reports", json=record, headers=keys.bearer(keys.MVD)
    )
    assert 413 == response.status
    assert "client.payload_too_large" == (await response.json())["error"]["code"]


async def test_chunked_body_over_the_limit_is_413(start_gateway, settings):
    """A body without Content-Length is cut off at the limit too."""
    _, client = await start_gateway(settings.model_copy(update={"max_body_bytes": 2048}))

    async def chunks():
        for _ in range(10):
            yield b" " * 1024

    response = await client.post(
        "/v1/feeds/crime-reports",
        data=chunks(),
        headers={**keys.bearer(keys.MVD), "Content-Type": "application/json"},
    )
    assert 413 == response.status


async def test_batch_over_the_feed_limit_is_413(gateway_client):
    """More records than the feed's max_batch is 413 client.batch_too_large."""
    _, client = gateway_client
    batch = [load("mvd_crime_report")] * 1001
    response = await client.post(
        "/v1/feeds/crime-reports", json=batch, headers=keys.bearer(keys.MVD)
    )
    assert 413 == response.status
    assert "client.batch_too_large" == (await response.json())["error"]["code"]


async def test_wrong_content_type_is_415(gateway_client):
    """A body that is not application/json is 415 client.unsupported_media_type."""
    _, client = gateway_client
    response = await client.post(
        "/v1/feeds/crime-reports",
        data=json.dumps(load("mvd_crime_report")),
        headers={**keys.bearer(keys.MVD), "Content-Type": "text/plain"},
    )
    assert 415 == response.status
    assert "client.unsupported_media_type" == (await response.json())["error"]["code"]


async def test_empty_batch_is_400(gateway_client):
    """An empty JSON array is 400 client.empty_batch."""
    _, client = gateway_client
    response = await client.post("/v1/feeds/crime-reports", json=[], headers=keys.bearer(keys.MVD))
    assert 400 == response.status
    assert "client.empty_batch" == (await response.json())["error"]["code"]


async def test_badly_formed_user_header_is_400(gateway_client):
    """X-User-Id with characters outside the allowed set is 400 naming the header."""
    _, client = gateway_client
    response = await client.post(
        "/v1/feeds/crime-reports",
        json=load("mvd_crime_report"),
        headers={**keys.bearer(keys.MVD), "X-User-Id": "a b"},
    )
    error = (await response.json())["error"]
    assert 400 == response.status
    assert "X-User-Id" in error["message"]


async def test_every_error_carries_an_error_id_and_the_correlation_id(gateway_client):
    """Error bodies carry an error_id; every response echoes X-Correlation-Id."""
    _, client = gateway_client
    response = await client.post(
        "/v1/feeds/crime-reports", json={}, headers={"X-Correlation-Id": "abc-123"}
    )
    error = (await response.json())["error"]
    assert 16 == len(error["error_id"])
    assert "abc-123" == response.headers["X-Correlation-Id"]


async def test_unknown_path_is_404_in_the_error_format(gateway_client):
    """Even the router's own 404 uses the contract's error body."""
    _, client = gateway_client
    response = await client.get("/v1/nothing-here")
    assert 404 == response.status
    assert "client.not_found" == (await response.json())["error"]["code"]
