"""The receiving system of bench/delivery.py: answers every POST /inbox with 200 and counts.

GET /stats gives {count, distinct, first_at, last_at} (times as time.time()); POST /reset
starts counting afresh; GET /readyz is 200. Run in a process of its own so its work is not
charged to the bench.
"""

from __future__ import annotations

import argparse
import time

from aiohttp import web

SEEN = web.AppKey("seen", dict)


async def inbox(request: web.Request) -> web.Response:
    """Count one delivery by its message id."""
    await request.read()
    seen = request.app[SEEN]
    message_id = request.headers.get("X-Message-Id", "")
    seen["ids"][message_id] = seen["ids"].get(message_id, 0) + 1
    seen["count"] += 1
    now = time.time()
    seen["first_at"] = seen["first_at"] or now
    seen["last_at"] = now
    return web.Response(status=200)


async def stats(request: web.Request) -> web.Response:
    """What arrived since the last reset."""
    seen = request.app[SEEN]
    return web.json_response(
        {
            "count": seen["count"],
            "distinct": len(seen["ids"]),
            "first_at": seen["first_at"],
            "last_at": seen["last_at"],
        }
    )


async def reset(request: web.Request) -> web.Response:
    """Forget what arrived."""
    request.app[SEEN].update(ids={}, count=0, first_at=0.0, last_at=0.0)
    return web.Response(status=204)


async def readyz(_request: web.Request) -> web.Response:
    """Always ready once serving."""
    return web.Response(text="ok")


def main() -> None:
    """Serve until interrupted."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = web.Application()
    app[SEEN] = {"ids": {}, "count": 0, "first_at": 0.0, "last_at": 0.0}
    app.router.add_post("/inbox", inbox)
    app.router.add_get("/stats", stats)
    app.router.add_post("/reset", reset)
    app.router.add_get("/readyz", readyz)
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
