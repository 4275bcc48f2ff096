# seq2func — the two commands: `make demo` and `make test` (both run `make setup` first).
SHELL := /bin/bash
export PATH := $(CURDIR)/.venv/bin:$(PATH)
PYTEST_ARGS ?=
OUTDIR ?= results

.PHONY: setup demo test test-unit test-pipeline image lint clean

setup:
	@bash tools/setup.sh

demo: setup
	nextflow run main.nf -profile test --outdir $(OUTDIR) -resume $$([ -t 1 ] || echo -ansi-log false)
	@echo ""
	@echo "Results: $(CURDIR)/$(OUTDIR)"
	@echo "Report:  $(CURDIR)/$(OUTDIR)/multiqc/multiqc_report.html"
	@echo "Nextflow execution report: $$(ls -t $(CURDIR)/$(OUTDIR)/pipeline_info/execution_report_*.html | head -1)"

test: setup
	python -m pytest $(PYTEST_ARGS)

test-unit: setup
	python -m pytest -m "not pipeline" $(PYTEST_ARGS)

test-pipeline: setup
	python -m pytest -m pipeline $(PYTEST_ARGS)

# the container image, with podman and no registry (tools/image.sh): localhost/seq2func/seq2func:<version>
image:
	@bash tools/image.sh

lint: setup
	hadolint containers/seq2func/Dockerfile

clean:
	rm -rf work .nextflow .nextflow.log* results
