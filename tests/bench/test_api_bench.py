"""The API benchmark's plumbing: its docs section is rewritten between its own markers (the other
sections of the page untouched), and its servers run with the API settings at their defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
from accuracy.report import DOCS_BEGIN as ACCURACY_BEGIN
from accuracy.report import DOCS_END as ACCURACY_END
from bench_api import DOCS_BEGIN, DOCS_END, DOCS_PATH, SERVER_RUNS, server_env, write_docs_section

from tamales_inc.core.settings import Settings
from tests.conftest import settings_for


def test_the_api_section_is_rewritten_between_its_markers(tmp_path: Path) -> None:
    page = tmp_path / "benchmarks.md"
    accuracy = f"{ACCURACY_BEGIN}\n\naccuracy table\n\n{ACCURACY_END}"
    page.write_text(f"# B\n\n{accuracy}\n\n## API\n\n{DOCS_BEGIN}\nold\n{DOCS_END}\n\nreading\n")
    write_docs_section(page, "| new | table |\n")
    text = page.read_text()
    assert text == (
        f"# B\n\n{accuracy}\n\n## API\n\n{DOCS_BEGIN}\n\n| new | table |\n\n{DOCS_END}\n\nreading\n"
    )
    page.write_text("no markers\n")
    with pytest.raises(SystemExit, match="lacks the markers"):
        write_docs_section(page, "x")


def test_the_docs_page_has_the_api_markers_once() -> None:
    text = DOCS_PATH.read_text()
    assert text.count(DOCS_BEGIN) == text.count(DOCS_END) == 1
    assert text.index("## API") < text.index(DOCS_BEGIN) < text.index(DOCS_END)


def test_servers_run_with_the_default_api_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAMALES_API_RATE_LIMIT", "1/hour")  # would throttle the benchmark
    monkeypatch.setenv("TAMALES_API_MAX_BODY_BYTES", "10")
    settings = settings_for(tmp_path)
    default, _, limited = SERVER_RUNS
    env = server_env(settings, default.env)
    assert "TAMALES_API_RATE_LIMIT" not in env and "TAMALES_API_MAX_BODY_BYTES" not in env
    assert env["TAMALES_HOME"] == str(settings.home)
    assert Settings.from_env(env).api_rate_limit is None
    limit = Settings.from_env(server_env(settings, limited.env)).api_rate_limit
    assert limit == (1_000_000, 1)
