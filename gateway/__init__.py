"""E-Integratsiya's core, free of any ministry's specifics.

config, routing table, ingest pipeline, broker (aio-pika), access log, security, HTTP server
(aiohttp) and the ``gateway`` command.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("e-integratsiya")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0+unknown"
