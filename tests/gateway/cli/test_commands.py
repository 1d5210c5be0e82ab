"""The gateway command: routes check, routes explain, schemas export, --help."""

import json
import subprocess
import sys

import pytest

from gateway.cli import main
from tests.support import keys
from tests.support.records import FIXTURES, ROUTING_YAML


@pytest.fixture(autouse=True)
def test_keys(monkeypatch):
    """The repository's routing.yaml reads its keys from these variables."""
    for name, value in keys.ENV.items():
        monkeypatch.setenv(name, value)


def test_routes_check_passes_the_repository_table(capsys):
    """routes check exits 0 and sums up a valid table."""
    assert 0 == main(["routes", "check", str(ROUTING_YAML)])
    assert "OK (6 systems, 7 feeds, 7 routes, 5 destinations)" in capsys.readouterr().out


def test_routes_check_lists_every_problem_and_exits_1(tmp_path, capsys):
    """routes check prints each problem as file:line: path: message and exits 1."""
    broken = tmp_path / "routing.yaml"
    text = ROUTING_YAML.read_text(encoding="utf-8")
    broken.write_text(
        text.replace("to: [etergov.crime-reports]", "to: [etergov.nowhere]").replace(
            "    adapter: mvd.crime_report\n", "    adapter: mvd.crime_report\n    colour: red\n", 1
        ),
        encoding="utf-8",
    )
    assert 1 == main(["routes", "check", str(broken)])
    err = capsys.readouterr().err.splitlines()
    line = 1 + broken.read_text(encoding="utf-8").splitlines().index("    colour: red")
    assert f"{broken}:{line}: feeds.crime-reports.colour: unknown key" in err
    assert any(": routes[0].to[0]: unknown destination 'etergov.nowhere'" in e for e in err)
    assert f"{broken}: refused, 2 problem(s)" == err[-1]


def test_routes_explain_shows_routes_taken_and_why(capsys):
    """routes explain prints each route, each condition, and the destinations."""
    record = FIXTURES / "records" / "mvd_crime_report.json"
    status = main(["routes", "explain", str(ROUTING_YAML), "--feed", "crime-reports", str(record)])
    out = capsys.readouterr().out
    assert 0 == status
    assert "taken   grave-crimes-to-supervision → raqamli-prokuror.supervision" in out
    assert "✓ payload.severity = 'grave' ∈ [grave, especially_grave]" in out
    assert "destinations: etergov.crime-reports, raqamli-prokuror.supervision" in out


def test_routes_explain_shows_why_a_record_is_invalid(capsys):
    """An invalid record is explained with its problems and exit status 1."""
    record = FIXTURES / "records" / "mvd_crime_report_invalid.json"
    status = main(["routes", "explain", str(ROUTING_YAML), "--feed", "crime-reports", str(record)])
    out = capsys.readouterr().out
    assert 1 == status
    assert "arizachi.jshshir: PINFL must be exactly 14 digits" in out


def test_schemas_export_writes_one_file_per_record(tmp_path, capsys):
    """schemas export DIR writes six JSON Schema files."""
    assert 0 == main(["schemas", "export", str(tmp_path / "out")])
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert 6 == len(files)
    assert "crime_report.v1.schema.json" in files
    schema = json.loads((tmp_path / "out" / "crime_report.v1.schema.json").read_text())
    assert "urn:e-integratsiya:schema:crime_report/1" == schema["$id"]


@pytest.mark.parametrize(
    "args", [[], ["run"], ["routes"], ["routes", "check"], ["routes", "explain"], ["schemas"]]
)
def test_every_command_has_help(args):
    """`gateway ... --help` works for every command (through the real entry point)."""
    result = subprocess.run(
        [sys.executable, "-m", "gateway", *args, "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert 0 == result.returncode, result.stderr
    assert "usage: gateway" in result.stdout


def test_output_cut_short_by_its_reader_is_not_an_error():
    """`gateway routes explain ... | head -1`: the reader goes away, the command ends quietly
    with status 0 instead of a BrokenPipeError traceback."""
    import os

    read, write = os.pipe()
    os.close(read)  # the reader is gone before anything is written
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway",
            "routes",
            "explain",
            str(ROUTING_YAML),
            "--feed",
            "crime-reports",
            str(FIXTURES / "records" / "mvd_crime_report.json"),
        ],
        stdout=write,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **keys.ENV},
        check=False,
        timeout=60,
    )
    os.close(write)
    assert (0, "") == (result.returncode, result.stderr)
