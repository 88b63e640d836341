# One command vocabulary for people and CI. Every target installs what it needs.
PYTHON ?= python3
UV := $(PYTHON) -m uv
VENV := .venv
RUN := $(VENV)/bin

.PHONY: install lock demo serve test lint typecheck unit bench wrk reliability fuzz clean

$(RUN)/tactful: requirements.lock pyproject.toml
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet --disable-pip-version-check uv
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(VENV)
	$(UV) pip sync --quiet --python $(VENV)/bin/python requirements.lock
	$(UV) pip install --quiet --python $(VENV)/bin/python --no-deps --editable .
	@touch $@

install: $(RUN)/tactful

## Re-resolve pinned versions (with hashes) from pyproject.toml.
lock:
	$(UV) pip compile --quiet --universal --python-version 3.11 --generate-hashes pyproject.toml --group pyproject.toml:dev --group pyproject.toml:bench -o requirements.lock

demo: install
	$(RUN)/tactful demo

serve: install
	$(RUN)/tactful serve

lint: install
	$(RUN)/ruff check .
	$(RUN)/ruff format --check .

typecheck: install
	$(RUN)/mypy

unit: install
	$(RUN)/pytest --cov --cov-report=term

## The whole suite: lint, format, types, tests (the command CI runs).
test: lint typecheck unit

## Every benchmark, full size; records the results in bench/results/ and README.md.
## The HTTP benchmark drives load with wrk (Debian package), pinned to a core of its own.
wrk:
	@command -v wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk; }

bench: install wrk
	$(RUN)/python -m bench --update

## Fault-and-load run against real servers, on SQLite and on PostgreSQL (127.0.0.1; see
## README.md, Reliability); rewrites RELIABILITY.md (about 15 minutes on two cores).
## RELIABILITY_ARGS=--check re-runs it quickly against the file's claims.
reliability: install
	$(RUN)/python -m bench.reliability $(RELIABILITY_ARGS)

## Schemathesis against the service's own OpenAPI schema, 1000 valid + 1000 invalid cases
## per operation (FUZZ_ARGS=--quick for 50); writes bench/results/fuzz.md and fuzz.json.
fuzz: install
	$(RUN)/python -m bench.fuzz $(FUZZ_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis .coverage
