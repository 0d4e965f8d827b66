# The README's set-up is two commands: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: install demo test dev lint format contract bench clean

$(INSTALLED): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $@

install: $(INSTALLED)

# Debian's headless Chromium and a CJK font: the report test renders the HTML report and checks a screenshot
BROWSER := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
$(BROWSER):
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium fonts-wqy-zenhei \
	  || ($(SUDO) apt-get update -q && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium fonts-wqy-zenhei)

demo: $(INSTALLED)  ## generate the demo sources if absent, run the pipeline once, print a summary
	$(BIN)/crmseg demo

test: $(INSTALLED) $(BROWSER)  ## every test; PostgreSQL and MariaDB tests use the servers on localhost
	$(BIN)/python -m pytest

dev: $(INSTALLED)  ## the Dagster UI on the instance the CLI writes to
	$(BIN)/crmseg dev

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint dbt_project

format: $(INSTALLED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	$(BIN)/sqlfluff fix dbt_project

contract: $(INSTALLED)  ## after changing crmseg/contract.py: rewrite the GX suites and the dbt source rules from it
	$(BIN)/python -m crmseg.contract_files

bench: $(INSTALLED)  ## speed and memory figures; BENCH_CUSTOMERS=1000000 for the full size
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) data dbt_project/target dbt_project/logs .pytest_cache .ruff_cache
