"""The audit log in a running gateway: every exchange lands in the store before its answer
goes out; with the store unavailable, new exchanges get 503 and nothing is published."""

import hashlib
import itertools
import uuid
from urllib.parse import urlsplit

import orjson
import yaml

from adapters import ADAPTERS
from adapters.providers import PROVIDERS
from gateway.audit import AuditQuery, open_audit_store, verify_chain
from gateway.routing import compile_routing_table
from schemas import REGISTRY
from tests.support import keys
from tests.support.amqp import depth, until
from tests.support.proxy import CuttableProxy
from tests.support.records import ROUTING_YAML, load

FEED = "/v1/feeds/crime-reports"
_numbers = itertools.count(1)


def crime_report():
    """A crime report with a number no other push of the test run has (the feed
    deduplicates by it)."""
    record = load("mvd_crime_report")
    record["xabar_raqami"] = f"IIV-2026-{uuid.uuid4().int % 10**7:07d}{next(_numbers)}"
    return record


async def audit_records(url, **filters):
    """Every record of the store at ``url`` matching ``filters``, parsed."""
    store = open_audit_store(url)
    try:
        return [row.record() for row in await store.query(AuditQuery(**filters))]
    finally:
        await store.aclose()


def table_with_full_bodies(feed):
    """The repository's routing table with ``log_body: full`` on ``feed``."""
    spec = yaml.safe_load(ROUTING_YAML.read_text(encoding="utf-8"))
    spec["feeds"][feed]["log_body"] = "full"
    return compile_routing_table(
        yaml.safe_dump(spec, allow_unicode=True),
        "routing.yaml",
        schemas=REGISTRY,
        adapters=ADAPTERS,
        providers=PROVIDERS,
        env=keys.ENV,
    )


async def ready(client):
    response = await client.get("/readyz")
    return response.status, (await response.json())["checks"]


async def test_a_pushed_record_lands_in_the_audit_store_with_its_fields(start_gateway, settings):
    """The push's metadata, its message id and the SHA-256 of both bodies are in the store
    (and not the bodies: the feed logs metadata)."""
    _, client = await start_gateway(settings)
    body = orjson.dumps(crime_report())
    response = await client.post(
        FEED,
        data=body,
        headers={
            **keys.bearer(keys.MVD),
            "Content-Type": "application/json",
            "X-Correlation-Id": "corr-audit-1",
            "X-User-Id": "u.karimov",
            "X-Issue": "ISS-2026-7",
        },
    )
    answer = await response.read()
    assert 202 == response.status
    [record] = await audit_records(settings.audit_url)
    exchange = record["exchange"]
    assert {
        "kind": "feed",
        "method": "POST",
        "path": FEED,
        "client": "mvd.crime-registry",
        "feed": "crime-reports",
        "schema": "crime_report/1",
        "user_id": "u.karimov",
        "issue": "ISS-2026-7",
        "message_ids": [orjson.loads(answer)["message_id"]],
        "record_count": 1,
        "outcome": "ok",
        "status": 202,
        "correlation_id": "corr-audit-1",
        "bytes_in": len(body),
        "request_sha256": hashlib.sha256(body).hexdigest(),
        "response_sha256": hashlib.sha256(answer).hexdigest(),
    }.items() <= exchange.items()
    assert "request_body" not in exchange
    assert "response_body" not in exchange


async def test_a_feed_that_logs_bodies_in_full_keeps_them(start_gateway, settings):
    """``log_body: full``: the request and response bodies are in the record, as sent."""
    _, client = await start_gateway(settings, table_with_full_bodies("crime-reports"))
    body = orjson.dumps(crime_report())
    response = await client.post(
        FEED, data=body, headers={**keys.bearer(keys.MVD), "Content-Type": "application/json"}
    )
    answer = await response.read()
    assert 202 == response.status
    [record] = await audit_records(settings.audit_url)
    assert body.decode() == record["exchange"]["request_body"]
    assert answer.decode() == record["exchange"]["response_body"]


async def test_a_chunked_body_is_hashed_and_kept_too(start_gateway, settings):
    """A body sent without Content-Length (chunked) is on record like any other."""
    _, client = await start_gateway(settings, table_with_full_bodies("crime-reports"))
    body = orjson.dumps(crime_report())

    async def chunks():
        yield body[:100]
        yield body[100:]

    response = await client.post(
        FEED, data=chunks(), headers={**keys.bearer(keys.MVD), "Content-Type": "application/json"}
    )
    assert 202 == response.status
    [record] = await audit_records(settings.audit_url)
    assert (hashlib.sha256(body).hexdigest(), body.decode()) == (
        record["exchange"]["request_sha256"],
        record["exchange"]["request_body"],
    )


async def test_refusals_are_audited_too_and_probes_are_not(start_gateway, settings):
    """A wrong key (401) and an unknown feed (404) are exchanges on record; /healthz,
    /readyz, /metrics and /openapi.json are not."""
    _, client = await start_gateway(settings)
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json"):
        await client.get(path)
    await client.post(FEED, json={}, headers=keys.bearer("not-a-key"))
    await client.post("/v1/feeds/no-such-feed", json={}, headers=keys.bearer(keys.MVD))
    records = await audit_records(settings.audit_url)
    assert [(401, "/v1/feeds/crime-reports"), (404, "/v1/feeds/no-such-feed")] == [
        (r["exchange"]["status"], r["exchange"]["path"]) for r in records
    ]
    assert all(r["exchange"]["error_code"].startswith("client.") for r in records)


async def test_a_record_request_is_on_record_with_who_what_and_which_case(start_gateway, settings):
    """A record request names the caller, the user, the case and the subject asked about,
    even when the provider fails."""
    _, client = await start_gateway(settings)
    response = await client.post(
        "/v1/services/person.by-pinfl",
        json={"pinfl": "31205850123456"},
        headers={**keys.bearer(keys.ETERGOV), "X-User-Id": "u.aliyev", "X-Issue": "ISS-9"},
    )
    await response.read()
    [record] = await audit_records(settings.audit_url, user_id="u.aliyev", issue="ISS-9")
    exchange = record["exchange"]
    assert ("gp.e-tergov", "person.by-pinfl", response.status) == (
        exchange["client"],
        exchange["service"],
        exchange["status"],
    )
    assert "31205850123456" in exchange["subject"]


async def test_the_gateway_chain_verifies_after_many_exchanges(start_gateway, settings):
    """Twenty pushes, twenty records, one intact chain."""
    _, client = await start_gateway(settings)
    for _ in range(20):
        response = await client.post(FEED, json=crime_report(), headers=keys.bearer(keys.MVD))
        assert 202 == response.status
    store = open_audit_store(settings.audit_url)
    try:
        report = await verify_chain(store)
    finally:
        await store.aclose()
    assert ([], 20) == (report.problems, report.records)
    metrics = await (await client.get("/metrics")).text()
    assert "gateway_audit_records_total 20.0" in metrics
    assert "gateway_audit_backlog 0.0" in metrics


async def test_sqlite_store_unavailable_refuses_with_503_publishes_nothing_and_recovers(
    start_gateway, settings, amqp_channel, tmp_path
):
    """An audit file that cannot be opened: pushes get 503 gateway.audit_unavailable with
    Retry-After, nothing reaches the queue, /readyz names the store; once the file can be
    created, pushes are accepted and recorded again."""
    blocker = tmp_path / "audit-volume"
    blocker.write_text("not a directory")
    url = f"sqlite:///{blocker / 'audit.sqlite3'}"
    gateway, client = await start_gateway(settings.model_copy(update={"audit_url": url}))
    queue = gateway.broker.topology.queue_of("etergov.crime-reports")

    response = await client.post(FEED, json=crime_report(), headers=keys.bearer(keys.MVD))
    error = (await response.json())["error"]
    assert (503, "gateway.audit_unavailable") == (response.status, error["code"])
    assert "3" == response.headers["Retry-After"]
    assert 0 == await depth(amqp_channel, queue)
    status, checks = await ready(client)
    assert 503 == status
    assert str(blocker) in checks["audit"]

    blocker.unlink()
    await until(lambda: gateway.audit.problem is None)
    response = await client.post(FEED, json=crime_report(), headers=keys.bearer(keys.MVD))
    assert 202 == response.status
    assert 200 == (await ready(client))[0]
    assert 1 == len(await audit_records(url))


async def test_postgres_store_lost_refuses_with_503_publishes_nothing_and_recovers(
    start_gateway, settings, amqp_channel, postgres_url
):
    """The PostgreSQL audit store goes away (connections cut, nothing listening): /readyz
    names it, pushes get 503 and nothing is published; when it is back, pushes are accepted
    and the chain goes on."""
    target = urlsplit(postgres_url)
    proxy = CuttableProxy(target.hostname, target.port or 5432)
    await proxy.start()
    url = target._replace(netloc=f"{target.username}@127.0.0.1:{proxy.port}").geturl()
    gateway, client = await start_gateway(
        settings.model_copy(update={"audit_url": url, "audit_timeout": 2.0})
    )
    queue = gateway.broker.topology.queue_of("etergov.crime-reports")
    try:
        response = await client.post(FEED, json=crime_report(), headers=keys.bearer(keys.MVD))
        assert 202 == response.status
        await proxy.cut()
        await until(lambda: gateway.audit.problem is not None)
        published = await depth(amqp_channel, queue)

        response = await client.post(FEED, json=crime_report(), headers=keys.bearer(keys.MVD))
        assert 503 == response.status
        assert "gateway.audit_unavailable" == (await response.json())["error"]["code"]
        assert published == await depth(amqp_channel, queue)
        status, checks = await ready(client)
        assert 503 == status
        assert f"127.0.0.1:{proxy.port}" in checks["audit"]

        await proxy.start()
        await until(lambda: gateway.audit.problem is None)
        response = await client.post(FEED, json=crime_report(), headers=keys.bearer(keys.MVD))
        assert 202 == response.status
    finally:
        await client.close()
        await proxy.cut()
    store = open_audit_store(postgres_url)
    try:
        report = await verify_chain(store)
    finally:
        await store.aclose()
    assert ([], 2) == (report.problems, report.records)


async def test_an_append_that_fails_after_serving_withholds_the_answer(
    start_gateway, settings, tmp_path
):
    """If the record cannot be written once the handler ran, the caller gets 503, not the
    answer: nothing is served unlogged."""
    gateway, client = await start_gateway(settings)
    # from here on, every append fails (as a disk that fills up would make it)
    store = gateway.audit.store

    async def failing(_records):
        from gateway.errors import AuditUnavailableError

        raise AuditUnavailableError("audit store: disk full")

    store.append = failing
    response = await client.post(FEED, json=crime_report(), headers=keys.bearer(keys.MVD))
    body = await response.json()
    assert (503, "gateway.audit_unavailable") == (response.status, body["error"]["code"])
    assert "disk full" in body["error"]["message"]
    assert "message_id" not in body


async def test_with_audit_not_required_exchanges_are_served(start_gateway, settings, tmp_path):
    """GATEWAY_AUDIT_REQUIRED=false: a store that cannot be opened does not stop pushes, and
    /readyz does not fail on it."""
    blocker = tmp_path / "audit-volume"
    blocker.write_text("")
    url = f"sqlite:///{blocker / 'audit.sqlite3'}"
    gateway, client = await start_gateway(
        settings.model_copy(update={"audit_url": url, "audit_required": False})
    )
    response = await client.post(FEED, json=crime_report(), headers=keys.bearer(keys.MVD))
    assert 202 == response.status
    assert gateway.audit.problem is not None
    assert "audit" not in (await ready(client))[1]
