"""routing.yaml for delivery tests: one feed, one destination delivering to a fake receiver."""

ROUTING = """\
version: 1
systems:
  mvd.crime-registry: {{title: Interior, api_keys: ["${{MVD_CRIME_REGISTRY_KEY}}"]}}
feeds:
  crime-reports:
    from: [mvd.crime-registry]
    adapter: mvd.crime_report
    schema: crime_report/1
    dedup: {{key: payload.report_number, window: 1d}}
routes:
  - {{name: all, to: [receiver.inbox]}}
destinations:
  receiver.inbox:
    queue: {{type: {queue_type}}}
    deliver: {{http: {{url: "{url}", timeout: 2s}}}}
    prefetch: 4
    retry: {{delays: [200ms, 200ms], immediate: {{attempts: 2, max_wait: 50ms}}}}
    dedup: {{key: message_id, window: 1d}}
"""


def delivery_routing(url: str, queue_type: str = "quorum") -> str:
    """The routing.yaml text for a receiver at ``url``."""
    return ROUTING.format(url=url, queue_type=queue_type)
