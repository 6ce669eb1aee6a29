# jetkube — `make run` brings a cluster up; `make test` installs what tests need and passes.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: install host images run down status test unit integration lint bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	@touch $@

# dockerd running, busybox-static and debootstrap present (installs them as root when missing)
host:
	ops/host-setup.sh

# the images the kubelet and the examples use: pause, busybox, nginx (built once, locally)
images: install host
	$(BIN)/jetkube image build --missing

run: install host images
	$(BIN)/jetkube up --detach

down:
	$(BIN)/jetkube down

status:
	$(BIN)/jetkube status

lint: install
	$(BIN)/lint-imports
	$(BIN)/mypy core bus components ops replay

unit: install
	$(BIN)/python -m pytest -q tests/unit

integration: install
	$(BIN)/python -m pytest -q -m integration tests

test: install lint images
	$(BIN)/python -m pytest -q -p no:cacheprovider tests

bench: install
	$(BIN)/python -m ops.bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache
