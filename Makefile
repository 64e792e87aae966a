# The two set-up commands of the README: `make run` and `make test`.
# Both create .venv on first use; nothing else needs to be installed by hand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## run: the product on the embedded SQLite database, with demo data, at http://127.0.0.1:8000/
# Plain http on loopback, so the session cookie cannot be HTTPS-only here (it is by default).
run: $(STAMP)
	$(BIN)/sip-engine demo
	SIP_SECURE_COOKIES=0 $(BIN)/sip-engine serve --host 127.0.0.1 --port 8000

## test: lint, type check, then the whole test suite
test: $(STAMP) lint
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
