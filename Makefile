# make run   - set up .venv from the lock and run the pipeline on the bundled demo data
# make test  - set up .venv from the lock and run the test suite
# make test-fast - the unit and executor tests only (pytest -m "not slow"): no pipeline runs, for everyday work
# Needs only Python 3.10 or 3.11 with pip; uv comes from PyPI into the venv when it is not on PATH.

PYTHON ?= $(shell command -v python3.11 || command -v python3.10 || command -v python3)
VENV := .venv
VPY := $(VENV)/bin/python
UV_VERSION := 0.13.9
STAMP := $(VENV)/.installed-$(shell cat requirements.lock setup.py | cksum | cut -d' ' -f1)

.PHONY: install run test test-fast benchmarks demo-data demo-loop clean image

install: $(STAMP)

$(STAMP): requirements.lock setup.py
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if v in ((3, 10), (3, 11)) else \
		"tfx-datacentric needs Python 3.10 or 3.11 (TFX 1.16); $(PYTHON) is %d.%d. Run: make PYTHON=python3.11" % v)'
	@test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	@command -v uv >/dev/null 2>&1 && ln -sf "$$(command -v uv)" $(VENV)/bin/uv || \
		$(VPY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	@echo "Installing the locked TFX 1.16 stack into $(VENV) ..."
	@# Bytecode now, once: with PYTHONDONTWRITEBYTECODE set (as on our CI machines) every process, Beam workers
	@# included, would otherwise recompile about 10,000 modules, some 30 s, on each start.
	$(VENV)/bin/uv pip install --python $(VPY) --quiet --no-deps --compile-bytecode -r requirements.lock
	$(VENV)/bin/uv pip install --python $(VPY) --quiet --no-deps -e .
	@rm -f $(VENV)/.installed-*
	@touch $@

run: $(STAMP)
	$(VPY) -m pipeline run $(ARGS)

test: $(STAMP)
	$(VPY) -m pytest $(ARGS)

test-fast: $(STAMP)
	$(VPY) -m pytest -m "not slow" $(ARGS)

# One turn of the data-centric loop: run 1, a scripted (simulated) review of the queue, run 2, what changed
demo-loop: $(STAMP)
	$(VPY) -m pipeline.demo_loop $(ARGS)

demo-data: $(STAMP)
	$(VPY) data/make_demo.py

# make image IMAGE=gcr.io/PROJECT/tfx-datacentric:0.1.0 - the Kubeflow task image (Dockerfile, docs/kubeflow.md)
IMAGE ?= tfx-datacentric:latest
image:
	@docker info >/dev/null 2>&1 || { echo "make image needs a running Docker engine ('docker info' failed here)." \
		"Build where Docker runs, or remotely: gcloud builds submit --tag $(IMAGE) ."; exit 1; }
	docker build -t $(IMAGE) .

clean:
	rm -rf outputs
