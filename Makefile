# One command to run the example server, one to run the tests. Both set up what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: serve test lint setup tools bench dist

$(BIN)/cloudmcp: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

setup: $(BIN)/cloudmcp

serve: setup
	$(BIN)/cloudmcp serve --port $(PORT)

lint: setup
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples
	$(BIN)/mypy
	$(BIN)/bandit -q -r src/cloudmcp

test: setup tools lint dist
	$(BIN)/pytest -q

# The wheel and sdist a project depends on (README: Use cloudmcp in your project), checked.
dist: setup
	rm -rf dist
	$(BIN)/python -m build --outdir dist .
	$(BIN)/twine check --strict dist/*

# Node 22, the conformance suite and the Inspector CLI; the offline validators of deploy artifacts.
tools: setup
	bash scripts/install-tools.sh

# Benchmarks, side by side (about 12 minutes; makes its own venvs under bench/.venvs).
# BENCH_ARGS=--quick for a short pass, BENCH_ARGS="--only floor,cloudmcp" for a subset.
bench:
	$(PYTHON) bench/run.py --redis $(BENCH_ARGS)
