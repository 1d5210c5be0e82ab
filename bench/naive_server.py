"""Baseline (b) of bench/ingest.py: the least a REST-to-RabbitMQ service can do.

An aiohttp handler that validates the body with pydantic and publishes it persistent with one
publisher confirm per request. No auth, no mapping, no routing, no access log.
"""

from __future__ import annotations

import argparse

import aio_pika
from aiohttp import web
from pydantic import ValidationError

from schemas import CrimeReport

QUEUE = web.AppKey("queue", str)
CHANNEL = web.AppKey("channel", aio_pika.abc.AbstractChannel)


async def ingest(request: web.Request) -> web.Response:
    """Validate and publish one record."""
    body = await request.read()
    try:
        CrimeReport.model_validate_json(body)
    except ValidationError as exc:
        return web.json_response({"error": str(exc)}, status=422)
    await request.app[CHANNEL].default_exchange.publish(
        aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
        routing_key=request.app[QUEUE],
    )
    return web.json_response({"status": "accepted"}, status=202)


async def readyz(_request: web.Request) -> web.Response:
    """Always ready once serving."""
    return web.Response(text="ok")


def main() -> None:
    """Serve until interrupted."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--amqp-url", required=True)
    parser.add_argument("--queue", required=True)
    parser.add_argument("--queue-type", default="quorum")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()

    async def lifecycle(app: web.Application):  # type: ignore[no-untyped-def]
        connection = await aio_pika.connect_robust(args.amqp_url)
        channel = await connection.channel(publisher_confirms=True)
        await channel.declare_queue(
            args.queue, durable=True, arguments={"x-queue-type": args.queue_type}
        )
        app[CHANNEL], app[QUEUE] = channel, args.queue
        yield
        await connection.close()

    app = web.Application()
    app.router.add_post("/ingest", ingest)
    app.router.add_get("/readyz", readyz)
    app.cleanup_ctx.append(lifecycle)
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
