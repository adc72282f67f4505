# Two commands for a fresh machine:
#   make run    install into .venv and start the whole app on http://127.0.0.1:8000
#   make test   install what the tests need and run the whole suite
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test system-test-deps bench bench-venv bench-detect bench-peers

$(STAMP): requirements.txt requirements-nodeps.txt requirements-test.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-test.txt
	$(PY) -m pip install --quiet --no-deps -r requirements-nodeps.txt
	touch $(STAMP)

install: $(STAMP)

run: install
	$(PY) -m webapp.localstack

# Debian packages the tests drive: docker-compose 1.29 validates docker-compose.yml
# without an engine; chromium is the real browser of the end-to-end tests; curl and jq run
# the examples of docs/api.md.
system-test-deps:
	@command -v docker-compose >/dev/null && command -v chromium >/dev/null && command -v curl >/dev/null \
	  && command -v jq >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq docker-compose chromium curl jq >/dev/null; }

test: install system-test-deps
	$(PY) -m pytest

bench: install
	$(PY) bench/ingest.py

# The benches that compare with other detectors and with the peers' pipeline
# (requirements-bench.txt): their own environment that sees .venv's packages through a
# .pth file, so the app's stays as it is.
BENCH_VENV ?= .venv-bench
bench-venv: install
	test -x $(BENCH_VENV)/bin/python || python3 -m venv $(BENCH_VENV)
	$(PY) -c "import sysconfig; print(sysconfig.get_paths()['purelib'])" \
	  > "$$($(BENCH_VENV)/bin/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")/app-venv.pth"
	$(BENCH_VENV)/bin/python -m pip install --quiet --no-deps -r requirements-bench.txt

bench-detect: bench-venv
	$(BENCH_VENV)/bin/python bench/detect.py

bench-peers: bench-venv
	$(BENCH_VENV)/bin/python bench/peers.py
