"""HttpDeliverer classifies every answer and failure as success, transient or permanent,
against a real receiving server on loopback."""

import asyncio
import email.utils
import time

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from adapters.outbound import Delivery, HttpDeliverer
from gateway.errors import PermanentDeliveryError, TransientDeliveryError
from tests.support.process import free_port


@pytest.fixture
async def make_deliverer():
    """``await make_deliverer(handler)``: an HttpDeliverer POSTing to a loopback server whose
    /inbox is ``handler``; server and deliverer are closed after the test."""
    opened = []

    async def make(handler, *, timeout=2.0):
        app = web.Application()
        app.router.add_post("/inbox", handler)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        deliverer = HttpDeliverer(str(server.make_url("/inbox")), timeout=timeout)
        opened.append((server, deliverer))
        return deliverer

    yield make
    for server, deliverer in opened:
        await deliverer.aclose()
        await server.close()


def delivery() -> Delivery:
    """One message as the delivery worker hands it over."""
    return Delivery(
        body=b'{"decision_number": "1-1203-2026/451"}',
        message_id="msg-1",
        correlation_id="corr-1",
        schema_id="court_decision/1",
        envelope={"client": "sud.e-xsud"},
        attempt=2,
    )


def answering(status, headers=None):
    """A handler that answers every request with ``status``."""

    async def handler(_request):
        return web.Response(status=status, headers=headers, text="answer")

    return handler


@pytest.mark.parametrize("status", [200, 201, 202, 204])
async def test_2xx_is_success(make_deliverer, status):
    """Any 2xx answer is a delivery."""
    await (await make_deliverer(answering(status))).deliver(delivery())


async def test_request_carries_the_body_and_idempotency_key(make_deliverer):
    """The canonical JSON is POSTed as it is, with the message id as Idempotency-Key."""
    seen = []

    async def handler(request):
        seen.append((request.method, await request.read(), request.headers))
        return web.Response(status=200)

    await (await make_deliverer(handler)).deliver(delivery())
    [(method, body, headers)] = seen
    assert ("POST", delivery().body, "application/json") == (
        method,
        body,
        headers["Content-Type"],
    )
    assert ("msg-1", "msg-1", "2", "corr-1", "sud.e-xsud", "court_decision/1") == (
        headers["Idempotency-Key"],
        headers["X-Message-Id"],
        headers["X-Attempt"],
        headers["X-Correlation-Id"],
        headers["X-Client"],
        headers["X-Schema"],
    )


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
async def test_other_4xx_is_permanent(make_deliverer, status):
    """A refusal by status is permanent, with the status and the receiver's words kept."""
    with pytest.raises(PermanentDeliveryError) as caught:
        await (await make_deliverer(answering(status))).deliver(delivery())
    assert status == caught.value.status
    assert caught.value.message.endswith(f"answered HTTP {status}: answer")


async def test_redirect_is_not_followed_and_is_permanent(make_deliverer):
    """A 3xx is not followed: the configured URL is the receiver's inbox, or it is wrong."""
    with pytest.raises(PermanentDeliveryError) as caught:
        await (await make_deliverer(answering(302, {"Location": "http://elsewhere/"}))).deliver(
            delivery()
        )
    assert 302 == caught.value.status


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 503, 504])
async def test_busy_or_broken_receiver_is_transient(make_deliverer, status):
    """408, 425, 429 and 5xx are transient, with the status kept."""
    with pytest.raises(TransientDeliveryError) as caught:
        await (await make_deliverer(answering(status))).deliver(delivery())
    assert (status, None) == (caught.value.status, caught.value.retry_after)


async def test_retry_after_in_seconds_is_honoured(make_deliverer):
    """Retry-After: 120 → retry_after 120 s."""
    deliverer = await make_deliverer(answering(503, {"Retry-After": "120"}))
    with pytest.raises(TransientDeliveryError) as caught:
        await deliverer.deliver(delivery())
    assert 120.0 == caught.value.retry_after


async def test_retry_after_as_http_date_is_honoured(make_deliverer):
    """Retry-After as an HTTP date → the seconds until then."""
    when = email.utils.formatdate(time.time() + 90, usegmt=True)
    deliverer = await make_deliverer(answering(429, {"Retry-After": when}))
    with pytest.raises(TransientDeliveryError) as caught:
        await deliverer.deliver(delivery())
    assert 80 <= caught.value.retry_after <= 90


async def test_unreadable_retry_after_is_ignored(make_deliverer):
    """A Retry-After that is neither seconds nor a date is left out, not an error."""
    deliverer = await make_deliverer(answering(503, {"Retry-After": "soon"}))
    with pytest.raises(TransientDeliveryError) as caught:
        await deliverer.deliver(delivery())
    assert caught.value.retry_after is None


async def test_timeout_is_transient(make_deliverer):
    """No answer in time is transient."""
    release = asyncio.Event()

    async def hang(_request):
        await release.wait()
        return web.Response(status=200)

    deliverer = await make_deliverer(hang, timeout=0.2)
    try:
        with pytest.raises(TransientDeliveryError) as caught:
            await deliverer.deliver(delivery())
    finally:
        release.set()
    assert "no answer within 0.2s" in caught.value.message


async def test_connection_error_is_transient():
    """A refused connection is transient."""
    deliverer = HttpDeliverer(f"http://127.0.0.1:{free_port()}/inbox", timeout=2)
    try:
        with pytest.raises(TransientDeliveryError) as caught:
            await deliverer.deliver(delivery())
    finally:
        await deliverer.aclose()
    assert "ClientConnectorError" in caught.value.message


async def test_closed_deliverer_delivers_nothing():
    """After aclose() a delivery is refused as transient (the message goes back), not sent."""
    deliverer = HttpDeliverer(f"http://127.0.0.1:{free_port()}/inbox", timeout=2)
    await deliverer.aclose()
    with pytest.raises(TransientDeliveryError, match="closed"):
        await deliverer.deliver(delivery())


async def test_2xx_with_a_body_cut_short_is_still_a_delivery(make_deliverer):
    """The receiver said 200 and then lost the connection mid-body: the message was taken,
    so it is not sent again."""

    async def cut_short(request):
        response = web.StreamResponse(status=200, headers={"Content-Length": "1000"})
        await response.prepare(request)
        await response.write(b"partial")
        request.transport.close()
        return response

    await (await make_deliverer(cut_short)).deliver(delivery())
