"""One access log event per request, with the fields an operator needs to find it."""

import structlog

from tests.support import keys
from tests.support.records import load


def access_events(logs):
    """The access events among captured log entries."""
    return [e for e in logs if e["event"] == "access"]


async def test_accepted_push_is_logged_with_its_message_ids(gateway_client):
    """An accepted push logs client, feed, schema, message ids, count, status and sizes."""
    _, client = gateway_client
    with structlog.testing.capture_logs() as logs:
        response = await client.post(
            "/v1/feeds/crime-reports",
            json=load("mvd_crime_reports_batch"),
            headers={**keys.bearer(keys.MVD), "X-Correlation-Id": "c-42", "X-Issue": "1-1203/26"},
        )
        body = await response.json()
    [event] = access_events(logs)
    assert {
        "client": "mvd.crime-registry",
        "feed": "crime-reports",
        "schema": "crime_report/1",
        "record_count": 2,
        "outcome": "ok",
        "status": 202,
        "correlation_id": "c-42",
        "issue": "1-1203/26",
        "error_code": None,
    }.items() <= event.items()
    assert [r["message_id"] for r in body["records"]] == event["message_ids"]
    assert event["bytes_in"] > 0
    assert event["bytes_out"] > 0
    assert event["latency_ms"] >= 0


async def test_error_is_logged_with_the_error_id_the_caller_got(gateway_client):
    """The error_id in the response body is the one in the access log."""
    _, client = gateway_client
    with structlog.testing.capture_logs() as logs:
        response = await client.post(
            "/v1/feeds/crime-reports",
            json=load("mvd_crime_report"),
            headers=keys.bearer(keys.SOLIQ),
        )
        error = (await response.json())["error"]
    [event] = access_events(logs)
    assert (error["error_id"], "client.access_denied", 403, "error") == (
        event["error_id"],
        event["error_code"],
        event["status"],
        event["outcome"],
    )


async def test_probes_are_not_access_logged(gateway_client):
    """Health probes and scrapes do not flood the access log."""
    _, client = gateway_client
    with structlog.testing.capture_logs() as logs:
        await client.get("/healthz")
        await client.get("/readyz")
        await client.get("/metrics")
    assert [] == access_events(logs)


async def test_log_lines_of_a_single_record_carry_its_message_id(gateway_client):
    """Lines logged while one record is handled carry its message id and the correlation id
    (bound in context, not passed by hand)."""
    _, client = gateway_client
    merge = [structlog.contextvars.merge_contextvars]
    with structlog.testing.capture_logs(processors=merge) as logs:
        response = await client.post(
            "/v1/feeds/crime-reports",
            json=load("mvd_crime_report"),
            headers={**keys.bearer(keys.MVD), "X-Correlation-Id": "c-43"},
        )
        body = await response.json()
    [event] = access_events(logs)
    assert (body["message_id"], "c-43") == (event["message_id"], event["correlation_id"])
