# Two commands matter: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export FLASK_APP := consent_service

TRANSLATIONS := consent_service/translations
PO := $(wildcard $(TRANSLATIONS)/*/LC_MESSAGES/messages.po)
MO := $(PO:.po=.mo)

.PHONY: run test lint install check-system migrate seed clean translations-update

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## The page translations, compiled from the .po files kept in the repository.
%.mo: %.po $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -i $< -o $@ >/dev/null

install: $(STAMP) $(MO)

## What the browser tests inject into pages (axe-core), from the npm registry, as locked.
AXE := node_modules/axe-core/axe.min.js
$(AXE): package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

## After changing page strings: extract them and merge them into each .po (then translate).
translations-update: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
		--project consent_service -o $(TRANSLATIONS)/messages.pot .
	$(BIN)/pybabel update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) --ignore-obsolete

check-system:
	@scripts/check_system.sh

migrate: install
	CONSENT_ENV=$${CONSENT_ENV:-development} $(BIN)/flask db upgrade

seed: migrate
	CONSENT_ENV=$${CONSENT_ENV:-development} $(BIN)/flask demo seed

## Create the environment, migrate, seed the demo organization, serve on 127.0.0.1:5000
## with the scheduler running beside the server.
run: install check-system seed
	scripts/run_dev.sh

## Style (ruff) and the direction of imports (import-linter, contracts in setup.cfg).
lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

## Lint and the whole suite (on PostgreSQL when DATABASE_URL points at it).
test: install $(AXE) check-system lint
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache .hypothesis $(MO) node_modules
