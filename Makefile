# smartlab_kernel: one command to install and run the demo, one to install and test.
#   make demo   - create .venv, install, run a closed-loop campaign on the simulated lab
#   make test   - create .venv, install, lint + type-check + layers, full test suite, docs
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo lab test lint unit docs browser-deps bench bench-quick clean

install: $(STAMP)

# torch first, from the CPU build on local disk: any other torch request would
# download gigabytes (see README).
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[notebook,dev]"
	$(PY) -m smartlab_kernel.cli.main kernel install --sys-prefix
	touch $(STAMP)

demo: install
	$(VENV)/bin/smartlab demo

lab: install
	$(VENV)/bin/smartlab lab

# Browser tests drive Debian's chromium; a browser download by a test tool fails here.
browser-deps:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# Three workers on two cores: most tests wait on simulated time or subprocesses.
unit: install
	$(PY) -m pytest -q -n 3 --durations=25

docs: install
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

test: install browser-deps lint unit docs

# Smoke runs: their JSON goes to *-quick.json, never over the recorded figures.
bench-quick: install
	$(PY) benchmarks/capture_benchmark.py --quick
	$(PY) benchmarks/planner_benchmark.py --quick --out benchmarks/results/planner-quick.json
	$(PY) benchmarks/shipping_benchmark.py --runs 5 --output benchmarks/results/shipping-quick.json

# The recorded figures (benchmarks/results/*.json); the planner part takes hours.
bench: install
	$(PY) benchmarks/capture_benchmark.py
	$(PY) benchmarks/responsiveness_benchmark.py
	$(PY) benchmarks/queue_benchmark.py
	$(PY) benchmarks/shipping_benchmark.py
	$(PY) benchmarks/planner_benchmark.py

clean:
	rm -rf $(VENV) site lab-data demo-output .pytest_cache .mypy_cache .ruff_cache
