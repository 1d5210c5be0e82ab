"""The compiled table decides destinations: fan-out over every route taken, else unrouted."""

from adapters import ADAPTERS
from gateway.routing import UNROUTED, MatchContext, compile_routing_table
from schemas import REGISTRY
from tests.support import keys

TABLE = """\
version: 1
systems:
  mvd.crime-registry: {title: Interior, api_keys: ["${MVD_CRIME_REGISTRY_KEY}"]}
  agencies.fire: {title: Fire inspection}
feeds:
  crime-reports: {from: [mvd.crime-registry], adapter: mvd.crime_report, schema: crime_report/1}
  inspections: {from: ["agencies.*"], adapter: canonical.inspection, schema: inspection/1}
routes:
  - {name: all, when: {schema: crime_report/1}, to: [a]}
  - {name: grave, when: {payload.severity: [grave, especially_grave]}, to: [b, a]}
  - {name: theft, when: {payload.criminal_code_articles: "169-3"}, to: [c]}
  - {name: agencies, when: {client: "agencies.*"}, to: [c]}
  - {name: flag, when: {payload.violations_found: 0}, to: [d]}
destinations: {a: {}, b: {}, c: {}, d: {}}
"""


def table():
    """The table above, compiled."""
    return compile_routing_table(TABLE, "t.yaml", schemas=REGISTRY, adapters=ADAPTERS, env=keys.ENV)


def ctx(payload, schema="crime_report/1", client="mvd.crime-registry", feed="crime-reports"):
    """A match context."""
    return MatchContext(schema, feed, client, payload)


def test_every_matching_route_is_taken_once_per_destination():
    """Fan-out: the union of destinations, in route order, without repeats."""
    record = {"severity": "grave", "criminal_code_articles": ["97"]}
    assert ("a", "b") == table().route(ctx(record))


def test_list_valued_field_matches_when_any_element_does():
    """A condition on a list field holds when any element is among the values."""
    record = {"severity": "minor", "criminal_code_articles": ["97", "169-3"]}
    assert ("a", "c") == table().route(ctx(record))


def test_message_no_route_takes_is_unrouted():
    """No route taken: the message goes to the unrouted queue."""
    assert (UNROUTED,) == table().route(ctx({"violations_found": 3}, schema="inspection/1"))


def test_client_condition_takes_glob_patterns():
    """client: agencies.* matches agencies.fire."""
    record = {"violations_found": 2}
    assert ("c",) == table().route(ctx(record, schema="inspection/1", client="agencies.fire"))


def test_boolean_and_number_are_not_confused():
    """YAML 0 matches JSON 0, but not JSON false."""
    assert ("d",) == table().route(ctx({"violations_found": 0}, schema="inspection/1"))
    assert (UNROUTED,) == table().route(ctx({"violations_found": False}, schema="inspection/1"))


def test_feed_from_patterns_allow_matching_systems():
    """A feed's from: takes glob patterns of system ids."""
    t = table()
    assert (True, False) == (
        t.may_push("agencies.fire", t.feeds["inspections"]),
        t.may_push("mvd.crime-registry", t.feeds["inspections"]),
    )


def test_explain_shows_each_condition_with_its_actual_value():
    """explain() evaluates every condition of every route."""
    grave = table().explain(ctx({"severity": "minor", "criminal_code_articles": []}))[1]
    [condition] = grave.conditions
    assert (False, "minor") == (grave.taken, condition.actual)
    assert "payload.severity = 'minor' ∉ [grave, especially_grave]" == condition.describe()


def test_api_key_authenticates_its_system_only():
    """A configured key finds its system; any other string finds none."""
    t = table()
    assert ("mvd.crime-registry", None) == (
        t.authenticate(keys.MVD),
        t.authenticate(keys.MVD + "x"),
    )
