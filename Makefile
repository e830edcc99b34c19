# Two commands do everything on a fresh machine with only Python:
#   make run   - serve the fake on http://127.0.0.1:8001, seeded like People's dev setup, new domains publish their DNS
#   make test  - install with the contract suite and the repository's tooling, run every test (docs included)
#   make docs  - build the documentation site into site/ (offline, strict); make docs-serve serves it on :8000
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Where `make run` listens: `make run HOST=0.0.0.0 PORT=8002`. 8001 is the host port of People's dimail container.
HOST ?= 127.0.0.1
PORT ?= 8001
# `make run STATE=dev.db` keeps the state in that file across restarts (`--state`); default: memory only.
STATE ?=

.PHONY: run test bench docs docs-serve install install-test clean mutation

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[contracts]' --group dev
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

run: install
	$(BIN)/fake-dimail serve --host $(HOST) --port $(PORT) --seed people-dev --dns auto $(if $(STATE),--state $(STATE))

# The suite starts some hundred Python processes (pytest runs of the contract suite, servers, the CLIs): each
# would compile every module it imports again, pytest's assertion-rewritten ones included, where the
# environment sets PYTHONDONTWRITEBYTECODE (2 s of CPU per pytest run). Compiled modules are kept under the
# venv instead, which leaves the source tree as clean as that setting wants it. Hypothesis' cache (the constants
# it reads from the source, 0.6 s to make) is kept there too, not made again in each run's temporary directory.
# On a fresh clone that cache starts with what pip and Python's installation compiled (tests/seed_pycache.py says
# why): 4.6 s of copying (4,775 files) instead of each first process compiling them again (a fresh clone's
# `make test`: 186.8 s unseeded, 177.4 s seeded).
$(VENV)/pycache/.seeded: $(VENV)/.installed-test
	$(BIN)/python tests/seed_pycache.py $(abspath $(VENV))/pycache
	touch $@

test: install-test $(VENV)/pycache/.seeded
	PYTHONDONTWRITEBYTECODE= PYTHONPYCACHEPREFIX=$(abspath $(VENV))/pycache \
	HYPOTHESIS_STORAGE_DIRECTORY=$(abspath $(VENV))/hypothesis $(BIN)/python -m pytest -q -n auto

# The documentation site: strict (a broken link, anchor or missing page fails), offline (no CDN, no fonts
# fetched). tests/test_doc_site.py runs the same build inside `make test`.
docs: install-test
	$(BIN)/properdocs build --strict --quiet -f mkdocs.yml

docs-serve: install-test
	$(BIN)/properdocs serve --strict -f mkdocs.yml

bench: install-test
	rm -f reports/bench-goals.jsonl
	$(BIN)/python benchmarks/checks.py
	$(BIN)/python benchmarks/scale.py
	$(BIN)/python benchmarks/inprocess.py
	$(BIN)/python benchmarks/people_suite.py
	$(BIN)/python benchmarks/startup.py
	$(BIN)/python benchmarks/rates.py
	$(BIN)/python benchmarks/persistence.py
	$(BIN)/python benchmarks/bodies.py
	$(BIN)/python benchmarks/goals.py

clean:
	rm -rf $(VENV) build site *.egg-info

# The contract suite's mutation score (not part of `make test`: about 30 minutes on 2 cores). Options:
# `make mutation MUTATION_ARGS="--size 40 --seed 3 --modules backend/users.py"`; see `python -m mutation --help`.
MUTATION_ARGS ?=
mutation: install-test
	$(BIN)/python -m mutation $(MUTATION_ARGS)
