"""What a file feed refuses, each moved to failed/ with an error file saying why (nothing
deleted, nothing published): unsafe entries (a path in the name, a symbolic link, a FIFO, a
directory), files that cannot be read (line, column, reason), and bad records under
``on_bad_record``."""

import os
from pathlib import Path

import orjson

from tests.gateway.filedrop.drops import (
    CSV_CP1251,
    HEADER,
    csv_rows,
    drop,
    every_file,
    inspections_csv,
    outcome,
    routing,
)
from tests.support.amqp import depth, take

SKIP = CSV_CP1251 + "on_bad_record: skip_and_report\n"
XML = """\
system: agencies.drop
format: xml
record: inspection
read_lock: {done_marker: true}
poll: 50ms
"""


async def published(amqp_channel, namespace) -> int:
    return await depth(amqp_channel, f"{namespace}.register.inbox")


async def test_a_name_climbing_out_with_dot_dot_is_refused(file_gateway, amqp_channel, namespace):
    """A name made on Windows, ``..\\..\\x.csv`` in its middle, is no file name: failed/
    under a safe name, the reason saying it climbs out."""
    _, dirs = await file_gateway(routing(CSV_CP1251))
    (dirs.inbox / "evil\\..\\..\\x.csv").write_bytes(inspections_csv(1))
    error = await outcome(dirs, "evil_.._.._x.csv")
    assert ("failed", None) == (error["to"], error["line"])
    assert "'evil\\\\..\\\\..\\\\x.csv' climbs out of its directory (..)" == error["reason"]
    assert inspections_csv(1) == (dirs.failed / "evil_.._.._x.csv").read_bytes()
    assert 0 == await published(amqp_channel, namespace)


async def test_a_name_that_is_an_absolute_path_is_refused(file_gateway, amqp_channel, namespace):
    """``\\\\server\\share\\x.csv`` names an absolute path: failed/, with that reason."""
    _, dirs = await file_gateway(routing(CSV_CP1251))
    (dirs.inbox / "\\\\server\\share\\x.csv").write_bytes(inspections_csv(1))
    error = await outcome(dirs, "__server_share_x.csv")
    assert "failed" == error["to"]
    assert error["reason"].endswith("is an absolute path")
    assert 0 == await published(amqp_channel, namespace)


async def test_a_symbolic_link_leading_outside_the_drop_root_is_refused(
    file_gateway, amqp_channel, namespace, tmp_path: Path
):
    """A link to a file outside the drop root is moved to failed/ as the link it is; what it
    points to is neither read nor touched."""
    _, dirs = await file_gateway(routing(CSV_CP1251))
    secret = tmp_path / "secret.csv"
    secret.write_bytes(inspections_csv(2))
    (dirs.inbox / "link.csv").symlink_to(secret)
    (dirs.inbox / "link.csv.done").write_bytes(b"")
    error = await outcome(dirs, "link.csv")
    assert (
        f"a symbolic link (to {str(secret)!r}, outside the drop root); only regular files are taken"
    ) == error["reason"]
    assert (dirs.failed / "link.csv").is_symlink()
    assert inspections_csv(2) == secret.read_bytes()
    assert 0 == await published(amqp_channel, namespace)


async def test_a_fifo_is_refused(file_gateway, amqp_channel, namespace):
    """A named pipe is not read (which would block): failed/, as a FIFO."""
    _, dirs = await file_gateway(routing(CSV_CP1251))
    os.mkfifo(dirs.inbox / "pipe.csv")
    error = await outcome(dirs, "pipe.csv")
    assert "a FIFO (named pipe), not a regular file" == error["reason"]
    assert not (dirs.failed / "pipe.csv").is_file()
    assert 0 == await published(amqp_channel, namespace)


async def test_a_directory_is_refused(file_gateway, amqp_channel, namespace):
    """A directory in the inbox goes to failed/ whole, with what it held."""
    _, dirs = await file_gateway(routing(CSV_CP1251))
    (dirs.inbox / "folder.csv").mkdir()
    (dirs.inbox / "folder.csv" / "inside.csv").write_bytes(inspections_csv(1))
    error = await outcome(dirs, "folder.csv")
    assert "a directory, not a regular file" == error["reason"]
    assert inspections_csv(1) == (dirs.failed / "folder.csv" / "inside.csv").read_bytes()
    assert 0 == await published(amqp_channel, namespace)


async def test_a_csv_file_with_a_quote_never_closed_fails_with_line_and_column(
    file_gateway, amqp_channel, namespace
):
    """A quoted field opened on line 3 and never closed: failed/ with line 3 and the column
    of the quote; nothing published, the file kept as it was."""
    _, dirs = await file_gateway(routing(CSV_CP1251))
    good = list(csv_rows(2))
    broken = good[1].replace('план"', "план")  # the last row: its quote runs to the end
    data = inspections_csv([good[0], broken])
    drop(dirs, "broken.csv", data)
    error = await outcome(dirs, "broken.csv")
    column = broken.index('"') + 1
    assert ("failed", 3, column, "a quoted field opened here is never closed") == (
        error["to"],
        error["line"],
        error["column"],
        error["reason"],
    )
    assert data == (dirs.failed / "broken.csv").read_bytes()
    assert ["broken.csv", "broken.csv.done", "broken.csv.error.json"] == every_file(dirs)["failed"]
    assert 0 == await published(amqp_channel, namespace)


async def test_bytes_not_in_the_encoding_fail_the_file_with_line_and_column(
    file_gateway, amqp_channel, namespace
):
    """A UTF-8 file on a feed that reads UTF-8, one byte of it cp1251: line 2, its column."""
    _, dirs = await file_gateway(routing(CSV_CP1251.replace("cp1251", "utf-8")))
    row = next(csv_rows(1))
    data = HEADER.encode() + b"\n" + row.encode()[:30] + "К".encode("cp1251") + b"\n"
    drop(dirs, "mixed.csv", data)
    error = await outcome(dirs, "mixed.csv")
    assert ("failed", 2, 31) == (error["to"], error["line"], error["column"])
    assert "byte 0xca is not valid utf-8" in error["reason"]
    assert 0 == await published(amqp_channel, namespace)


async def test_xml_that_is_not_well_formed_fails_with_line_and_column(
    file_gateway, amqp_channel, namespace
):
    """A closing tag that does not match: failed/ with libxml2's line, column and reason."""
    _, dirs = await file_gateway(routing(XML, adapter="canonical.inspection"))
    data = b"<inspections>\n  <inspection>\n    <kind>planned</status>\n</inspections>\n"
    drop(dirs, "bad.xml", data)
    error = await outcome(dirs, "bad.xml")
    assert ("failed", 3) == (error["to"], error["line"])
    assert error["column"] is not None
    assert error["reason"].startswith("not well-formed XML: Opening and ending tag mismatch")
    assert 0 == await published(amqp_channel, namespace)


def with_a_bad_row() -> tuple[bytes, str]:
    """Four rows, the third (line 4) of a kind the Register does not know."""
    rows = list(csv_rows(4))
    rows[2] = rows[2].replace(";встречная;", ";секретная;")
    return inspections_csv(rows), rows[2]


async def test_by_default_a_file_with_a_bad_record_is_rejected_whole(
    file_gateway, amqp_channel, namespace
):
    """reject_file: one bad record and nothing is published; failed/ with the record's line
    and its problem in the error file."""
    _, dirs = await file_gateway(routing(CSV_CP1251))
    data, _ = with_a_bad_row()
    drop(dirs, "one-bad.csv", data)
    error = await outcome(dirs, "one-bad.csv")
    assert ("failed", 4, 4) == (error["to"], error["line"], error["records"])
    assert error["reason"].startswith("1 of 4 records are invalid; nothing was published")
    [rejected] = error["rejected_records"]
    assert (2, 4, "Вид проверки", "kind") == (
        rejected["index"],
        rejected["line"],
        rejected["problems"][0]["field"],
        rejected["problems"][0]["canonical_field"],
    )
    assert 0 == await published(amqp_channel, namespace)


async def test_skip_and_report_publishes_the_good_records_and_reports_the_bad(
    file_gateway, amqp_channel, namespace
):
    """skip_and_report: the three good records are published and the file archived; the
    receipt counts one rejected, gives its line and problem, and no message id for it."""
    _, dirs = await file_gateway(routing(SKIP))
    data, _ = with_a_bad_row()
    drop(dirs, "one-bad.csv", data)
    receipt = await outcome(dirs, "one-bad.csv")
    messages = await take(amqp_channel, f"{namespace}.register.inbox", 3)
    assert ("archive", 4, 3, 1) == (
        receipt["to"],
        receipt["records"],
        receipt["accepted"],
        receipt["rejected"],
    )
    assert [m.message_id for m in messages[:2]] == receipt["message_ids"][:2]
    assert [None, messages[2].message_id] == receipt["message_ids"][2:]
    [rejected] = receipt["rejected_records"]
    assert (2, 4, "Вид проверки") == (
        rejected["index"],
        rejected["line"],
        rejected["problems"][0]["field"],
    )
    assert ["2026/TST/0000000", "2026/TST/0000001", "2026/TST/0000003"] == [
        orjson.loads(m.body)["inspection_number"] for m in messages
    ]
    assert 0 == await published(amqp_channel, namespace)
