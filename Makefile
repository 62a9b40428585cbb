# `make run` and `make test` set up .venv from the pinned requirements first.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PACKAGE := $(VENV)/.package

# The Khronos glTF validator (npm) checks the exported face.glb in the tests.
GLTF_VALIDATOR := .cache/node/node_modules/gltf-validator/package.json

.PHONY: run test test-quick setup browser clean

$(STAMP): requirements.txt requirements-dev.txt requirements-nodeps.txt constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -r requirements-dev.txt -c constraints.txt
	$(PY) -m pip install --no-deps -r requirements-nodeps.txt
	touch $(STAMP)

# The project itself, with its `talking-head` command. Editable: the face model, the
# AudioNet weights (assets/) and the restorer cache (weights/) live beside the package
# in this checkout, and app.py runs from it; the dependencies are the pinned ones above.
$(PACKAGE): $(STAMP) pyproject.toml
	$(PY) -m pip install --no-deps -e .
	touch $(PACKAGE)

setup: $(PACKAGE)

# Debian's chromium + chromium-driver for the browser test: installed once (root and
# apt-get needed), a quick no-op when present; without them that test is skipped, saying so.
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium chromium-driver \
		|| { DEBIAN_FRONTEND=noninteractive apt-get update && \
		     DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium chromium-driver; }; \
	else echo "note: chromium is missing and cannot be installed here; the browser test will be skipped"; fi

run: $(PACKAGE)
	$(PY) app.py

$(GLTF_VALIDATOR):
	npm install --prefix .cache/node --no-audit --no-fund --no-save gltf-validator@2.0.0-dev.3.10

# Everything, slow tests included (CI runs this).
test: $(PACKAGE) browser $(GLTF_VALIDATOR)
	$(PY) -m pytest -q tests

# A developer's quick loop: the tests not marked slow.
test-quick: $(PACKAGE)
	$(PY) -m pytest -q -m "not slow" tests

clean:
	rm -rf $(VENV) .pytest_cache .cache/node
