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
    "TAMALES_API_MAX_BODY_BYTES": "largest request body the API reads, in bytes (default 65536)",
    "TAMALES_API_CORS_ORIGINS": (
        "comma-separated origins browsers may call the API from (default none: same origin only)"
    ),
    "TAMALES_API_RATE_LIMIT": (
        "requests allowed per client, e.g. 600/minute or 20/second (default off)"
    ),
    "TAMALES_DUCKDB_MEMORY_LIMIT": "DuckDB memory limit of the transform (default 1GB)",
    "TAMALES_DBT_THREADS": "dbt threads of the transform (default 2)",
    "TAMALES_CACHE_DIR": "caches kept between runs (default $TAMALES_HOME/cache)",
    "TAMALES_TRAIN_JOBS": "processes that fit the per-series models (default: the CPU count)",
    "TAMALES_ENGINE": "engine the transform builds with: duckdb (default) or spark (docs/spark.md)",
    "TAMALES_BLOB_TIMEOUT": "seconds the blob service may take to connect or to answer a read "
    "before the ingest retries (default 15; 3 retries)",
    "TAMALES_MAX_QUARANTINED_PER_BLOB": "largest share of a blob's lines the ingest may "
    "quarantine before it rejects the delivery, in percent (default 5)",
    "TAMALES_MAX_QUARANTINED_PER_TABLE": "largest share of a table's lines the ingest may "
    "quarantine before it rejects the delivery, in percent (default 1)",
    "TAMALES_ROWS_CHANGE": "allowed change of a table's row count against the previous landed "
    "version, in percent, as min,max (default -10,50)",
    "TAMALES_SALES_CHANGE": "allowed change of a table's sales total against the previous landed "
    "version, in percent, as min,max (default -10,50)",
    "TAMALES_KEEP_DATA_VERSIONS": "data versions `just gc` keeps (default 3)",
    "TAMALES_KEEP_MODELS": "training runs (each with every model version it registered and its "
    "report) `just gc` keeps (default 5)",
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


def _number(name: str, value: str | None, default: float, *, positive: bool = False) -> float:
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{name} {value!r} is not a number") from None
    if number != number or number in (float("inf"), float("-inf")) or (positive and number <= 0):
        raise ValueError(
            f"{name} {value!r} must be a finite{' positive' if positive else ''} number"
        )
    return number


def _range(name: str, value: str | None, default: tuple[float, float]) -> tuple[float, float]:
    """`min,max` percentages (`-10,50`); min <= 0 <= max."""
    if not value:
        return default
    low_text, comma, high_text = value.partition(",")
    if not comma:
        raise ValueError(f"{name} {value!r} is not min,max in percent (e.g. -10,50)")
    low, high = _number(name, low_text.strip(), 0.0), _number(name, high_text.strip(), 0.0)
    if not low <= 0 <= high:
        raise ValueError(f"{name} {value!r}: expected min <= 0 <= max (e.g. -10,50)")
    return low, high


def _percent(name: str, value: str | None, default: float) -> float:
    number = _number(name, value, default)
    if not 0 <= number <= 100:
        raise ValueError(f"{name} {value!r} is not a percentage between 0 and 100")
    return number


def _port(value: str | None, default: int) -> int:
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"TAMALES_API_PORT {value!r} is not a port number") from None


RATE_PERIODS: dict[str, int] = {"second": 1, "minute": 60, "hour": 3600}


def _positive_int(name: str, value: str | None, default: int) -> int:
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ValueError(f"{name} {value!r} is not a positive whole number")
    return number


def _origins(value: str | None) -> tuple[str, ...]:
    origins = tuple(o.strip().rstrip("/") for o in (value or "").split(",") if o.strip())
    for origin in origins:
        if origin != "*" and not origin.startswith(("http://", "https://")):
            raise ValueError(
                f"TAMALES_API_CORS_ORIGINS entry {origin!r} is not an origin like "
                "https://example.com (scheme, host and optional port) or *"
            )
    return origins


def _rate_limit(value: str | None) -> tuple[int, int] | None:
    """`<requests>/<second|minute|hour>` as (requests, seconds); None when unset or `off`."""
    text = (value or "").strip().lower()
    if text in {"", "off"}:
        return None
    count, _, period = text.partition("/")
    if not count.strip().isdigit() or int(count) < 1 or period.strip() not in RATE_PERIODS:
        raise ValueError(
            f"TAMALES_API_RATE_LIMIT {value!r} is not <requests>/<second|minute|hour> "
            "(e.g. 600/minute) or off"
        )
    return int(count), RATE_PERIODS[period.strip()]


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
    api_max_body_bytes: int = 65536
    api_cors_origins: tuple[str, ...] = ()
    api_rate_limit: tuple[int, int] | None = None  # (requests, per seconds) per client
    duckdb_memory_limit: str = "1GB"
    dbt_threads: int = 2
    cache_dir_override: Path | None = None
    train_jobs: int = 1
    keep_data_versions: int = DEFAULT_KEEP_DATA_VERSIONS
    keep_models: int = DEFAULT_KEEP_MODELS
    engine: str = "duckdb"
    blob_timeout: float = 15.0
    max_quarantined_per_blob: float = 5.0
    max_quarantined_per_table: float = 1.0
    rows_change: tuple[float, float] = (-10.0, 50.0)
    sales_change: tuple[float, float] = (-10.0, 50.0)

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
            api_max_body_bytes=_positive_int(
                "TAMALES_API_MAX_BODY_BYTES", merged.get("TAMALES_API_MAX_BODY_BYTES"), 65536
            ),
            api_cors_origins=_origins(merged.get("TAMALES_API_CORS_ORIGINS")),
            api_rate_limit=_rate_limit(merged.get("TAMALES_API_RATE_LIMIT")),
            duckdb_memory_limit=merged.get("TAMALES_DUCKDB_MEMORY_LIMIT") or "1GB",
            dbt_threads=int(merged.get("TAMALES_DBT_THREADS") or 2),
            cache_dir_override=Path(merged["TAMALES_CACHE_DIR"]).resolve()
            if merged.get("TAMALES_CACHE_DIR")
            else None,
            train_jobs=_positive_int(
                "TAMALES_TRAIN_JOBS", merged.get("TAMALES_TRAIN_JOBS"), os.cpu_count() or 1
            ),
            keep_data_versions=_positive_int(
                "TAMALES_KEEP_DATA_VERSIONS",
                merged.get("TAMALES_KEEP_DATA_VERSIONS"),
                DEFAULT_KEEP_DATA_VERSIONS,
            ),
            keep_models=_positive_int(
                "TAMALES_KEEP_MODELS", merged.get("TAMALES_KEEP_MODELS"), DEFAULT_KEEP_MODELS
            ),
            engine=_engine(merged.get("TAMALES_ENGINE")),
            blob_timeout=_number(
                "TAMALES_BLOB_TIMEOUT", merged.get("TAMALES_BLOB_TIMEOUT"), 15.0, positive=True
            ),
            max_quarantined_per_blob=_percent(
                "TAMALES_MAX_QUARANTINED_PER_BLOB",
                merged.get("TAMALES_MAX_QUARANTINED_PER_BLOB"),
                5.0,
            ),
            max_quarantined_per_table=_percent(
                "TAMALES_MAX_QUARANTINED_PER_TABLE",
                merged.get("TAMALES_MAX_QUARANTINED_PER_TABLE"),
                1.0,
            ),
            rows_change=_range(
                "TAMALES_ROWS_CHANGE", merged.get("TAMALES_ROWS_CHANGE"), (-10.0, 50.0)
            ),
            sales_change=_range(
                "TAMALES_SALES_CHANGE", merged.get("TAMALES_SALES_CHANGE"), (-10.0, 50.0)
            ),
        )

    @property
    def azurite_dir(self) -> Path:
        """Where `just azurite` keeps the local blob emulator's data."""
        return self.home / "azurite"

    @property
    def cache_dir(self) -> Path:
        return self.cache_dir_override or self.home / "cache"

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
