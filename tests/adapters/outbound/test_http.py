"""HttpDeliverer classifies every answer and failure as success, transient or permanent."""

import email.utils
import time

import httpx
import pytest

from adapters.outbound import Delivery, HttpDeliverer
from gateway.errors import PermanentDeliveryError, TransientDeliveryError

URL = "http://receiver.test/inbox"


@pytest.fixture
async def make_deliverer():
    """``make_deliverer(handler)``: an HttpDeliverer over httpx.MockTransport; closed after."""
    made = []

    def make(handler, *, timeout=2.0):
        deliverer = HttpDeliverer(URL, timeout=timeout, transport=httpx.MockTransport(handler))
        made.append(deliverer)
        return deliverer

    yield make
    for deliverer in made:
        await deliverer.aclose()


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
    return lambda _request: httpx.Response(status, headers=headers, text="answer")


@pytest.mark.parametrize("status", [200, 201, 202, 204])
async def test_2xx_is_success(make_deliverer, status):
    """Any 2xx answer is a delivery."""
    await make_deliverer(answering(status)).deliver(delivery())


async def test_request_carries_the_body_and_idempotency_key(make_deliverer):
    """The canonical JSON is POSTed as it is, with the message id as Idempotency-Key."""
    seen = []

    def handler(request):
        seen.append(request)
        return httpx.Response(200)

    await make_deliverer(handler).deliver(delivery())
    [request] = seen
    assert ("POST", delivery().body) == (request.method, request.content)
    assert ("msg-1", "msg-1", "2", "corr-1", "sud.e-xsud") == (
        request.headers["Idempotency-Key"],
        request.headers["X-Message-Id"],
        request.headers["X-Attempt"],
        request.headers["X-Correlation-Id"],
        request.headers["X-Client"],
    )


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
async def test_other_4xx_is_permanent(make_deliverer, status):
    """A refusal by status is permanent, with the status kept."""
    with pytest.raises(PermanentDeliveryError) as caught:
        await make_deliverer(answering(status)).deliver(delivery())
    assert status == caught.value.status


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 503, 504])
async def test_busy_or_broken_receiver_is_transient(make_deliverer, status):
    """408, 425, 429 and 5xx are transient, with the status kept."""
    with pytest.raises(TransientDeliveryError) as caught:
        await make_deliverer(answering(status)).deliver(delivery())
    assert (status, None) == (caught.value.status, caught.value.retry_after)


async def test_retry_after_in_seconds_is_honoured(make_deliverer):
    """Retry-After: 120 → retry_after 120 s."""
    with pytest.raises(TransientDeliveryError) as caught:
        await make_deliverer(answering(503, {"Retry-After": "120"})).deliver(delivery())
    assert 120.0 == caught.value.retry_after


async def test_retry_after_as_http_date_is_honoured(make_deliverer):
    """Retry-After as an HTTP date → the seconds until then."""
    when = email.utils.formatdate(time.time() + 90, usegmt=True)
    with pytest.raises(TransientDeliveryError) as caught:
        await make_deliverer(answering(429, {"Retry-After": when})).deliver(delivery())
    assert 80 <= caught.value.retry_after <= 90


async def test_unreadable_retry_after_is_ignored(make_deliverer):
    """A Retry-After that is neither seconds nor a date is left out, not an error."""
    with pytest.raises(TransientDeliveryError) as caught:
        await make_deliverer(answering(503, {"Retry-After": "soon"})).deliver(delivery())
    assert caught.value.retry_after is None


async def test_timeout_is_transient(make_deliverer):
    """No answer in time is transient."""

    def handler(request):
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(TransientDeliveryError) as caught:
        await make_deliverer(handler, timeout=1.5).deliver(delivery())
    assert "no answer within 1.5s" in caught.value.message


async def test_connection_error_is_transient(make_deliverer):
    """A refused connection is transient."""

    def handler(request):
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(TransientDeliveryError) as caught:
        await make_deliverer(handler).deliver(delivery())
    assert "ConnectError" in caught.value.message
