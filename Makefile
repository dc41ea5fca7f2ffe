# The two commands of the README: `make run` and `make test`. Both set everything up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?= -n 2
export DEBUG ?= 1

.PHONY: run test setup install pytest lint migrations-check browser clean bench

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

# Benchmarks (bench/README.md), on the PostgreSQL server of BENCH_PG: every bench/*.py program
# prints one JSON line (its figures and the baseline measured in the same run) on stdout, the
# names and progress go to stderr, so `make bench > figures.jsonl` keeps the figures. Each bench
# creates and drops its own database (DATABASE_URL is ignored here); synth.py keeps its database
# for reads.py. testing_data.py is the mass-testing benches' data, gate_site.py the app server of
# gate.py (which runs on SQLite and on PostgreSQL), neither a bench. Failures are reported at the
# end, after the other benches ran.
BENCH_PG ?= postgres://postgres@127.0.0.1:5432
BENCH_NOT_PROGRAMS := bench/synth.py bench/reads.py bench/testing_data.py bench/gate_site.py

bench: install
	@status=0; db=$(BENCH_PG)/tongxin_bench_make_$$$$; \
	echo "bench/synth.py, bench/reads.py" >&2; \
	env -u DATABASE_URL $(BIN)/python bench/synth.py --database-url $$db --keep || status=1; \
	DATABASE_URL=$$db $(BIN)/python bench/reads.py || status=1; \
	$(BIN)/python -c "import sys; sys.path.insert(0, 'bench'); from synth import drop_database; drop_database('$$db')"; \
	for script in $(filter-out $(BENCH_NOT_PROGRAMS),$(wildcard bench/*.py)); do \
	  echo "$$script" >&2; env -u DATABASE_URL $(BIN)/python $$script || { status=1; echo "$$script failed" >&2; }; \
	done; exit $$status

clean:
	rm -rf $(VENV) var
