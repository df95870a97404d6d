# Every target builds .venv from nothing with pip when it is missing or stale.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test unit lint bench build deploy deploy-check image lock clean chromium

# SAM CLI in its own virtualenv (it pins its own boto3 and cfn-lint), as checkov has .venv-tools/checkov.
SAM_VERSION := 1.170.0
SAM_VENV := .venv-tools/sam
SAM := $(SAM_VENV)/bin/sam

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

# The whole-stack suite (tests/e2e) runs beside the rest, one pytest process each on the two cores: every test
# starts its own emulator on a free port and writes under its own tmp_path, and the two halves take about the
# same time, so the suite's wall time halves. With ARGS (a file, -k ...) one process runs what is asked.
test: $(STAMP) lint chromium
ifeq ($(strip $(ARGS)),)
	@log=$$(mktemp); $(BIN)/pytest tests/e2e >"$$log" 2>&1 & e2e=$$!; \
	$(BIN)/pytest tests --ignore=tests/e2e; rest=$$?; \
	wait $$e2e; e2e_rc=$$?; echo "== tests/e2e (ran beside the rest)"; cat "$$log"; rm -f "$$log"; \
	test $$rest -eq 0 && test $$e2e_rc -eq 0
else
	$(BIN)/pytest $(ARGS)
endif

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

$(SAM):
	@test -x $(SAM_VENV)/bin/python || $(PY) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install -q "aws-sam-cli==$(SAM_VERSION)"

build: $(SAM)
	$(SAM) build

deploy: $(SAM)
	$(SAM) deploy --guided

# A deploy rehearsal without an AWS account: sam validate --lint, sam build, 250 MB per function with its
# layers, every handler imported under python3.12 from the build alone, the stack created on the emulator.
deploy-check: $(STAMP) $(SAM)
	$(BIN)/python infra/scripts/deploy_check.py --sam $(SAM)

# The nightly training image: build, push to the bootstrap stack's ECR repository (infra/bootstrap/ecr.yaml,
# deployed once), print the TrainingImageUri to deploy with. Needs docker and AWS credentials.
#   make image [REGION=eu-west-2] [REPOSITORY=huracan-train] [TAG=<git commit>]
REGION ?= $(shell aws configure get region 2>/dev/null || echo eu-west-2)
REPOSITORY ?= huracan-train
TAG ?= $(shell git rev-parse --short=12 HEAD)
image:
	@test -z "$$(git status --porcelain -- huracan pyproject.toml requirements.lock infra/containers)" || \
	  { echo "make image: uncommitted changes in what the image holds; commit them (the tag is the commit)"; exit 2; }
	$(eval ACCOUNT := $(shell aws sts get-caller-identity --query Account --output text))
	$(eval URI := $(ACCOUNT).dkr.ecr.$(REGION).amazonaws.com/$(REPOSITORY))
	aws ecr get-login-password --region $(REGION) | docker login --username AWS --password-stdin $(ACCOUNT).dkr.ecr.$(REGION).amazonaws.com
	docker build --platform linux/amd64 -f infra/containers/train/Dockerfile -t $(URI):$(TAG) .
	docker push $(URI):$(TAG)
	@echo "TrainingImageUri=$(URI):$(TAG)"

# Re-resolve the lock from pyproject.toml (needs the registry).
lock:
	rm -rf /tmp/huracan-lock && $(PY) -m venv /tmp/huracan-lock
	/tmp/huracan-lock/bin/pip install -q "pip==26.2.1"
	/tmp/huracan-lock/bin/pip install -q -e '.[train,dev]'
	{ echo "# Exact versions for CI and every new user (generated: make lock). Python 3.11."; \
	  /tmp/huracan-lock/bin/pip freeze --exclude-editable; } > requirements.lock

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache build .aws-sam
