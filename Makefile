# Set-up and checks. `make demo` and `make test` are the two commands in the README.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Data: without internet, point XQG_DATA_MIRROR at a local copy (../shared/data here, if present).
XQG_DATA_MIRROR ?= $(abspath $(wildcard ../shared/data))
export XQG_DATA_MIRROR

.PHONY: install demo test test-slow lint bench

$(BIN)/xqg: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# CPU build of torch first (on these machines it lies on disk; elsewhere pip fetches it).
	$(BIN)/pip install -q "torch==2.13.0" || $(BIN)/pip install -q "torch>=2.4"
	$(BIN)/pip install -q -e ".[dev]"
	touch $(BIN)/xqg

install: $(BIN)/xqg

demo: install
	$(BIN)/xqg data download xquad
	$(BIN)/xqg run configs/xquad_demo.toml

test: install
	$(BIN)/python -m pytest -q

test-slow: install
	$(BIN)/python -m pytest -q -m slow

lint: install
	$(BIN)/ruff check src tests benchmarks configs
	$(BIN)/ruff format --check src tests benchmarks configs
