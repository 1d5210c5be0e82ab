"""Helpers of the file-drop tests: routing tables with one file feed, files, outcomes."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from adapters import ADAPTERS
from adapters.providers import PROVIDERS
from gateway.filedrop import FeedDirectories
from gateway.routing import RoutingTable, compile_routing_table
from schemas import REGISTRY
from tests.support import keys
from tests.support.amqp import until

FEED = "inspections"
HEADER = (
    "Номер проверки;Код органа;ИНН субъекта;Вид проверки;Статус;Основание;Дата начала;"
    "Дата окончания;Выявлено нарушений;ПИНФЛ инспектора;Фамилия инспектора;Имя инспектора;"
    "Отчество инспектора"
)
_ROW = (
    "2026/TST/{n:07d};soliq.toshkent-sh;{stir};{kind};завершена;"
    '"Приказ № 45 от 12.01.2026; план";15.01.2026;22.01.2026;{n_mod};'
    "31205850123456;Каримов;Анвар;Алиевич"
)


def routing(file_block: str, *, adapter: str = "registry.inspection_csv", extra: str = "") -> str:
    """A routing.yaml with the one file feed ``inspections`` (its ``file:`` block as given,
    indented under it) routed to the queue ``register.inbox``; ``extra`` is appended."""
    indented = "\n".join("      " + line for line in file_block.strip().splitlines())
    return f"""\
version: 1
systems:
  agencies.drop: {{title: "Inspecting agencies' drop folder"}}
feeds:
  {FEED}:
    from: [agencies.drop]
    channel: file
    adapter: {adapter}
    schema: inspection/1
    file:
{indented}
routes:
  - {{name: all, to: [register.inbox]}}
destinations:
  register.inbox: {{queue: {{type: classic}}}}
{extra}"""


CSV_CP1251 = """\
system: agencies.drop
format: csv
encoding: cp1251
delimiter: ";"
read_lock: {done_marker: true}
poll: 50ms
"""


def compiled(text: str) -> RoutingTable:
    """``text`` compiled as the gateway compiles routing.yaml."""
    return compile_routing_table(
        text, "routing.yaml", schemas=REGISTRY, adapters=ADAPTERS, providers=PROVIDERS, env=keys.ENV
    )


def csv_rows(count: int, start: int = 0) -> Iterator[str]:
    """``count`` valid inspection rows (the Register's columns), numbered from ``start``."""
    kinds = ("плановая", "внеплановая", "встречная")
    for n in range(start, start + count):
        yield _ROW.format(n=n, stir=300000000 + n, kind=kinds[n % 3], n_mod=n % 7)


def inspections_csv(rows: list[str] | int, *, encoding: str = "cp1251") -> bytes:
    """A Register CSV file: the header, then ``rows`` (or that many generated rows)."""
    lines = list(csv_rows(rows)) if isinstance(rows, int) else rows
    return ("\r\n".join([HEADER, *lines]) + "\r\n").encode(encoding)


def drop(directories: FeedDirectories, name: str, data: bytes, *, marker: bool = True) -> Path:
    """Drop ``data`` as ``name`` into the inbox the way a sender must: written under a
    temporary name, renamed, then (``marker``) its done marker."""
    directories.inbox.mkdir(parents=True, exist_ok=True)
    temporary = directories.inbox / f"{name}.tmp"
    temporary.write_bytes(data)
    temporary.rename(directories.inbox / name)
    if marker:
        (directories.inbox / f"{name}.done").write_bytes(b"")
    return directories.inbox / name


async def outcome(directories: FeedDirectories, name: str, timeout: float = 30) -> dict[str, Any]:
    """Wait until ``name`` is archived or failed; its receipt or error file, with ``"to"``
    saying where it went."""
    receipt = directories.archive / f"{name}.receipt.json"
    error = directories.failed / f"{name}.error.json"
    await until(lambda: receipt.exists() or error.exists(), timeout)
    path, to = (receipt, "archive") if receipt.exists() else (error, "failed")
    document: dict[str, Any] = orjson.loads(path.read_bytes())
    return {**document, "to": to}


def every_file(directories: FeedDirectories) -> dict[str, list[str]]:
    """The names in each of the feed's four directories (hidden names included)."""
    return {
        where: sorted(p.name for p in getattr(directories, where).iterdir())
        for where in ("inbox", "processing", "archive", "failed")
    }
