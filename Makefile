# The two commands a new user needs: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint install clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

# torch first, pinned: a CPU build is on local disk here; an unpinned torch would pull a multi-GB CUDA build.
# Then the example plug-in kind (examples/plugin-kind: `genart train points`), so the kinds' contract test covers a
# kind from another package; it adds no section to `genart demo`.
$(STAMP): pyproject.toml examples/plugin-kind/pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "torch==2.13.0"
	$(BIN)/pip install --quiet -e ".[dev]"
	$(BIN)/pip install --quiet -e examples/plugin-kind
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/genart demo --out demo

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

bench: $(STAMP)
	$(BIN)/pip install --quiet -e ".[bench]"
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/bench_vae.py --out benchmarks/RESULTS-vae.md
	$(BIN)/python benchmarks/bench_diffusion.py
	$(BIN)/python benchmarks/bench_music.py
	$(BIN)/python benchmarks/bench_musicvae.py
	$(BIN)/python benchmarks/bench_abc.py --out benchmarks/RESULTS-abc.md
	$(BIN)/python benchmarks/fim_check.py
	$(BIN)/python benchmarks/bench_text.py --shakespeare-minutes 10 --quiet
	$(BIN)/python benchmarks/bench_signing.py

lint: $(STAMP)
	$(BIN)/ruff check genart tests benchmarks scripts examples

clean:
	rm -rf $(VENV) demo .pytest_cache
