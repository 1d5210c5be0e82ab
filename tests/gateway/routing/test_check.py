"""routing.yaml is refused with file:line:key-path for every problem, before anything changes."""

import hashlib

import pytest

from adapters import ADAPTERS
from gateway.errors import RoutingConfigError
from gateway.routing import compile_routing_table
from schemas import REGISTRY
from tests.support import keys
from tests.support.gateway import repository_table

VALID = """\
version: 1
systems:
  mvd.crime-registry:
    title: Interior
    api_keys: ["${MVD_CRIME_REGISTRY_KEY}"]
feeds:
  crime-reports:
    from: [mvd.crime-registry]
    adapter: mvd.crime_report
    schema: crime_report/1
routes:
  - name: all-reports
    when: {schema: crime_report/1}
    to: [etergov.crime-reports]
destinations:
  etergov.crime-reports:
    queue: {type: quorum}
"""


def problems(text: str, env=keys.ENV) -> list[str]:
    """Every problem of a routing text, as the CLI prints them."""
    with pytest.raises(RoutingConfigError) as caught:
        compile_routing_table(text, "routing.yaml", schemas=REGISTRY, adapters=ADAPTERS, env=env)
    return [str(p) for p in caught.value.problems]


def test_valid_table_compiles():
    """The minimal valid table compiles with one route."""
    table = compile_routing_table(
        VALID, "routing.yaml", schemas=REGISTRY, adapters=ADAPTERS, env=keys.ENV
    )
    assert ["all-reports"] == [r.name for r in table.routes]


def test_repository_routing_yaml_is_valid():
    """The routing.yaml that ships with the gateway passes every check."""
    assert {"crime-reports", "organizations"} <= set(repository_table().feeds)


def test_unknown_key_is_refused_with_its_line():
    """A key the schema does not know is named with file, line and key path."""
    text = VALID.replace("    title: Interior\n", "    title: Interior\n    colour: red\n")
    assert ["routing.yaml:5: systems.mvd.crime-registry.colour: unknown key"] == problems(text)


def test_route_to_unknown_destination_is_refused():
    """A route to a destination that does not exist is named with its line."""
    text = VALID.replace("to: [etergov.crime-reports]", "to: [etergov.crime-report]")
    assert ["routing.yaml:14: routes[0].to[0]: unknown destination 'etergov.crime-report'"] == (
        problems(text)
    )


def test_feed_with_unknown_schema_is_refused():
    """A feed whose schema is not in the registry is named, with the known ones listed."""
    text = VALID.replace("schema: crime_report/1\nroutes", "schema: crime_report/7\nroutes")
    found = problems(text)
    assert found[0].startswith("routing.yaml:10: feeds.crime-reports.schema: unknown schema")
    assert "crime_report/1" in found[0]


def test_duplicate_route_name_is_refused():
    """Two routes of one name: the second is named, pointing at the first."""
    text = VALID.replace(
        "destinations:",
        "  - name: all-reports\n    to: [etergov.crime-reports]\ndestinations:",
    )
    assert [
        "routing.yaml:15: routes[1].name: duplicate route name 'all-reports' (first at routes[0])"
    ] == problems(text)


def test_malformed_yaml_is_refused_with_its_line():
    """A YAML syntax error is reported with the line where the parser stopped."""
    text = VALID.replace("to: [etergov.crime-reports]", "to: [etergov.crime-reports")
    [found] = problems(text)
    assert found.startswith("routing.yaml:15: malformed YAML")


def test_duplicate_yaml_key_is_refused():
    """A key given twice in one mapping is an error, not a silent overwrite."""
    text = VALID.replace("    adapter: mvd.crime_report\n", "    adapter: mvd.crime_report\n" * 2)
    assert [
        "routing.yaml:10: feeds.crime-reports.adapter: duplicate key (first defined on line 9)"
    ] == problems(text)


def test_api_key_written_in_clear_is_refused():
    """An API key must be a ${VARIABLE}; a literal key is refused."""
    text = VALID.replace('"${MVD_CRIME_REGISTRY_KEY}"', '"a-literal-key-of-20-chars"')
    [found] = problems(text)
    assert "never write a key in clear" in found


def test_missing_environment_variable_is_named():
    """A ${VARIABLE} that is not set is named."""
    [found] = problems(VALID, env={})
    assert found == (
        "routing.yaml:5: systems.mvd.crime-registry.api_keys[0]: "
        "environment variable MVD_CRIME_REGISTRY_KEY is not set"
    )


def test_condition_on_a_field_the_schema_lacks_is_refused():
    """payload.<field> must exist in the schema the route looks at (typos are caught)."""
    text = VALID.replace("{schema: crime_report/1}", "{schema: crime_report/1, payload.severty: x}")
    [found] = problems(text)
    assert found.startswith("routing.yaml:13: routes[0].when.payload.severty: no field")


def test_adapter_of_another_schema_is_refused():
    """A feed's adapter must produce the feed's schema."""
    text = VALID.replace("adapter: mvd.crime_report", "adapter: soliq.organization")
    [found] = problems(text)
    assert "produces organization/1, but the feed declares crime_report/1" in found


def test_every_problem_is_reported_in_one_run():
    """Problems of several kinds are all listed, not just the first."""
    text = VALID.replace("    title: Interior\n", "    title: Interior\n    colour: red\n").replace(
        "to: [etergov.crime-reports]", "to: [nowhere]"
    )
    assert 2 == len(problems(text))


def test_soap_feed_of_an_adapter_with_non_xml_field_names_is_refused():
    """A CSV adapter's column names (spaces, Cyrillic words) cannot be SOAP elements."""
    text = VALID.replace(
        "adapter: mvd.crime_report\n    schema: crime_report/1", "adapter: x"
    ).replace(
        "    adapter: x\n",
        "    channel: soap\n    adapter: registry.inspection_csv\n    schema: inspection/1\n",
    )
    assert [
        "routing.yaml:10: feeds.crime-reports.adapter: adapter 'registry.inspection_csv' "
        "cannot serve channel: soap: its native field 'Номер проверки' is not an XML element name"
    ] == problems(text.replace("when: {schema: crime_report/1}", "when: {schema: inspection/1}"))


# --- access control: groups, keys as digests, revoked keys, certificates, rate limits -------


def test_an_unknown_group_is_refused_with_its_line():
    """from: ["@nobody"] without such a group is named, the groups there are listed."""
    text = VALID.replace("from: [mvd.crime-registry]", 'from: ["@nobody"]').replace(
        "feeds:", "groups:\n  interior: [mvd.*]\nfeeds:"
    )
    assert [
        "routing.yaml:10: feeds.crime-reports.from[0]: unknown group '@nobody' (groups: @interior)"
    ] == problems(text)


def test_a_group_member_that_matches_no_system_is_refused():
    """A group listing a system that does not exist is named at the member's line."""
    text = VALID.replace("feeds:", "groups:\n  interior: [mvd.crime-registry, mvd.archive]\nfeeds:")
    assert ["routing.yaml:7: groups.interior[1]: 'mvd.archive' matches no system"] == problems(text)


def test_a_group_grants_its_members():
    """A feed open to @interior takes pushes from the group's members only."""
    text = VALID.replace("from: [mvd.crime-registry]", 'from: ["@interior"]').replace(
        "feeds:", "groups:\n  interior: [mvd.*]\nfeeds:"
    )
    table = compile_routing_table(
        text, "routing.yaml", schemas=REGISTRY, adapters=ADAPTERS, env=keys.ENV
    )
    feed = table.feeds["crime-reports"]
    assert [True, False] == [
        table.may_push("mvd.crime-registry", feed),
        table.may_push("gp.e-tergov", feed),
    ]


@pytest.mark.parametrize(
    "entry",
    ["sha256:abc", "sha256:" + "g" * 64, "SHA256:" + "a" * 63],
    ids=["short", "not-hex", "63-digits"],
)
def test_a_key_digest_of_the_wrong_form_is_refused(entry):
    """sha256: must be followed by 64 hexadecimal digits; the entry is named."""
    [found] = problems(VALID.replace('"${MVD_CRIME_REGISTRY_KEY}"', f'"{entry}"'))
    assert found.startswith("routing.yaml:5: systems.mvd.crime-registry.api_keys[0]: ")
    assert "64 hexadecimal digits" in found


def test_a_key_digest_is_kept_as_the_digest():
    """sha256:<HEX> in upper case is the same digest as the key's, in lower case."""
    digest = hashlib.sha256(b"some-key-of-the-interior").hexdigest()
    text = VALID.replace('"${MVD_CRIME_REGISTRY_KEY}"', f'"sha256:{digest.upper()}"')
    table = compile_routing_table(text, "routing.yaml", schemas=REGISTRY, adapters=ADAPTERS)
    assert "mvd.crime-registry" == table.authenticate("some-key-of-the-interior")


def test_a_revoked_key_still_given_to_a_system_is_refused():
    """A key both in api_keys and revoked_keys: the revoked entry is named."""
    text = VALID.replace(
        '    api_keys: ["${MVD_CRIME_REGISTRY_KEY}"]\n',
        '    api_keys: ["${MVD_CRIME_REGISTRY_KEY}"]\n'
        '    revoked_keys: ["${MVD_CRIME_REGISTRY_KEY}"]\n',
    )
    assert [
        "routing.yaml:6: systems.mvd.crime-registry.revoked_keys[0]: this key is revoked, "
        "but still in the api_keys of mvd.crime-registry"
    ] == problems(text)


@pytest.mark.parametrize(
    ("rate", "message"),
    [
        ("100 per second", "'100 per second' is not a rate: write it like 100/s"),
        ("0/s", "'0/s': a rate must be more than zero"),
        ("10/w", "'10/w' is not a rate"),
    ],
)
def test_a_bad_rate_is_refused_with_its_line(rate, message):
    """rate_limit.rate must be like 100/s, 10/m, 5/10s and more than zero."""
    text = VALID.replace(
        '    api_keys: ["${MVD_CRIME_REGISTRY_KEY}"]\n',
        f'    api_keys: ["${{MVD_CRIME_REGISTRY_KEY}}"]\n    rate_limit: {{rate: "{rate}"}}\n',
    )
    [found] = problems(text)
    assert found.startswith("routing.yaml:6: systems.mvd.crime-registry.rate_limit.rate: ")
    assert message in found


def test_a_burst_below_one_is_refused():
    """burst: 0 can never let a request through: refused."""
    text = VALID.replace(
        "    schema: crime_report/1\nroutes",
        "    schema: crime_report/1\n    rate_limit: {rate: 10/s, burst: 0}\nroutes",
    )
    [found] = problems(text)
    assert found.startswith("routing.yaml:11: feeds.crime-reports.rate_limit.burst: ")


def test_a_certificate_needs_a_readable_subject_or_a_fingerprint():
    """A subject without TYPE=value and a fingerprint of the wrong length are both named."""
    text = VALID.replace(
        '    api_keys: ["${MVD_CRIME_REGISTRY_KEY}"]\n',
        '    api_keys: ["${MVD_CRIME_REGISTRY_KEY}"]\n'
        '    certificates: [{subject: "crime-registry"}, {sha256: "AB:CD"}]\n',
    )
    found = problems(text)
    assert 2 == len(found)
    assert "'crime-registry' is not an attribute of a subject" in found[0]
    assert "64 hexadecimal digits" in found[1]


def test_one_certificate_subject_for_two_systems_is_refused():
    """Two systems listing the same subject (in another order): the second is named."""
    text = VALID.replace(
        "feeds:",
        '  gp.e-tergov: {title: E-tergov, certificates: [{subject: "O=GP,CN=x"}]}\nfeeds:',
    ).replace(
        '    api_keys: ["${MVD_CRIME_REGISTRY_KEY}"]\n',
        '    api_keys: ["${MVD_CRIME_REGISTRY_KEY}"]\n    certificates: [{subject: "CN=x,O=GP"}]\n',
    )
    assert [
        "routing.yaml:7: systems.gp.e-tergov.certificates[0]: the same certificate subject "
        "already identifies mvd.crime-registry"
    ] == problems(text)
