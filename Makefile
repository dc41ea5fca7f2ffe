# The two commands of the README: `make run` and `make test`. Both set everything up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?= -n 2
export DEBUG ?= 1

.PHONY: run test setup install pytest lint migrations-check browser clean

run: setup
	@$(BIN)/tongxin demo-logins
	$(BIN)/tongxin runserver 127.0.0.1:8000

test: setup browser pytest

setup: install
	$(BIN)/tongxin migrate --noinput
	$(BIN)/tongxin demo

install: $(BIN)/.installed

$(BIN)/.installed: requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

# Browser tests drive Debian's Chromium; installed here when missing and we may (root), never downloaded.
browser:
	@test -x /usr/bin/chromium || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; } || \
	  { echo "Browser tests need Debian's chromium: apt-get install chromium chromium-driver"; exit 1; }

pytest: install
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

migrations-check: install
	$(BIN)/tongxin makemigrations --check --dry-run

clean:
	rm -rf $(VENV) var
