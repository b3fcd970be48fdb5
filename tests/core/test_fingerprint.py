"""Input fingerprints: a part changes when its input does, and only then."""

from __future__ import annotations

from pathlib import Path

from tamales_inc.core.fingerprint import Fingerprint, files_digest, package_digest


def test_files_digest_follows_paths_and_bytes_and_skips_build_folders(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "a.sql").write_text("select 1\n")
    (tmp_path / "dbt_project.yml").write_text("name: x\n")
    before = files_digest(tmp_path, (".sql", ".yml"))
    (tmp_path / "target").mkdir()
    (tmp_path / "target" / "compiled.sql").write_text("select 2\n")  # dbt's output, not input
    (tmp_path / "models" / "notes.txt").write_text("not a project file")
    assert files_digest(tmp_path, (".sql", ".yml")) == before
    (tmp_path / "models" / "a.sql").write_text("select 1 \n")
    edited = files_digest(tmp_path, (".sql", ".yml"))
    assert edited != before
    (tmp_path / "models" / "a.sql").rename(tmp_path / "models" / "b.sql")
    assert files_digest(tmp_path, (".sql", ".yml")) not in (before, edited)


def test_package_digest_is_the_python_sources(tmp_path: Path) -> None:
    (tmp_path / "module.py").write_text("x = 1\n")
    before = package_digest(tmp_path)
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "module.cpython-311.pyc").write_bytes(b"\0\1")
    assert package_digest(tmp_path) == before
    (tmp_path / "module.py").write_text("x = 2\n")
    assert package_digest(tmp_path) != before


def test_changed_names_the_parts_that_differ() -> None:
    recorded = Fingerprint.of(landed={"v": "20200901"}, code="abc", params={"seed": 42})
    same = Fingerprint.of(params={"seed": 42}, code="abc", landed={"v": "20200901"})
    assert same.value == recorded.value and same.changed(recorded.parts) == []
    other = Fingerprint.of(landed={"v": "20200901"}, code="abd", params={"seed": 7})
    assert other.changed(recorded.parts) == ["code", "params"]
    assert other.changed(None) == ["code", "landed", "params"]
    assert Fingerprint.from_json(recorded.to_json()) == recorded
    assert Fingerprint.from_json("not json") is None and Fingerprint.from_json(None) is None
