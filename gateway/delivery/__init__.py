"""Delivery: workers that hand messages from destination queues to receiving systems, and the
operators' view of the dead-letter queues."""

from gateway.delivery.dead_letters import (
    DeadLetter,
    DeadLetterError,
    DeadLetterQueue,
    QueueMissingError,
    ReplayFailedError,
    UnknownDeadLetterError,
)
from gateway.delivery.retry import immediate_retrying
from gateway.delivery.worker import DeliveryWorker

__all__ = [
    "DeadLetter",
    "DeadLetterError",
    "DeadLetterQueue",
    "DeliveryWorker",
    "QueueMissingError",
    "ReplayFailedError",
    "UnknownDeadLetterError",
    "immediate_retrying",
]
