"""API keys the tests give the repository's routing.yaml (through its ${VARIABLES})."""

ENV = {
    "MVD_CRIME_REGISTRY_KEY": "test-mvd-crime-registry-key",
    "SOLIQ_LEGAL_ENTITIES_KEY": "test-soliq-legal-entities-key",
    "EXSUD_KEY": "test-sud-e-xsud-key-0000",
    "CRIME_PORTAL_KEY": "test-crime-portal-key-000",
    "ETERGOV_KEY": "test-gp-e-tergov-key-0000",
    # the repository's services need their providers' addresses (nothing listens there)
    "MVD_POPULATION_WSDL": "http://127.0.0.1:9/population?wsdl",
    "SOLIQ_REGISTER_URL": "http://127.0.0.1:9",
}
MVD = ENV["MVD_CRIME_REGISTRY_KEY"]
SOLIQ = ENV["SOLIQ_LEGAL_ENTITIES_KEY"]
EXSUD = ENV["EXSUD_KEY"]
ETERGOV = ENV["ETERGOV_KEY"]
PORTAL = ENV["CRIME_PORTAL_KEY"]


def bearer(key: str) -> dict[str, str]:
    """The Authorization header for ``key``."""
    return {"Authorization": f"Bearer {key}"}
