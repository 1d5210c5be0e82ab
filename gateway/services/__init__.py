"""Record requests (request-reply): the caller's side and the provider workers."""

from gateway.services.caller import ServiceCaller
from gateway.services.messages import Reply
from gateway.services.worker import ProviderWorker

__all__ = ["ProviderWorker", "Reply", "ServiceCaller"]
