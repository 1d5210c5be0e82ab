# make run   — the gateway on 127.0.0.1:8080 with the repository's routing.yaml
# make test  — the whole test suite (needs RabbitMQ on 127.0.0.1:5672)
# Both create .venv and install what they need.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Development API keys (documented in the README). Never use them outside a workstation.
export MVD_CRIME_REGISTRY_KEY   ?= dev-mvd-crime-registry-key
export SOLIQ_LEGAL_ENTITIES_KEY ?= dev-soliq-legal-entities-key
export EXSUD_KEY                ?= dev-sud-e-xsud-key-000
export CRIME_PORTAL_KEY         ?= dev-crime-portal-key-00
export ETERGOV_KEY              ?= dev-gp-e-tergov-key-000
# Where the ministries' services answer record requests: the fakes of `make ministries`.
export MVD_POPULATION_WSDL      ?= http://127.0.0.1:8081/population?wsdl
export SOLIQ_REGISTER_URL       ?= http://127.0.0.1:8081
# The admin API's key (POST /admin/reload, GET /admin/routing), for a workstation too.
export GATEWAY_ADMIN_KEY        ?= dev-admin-key-0000

.PHONY: run test lint bench routes-test clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/gateway run --routing routing.yaml

test: $(STAMP)
	$(BIN)/python -m pytest --cov --cov-report=term:skip-covered

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# the route tests of routing-tests/ against routing.yaml, without a broker
routes-test: $(STAMP)
	$(BIN)/gateway routes test --routing routing.yaml routing-tests

bench: $(STAMP)
	$(BIN)/python bench/ingest.py

# the fake population registry (SOAP) and tax register (REST) on 127.0.0.1:8081, for trying
# record requests against `make run`; Ctrl-C stops them
.PHONY: ministries
ministries: $(STAMP)
	$(BIN)/python -m tests.support.ministries --port 8081

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache
