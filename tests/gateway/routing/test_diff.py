"""The diff a reload logs: what was added, removed and changed, section by section."""

from gateway.routing import describe, routing_diff
from tests.support.gateway import repository_table


def test_a_changed_group_is_in_the_diff():
    """A reload that changes only a group's members says so (groups grant feeds and services)."""
    old = repository_table().spec
    groups = {**old.groups, "prosecutors": ("gp.e-tergov",), "auditors": ("gp.*",)}
    new = old.model_copy(update={"groups": groups})
    diff = routing_diff(old, new)
    assert {"groups": {"added": ["auditors"], "changed": ["prosecutors"]}} == diff
    assert "groups +auditors ~prosecutors" == describe(diff)


def test_the_same_table_has_no_diff():
    """Nothing changed, nothing to log but that."""
    spec = repository_table().spec
    assert ({}, "nothing changed") == (routing_diff(spec, spec), describe(routing_diff(spec, spec)))
