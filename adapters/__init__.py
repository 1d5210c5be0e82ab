"""Protocol and ministry specifics: inbound adapters and the mappings behind them."""

from adapters.base import FieldProblem, InboundAdapter, MappingError
from adapters.mapping import CanonicalAdapter, FieldMap, MappingAdapter, model_shape
from adapters.registry import ADAPTERS

__all__ = [
    "ADAPTERS",
    "CanonicalAdapter",
    "FieldMap",
    "FieldProblem",
    "InboundAdapter",
    "MappingAdapter",
    "MappingError",
    "model_shape",
]
