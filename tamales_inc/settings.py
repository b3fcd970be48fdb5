"""Project settings: one frozen object read from `TAMALES_*` environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

SOURCES: tuple[str, ...] = ("tamales_inc", "teinvento_inc")


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


@dataclass(frozen=True)
class Settings:
    """Where every stage reads and writes; secrets are kept out of `repr`."""

    home: Path
    blob_url: str | None = field(default=None, repr=False)
    connection_string: str | None = field(default=None, repr=False)
    container: str | None = None
    source_dir: Path | None = None

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Build settings from `env`, or from the process environment plus a `.env` file."""
        merged = {**_load_dotenv(Path(".env")), **os.environ} if env is None else dict(env)
        source_dir = merged.get("TAMALES_SOURCE_DIR") or None
        return cls(
            home=Path(merged.get("TAMALES_HOME") or "data").resolve(),
            blob_url=merged.get("TAMALES_BLOB_URL") or None,
            connection_string=merged.get("AZURE_STORAGE_CONNECTION_STRING") or None,
            container=merged.get("TAMALES_CONTAINER") or None,
            source_dir=Path(source_dir).resolve() if source_dir else None,
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

    def raw_path(self, source: str, version: str, table: str) -> Path:
        return self.raw_dir / source / version / f"{table}.parquet"

    def quarantine_path(self, source: str, version: str, table: str) -> Path:
        return self.quarantine_dir / source / version / f"{table}.parquet"

    def processed_path(self, source: str, version: str, table: str) -> Path:
        return self.processed_dir / source / version / f"{table}.parquet"
