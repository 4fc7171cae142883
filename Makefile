# The two set-up commands of the README: `make run` and `make test`. Both create the
# virtual environment in .venv and install what they need themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
SMTP_PORT ?= 1025
INSTANCE_DIR ?= instance
export INSTANCE_DIR

.PHONY: run test test-unit soak demo demo-code check-network translations clean

# Compiled message catalogs (German; English is the source language of the web's strings).
CATALOGS := $(patsubst %.po,%.mo,$(wildcard web/translations/*/LC_MESSAGES/messages.po domain/translations/*/LC_MESSAGES/messages.po))

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet --upgrade pip
	@# the build backend's notes on editable installs are no news to anyone here
	PYTHONWARNINGS=ignore $(BIN)/pip install --quiet -e '.[postgres,dev]'
	touch $@

# Debian programs the suite and the benchmarks drive: chromium for the browser tests, wrk for
# the web benchmark (also run by the suite's bench-quick). Installed here, never by a test.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEBIAN_PROGRAMS := /usr/bin/chromium /usr/bin/wrk
/usr/bin/chromium /usr/bin/wrk:
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		$(notdir $@) >/dev/null || ($(SUDO) apt-get update -q >/dev/null && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends $(notdir $@) >/dev/null)

%.mo: %.po $(VENV)/.installed
	$(BIN)/pybabel compile --use-fuzzy --statistics -i $< -o $@ 2>&1 | sed 's/^/  /'

## make translations: extract the web's strings and update the German catalog
translations: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -o web/translations/messages.pot .
	$(BIN)/pybabel update -i web/translations/messages.pot -d web/translations --no-fuzzy-matching --ignore-obsolete

## make run: web, embedded worker and a local mail catcher on the embedded default (one SQLite
## file, no broker), under supervisord, with the demo network loaded; logs in $(INSTANCE_DIR)/
# The embedded demo's three fictional networks: a city (Brandenburg), a small town and a
# rural district (Saxony), each with its own store under $(INSTANCE_DIR)/networks/.
DEMO_NETWORKS := networks/cottbus networks/doebeln networks/nordsachsen-land

run: $(VENV)/.installed $(CATALOGS)
	$(BIN)/flask --app web networks add --if-missing $(DEMO_NETWORKS)
	$(BIN)/flask --app web load-demo
	@mkdir -p $(INSTANCE_DIR)
	@echo "Fallnetz: http://$(HOST):$(PORT) – logs in $(INSTANCE_DIR)/ (web.log, worker.log," \
		"mail.log, supervisord.log); Ctrl-C stops everything. Second-factor code of the" \
		"demo logins: make demo-code"
	@FALLNETZ_INSTANCE=$(abspath $(INSTANCE_DIR)) FALLNETZ_BIN=$(abspath $(BIN)) \
		HOST=$(HOST) PORT=$(PORT) SMTP_PORT=$(SMTP_PORT) \
		PUBLIC_BASE_URL="$${PUBLIC_BASE_URL:-http://$(HOST):$(PORT)}" \
		exec $(BIN)/supervisord -c deploy/supervisord.conf

## make demo-code: the code the demo's authenticator app shows now, for the demo logins that
## confirm sign-in with a second factor (supervisor, coordinator, admin, data protection)
demo-code: $(VENV)/.installed
	@$(BIN)/flask --app web second-factor demo-code

## make test-unit: the fast loop: tests/unit on SQLite (no servers, no processes)
test-unit: $(VENV)/.installed $(CATALOGS)
	$(BIN)/python -m pytest -m "not postgres" tests/unit $(PYTEST_ARGS)

## make test: the whole suite, against SQLite and the PostgreSQL server at 127.0.0.1:5432
test: $(VENV)/.installed $(CATALOGS) $(DEBIAN_PROGRAMS)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## make soak MINUTES=30: the soak test of `make run` for longer (figures in test-artifacts/soak.md)
MINUTES ?= 30
soak: $(VENV)/.installed $(CATALOGS) $(DEBIAN_PROGRAMS)
	SOAK_SECONDS=$$(( $(MINUTES) * 60 )) $(BIN)/python -m pytest -s tests/e2e/test_soak.py

check-network: $(VENV)/.installed
	$(BIN)/flask --app web check-network

clean:
	rm -rf $(VENV) instance .pytest_cache .hypothesis $(CATALOGS)

## make bench: the engine against the bare libraries on the configured database
## (BENCH_DATABASE_URL, default the local PostgreSQL), table in docs/benchmarks.md;
## make bench-quick: the same code on small sizes, table in test-artifacts/bench-quick.md
.PHONY: bench bench-quick
bench: $(VENV)/.installed $(CATALOGS) /usr/bin/wrk
	$(BIN)/python -m bench

bench-quick: $(VENV)/.installed $(CATALOGS) /usr/bin/wrk
	$(BIN)/python -m bench --quick
