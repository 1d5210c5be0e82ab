"""What a message is deduplicated by: one rule for feeds and destinations alike."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import orjson

from gateway.dedup._base import MAX_KEY_LENGTH


def dedup_key(spec: str, message_id: str | None, payload: Mapping[str, Any]) -> str | None:
    """The key of a message under ``spec`` (``message_id`` or ``payload.<dotted path>``).

    A payload field that is absent or null falls back to the message id: the message is then
    its own key. A value that is not a string is keyed by its JSON; a key longer than the
    store takes (a whole object, say) by ``sha256:`` and its hex digest. None only when there is
    no message id to fall back on.
    """
    node: Any = None
    if spec != "message_id":
        node = payload
        for part in spec.split(".")[1:]:
            node = node.get(part) if isinstance(node, Mapping) else None
    if node is None:
        return message_id or None
    key = node if isinstance(node, str) else orjson.dumps(node).decode()
    if len(key) > MAX_KEY_LENGTH:
        return "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key
