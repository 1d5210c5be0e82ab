"""The deployment files: the image runs the package `make run` runs; the compose file puts two
gateway instances on one RabbitMQ (quorum queues), one Redis and one PostgreSQL.

`docker compose config` checks the compose file where the compose client is installed; the
structural checks below run everywhere, against the files the compose file names, the
settings the gateway reads (gateway/config.py) and the variables routing.yaml needs.
"""

import asyncio
import base64
import hashlib
import importlib.util
import json
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from gateway.config import Settings

ROOT = Path(__file__).resolve().parent.parent
DOCKER = ROOT / "docker"
COMPOSE = DOCKER / "compose.yaml"
DOCKERFILE = DOCKER / "Dockerfile"
ENV_EXAMPLE = DOCKER / ".env.example"
DEFINITIONS = DOCKER / "rabbitmq" / "definitions.json"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def compose() -> dict[str, Any]:
    """docker/compose.yaml as YAML (anchors and merge keys resolved, variables left as written)."""
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def gateways() -> dict[str, dict[str, Any]]:
    """The services built from docker/Dockerfile."""
    return {
        name: service
        for name, service in compose()["services"].items()
        if service.get("build", {}).get("dockerfile") == "docker/Dockerfile"
    }


def env_example() -> dict[str, str]:
    """NAME=value lines of docker/.env.example."""
    pairs = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            pairs[name.strip()] = value.strip()
    return pairs


def interpolate(value: str) -> str:
    """``value`` with its ${VARIABLES} as compose gives them from docker/.env.example."""
    example = env_example()

    def one(match: re.Match[str]) -> str:
        name, kind, default = match.groups()
        if example.get(name):
            return example[name]
        assert kind == ":-", f"{name} is required but has no value in .env.example"
        return default

    return VARIABLE.sub(one, value)


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (KEYWORD, arguments), continuation lines joined."""
    lines, current = [], ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        if not current and (not raw.strip() or raw.lstrip().startswith("#")):
            continue
        current += raw.rstrip("\\").strip() + " "
        if not raw.rstrip().endswith("\\"):
            lines.append(current.strip())
            current = ""
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile's build stages, each its instructions from its FROM on."""
    found: list[list[tuple[str, str]]] = []
    for keyword, args in instructions():
        if keyword == "FROM":
            found.append([])
        if found:
            found[-1].append((keyword, args))
    return found


def exec_form(args: str) -> list[str]:
    """An instruction's JSON (exec) form."""
    value = json.loads(args)
    assert isinstance(value, list), args
    return value


def compose_client() -> bool:
    """Whether `docker compose` is installed here."""
    if shutil.which("docker") is None:
        return False
    found = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
    return found.returncode == 0


def strings(node: Any) -> list[str]:
    """Every string value of a YAML document."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for value in node.values() for s in strings(value)]
    if isinstance(node, list):
        return [s for item in node for s in strings(item)]
    return []


def normalize(name: str) -> str:
    """A distribution name as PEP 503 compares it."""
    return re.sub(r"[-_.]+", "-", name).lower()


# --- the compose file -------------------------------------------------------------------------


def test_docker_compose_config_accepts_the_file():
    """Where the compose client exists, `docker compose config` accepts the file with the
    example variables and resolves both gateways; elsewhere the file is YAML with a
    `services` mapping (the structural checks below do the rest)."""
    if not compose_client():
        model = compose()
        assert isinstance(model["services"], dict)
        assert all(isinstance(s, dict) for s in model["services"].values())
        return
    done = subprocess.run(
        [
            "docker",
            "compose",
            "--env-file",
            str(ENV_EXAMPLE),
            "-f",
            str(COMPOSE),
            "config",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert 0 == done.returncode, done.stderr
    resolved = json.loads(done.stdout)
    assert {"gateway-1", "gateway-2"} <= set(resolved["services"])


def test_two_gateways_beside_rabbitmq_redis_and_postgresql():
    """Two instances of the image, one RabbitMQ, one Redis, one PostgreSQL."""
    assert {"gateway-1", "gateway-2"} == set(gateways())
    assert {"gateway-1", "gateway-2", "rabbitmq", "redis", "postgres"} == set(compose()["services"])
    images = {name: s.get("image", "") for name, s in compose()["services"].items()}
    assert images["rabbitmq"].startswith("rabbitmq:")
    assert images["redis"].startswith("redis:")
    assert images["postgres"].startswith("postgres:")


def test_the_gateways_are_built_from_the_repository_with_docker_dockerfile():
    """Each gateway's build context is the repository root and its Dockerfile exists there."""
    for name, service in gateways().items():
        context = (DOCKER / service["build"]["context"]).resolve()
        assert ROOT == context, name
        assert (context / service["build"]["dockerfile"]).is_file(), name


def test_every_file_the_compose_file_mounts_exists():
    """Every bind-mounted file (short or long syntax) exists, relative to docker/."""
    named = set(compose().get("volumes") or {})
    checked = []
    for name, service in compose()["services"].items():
        for volume in service.get("volumes", []):
            if isinstance(volume, dict):
                if volume["type"] != "bind":
                    continue
                source = volume["source"]
            else:
                source = volume.split(":")[0]
                if source in named:
                    continue
            assert (DOCKER / source).exists(), f"{name}: {source}"
            checked.append(source)
    assert {"../routing.yaml", "./rabbitmq/rabbitmq.conf", "./rabbitmq/definitions.json"} <= set(
        checked
    )


def test_every_gateway_setting_in_the_compose_file_is_one_the_gateway_reads():
    """Every GATEWAY_* variable given to a gateway names a field of gateway/config.py's
    Settings (a typo would be ignored silently)."""
    known = {f"GATEWAY_{name.upper()}" for name in Settings.model_fields}
    for name, service in gateways().items():
        given = {key for key in service["environment"] if key.startswith("GATEWAY_")}
        assert set() == given - known, name


def test_the_instances_share_broker_redis_audit_store_namespace_and_drop_folder():
    """Both instances: the same RabbitMQ virtual host and namespace, Redis for dedup and rate
    limits, PostgreSQL for the audit log, the same redaction key and drop volume."""
    shared = [
        "GATEWAY_AMQP_URL",
        "GATEWAY_NAMESPACE",
        "GATEWAY_DEDUP_BACKEND",
        "GATEWAY_RATE_LIMIT_BACKEND",
        "GATEWAY_REDIS_URL",
        "GATEWAY_AUDIT_URL",
        "GATEWAY_REDACTION_KEY",
        "GATEWAY_DROP_ROOT",
    ]
    first, second = (
        {k: interpolate(v) for k, v in s["environment"].items()} for s in gateways().values()
    )
    assert [first[k] for k in shared] == [second[k] for k in shared]
    assert ("redis", "redis") == (
        first["GATEWAY_DEDUP_BACKEND"],
        first["GATEWAY_RATE_LIMIT_BACKEND"],
    )
    assert ("redis", "redis") == (
        urlsplit(first["GATEWAY_REDIS_URL"]).scheme,
        urlsplit(first["GATEWAY_REDIS_URL"]).hostname,
    )
    audit = urlsplit(first["GATEWAY_AUDIT_URL"])
    postgres = {
        k: interpolate(v) for k, v in compose()["services"]["postgres"]["environment"].items()
    }
    assert (
        "postgresql",
        "postgres",
        postgres["POSTGRES_DB"],
        postgres["POSTGRES_USER"],
        postgres["POSTGRES_PASSWORD"],
    ) == (audit.scheme, audit.hostname, audit.path.lstrip("/"), audit.username, audit.password)
    drops = [
        [v for v in s["volumes"] if isinstance(v, str) and v.endswith(":/srv/drop")]
        for s in gateways().values()
    ]
    assert [["drop:/srv/drop"], ["drop:/srv/drop"]] == drops
    assert "/srv/drop" == first["GATEWAY_DROP_ROOT"]


def test_the_gateways_log_in_to_the_vhost_and_user_the_definitions_create():
    """GATEWAY_AMQP_URL names the host `rabbitmq`, the user and the virtual host of
    definitions.json, and that user may configure, write and read there."""
    definitions = json.loads(DEFINITIONS.read_text(encoding="utf-8"))
    for name, service in gateways().items():
        url = urlsplit(interpolate(service["environment"]["GATEWAY_AMQP_URL"]))
        vhost, user = url.path.lstrip("/"), url.username
        assert "rabbitmq" == url.hostname, name
        assert vhost in [v["name"] for v in definitions["vhosts"]], name
        assert user in [u["name"] for u in definitions["users"]], name
        [permission] = [
            p for p in definitions["permissions"] if (p["user"], p["vhost"]) == (user, vhost)
        ]
        assert (".*", ".*", ".*") == (
            permission["configure"],
            permission["write"],
            permission["read"],
        )


def test_routing_yaml_is_mounted_read_only_where_the_image_reads_it():
    """The repository's routing.yaml is mounted read-only at the image's GATEWAY_ROUTING."""
    image_env = dict(
        pair.split("=", 1)
        for keyword, args in stages()[-1]
        if keyword == "ENV"
        for pair in shlex.split(args)
    )
    for name, service in gateways().items():
        [mount] = [
            v
            for v in service["volumes"]
            if isinstance(v, dict) and v.get("source") == "../routing.yaml"
        ]
        assert (image_env["GATEWAY_ROUTING"], True) == (mount["target"], mount["read_only"]), name


def test_every_variable_routing_yaml_needs_is_given_to_every_gateway():
    """Each ${VARIABLE} of routing.yaml's values (API keys, providers' addresses) is in each
    gateway's environment."""
    routing = yaml.safe_load((ROOT / "routing.yaml").read_text(encoding="utf-8"))
    needed = {m.group(1) for s in strings(routing) for m in VARIABLE.finditer(s)}
    assert {"MVD_CRIME_REGISTRY_KEY", "ETERGOV_KEY", "MVD_POPULATION_WSDL"} <= needed
    for name, service in gateways().items():
        assert set() == needed - set(service["environment"]), name


def test_every_variable_the_compose_file_requires_is_in_the_example_env_file():
    """Each ${VAR:?...} the compose file refuses to start without has a placeholder in
    docker/.env.example, and the example holds nothing the compose file does not use."""
    text = COMPOSE.read_text(encoding="utf-8")
    used = {m.group(1) for m in VARIABLE.finditer(text)}
    required = {m.group(1) for m in VARIABLE.finditer(text) if m.group(2) == ":?"}
    example = env_example()
    assert set() == required - {k for k, v in example.items() if v}
    assert set() == set(example) - used


def test_the_example_amqp_password_is_the_one_the_definitions_hash():
    """GATEWAY_AMQP_PASSWORD of .env.example matches the gateway user's password_hash
    (RabbitMQ's salted SHA-256), so the example starts as it is."""
    definitions = json.loads(DEFINITIONS.read_text(encoding="utf-8"))
    [user] = [u for u in definitions["users"] if u["name"] == "gateway"]
    assert "rabbit_password_hashing_sha256" == user["hashing_algorithm"]
    raw = base64.b64decode(user["password_hash"])
    salt, digest = raw[:4], raw[4:]
    password = env_example()["GATEWAY_AMQP_PASSWORD"].encode("utf-8")
    assert hashlib.sha256(salt + password).digest() == digest


def test_services_the_gateways_depend_on_are_healthy_first():
    """The gateways wait for RabbitMQ, Redis and PostgreSQL to be healthy, and each of those
    has a health check."""
    services = compose()["services"]
    for name, service in gateways().items():
        conditions = {dep: c["condition"] for dep, c in service["depends_on"].items()}
        assert {
            "rabbitmq": "service_healthy",
            "redis": "service_healthy",
            "postgres": "service_healthy",
        } == conditions, name
        for dependency in conditions:
            assert services[dependency]["healthcheck"]["test"], dependency


def test_rabbitmq_loads_the_definitions_with_quorum_queues_by_default():
    """rabbitmq.conf is mounted into conf.d and loads definitions.json from where it is
    mounted; the virtual host's default queue type is quorum."""
    rabbitmq = compose()["services"]["rabbitmq"]
    mounts = dict(v.split(":")[:2] for v in rabbitmq["volumes"] if v.startswith("./"))
    assert mounts["./rabbitmq/rabbitmq.conf"].startswith("/etc/rabbitmq/conf.d/")
    conf = dict(
        (part.strip() for part in line.split("=", 1))
        for line in (DOCKER / "rabbitmq" / "rabbitmq.conf").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    assert mounts["./rabbitmq/definitions.json"] == conf["load_definitions"]
    definitions = json.loads(DEFINITIONS.read_text(encoding="utf-8"))
    [vhost] = definitions["vhosts"]
    assert ("quorum", "quorum") == (
        vhost["default_queue_type"],
        vhost["metadata"]["default_queue_type"],
    )


# --- the image --------------------------------------------------------------------------------


def test_the_builder_builds_a_wheel_of_this_package_from_its_sources():
    """The first stage copies pyproject.toml and every package setuptools finds, and builds
    wheels of `.`; the runtime stage installs the wheel of pyproject's name, offline."""
    builder, runtime = stages()[0], stages()[-1]
    assert len(stages()) >= 2
    copied = [args.split()[0] for keyword, args in builder if keyword == "COPY"]
    assert "pyproject.toml" in copied
    for pattern in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]:
        assert pattern.rstrip("*") in copied, pattern
    [wheel] = [args for keyword, args in builder if keyword == "RUN" and "pip wheel" in args]
    assert wheel.split()[-1] == "."
    [install] = [args for keyword, args in runtime if keyword == "RUN" and "pip install" in args]
    words = install.replace("&&", " ").split()
    assert "--no-index" in words
    assert normalize(PYPROJECT["project"]["name"]) in {normalize(w) for w in words}


def test_what_the_builder_copies_builds_the_wheel_with_the_gateway_script(tmp_path):
    """Exactly the files the builder stage copies build a wheel of pyproject's package, with
    the `gateway` console script and every non-Python file the packages ship (a WSDL)."""
    source = tmp_path / "src"
    source.mkdir()
    for keyword, args in stages()[0]:
        if keyword == "COPY":
            *paths, target = args.split()
            for path in paths:  # as COPY does: into a directory "dest/", or as "dest"
                origin = ROOT / path
                destination = source / target
                if target.endswith("/"):
                    destination = destination / origin.name
                if origin.is_dir():
                    shutil.copytree(
                        origin, destination, ignore=shutil.ignore_patterns("__pycache__")
                    )
                else:
                    shutil.copy(origin, destination)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "out"), "."],
        cwd=source,
        capture_output=True,
        text=True,
        check=False,
    )
    assert 0 == done.returncode, done.stderr
    [built] = (tmp_path / "out").glob("*.whl")
    with zipfile.ZipFile(built) as wheel:
        names = wheel.namelist()
        [metadata] = [n for n in names if n.endswith(".dist-info/METADATA")]
        [entry_points] = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        name = re.search(r"^Name: (.+)$", wheel.read(metadata).decode(), re.MULTILINE)
        scripts = wheel.read(entry_points).decode()
    assert name is not None
    assert normalize(PYPROJECT["project"]["name"]) == normalize(name.group(1))
    assert f"gateway = {PYPROJECT['project']['scripts']['gateway']}" in scripts
    shipped = {
        str(path.relative_to(ROOT))
        for package in ("gateway", "adapters", "schemas")
        for path in (ROOT / package).rglob("*")
        if path.is_file() and path.suffix not in {".py", ".pyc"}
    }
    assert shipped
    assert set() == shipped - set(names)


def test_the_image_runs_the_console_script_make_run_runs():
    """ENTRYPOINT and CMD run pyproject's `gateway` script with `run`, listening on every
    interface: the script and subcommand of `make run`."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^run:.*\n\t(.+)$", makefile, re.MULTILINE)
    assert recipe is not None
    script, subcommand = Path(recipe.group(1).split()[0]).name, recipe.group(1).split()[1]
    assert script in PYPROJECT["project"]["scripts"]
    runtime = dict(stages()[-1])
    command = exec_form(runtime["ENTRYPOINT"]) + exec_form(runtime["CMD"])
    assert [script, subcommand, "--host", "0.0.0.0"] == command


def test_the_image_runs_as_a_user_of_its_own_with_a_healthcheck_on_the_exposed_port():
    """USER is not root; EXPOSE is GATEWAY_PORT; HEALTHCHECK runs the script the image copies
    from docker/."""
    runtime = stages()[-1]
    [user] = [args for keyword, args in runtime if keyword == "USER"]
    assert user.split(":")[0] not in {"root", "0"}
    env = dict(
        pair.split("=", 1)
        for keyword, args in runtime
        if keyword == "ENV"
        for pair in shlex.split(args)
    )
    [expose] = [args for keyword, args in runtime if keyword == "EXPOSE"]
    assert env["GATEWAY_PORT"] == expose
    [healthcheck] = [args for keyword, args in runtime if keyword == "HEALTHCHECK"]
    command = exec_form(healthcheck.split(" CMD ", 1)[1])
    copies = {args.split()[1]: args.split()[0] for keyword, args in runtime if keyword == "COPY"}
    assert copies[command[-1]] == "docker/healthcheck.py"


def test_every_file_the_dockerfile_copies_from_the_repository_exists():
    """Each COPY from the build context names a file or directory of the repository."""
    for stage in stages():
        for keyword, args in stage:
            if keyword == "COPY" and not args.startswith("--from"):
                for source in args.split()[:-1]:
                    assert (ROOT / source).exists(), source


async def test_the_healthcheck_passes_on_a_serving_gateway_and_fails_without_one(
    gateway_client,
):
    """docker/healthcheck.py exits 0 against a running gateway's /healthz (GATEWAY_PORT) and
    1, saying why, when nothing listens there."""
    _gateway, client = gateway_client
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    outcomes = []
    for port in (client.server.port, closed):
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(DOCKER / "healthcheck.py"),
            env={"GATEWAY_PORT": str(port)},
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await process.communicate()
        outcomes.append((process.returncode, err.decode().startswith("healthcheck: http://")))
    assert [(0, False), (1, True)] == outcomes


@pytest.mark.parametrize("tls", ["", "/etc/tls/gateway.pem"])
def test_the_healthcheck_asks_the_gateways_own_port_and_scheme(tls):
    """Over HTTPS when GATEWAY_TLS_CERT is set; the port of GATEWAY_PORT, else 8080."""
    spec = importlib.util.spec_from_file_location("healthcheck", DOCKER / "healthcheck.py")
    assert spec is not None
    assert spec.loader is not None
    healthcheck = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(healthcheck)
    scheme = "https" if tls else "http"
    assert f"{scheme}://127.0.0.1:9000/healthz" == healthcheck.healthz_url(
        {"GATEWAY_PORT": "9000", "GATEWAY_TLS_CERT": tls}
    )
    assert f"{scheme}://127.0.0.1:8080/healthz" == healthcheck.healthz_url(
        {"GATEWAY_TLS_CERT": tls}
    )
