# Tamales lakehouse: blobs -> raw parquet -> dbt warehouse -> forecaster -> REST API.
# Every recipe runs inside the uv-managed environment (`uv run just <recipe>`).

set dotenv-load := true

# List the recipes
default:
    @just --list --unsorted

# Run every stage on the configured source (the built-in sample when none is set)
build: ingest

# Land the blobs of every version as typed parquet (generates the sample container if no source is set)
ingest *args:
    python -m ingest {{args}}

# Write a sample container (e.g. `just sample --scale 100 --out /tmp/c`)
sample *args:
    python -m ingest.sample {{args}}

# Run the test suite (installs Azurite from package-lock.json first)
test *args:
    npm ci --no-audit --no-fund --silent
    python -m pytest {{args}}

# Lint and check formatting
lint:
    ruff check .
    ruff format --check .

# Run every benchmark and print the tables recorded in the README
bench: bench-ingest
