"""The deployment files describe the package that `make run` runs."""

import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_compose_file_parses_with_gateway_broker_and_redis():
    """docker/compose.yaml is valid YAML with the three services; the gateway keeps its
    idempotency keys in the Redis beside it."""
    compose = yaml.safe_load((ROOT / "docker/compose.yaml").read_text())
    assert {"gateway", "rabbitmq", "redis"} == set(compose["services"])
    assert "docker/Dockerfile" == compose["services"]["gateway"]["build"]["dockerfile"]
    assert "redis" == compose["services"]["gateway"]["environment"]["GATEWAY_DEDUP_BACKEND"]


def test_dockerfile_installs_this_package_and_runs_its_console_script():
    """The image installs the repository's package and starts the `gateway` script."""
    dockerfile = (ROOT / "docker/Dockerfile").read_text()
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert "gateway" in scripts
    assert "pip install --no-cache-dir ." in dockerfile
    assert 'ENTRYPOINT ["gateway"]' in dockerfile
    assert "USER gateway" in dockerfile
    assert "HEALTHCHECK" in dockerfile
