"""Project settings: one frozen object, the only reader of `TAMALES_*` and Azure variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

# Every environment variable the project reads, with what it means (README's configuration table).
ENVIRONMENT: dict[str, str] = {
    "TAMALES_HOME": "where every stage reads and writes (default ./data)",
    "TAMALES_BLOB_URL": "container URL with a read+list SAS token (the source, first choice)",
    "AZURE_STORAGE_CONNECTION_STRING": "account connection string (with TAMALES_CONTAINER)",
    "TAMALES_CONTAINER": "container name for the connection string",
    "TAMALES_SOURCE_DIR": "a local folder laid out like the container",
    "TAMALES_DEBUG": "1: a failing command prints its traceback",
    "TAMALES_API_HOST": "address the API listens on (default 127.0.0.1)",
    "TAMALES_API_PORT": "port the API listens on (default 8000)",
    "TAMALES_DUCKDB_MEMORY_LIMIT": "DuckDB memory limit of the transform (default 1GB)",
    "TAMALES_DBT_THREADS": "dbt threads of the transform (default 2)",
    "TAMALES_ENGINE": "engine the transform builds with: duckdb (default) or spark (docs/spark.md)",
    "TAMALES_KEEP_DATA_VERSIONS": "data versions `just gc` keeps (default 3)",
    "TAMALES_KEEP_MODELS": "model versions (and reports) `just gc` keeps (default 5)",
}
# Engines the dbt project builds on; the published warehouse is a DuckDB file either way.
ENGINES: tuple[str, ...] = ("duckdb", "spark")
INGEST_STATE_FILE = "ingest_state.json"
INGEST_RUNS_DIR = "runs"
INGEST_LOCK_FILE = ".ingest.lock"
DEFAULT_KEEP_DATA_VERSIONS = 3
DEFAULT_KEEP_MODELS = 5


def _load_dotenv(path: Path) -> dict[str, str]:
    """Read KEY=VALUE lines from a git-ignored `.env` file (no interpolation)."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip("'\"")
    return values


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _engine(value: str | None) -> str:
    engine = (value or "duckdb").strip().lower()
    if engine not in ENGINES:
        raise ValueError(f"TAMALES_ENGINE {value!r} is not one of {', '.join(ENGINES)}")
    return engine


def _port(value: str | None, default: int) -> int:
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"TAMALES_API_PORT {value!r} is not a port number") from None


def _count(name: str, value: str | None, default: int) -> int:
    if not value:
        return default
    try:
        count = int(value)
    except ValueError:
        count = 0
    if count < 1:
        raise ValueError(f"{name} {value!r} is not a whole number of at least 1")
    return count


@dataclass(frozen=True)
class Settings:
    """Where every stage reads and writes, and how; secrets are kept out of `repr`."""

    home: Path
    blob_url: str | None = field(default=None, repr=False)
    connection_string: str | None = field(default=None, repr=False)
    container: str | None = None
    source_dir: Path | None = None
    debug: bool = False
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    duckdb_memory_limit: str = "1GB"
    dbt_threads: int = 2
    keep_data_versions: int = DEFAULT_KEEP_DATA_VERSIONS
    keep_models: int = DEFAULT_KEEP_MODELS
    engine: str = "duckdb"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from `env`, or from the process environment plus a `.env` file."""
        merged = {**_load_dotenv(Path(".env")), **os.environ} if env is None else dict(env)
        source_dir = merged.get("TAMALES_SOURCE_DIR") or None
        return cls(
            home=Path(merged.get("TAMALES_HOME") or "data").resolve(),
            blob_url=merged.get("TAMALES_BLOB_URL") or None,
            connection_string=merged.get("AZURE_STORAGE_CONNECTION_STRING") or None,
            container=merged.get("TAMALES_CONTAINER") or None,
            source_dir=Path(source_dir).resolve() if source_dir else None,
            debug=_flag(merged.get("TAMALES_DEBUG")),
            api_host=merged.get("TAMALES_API_HOST") or "127.0.0.1",
            api_port=_port(merged.get("TAMALES_API_PORT"), 8000),
            duckdb_memory_limit=merged.get("TAMALES_DUCKDB_MEMORY_LIMIT") or "1GB",
            dbt_threads=int(merged.get("TAMALES_DBT_THREADS") or 2),
            keep_data_versions=_count(
                "TAMALES_KEEP_DATA_VERSIONS",
                merged.get("TAMALES_KEEP_DATA_VERSIONS"),
                DEFAULT_KEEP_DATA_VERSIONS,
            ),
            keep_models=_count(
                "TAMALES_KEEP_MODELS", merged.get("TAMALES_KEEP_MODELS"), DEFAULT_KEEP_MODELS
            ),
            engine=_engine(merged.get("TAMALES_ENGINE")),
        )

    @property
    def sample_container_dir(self) -> Path:
        return self.home / "sample_container"

    @property
    def raw_dir(self) -> Path:
        return self.home / "raw"

    @property
    def quarantine_dir(self) -> Path:
        return self.home / "quarantine"

    @property
    def manifests_dir(self) -> Path:
        return self.home / "manifests"

    @property
    def ingest_state_path(self) -> Path:
        """What the ingest has landed, per table and version (written by `ingest.manifest`)."""
        return self.manifests_dir / INGEST_STATE_FILE

    @property
    def ingest_lock_path(self) -> Path:
        """The ingest's lock: one ingest (or gc) at a time per TAMALES_HOME."""
        return self.manifests_dir / INGEST_LOCK_FILE

    @property
    def ingest_runs_dir(self) -> Path:
        """The ingest's run manifests, one JSON per run."""
        return self.manifests_dir / INGEST_RUNS_DIR

    @property
    def warehouse_dir(self) -> Path:
        return self.home / "warehouse"

    @property
    def warehouse_path(self) -> Path:
        return self.warehouse_dir / "tamales.duckdb"

    @property
    def processed_dir(self) -> Path:
        return self.home / "processed"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def dbt_dir(self) -> Path:
        return self.home / "dbt"

    @property
    def spark_dir(self) -> Path:
        return self.home / "spark"

    def raw_path(self, source: str, version: str, table: str) -> Path:
        return self.raw_dir / source / version / f"{table}.parquet"

    def quarantine_path(self, source: str, version: str, table: str) -> Path:
        return self.quarantine_dir / source / version / f"{table}.parquet"

    def processed_path(self, source: str, version: str, table: str) -> Path:
        return self.processed_dir / source / version / f"{table}.parquet"


def debug_enabled() -> bool:
    """Whether TAMALES_DEBUG asks failing commands for their traceback."""
    try:
        return Settings.from_env().debug
    except ValueError:
        return False
