# adaptax: `make demo` and `make test` work on a fresh machine with only Python installed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint setup clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,mujoco]"
	touch $(STAMP)

setup: $(STAMP)

# The main job on its embedded default: MAML sinusoid at the `default` preset (~2 min on 2 cores).
demo: $(STAMP)
	$(BIN)/adaptax run maml-sinusoid --preset default

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

# Speed figures (not tests): each script prints its own measurements.
bench: $(STAMP)
	$(BIN)/python benchmarks/maml_sinusoid.py
	$(BIN)/python benchmarks/rl2.py
	$(BIN)/python benchmarks/rl2_devices.py --devices 2
	$(BIN)/python benchmarks/seeds.py
	$(BIN)/python benchmarks/fewshot_conv.py
	$(BIN)/python benchmarks/fewshot_maml.py
	$(BIN)/python benchmarks/maml_rl.py --devices 2
	$(BIN)/python benchmarks/mujoco_sampler.py
	$(BIN)/python benchmarks/maze_env.py
	$(BIN)/python benchmarks/rl2_maze.py
	$(BIN)/python benchmarks/baselines.py --preset paper

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) runs .pytest_cache
