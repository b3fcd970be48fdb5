# Tamales lakehouse: blobs -> raw parquet -> dbt warehouse -> forecaster -> REST API.
# Every recipe runs inside the uv-managed environment (`uv run just <recipe>`); options after a
# recipe's name reach its command (`just build --force`, `just docs --port 9000 --no-serve`), and
# `just <recipe> --help` shows them.

set dotenv-load := true
set positional-arguments := true
set quiet := true

# List the recipes
default:
    just --list --unsorted

# Run every stage, each skipped when its inputs did not change (`just build --force`, `--seed 7`, `--engine spark`)
build *args:
    python -m tamales_inc.operations.build "$@"

# Land each changed delivery whole or not at all as typed parquet (`--accept <version>` for a real change; the sample when no source is set)
ingest *args:
    python -m ingest "$@"

# Build the dbt warehouse from the landed parquet and publish it atomically (`--force`, `--data-version`)
transform *args:
    python -m tamales_inc.warehouse.transform "$@"

# Backtest the forecasters, register and promote the champion, forecast (`just train --seed 7`)
train *args:
    python -m tamales_inc.forecasting "$@"

# Show what is published: data version and age, latest month, model, forecasts, landed versions, last runs
status *args:
    python -m tamales_inc.operations.status "$@"

# List old data and model versions to delete, keeping what is in use (`just gc --apply` deletes them)
gc *args:
    python -m tamales_inc.operations.gc "$@"

# Generate the dbt docs of the published warehouse and serve them on 127.0.0.1 (`--port 8080`, `--no-serve`)
docs *args:
    python -m tamales_inc.warehouse.dbt_docs "$@"

# Open a read-only SQL shell on the published warehouse (`just sql -c "select ..."` runs one statement)
sql *args:
    python -m tamales_inc.warehouse.sql_shell "$@"

# Serve the REST API on 127.0.0.1:8000 (`just serve --host 0.0.0.0 --port 9000`); its OpenAPI docs at /schema
serve *args:
    python -m tamales_sales_service "$@"

# Write a sample container (e.g. `just sample --scale 100 --out /tmp/c`)
sample *args:
    python -m ingest.sample "$@"

# Start the pinned Azurite blob emulator on 127.0.0.1:10000 (data in $TAMALES_HOME/azurite; Ctrl-C stops it)
azurite *args:
    @exec python -m ingest.azurite "$@"

# Generate the sample and upload it to TAMALES_CONTAINER (default tamales-inc) of AZURE_STORAGE_CONNECTION_STRING
sample-upload *args:
    @python -m ingest.sample --connection-string "${AZURE_STORAGE_CONNECTION_STRING:-}" --container "${TAMALES_CONTAINER:-tamales-inc}" "$@"

# Print a read+list SAS URL for a container of AZURE_STORAGE_CONNECTION_STRING (`just sas tamales-inc --hours 8`)
sas *args:
    @python -m ingest.sas "$@"

# Run the test suite (installs the test-only services first; options go to pytest)
test *args: test-deps
    python -m pytest "$@"

# Install the test-only dependencies: Azurite and mermaid-cli (pinned in package-lock.json), the spark group (dbt-spark, pyspark; Java from Debian if missing) and Debian's Chromium
test-deps *args:
    #!/usr/bin/env bash
    set -euo pipefail
    if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
        echo "usage: just test-deps  (npm ci for Azurite and mermaid-cli; the spark group; java and chromium from apt when root and missing)"
        exit 0
    fi
    PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --silent
    uv sync --group spark --inexact --quiet
    command -v java >/dev/null || if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless >/dev/null; else echo "java not found (not root): the Spark equivalence test will be skipped"; fi
    command -v chromium >/dev/null || if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; else echo "chromium not found (not root): the docs-page browser test will be skipped"; fi

# Open the EDA notebook (marimo) on 127.0.0.1 over the data of $TAMALES_HOME (`just eda --port 2719`)
eda *args:
    marimo edit notebooks/eda.py --host 127.0.0.1 "$@"

# Render every Mermaid diagram of README.md and docs/ to SVG under docs/_diagrams/ (`just diagrams --out /tmp/d`)
diagrams *args:
    python docs/diagrams.py "$@"

# Lint and check formatting (options go to `ruff check`, e.g. `just lint --fix`)
lint *args:
    ruff check . "$@"
    ruff format --check .

# Run every benchmark and print the tables recorded in docs/benchmarks.md
bench: bench-ingest bench-transform bench-train bench-api bench-accuracy bench-noop bench-scale

# Time and peak RSS of each stage (generate, ingest, transform, train) at scales 1, 100, 1000 (`--scales 10000` opts into the 110M-line run)
bench-scale *args:
    python bench/bench_scale.py "$@"

# Time a no-op `just build` (nothing changed) next to a full one at scale 1 (`--repeat 5`)
bench-noop *args:
    python bench/bench_noop.py "$@"

# Benchmark the ingest against DuckDB's CSV->parquet COPY at scales 1, 100, 1000 (`--scales 1,100`)
bench-ingest *args:
    python bench/bench_ingest.py "$@"

# Benchmark the transform (dbt build + publish) at scales 1, 100, 1000 next to `dbt --version` (`--scales 1,100`)
bench-transform *args:
    python bench/bench_transform.py "$@"

# Benchmark training + backtest at 31 and 1,000 series, the accuracy table, and accuracy on 5 other sample seeds (`--series 31 --seeds ''`)
bench-train *args:
    python bench/bench_train.py "$@"

# Score the champion, every candidate and statsforecast's AutoETS on real public series, held out after each cut-off (`--sets departures --cutoffs 1`)
bench-accuracy *args:
    python bench/bench_accuracy.py "$@"

# Load-test the API on loopback (wrk, apt-installed when root) against the same queries run in-process, and POST /predictions per model family
bench-api *args:
    @command -v wrk >/dev/null || if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq wrk >/dev/null; else echo "wrk not found (not root): the load generator falls back to bench_api.py's asyncio client"; fi
    python bench/bench_api.py "$@"
