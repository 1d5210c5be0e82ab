"""``routes explain`` / ``routes test`` meet the same checks as a push, in the same order:
not allowed before disabled, disabled before the record."""

from adapters import ADAPTERS
from gateway.ingest.dry_run import dry_run
from schemas import REGISTRY
from tests.gateway.security.access import access_table


def test_a_disabled_feed_is_gateway_disabled_for_a_system_allowed(provider):
    """E-tergov on the disabled case-events: gateway.disabled, before the record is read."""
    run = dry_run(access_table(provider), ADAPTERS, REGISTRY, "case-events", "gp.e-tergov", {})
    assert "gateway.disabled" == run.error


def test_a_disabled_feed_is_access_denied_for_a_system_not_allowed(provider):
    """The portal on the disabled case-events: client.access_denied comes first."""
    table = access_table(provider)
    run = dry_run(table, ADAPTERS, REGISTRY, "case-events", "portal.crime-reports", {})
    assert "client.access_denied" == run.error


def test_a_group_member_may_push_in_a_dry_run(provider):
    """The Interior on crime-reports (from: ["@interior"]): no access error; the record's
    own problems are what is left."""
    run = dry_run(
        access_table(provider), ADAPTERS, REGISTRY, "crime-reports", "mvd.crime-registry", {}
    )
    assert "client.schema_violation" == run.error
