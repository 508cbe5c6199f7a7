# Two commands: `make run` brings the whole stack up on embedded defaults (the storefront built first
# where npm is installed), `make test` runs every test layer. Both create .venv from the lock first.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SERVICES := identity_svc inventory_svc payment_svc order_svc notification_svc

.PHONY: run lint docs test test-postgres test-e2e-postgres test-chaos-postgres test-services test-services-postgres test-workflow test-e2e test-security test-storefront test-browser test-resilience test-chaos record-histories bench venv clean

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

# `make run ARGS=--prometheus` passes options on to `sagactl up`, which builds the storefront (npm ci
# when its packages are missing or older than its lock, then npm run build) before it starts the stack.
run: venv
	$(BIN)/sagactl up --seed $(ARGS)

# `make test`: style and docs first, then the layers in two lanes side by side (infra/lanes.py), the
# end-to-end layer in the first, every other layer one after the other in the second; the second's
# output is printed when both have ended (and stays in var/test-lanes/, named after its targets).
TEST_LANES := "test-e2e" "test-services test-workflow test-security test-storefront test-browser test-resilience test-chaos"
test: venv lint docs
	$(BIN)/python -m infra.lanes $(TEST_LANES)

# Style, enforced: ruff (lint and format), mypy (strict) with the Django and DRF stubs, and the CI
# workflow checked by actionlint and zizmor. The type checker's Django plugin loads one service's
# settings; each service's apps are checked from the service's own folder, with its framework floor
# (infra/bench) where it has one.
SERVICE_APPS := identity_svc:accounts inventory_svc:inventory payment_svc:payments order_svc:orders notification_svc:notifications
# The framework floor's views are checked with their service; its URL map imports the three services'
# apps at once, which no single Django project holds, so no run can check it.
lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DJANGO_SETTINGS_MODULE=config.settings MYPYPATH=inventory_svc MYPY_CACHE_DIR=var/mypy/core \
		$(BIN)/mypy --exclude 'framework_floor/(urls|[a-z]+_views)\.py$$' \
		saga_contract orchestrator observability chassis infra benchmarks
	@for pair in $(SERVICE_APPS); do \
		svc=$${pair%%:*}; app=$${pair##*:}; echo "mypy $$svc"; \
		(cd $$svc && DJANGO_SETTINGS_MODULE=config.settings MYPYPATH=.. MYPY_CACHE_DIR=../var/mypy/$$svc \
			../$(BIN)/mypy --config-file ../pyproject.toml $$app config \
			$$(ls ../infra/bench/framework_floor/$${svc%_svc}_views.py 2>/dev/null)) || exit 1; \
	done
	$(BIN)/actionlint .github/workflows/ci.yml
	$(BIN)/zizmor --offline --quiet .github/workflows/ .pre-commit-config.yaml

# The documentation site (MkDocs, Material theme) into var/site; --strict fails on a broken link or anchor.
docs: venv
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir var/site

# Each service is its own Django project, so each gets its own pytest run.
test-services: venv
	@for svc in $(SERVICES); do \
		echo "== $$svc"; \
		(cd $$svc && ../$(BIN)/pytest -q) || exit 1; \
	done

# The same suites on PostgreSQL, and the pass CI runs beside `make test`. PG_URL names the server
# (postgres://user@host:port); without it, each of these targets runs again inside the life of a
# throwaway server of the machine's PostgreSQL binaries (infra/pg_server.py), sized for the pass's
# two lanes of stacks, with PG_URL set to it, and the server is removed at the end.
POSTGRES_TARGETS = test-postgres test-services-postgres test-e2e-postgres test-chaos-postgres
ifndef PG_URL
$(POSTGRES_TARGETS): venv
	$(BIN)/python -m infra.pg_server $(MAKE) --no-print-directory $@
else
# The services' suites, one database per service, like production.
test-services-postgres: venv
	@for svc in $(SERVICES); do \
		echo "== $$svc on PostgreSQL"; \
		(cd $$svc && DATABASE_URL=$(PG_URL)/$${svc%_svc} ../$(BIN)/pytest -q) || exit 1; \
	done

# What matters on PostgreSQL, in two lanes: the end-to-end suite in one, the services' suites and
# then the chaos suite in the other.
test-postgres: venv
	$(BIN)/python -m infra.lanes "test-e2e-postgres" "test-services-postgres test-chaos-postgres"

# The end-to-end and the chaos suite with every stack on databases of its own on PG_URL's server (as
# `sagactl up --postgres`), dropped when it stops. Tests marked `any_database` (what Temporal, the
# project's files or a tool decides) run once, in `make test`, and are left out here.
test-e2e-postgres test-chaos-postgres: test-%-postgres: venv
	SAGA_POSTGRES_URL=$(PG_URL) PYTEST_ADDOPTS="$$PYTEST_ADDOPTS -m 'not any_database'" \
		$(MAKE) --no-print-directory test-$*
endif

# The orchestrator's units and the workflow on the time-skipping test server.
test-workflow: venv
	$(BIN)/pytest -q tests/unit tests/workflow

# Re-record the event history of every saga scenario (tests/workflow/histories), which
# test-workflow replays against the current workflow code: after a change to the workflow (a new
# version, or a change guarded by workflow.patched), its current files first copied to before-<change>-*.
record-histories: venv
	$(BIN)/python -m tests.workflow.record_histories

# Real processes: the Temporal dev server, the services under gunicorn and the worker;
# the audit of money and stock included.
# The bench's run gets a pytest of its own: the session's stack is stopped by then, and the bench's
# three sets of processes do not share a PostgreSQL server's connections with it.
test-e2e: venv
	$(BIN)/pytest -q tests/infra tests/e2e tests/audit
	$(BIN)/pytest -q tests/bench

# One attack per test on the trust boundaries of a real stack: tokens, ownership, internal commands,
# idempotency keys, smuggled fields, a burst; audited clean afterwards.
test-security: venv
	$(BIN)/pytest -q tests/security

# The storefront's own checks: its packages from the lock, the type checker, its unit tests and its
# build, into var/storefront-check (dist/ is what stacks publish, and another run's may be copying it).
# Skipped, in one line that says why, where npm is not installed.
test-storefront:
	@if command -v npm >/dev/null 2>&1; then \
		cd storefront && npm ci --no-audit --no-fund && npm run typecheck && npm test \
			&& npm run build -- --outDir ../var/storefront-check; \
	else \
		echo "test-storefront: skipped, npm is not installed (https://nodejs.org, or Debian's nodejs and npm packages)"; \
	fi

# The Temporal Web UI of a real stack in headless Chromium (Debian's /usr/bin/chromium, driven by
# Playwright; skipped without it): sagas filtered by customer and outcome, a compensation's history.
# Screenshots in var/test-artifacts/.
test-browser: venv
	$(BIN)/pytest -q tests/browser

# Faults injected into a chaos-enabled stack: 503 bursts, an outage, lost replies, slow answers.
test-resilience: venv
	$(BIN)/pytest -q tests/resilience

# Every chaos scenario in its short form (tens of orders), audited: 0 violations.
test-chaos: venv
	$(BIN)/pytest -q tests/chaos

# Figures, not assertions: how fast a call fails while its breaker is open, and what a call through
# the worker's client layer costs it in CPU. The whole saga against its floors: `sagactl bench`.
bench: venv
	$(BIN)/python benchmarks/breaker_fail_fast.py
	$(BIN)/python benchmarks/client_call_cost.py

clean:
	rm -rf $(VENV) var .pytest_cache
