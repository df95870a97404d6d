# Every target builds .venv from nothing with pip when it is missing or stale.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test unit lint bench build deploy lock clean chromium

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q "pip==26.2.1"  # chalice requires pip<26.3
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	@touch $(STAMP)

# The real month first (the honest result: the strategies carry no edge, nothing is published), then two weeks of
# the same bars with a planted edge, where the whole loop runs: promotion, export, Hamilton adoption, live outcomes.
demo: $(STAMP)
	$(BIN)/huracan demo $(ARGS)
	$(BIN)/huracan demo --planted-edge --days 16 --report-dir reports/planted-edge
	@echo "Research: the same learning loop without the emulator, record for record: $(BIN)/huracan backtest [--data FILE] [--signals FILE] [--config FILE] (the month in seconds, not minutes; README: Backtest or replay?)"

test: $(STAMP) lint chromium
	$(BIN)/pytest $(ARGS)

# The report test renders the daily summary in headless Chromium (Debian's package; needs root once).
chromium:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

unit: $(STAMP)
	$(BIN)/pytest tests/unit $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy huracan functions

bench: $(STAMP)
	@for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

build:
	sam build

deploy:
	sam deploy --guided

# Re-resolve the lock from pyproject.toml (needs the registry).
lock:
	rm -rf /tmp/huracan-lock && $(PY) -m venv /tmp/huracan-lock
	/tmp/huracan-lock/bin/pip install -q "pip==26.2.1"
	/tmp/huracan-lock/bin/pip install -q -e '.[train,dev]'
	{ echo "# Exact versions for CI and every new user (generated: make lock). Python 3.11."; \
	  /tmp/huracan-lock/bin/pip freeze --exclude-editable; } > requirements.lock

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache build .aws-sam
