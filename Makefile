# `make run` and `make test` set up .venv from the pinned requirements first.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# The Khronos glTF validator (npm) checks the exported face.glb in the tests.
GLTF_VALIDATOR := .cache/node/node_modules/gltf-validator/package.json

.PHONY: run test setup clean

$(STAMP): requirements.txt requirements-dev.txt requirements-nodeps.txt constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -r requirements-dev.txt -c constraints.txt
	$(PY) -m pip install --no-deps -r requirements-nodeps.txt
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(PY) app.py

$(GLTF_VALIDATOR):
	npm install --prefix .cache/node --no-audit --no-fund --no-save gltf-validator@2.0.0-dev.3.10

test: $(STAMP) $(GLTF_VALIDATOR)
	$(PY) -m pytest -q tests

clean:
	rm -rf $(VENV) .pytest_cache .cache/node
