"""Delivery: workers that hand messages from destination queues to receiving systems."""

from gateway.delivery.retry import immediate_retrying
from gateway.delivery.worker import DeliveryWorker

__all__ = ["DeliveryWorker", "immediate_retrying"]
