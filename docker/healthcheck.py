"""The image's HEALTHCHECK: exit 0 when the gateway in this container answers GET /healthz
with 200, else 1 (a line on stderr says why).

It asks the port the gateway listens on (``GATEWAY_PORT``, default 8080) on loopback, over
HTTPS when ``GATEWAY_TLS_CERT`` is set (without checking the certificate: it is our own,
and the name is ``127.0.0.1``). Only the standard library: it runs in the image's Python.
"""

from __future__ import annotations

import os
import ssl
import sys
import urllib.error
import urllib.request


def healthz_url(env: dict[str, str]) -> str:
    """Where the gateway of this environment answers /healthz."""
    scheme = "https" if env.get("GATEWAY_TLS_CERT") else "http"
    return f"{scheme}://127.0.0.1:{env.get('GATEWAY_PORT') or '8080'}/healthz"


def check(url: str, timeout: float = 2.0) -> int:
    """0 when ``url`` answers 200, else 1."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as response:
            status = response.status
    except (urllib.error.URLError, OSError) as exc:
        print(f"healthcheck: {url}: {exc}", file=sys.stderr)
        return 1
    if status != 200:
        print(f"healthcheck: {url}: HTTP {status}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(check(healthz_url(dict(os.environ))))
