"""A batch's publish frames, encoded at once, are the bytes aiormq and pamqp write one by one."""

from datetime import UTC, datetime

import aiormq
import pytest
from aiormq.abc import ChannelFrame
from pamqp import commands, frame
from pamqp.body import ContentBody
from pamqp.header import ContentHeader

from gateway.broker.frames import PublishFrames
from gateway.broker.properties import record_properties

FRAME_MAX = 4096
MAX_CONTENT = FRAME_MAX - aiormq.Channel.CONTENT_FRAME_SIZE  # as aiormq's channel cuts bodies


def properties(message_id: str) -> aiormq.spec.Basic.Properties:
    return record_properties(
        message_id=message_id,
        correlation_id="c-1",
        schema_id="inspection/1",
        timestamp=datetime(2026, 11, 23, 12, 30, tzinfo=UTC),
        headers={"feed": "inspections", "source_line": "17"},
        app_id="e-integratsiya",
    )


def aiormq_bytes(
    channel: int, exchange: str, routing_key: str, props, body: bytes, mandatory: bool = False
) -> bytes:
    """What ``Channel.basic_publish`` queues for one message."""
    if not body:
        chunks = []
    elif len(body) < MAX_CONTENT:
        chunks = [body]
    else:
        chunks = [body[i : i + MAX_CONTENT] for i in range(0, len(body), MAX_CONTENT)]
    frames = [
        commands.Basic.Publish(exchange=exchange, routing_key=routing_key, mandatory=mandatory),
        ContentHeader(properties=props, body_size=len(body)),
        *(ContentBody(chunk) for chunk in chunks),
    ]
    return ChannelFrame.marshall(channel_number=channel, frames=frames).payload


MESSAGES = [
    ("gw.ingress", "inspections", b'{"a": 1}'),
    ("gw.ingress", "inspections", b""),
    ("gw.ingress", "court.decisions", "кириллица ✓".encode()),
    ("", "gw.filedrop.inspections.ab12", b"x" * (MAX_CONTENT - 1)),
    ("gw.ingress", "inspections", b"y" * MAX_CONTENT),
    ("gw.ingress", "реестр", b"z" * (3 * MAX_CONTENT + 17)),
]


@pytest.mark.parametrize("mandatory", [False, True])
@pytest.mark.parametrize("channel", [1, 7, 2047])
def test_a_batch_is_the_bytes_of_its_publishes_one_after_another(channel, mandatory):
    """Empty, small, exactly-one-frame and many-frame bodies, the default exchange and
    non-ASCII names: the batch is what basic_publish would have queued for each, in order."""
    frames = PublishFrames(channel, MAX_CONTENT)
    expected = b""
    for n, (exchange, routing_key, body) in enumerate(MESSAGES):
        props = properties(f"m-{n}")
        frames.add(exchange, routing_key, props.marshal(), body, mandatory=mandatory)
        expected += aiormq_bytes(channel, exchange, routing_key, props, body, mandatory)
    assert frames.count == len(MESSAGES)
    assert frames.payload() == expected


def test_the_batch_decodes_to_the_messages_it_was_given():
    """Read back with pamqp's decoder: each publish names its exchange and routing key, its
    header the body's size and the record's properties, and the bodies join up again."""
    frames = PublishFrames(5, MAX_CONTENT)
    for n, (exchange, routing_key, body) in enumerate(MESSAGES):
        frames.add(exchange, routing_key, properties(f"m-{n}").marshal(), body)
    data, decoded = frames.payload(), []
    while data:
        consumed, channel, value = frame.unmarshal(data)
        assert channel == 5
        decoded.append(value)
        data = data[consumed:]
    messages = []
    for value in decoded:
        if isinstance(value, commands.Basic.Publish):
            messages.append([value.exchange, value.routing_key, None, b""])
        elif isinstance(value, ContentHeader):
            messages[-1][2] = value
        else:
            messages[-1][3] += value.value
    assert [(m[0], m[1], m[3]) for m in messages] == MESSAGES
    for n, (*_, header, body) in enumerate(messages):
        assert header.body_size == len(body)
        assert header.properties.message_id == f"m-{n}"
        assert header.properties.headers == {"feed": "inspections", "source_line": "17"}


def test_a_name_too_long_for_amqp_is_refused():
    frames = PublishFrames(1, MAX_CONTENT)
    with pytest.raises(ValueError, match="at most 255 bytes"):
        frames.add("gw.ingress", "я" * 128, properties("m").marshal(), b"{}")
    assert frames.count == 0
    assert frames.payload() == b""


@pytest.mark.parametrize("max_content", [0, -8])
def test_without_a_frame_size_limit_a_body_is_one_frame(max_content):
    """A connection tuned to frame_max 0 (no limit) gives aiormq a max content size of 0 or
    less; it then sends each body in one frame, and so do we."""
    body = b"b" * 10_000
    frames = PublishFrames(1, max_content)
    frames.add("gw.ingress", "inspections", properties("m").marshal(), body)
    expected = ChannelFrame.marshall(
        channel_number=1,
        frames=[
            commands.Basic.Publish(exchange="gw.ingress", routing_key="inspections"),
            ContentHeader(properties=properties("m"), body_size=len(body)),
            ContentBody(body),
        ],
    ).payload
    assert frames.payload() == expected
