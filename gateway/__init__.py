"""E-Integratsiya's core, free of any ministry's specifics.

config, routing table, ingest pipeline, broker (aio-pika), access log, security, HTTP server
(aiohttp) and the ``gateway`` command.
"""

__version__ = "0.1.0"
