"""Shared test helpers: test keys, a gateway on loopback, reading queues, a cuttable proxy."""
