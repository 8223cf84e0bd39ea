# gotk — `make test` does everything a fresh machine needs, then runs every check.
SHELL := /bin/bash
export PATH := $(HOME)/.local/bin:$(PATH)
UV_RUN := uv run --frozen
PYTEST_ARGS ?=

.PHONY: test setup controlplane tools lint types contracts crds pytest test-faults demo clean-cache
.PHONY: images compose-demo real-pods

test: setup controlplane tools lint types contracts images pytest

setup:
	tools/ensure-packages.sh
	@command -v uv >/dev/null || python3 -m pip install --user --quiet uv
	uv sync --frozen

controlplane:
	tools/controlplane/build.sh controlplane

tools:
	tools/controlplane/build.sh tools

lint:
	$(UV_RUN) ruff check .
	$(UV_RUN) ruff format --check .

types:
	$(UV_RUN) mypy libs services cli tests bench

contracts:
	$(UV_RUN) lint-imports

crds:
	$(UV_RUN) python -m gotk_api.crds --out config/crds
	rm -f charts/gotk/crds/*.yaml && cp config/crds/*.yaml charts/gotk/crds/

pytest:
	$(UV_RUN) pytest $(PYTEST_ARGS)

# The fault tier alone (make test runs it too): killed API server, SIGKILLed controller,
# wiped storage, hostile artifact server, tenancy denials, credentials.
test-faults: setup controlplane tools
	$(UV_RUN) pytest tests/faults $(PYTEST_ARGS)

demo: setup controlplane tools
	tools/demo.sh

# One image per service (podman; base image made locally when no registry serves it);
# rebuilt only when an input changed.
images: setup tools
	tools/images/build.sh

# docker-compose.yml's containers reconciling Flux objects on the local control plane.
compose-demo: images controlplane
	$(UV_RUN) python tools/images/compose_demo.py

# The chart's source-controller pod on a real kubelet + containerd (not part of make test).
real-pods: images controlplane tools
	$(UV_RUN) python tools/images/real_pods.py

clean-cache:
	rm -rf $(HOME)/.cache/gotk
