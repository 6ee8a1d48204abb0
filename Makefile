# hoidap: two commands for a new user. `make run` serves the app; `make test` runs the offline suite.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PIP    := $(PY) -m pip --disable-pip-version-check -q

.PHONY: run test install browser clean

run: install
	$(VENV)/bin/hoidap serve

test: install browser
	$(PY) -m pytest

install: $(STAMP)

# CPU torch first and explicitly: any other torch request pulls several GB of CUDA packages.
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install torch==2.13.0
	$(PIP) install -e '.[test]'
	touch $(STAMP)

# The browser tests drive Debian's Chromium (Playwright's own browser download needs the internet).
browser:
	@command -v chromium >/dev/null 2>&1 || bash .ci/install-chromium

clean:
	rm -rf $(VENV) data tests-output eval-out bench-out *.egg-info
