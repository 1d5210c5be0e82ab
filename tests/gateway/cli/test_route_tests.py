"""`gateway routes test`: the shipped cases pass on routing.yaml and fail, with a readable diff,
on a broken copy; case files are checked like routing.yaml; `routes explain --json`."""

import json
import shutil
from pathlib import Path

import pytest

from gateway.cli import main
from tests.support import keys
from tests.support.records import FIXTURES, ROUTING_YAML

CASES = ROUTING_YAML.parent / "routing-tests"


@pytest.fixture(autouse=True)
def test_keys(monkeypatch):
    """The repository's routing.yaml reads its keys from these variables."""
    for name, value in keys.ENV.items():
        monkeypatch.setenv(name, value)


def routes_test(*args: str) -> int:
    return main(["routes", "test", *args])


def test_shipped_cases_pass_on_the_repository_table(capsys):
    """Every shipped case passes; the summary counts them."""
    assert 0 == routes_test(str(CASES), "--routing", str(ROUTING_YAML), "-v")
    out = capsys.readouterr().out.splitlines()
    cases = [line for line in out if line.startswith("ok ")]
    files = len(list(CASES.glob("*.yaml")))
    assert len(cases) >= 15
    assert (
        f"{ROUTING_YAML}: {len(cases)} case(s) in {files} file(s), {len(cases)} passed, 0 failed"
        == (out[-1])
    )


def test_a_broken_table_fails_with_a_readable_diff(tmp_path, capsys):
    """A copy of routing.yaml whose grave-crimes route lost `grave`: exit 1, and each failing
    case shows what is missing and the condition that kept the route from being taken."""
    broken = tmp_path / "routing.yaml"
    text = ROUTING_YAML.read_text(encoding="utf-8")
    edited = text.replace(
        "payload.severity: [grave, especially_grave]", "payload.severity: [especially_grave]"
    )
    assert edited != text
    broken.write_text(edited, encoding="utf-8")

    assert 1 == routes_test(str(CASES), "--routing", str(broken))
    out = capsys.readouterr().out
    assert (
        f"FAIL {CASES / 'crime-reports.yaml'}:7: "
        "a grave theft opens a case in E-tergov and is supervised live\n"
        "     destinations:\n"
        "       expected: [etergov.crime-reports, raqamli-prokuror.supervision]\n"
        "       got:      [etergov.crime-reports]\n"
        "       - raqamli-prokuror.supervision   (missing)\n"
        "       raqamli-prokuror.supervision would come by route grave-crimes-to-supervision, "
        "not taken: payload.severity = 'grave' ∉ [especially_grave]\n"
    ) in out
    assert (
        "       route grave-crimes-to-supervision not taken: "
        "payload.severity = 'grave' ∉ [especially_grave]"
    ) in out
    assert out.rstrip().endswith("passed, 2 failed")


def test_unexpected_destinations_name_the_route_that_sent_them(tmp_path, capsys):
    """A destination no case expected is explained by the route and conditions that took it."""
    broken = tmp_path / "routing.yaml"
    text = ROUTING_YAML.read_text(encoding="utf-8")
    broken.write_text(
        text.replace(
            "payload.status: [suspended, in_liquidation, liquidated]", "client: [soliq.*]"
        ),
        encoding="utf-8",
    )
    assert 1 == routes_test(str(CASES / "organizations.yaml"), "--routing", str(broken))
    out = capsys.readouterr().out
    assert "       + raqamli-prokuror.registry-updates   (not expected)\n" in out
    assert (
        "       raqamli-prokuror.registry-updates came by route organization-changes: "
        "schema = 'organization/1' ∈ [organization/1]; "
        "client = 'soliq.legal-entities' ∈ [soliq.*]"
    ) in out


def test_expected_errors_are_compared(tmp_path, capsys):
    """A case expecting an error gets a diff when the record is routed instead, and when the
    problems name other fields."""
    shutil.copytree(CASES / "records", tmp_path / "records")
    cases = tmp_path / "cases.yaml"
    cases.write_text(
        """\
feed: crime-reports
cases:
  - name: expects an error, gets routed
    input: {file: records/mvd_crime_report.json}
    expect: {error: client.schema_violation}
  - name: expects another field
    input:
      file: records/mvd_crime_report.json
      set: {arizachi.jshshir: "12"}
    expect: {error: client.schema_violation, fields: [hodisa_sanasi]}
  - name: expects routes, gets an error
    input: {record: {xabar_raqami: "IIV-1"}}
    expect: {destinations: [etergov.crime-reports]}
""",
        encoding="utf-8",
    )
    assert 1 == routes_test(str(cases), "--routing", str(ROUTING_YAML))
    out = capsys.readouterr().out
    assert (
        "     expected error client.schema_violation\n"
        "     got destinations [etergov.crime-reports, raqamli-prokuror.supervision] "
        "(routes taken: [crime-reports-to-etergov, grave-crimes-to-supervision])\n"
    ) in out
    assert "       - hodisa_sanasi   (missing)\n" in out
    assert "       + arizachi.jshshir   (not expected)\n" in out
    assert (
        "     got error client.schema_violation: the record is invalid for crime_report/1\n" in out
    )
    assert out.rstrip().endswith("0 passed, 3 failed")


def test_invalid_case_files_are_refused_with_file_line_and_key(tmp_path, capsys):
    """Unknown keys, a case with both outcomes, a missing record file: exit 2, each problem
    located; the valid cases beside them still run."""
    cases = tmp_path / "cases.yaml"
    cases.write_text(
        """\
feed: crime-reports
cases:
  - name: both outcomes
    input: {record: {}}
    expect: {destinations: [a], error: client.schema_violation}
  - name: a typo
    input: {record: {}}
    expct: {destinations: [a]}
""",
        encoding="utf-8",
    )
    other = tmp_path / "more.yaml"
    other.write_text(
        """\
feed: crime-reports
cases:
  - name: no such file
    input: {file: nowhere.json}
    expect: {destinations: [etergov.crime-reports]}
""",
        encoding="utf-8",
    )
    assert 2 == routes_test(str(tmp_path), "--routing", str(ROUTING_YAML))
    err = capsys.readouterr().err.splitlines()
    assert any(
        e.startswith(f"{cases}:5: cases[0].expect: expect either destinations:") for e in err
    ), err
    assert f"{cases}:8: cases[1].expct: unknown key" in err
    assert f"{cases}:6: cases[1].expect: required key is missing" in err
    assert any(e.startswith(f"{other}:3: cases[0].input: file nowhere.json:") for e in err), err


def test_no_cases_is_an_error(tmp_path, capsys):
    """An empty directory: exit 2, saying there is nothing to run."""
    assert 2 == routes_test(str(tmp_path), "--routing", str(ROUTING_YAML))
    assert f"{tmp_path}: no test cases found" in capsys.readouterr().err


def test_explain_json_explains_each_route_and_why_not(capsys):
    """`routes explain --json`: one object per record, each route with its conditions and, when
    not taken, the conditions that failed."""
    record = FIXTURES / "records" / "mvd_crime_report.json"
    args = ["routes", "explain", str(ROUTING_YAML), "--feed", "crime-reports", "--json"]
    assert 0 == main([*args, str(record)])
    [line] = capsys.readouterr().out.splitlines()
    explained = json.loads(line)
    assert ["etergov.crime-reports", "raqamli-prokuror.supervision"] == explained["destinations"]
    assert ("crime-reports", "mvd.crime-registry", 0) == (
        explained["feed"],
        explained["client"],
        explained["record"],
    )
    routes = {r["route"]: r for r in explained["routes"]}
    grave = routes["grave-crimes-to-supervision"]
    assert grave["taken"] is True
    assert {
        "key": "payload.severity",
        "expected": ["grave", "especially_grave"],
        "actual": "grave",
        "holds": True,
    } in grave["conditions"]
    organizations = routes["organization-changes"]
    assert organizations["taken"] is False
    assert [
        "schema = 'crime_report/1' ∉ [organization/1]",
        ("payload.status = 'registered' ∉ [suspended, in_liquidation, liquidated]"),
    ] == organizations["failed"]


def test_explain_text_says_why_a_route_was_not_taken(capsys):
    """The text form ends each skipped route with the keys that did not match."""
    record = FIXTURES / "records" / "mvd_crime_report.json"
    assert 0 == main(
        ["routes", "explain", str(ROUTING_YAML), "--feed", "crime-reports", str(record)]
    )
    out = capsys.readouterr().out
    assert (
        "  skipped organization-changes → raqamli-prokuror.registry-updates\n"
        "      ✗ schema = 'crime_report/1' ∉ [organization/1]\n"
        "      ✗ payload.status = 'registered' ∉ [suspended, in_liquidation, liquidated]\n"
        "      not taken: schema, payload.status did not match\n"
    ) in out


def test_explain_json_of_a_refused_record(tmp_path, capsys):
    """An invalid record in --json: the error code and every problem, exit 1."""
    record = FIXTURES / "records" / "mvd_crime_report_invalid.json"
    args = ["routes", "explain", str(ROUTING_YAML), "--feed", "crime-reports", "--json"]
    assert 1 == main([*args, str(record)])
    explained = json.loads(capsys.readouterr().out)
    assert "client.schema_violation" == explained["error"]["code"]
    assert {
        "field": "arizachi.jshshir",
        "message": "PINFL must be exactly 14 digits",
        "canonical_field": "applicant.pinfl",
    } in explained["error"]["problems"]


def test_the_shipped_cases_are_where_the_default_looks(monkeypatch, capsys):
    """Run from the repository root, `gateway routes test` needs no argument."""
    monkeypatch.chdir(ROUTING_YAML.parent)
    assert 0 == routes_test("--routing", "routing.yaml")
    assert capsys.readouterr().out.startswith("routing.yaml: ")
    assert Path("routing-tests").is_dir()
