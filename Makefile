# Two commands on a fresh machine: `make demo` and `make test`.
# Each creates what it needs (.venv, the CPU torch wheel, the Debian packages for the GUI tests).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.hsikit-installed
GUI_DEBS := xvfb xauth libgl1-mesa-dri libegl1 libxkbcommon-x11-0 libxcb-icccm4 \
	libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-xinerama0 \
	libxcb-xfixes0 libxcb-shape0 libxcb-cursor0 libdbus-1-3

.PHONY: demo test lint sysdeps builddeps venv

venv: $(STAMP)

# torch is pinned to the CPU wheel *before* the rest: a bare `torch` requirement pulls a CUDA
# build of several GB from PyPI. The CPU wheels' index is tried once (--retries 0: offline, or
# with a local wheel house, pip moves on at once); TORCH_INDEX= overrides it.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory builddeps
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q --retries 0 --extra-index-url $(TORCH_INDEX) torch==2.13.0
	$(PY) -m pip install -q -e '.[viewer,dev]'
	touch $(STAMP)

# pydensecrf2 (the dense CRF) is published on PyPI as source only: pip compiles it, which needs
# a C++ compiler and the headers of the Python that builds the venv.
builddeps:
	@missing=$$(command -v c++ >/dev/null 2>&1 || echo g++); \
	inc=$$($(PYTHON) -c 'import sysconfig; print(sysconfig.get_path("include"))'); \
	[ -f "$$inc/Python.h" ] || missing="$$missing python3-dev"; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages to compile pydensecrf2: $$missing"; \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

sysdeps:
	@missing=$$(for p in $(GUI_DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages for the GUI tests: $$missing"; \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

demo: $(STAMP)
	$(VENV)/bin/hsi demo

test: $(STAMP) sysdeps
	$(PY) -m pytest -q -p no:cacheprovider --durations=15 tests

lint: $(STAMP)
	$(VENV)/bin/ruff check .
