# conflictmap: the verbs. `make run` and `make test` work on a fresh Debian 12 machine.
SHELL := /bin/bash
PY := .venv/bin/python
MANAGE := $(PY) manage.py

.PHONY: run test setup setup-test lint format check migrate demo

## run: install what is missing, migrate, load the demo once, start web + worker + beat
run: setup
	scripts/run.sh

## test: the same setup, then lint, Django's checks and the whole suite against real PostGIS
test: setup-test
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	$(MANAGE) check
	$(MANAGE) makemigrations --check --dry-run
	DEBUG=false SECRET_KEY=check-deploy-$$RANDOM$$RANDOM$$RANDOM$$RANDOM$$RANDOM-not-used-anywhere \
	  ALLOWED_HOSTS=conflictmap.example $(MANAGE) check --deploy --fail-level WARNING
	.venv/bin/pytest

setup:
	scripts/setup.sh

setup-test:
	scripts/setup.sh --test

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

format:
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

migrate: setup
	$(MANAGE) migrate --noinput

demo: migrate
	$(MANAGE) load_demo

.PHONY: lock
## lock: pin the whole Python dependency tree (pyproject.toml's ranges with the dev extras, and the
## build backend of build-system.requires, read from stdin) with hashes into requirements.lock,
## keeping every pin that still fits; `make lock UPGRADE="django celery"` moves those packages to
## their newest allowed versions. One universal resolution: environment markers keep what only some
## Python 3.11 releases or platforms need (async-timeout below 3.11.3, as on Debian 12's 3.11.2).
## Not behind `setup`: it is how a lock that is out of step with pyproject.toml gets fixed.
lock:
	@test -x .venv/bin/uv || { echo "no .venv/bin/uv: run make setup first" >&2; exit 1; }
	$(PY) -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"], sep="\n")' \
	| .venv/bin/uv pip compile pyproject.toml - --extra dev --universal --python-version 3.11 \
	  --generate-hashes --custom-compile-command "make lock" --quiet --output-file requirements.lock \
	  $(addprefix --upgrade-package ,$(UPGRADE))

.PHONY: vendor
## vendor: copy the pinned npm front-end libraries (package-lock.json) into static/vendor/ (committed)
vendor:
	scripts/vendor.sh

.PHONY: bench bench-api bench-ingest bench-extract bench-transfer bench-map
## bench: benchmarks (each prints a table; not part of `make test`)
bench: bench-api bench-ingest bench-extract bench-transfer

## bench-ingest: extraction reports/s on 1,000 generated ~600-word articles, ACLED rows/s on
## 100,000 synthetic rows (in a transaction that is rolled back)
bench-ingest: setup
	$(PY) bench/ingest_bench.py

## bench-api: export of 1M synthetic events vs ogr2ogr and a bare COPY; zones/tiles/control p50/p99
## over HTTP (2 gunicorn workers). Uses DATABASE_URL's database name + "_bench" (created and filled).
bench-api: setup
	$(PY) bench/api_bench.py $(BENCH_ARGS)

## bench-transfer: "move the front" preview and commit of a 20-place move on 5,000 synthetic zone
## versions. Uses DATABASE_URL's database name + "_transfer_bench"; writes bench-results/transfer.json
bench-transfer: setup
	$(PY) bench/transfer_bench.py $(TRANSFER_BENCH_ARGS)

## bench-extract: extraction quality (P/R/F1 per field and whole events, per language) and
## reports/s on the labelled corpus tests/data/extraction/; writes bench-results/extract.json
bench-extract: setup
	$(PY) bench/extract_bench.py

.PHONY: bench-map
## bench-map: the map page in Chromium (Playwright) on the bench database (filled as bench-api
## fills it): first paint of zones (ms, bytes), slider step to painted frame (median, p90),
## all-years event view; 4 gunicorn workers, production settings. BENCH_ARGS="--versions 50000"
## for another size, "--root DIR --label before" to measure another checkout on the same data.
bench-map: setup
	$(PY) bench/map_bench.py $(BENCH_ARGS)

.PHONY: loadtest
## loadtest: 200 visitors of the map at once for 60 s (locust headless, bench/locustfile.py) against
## gunicorn on the loopback, on the bench database (filled as bench-api fills it, reused when
## filled; LOADTEST_ARGS=--demo for DATABASE_URL's own); prints req/s and p50/p99 per endpoint,
## writes bench-results/loadtest.json, fails on any error or timeout. Not part of `make test`.
loadtest: setup
	$(PY) bench/loadtest.py $(LOADTEST_ARGS)

.PHONY: messages
## messages: update the Arabic catalogue (conflictmap/locale/ar) from the templates and code, then
## compile it; the .po and the .mo are committed, so running the site needs no gettext (needs the
## Debian package gettext: `apt-get install -y gettext`)
MESSAGES_IGNORE := --ignore=.venv --ignore=node_modules --ignore=static/vendor --ignore=var \
	--ignore=tests --ignore=bench --ignore=bench-results --ignore=screenshots --ignore=docs \
	--ignore=conflictmap.egg-info
messages:
	$(MANAGE) makemessages -l ar --no-obsolete --add-location=file $(MESSAGES_IGNORE)
	$(MANAGE) compilemessages -l ar $(MESSAGES_IGNORE)
