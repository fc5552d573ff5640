# Two commands for a newcomer: `make demo` and `make test`. Each builds the local virtual environment
# (.venv) first if it is missing or older than the requirement files.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint venv clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt requirements-nodeps.txt setup.py pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip setuptools wheel
	# torch first, so that basicsr (an sdist) builds against it instead of pulling a second copy
	$(BIN)/pip install -q $$(grep -E '^(torch|torchvision)==' requirements.txt)
	$(BIN)/pip install -q --no-build-isolation -r requirements.txt -r requirements-dev.txt
	$(BIN)/pip install -q --no-deps -r requirements-nodeps.txt
	$(BIN)/pip install -q --no-build-isolation --no-deps -e .
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python inference_codeformer.py -w 0.5 --has_aligned --input_path inputs/cropped_faces
	$(BIN)/python inference_codeformer.py -w 0.7 --input_path inputs/whole_imgs

lint: $(STAMP)
	$(BIN)/ruff check .

test: lint
	$(BIN)/python -m pytest -q tests

# everything but the tests marked slow (training, Ray, the browser, ONNX export, the longest subprocess runs)
test-fast: lint
	$(BIN)/python -m pytest -q -m "not slow" tests

clean:
	rm -rf $(VENV) results
