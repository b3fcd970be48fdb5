"""Fingerprints of a stage's inputs: each named part hashed on its own, so a stage can skip a run
whose inputs did not change and say which part did when one changed.

Cheap by design (stdlib only, files read as bytes): the check runs before a stage imports its
heavy libraries.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

SKIPPED_DIRS = frozenset({"__pycache__", "target", "logs", "dbt_packages"})


def digest(value: object) -> str:
    """sha256 (hex) of `value` as canonical JSON (sorted keys; paths and dates as text)."""
    text = json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def files_digest(root: Path, suffixes: Iterable[str]) -> str:
    """sha256 over the relative path and bytes of every file under `root` whose name ends with
    one of `suffixes` (build folders such as `__pycache__` and dbt's `target` skipped)."""
    wanted = tuple(suffixes)
    sha = hashlib.sha256()
    paths = sorted(
        path
        for path in root.rglob("*")
        if path.is_file()
        and path.name.endswith(wanted)
        and not SKIPPED_DIRS.intersection(path.relative_to(root).parts)
    )
    for path in paths:
        sha.update(path.relative_to(root).as_posix().encode("utf-8") + b"\0")
        sha.update(hashlib.sha256(path.read_bytes()).digest())
    return sha.hexdigest()


def package_digest(package_dir: Path) -> str:
    """The code version of a Python package: the digest of its `.py` sources."""
    return files_digest(package_dir, (".py",))


def distribution_versions(*names: str) -> dict[str, str]:
    """Installed versions of the named distributions (`missing` for one not installed)."""
    versions: dict[str, str] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "missing"
    return versions


@dataclass(frozen=True)
class Fingerprint:
    """A stage's inputs as named part digests; `value` is the digest of them all."""

    parts: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, **parts: object) -> Fingerprint:
        """Digest each part (any JSON-able value)."""
        return cls({name: digest(value) for name, value in parts.items()})

    @property
    def value(self) -> str:
        return digest(self.parts)

    def changed(self, recorded: Mapping[str, str] | None) -> list[str]:
        """The parts that differ from a recorded fingerprint's (every part when none is)."""
        if not recorded:
            return sorted(self.parts)
        names = set(self.parts) | set(recorded)
        return sorted(name for name in names if self.parts.get(name) != recorded.get(name))

    def to_json(self) -> str:
        return json.dumps(self.parts, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> Fingerprint | None:
        """A recorded fingerprint, or None when `text` is empty or not one."""
        if not text:
            return None
        try:
            parts = json.loads(text)
        except ValueError:
            return None
        if not isinstance(parts, dict):
            return None
        return cls({str(k): str(v) for k, v in parts.items()})
