# GridPulse — `make run` sets everything up and starts the app; `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DATA ?= data
SCALE ?= district
PORT ?= 8501
export GRIDPULSE_DATA ?= $(DATA)

.PHONY: run dev run-db test demo check bench viewers pages soak cluster-bench lint clean-data

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

# The demo district is generated only when the data directory has no tables yet.
$(DATA)/grids.parquet: | $(VENV)/.installed
	$(PY) -m data_layer demo --out $(DATA) --scale $(SCALE)

# Streamlit's upload limit comes from the one setting, GRIDPULSE_UPLOAD_MAX_MB (docs/import.md).
# serve.py is app.py in Streamlit's ASGI mode (st.App) plus the session cookie's route
# (/_gp/session, docs/security.md); every launcher starts it.
run: $(VENV)/.installed $(DATA)/grids.parquet
	$(PY) -m streamlit run serve.py --server.port $(PORT) --server.maxUploadSize \
		"$$($(PY) -c 'from data_layer import settings; print(settings.upload_max_mb())')"

# For developing: `make run` with source watching back on (.streamlit/config.toml turns it off
# for production: the watcher costs every script run of every viewer), rerun on save.
dev: $(VENV)/.installed $(DATA)/grids.parquet
	$(PY) -m streamlit run serve.py --server.port $(PORT) --server.fileWatcherType auto \
		--server.runOnSave true --server.maxUploadSize \
		"$$($(PY) -c 'from data_layer import settings; print(settings.upload_max_mb())')"

# The live source (docs/live-source.md): a local PostgreSQL + PostGIS in $(PGDIR) (initdb once,
# a free port), the demo district loaded into it once, `simulate --db` writing beside the app,
# and the app reading the database. Ctrl-C stops the app and the simulation; the server keeps
# running (`$(PY) -m data_layer db local --dir $(PGDIR) --stop` stops it).
PGDIR ?= .pgdata
run-db: $(VENV)/.installed $(DATA)/grids.parquet
	@url=$$($(PY) -m data_layer db local --dir $(PGDIR)) || exit 1; \
	echo "live source: $$url"; \
	$(PY) -m data_layer db init --db "$$url" && \
	$(PY) -m data_layer db load --data $(DATA) --db "$$url" --if-empty && \
	{ $(PY) -m data_layer simulate --db "$$url" & sim=$$!; \
	  trap 'kill $$sim 2>/dev/null' EXIT INT TERM; \
	  GRIDPULSE_DATABASE_URL="$$url" $(PY) -m streamlit run serve.py --server.port $(PORT); }

test: $(VENV)/.installed
	$(PY) -m pytest

demo: $(VENV)/.installed
	$(PY) -m data_layer demo --out $(DATA) --scale $(SCALE)

check: $(VENV)/.installed
	$(PY) -m data_layer check --data $(DATA)

# Map load times (district and province; BENCH_ARGS="--scales district" for the quick one)
# the 1,000,000-row case import and the live source (first load of 1M cases, refreshes of 1,000
# changes; bench/db_bench.py); medians and ratios from one run. Last, every query of the
# Overview, Map and 案件办结 pages at province scale, fast and exact path (bench/queries.py).
# Then server CPU per view and viewers (bench/viewers.py) and page-ready on the real pages
# (bench/pages.py, below).
bench: $(VENV)/.installed
	$(PY) bench/run.py $(BENCH_ARGS)
	$(PY) bench/import_bench.py
	$(PY) bench/db_bench.py
	$(PY) bench/queries.py $(QUERIES_ARGS)
	$(PY) bench/viewers.py --scale all
	$(PY) bench/pages.py --scale all $(PAGES_ARGS)

# Server CPU per view and 10 concurrent viewers of the real app (district; the province too
# when bench/data-province exists), and the soak: live refresh every 10 s while simulate
# writes 60 cases a minute (SOAK_MINUTES=3 for a quick one). bench/README.md, issue #16.
viewers: $(VENV)/.installed
	$(PY) bench/viewers.py --scale all

# Page-ready on the real pages (issue #16): the first page after the server starts, Overview,
# Map and 案件办结 warm (median, p95), the repaint after a street and a period change, 20
# sessions' server RSS and the naive reference of the same scale; bench/results-pages.json.
# PAGES_ARGS="--scale province" for the province only (~15 min), "--sessions 5" for a quick one.
pages: $(VENV)/.installed
	$(PY) bench/pages.py --scale all $(PAGES_ARGS)

SOAK_MINUTES ?= 30
soak: $(VENV)/.installed
	$(PY) bench/soak.py --minutes $(SOAK_MINUTES)

# Scale-out on this machine (docs/deploy.md): PostgreSQL, 3 replicas behind nginx, 40 viewers
# in headless Chromium, one replica stopped mid-run; writes bench/results-cluster.json.
# CLUSTER_ARGS="--replicas 2 --viewers 8 --scale tiny" for a quick one. Not part of `make test`.
cluster-bench: $(VENV)/.installed
	$(PY) bench/cluster.py $(CLUSTER_ARGS)

lint: $(VENV)/.installed
	$(PY) -m ruff check . && $(PY) -m ruff format --check . && $(VENV)/bin/lint-imports
