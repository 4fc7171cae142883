# The two set-up commands of the README: `make run` and `make test`. Both create the
# virtual environment in .venv and install what they need themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
SMTP_PORT ?= 1025

.PHONY: run test demo check-network translations clean

# Compiled message catalogs (German; English is the source language of the web's strings).
CATALOGS := $(patsubst %.po,%.mo,$(wildcard web/translations/*/LC_MESSAGES/messages.po domain/translations/*/LC_MESSAGES/messages.po))

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[postgres,dev]'
	touch $@

%.mo: %.po $(VENV)/.installed
	$(BIN)/pybabel compile --use-fuzzy --statistics -i $< -o $@ 2>&1 | sed 's/^/  /'

## make translations: extract the web's strings and update the German catalog
translations: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -o web/translations/messages.pot .
	$(BIN)/pybabel update -i web/translations/messages.pot -d web/translations -l de --no-fuzzy-matching

## make run: web + worker + beat on the embedded default (SQLite file, a broker in files),
## with the demo network loaded and a local mail catcher writing to instance/mail.log
run: $(VENV)/.installed $(CATALOGS)
	$(BIN)/flask --app web load-demo
	@mkdir -p instance
	@trap 'kill 0' INT TERM EXIT; \
	$(BIN)/python -m aiosmtpd -n -l 127.0.0.1:$(SMTP_PORT) > instance/mail.log 2>&1 & \
	SMTP_PORT=$(SMTP_PORT) $(BIN)/celery -A workers worker --beat --pool solo --loglevel INFO \
		--without-gossip --without-mingle > instance/worker.log 2>&1 & \
	$(BIN)/flask --app web run --host $(HOST) --port $(PORT)

## make test: the whole suite, against SQLite and the PostgreSQL server at 127.0.0.1:5432
test: $(VENV)/.installed $(CATALOGS)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

check-network: $(VENV)/.installed
	$(BIN)/flask --app web check-network

clean:
	rm -rf $(VENV) instance .pytest_cache .hypothesis $(CATALOGS)

## make bench: the engine against the bare libraries on the configured database
## (BENCH_DATABASE_URL, default the local PostgreSQL), table in docs/benchmarks.md;
## make bench-quick: the same code on small sizes, table in test-artifacts/bench-quick.md
.PHONY: bench bench-quick
bench: $(VENV)/.installed $(CATALOGS)
	$(BIN)/python -m bench

bench-quick: $(VENV)/.installed $(CATALOGS)
	$(BIN)/python -m bench --quick
