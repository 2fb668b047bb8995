# ipgraph: `make demo` builds everything from a fresh clone; `make test` tests it.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: demo test install build validate lint docs clean bench-query bench-build views wheel

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/.installed

build: install
	$(BIN)/ipgraph build

validate: build
	$(BIN)/ipgraph validate

demo: validate views

# One interactive HTML view per projection, and build/views/index.html.
views: build
	$(BIN)/ipgraph view --all --out build/views

lint: install
	$(BIN)/ruff check src tests docs benchmarks

# The CLI reference, docs/cli.md, from the commands' own --help.
docs: install
	$(BIN)/python docs/cli_reference.py

test: lint
	$(BIN)/pytest

# The wheel (queries, ontology, templates, starter data inside): dist/ipgraph-*.whl.
wheel: install
	$(BIN)/pip wheel . --no-deps --quiet -w dist

clean:
	rm -rf build dist

# Named queries on a synthetic 1M-triple graph, rdflib vs Oxigraph; writes benchmarks/README.md.
bench-query: install
	$(BIN)/python benchmarks/query/run.py

# ipgraph build on synthetic corpora (10k to 1M triples, 100 to 2,600 sources, incremental); writes benchmarks/README.md.
bench-build: install
	$(BIN)/pip install --quiet -e '.[test,bench]'
	$(BIN)/python benchmarks/build/run.py
