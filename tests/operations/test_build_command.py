"""`just build` and the justfile: options reach the stages that take them, every recipe is
listed, documented and answers --help, and recipe commands are not echoed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tamales_inc.core.errors import UsageError
from tamales_inc.operations.build import help_text, main, split_args, stages
from tests.conftest import REPO_ROOT

JUST = Path(sys.executable).with_name("just")
# recipes whose --help is checked (`test` would reinstall node_modules under running tests;
# `bench-api` may apt-get install wrk first)
HELP_SKIPPED = {"default", "test", "bench", "bench-api"}


def _just(*args: str, home: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": f"{JUST.parent}{os.pathsep}/usr/bin:/bin",
        "TAMALES_HOME": str(home),
        "HOME": str(home),
    }
    return subprocess.run(
        [str(JUST), *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_each_stage_gets_the_options_it_takes() -> None:
    shares = split_args(
        ["-q", "--force", "--seed", "7", "--data-version=20200801", "--workers", "2"], stages()
    )
    assert shares == {
        "ingest": ["-q", "--workers", "2"],
        "transform": ["-q", "--force", "--data-version=20200801"],
        "train": ["-q", "--force", "--seed", "7"],
    }
    assert split_args([], stages()) == {"ingest": [], "transform": [], "train": []}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--colour"], "no stage takes --colour; see `just build --help`"),
        (["--seed"], "--seed needs a value"),
        (["20200801"], "unexpected argument '20200801': `just build` takes options only"),
    ],
)
def test_bad_build_options_are_usage_errors(argv: list[str], message: str, capsys) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        split_args(argv, stages())
    assert main(argv) == 2
    assert capsys.readouterr().err == f"build: error: {message}\n"


def test_build_help_lists_every_stage_option(capsys) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert out == help_text(stages()) + "\n"
    for option in ("--workers", "--data-version", "--allow-mixed-versions", "--force", "--seed"):
        assert option in out
    assert out.index("transform options:") < out.index("--allow-mixed-versions")


def _recipes() -> list[str]:
    names = []
    for line in (REPO_ROOT / "justfile").read_text(encoding="utf-8").splitlines():
        found = re.match(r"^([a-z][a-z-]*)( [^:=]*)?:(?!=)", line)
        if found:
            names.append(found.group(1))
    return names


def test_every_recipe_is_listed_and_in_the_readme(tmp_path: Path) -> None:
    recipes = _recipes()
    assert {"build", "status", "gc", "docs", "train", "transform"} <= set(recipes)
    listed = _just("--list", "--unsorted", home=tmp_path)
    assert listed.returncode == 0, listed.stderr
    shown = [line.split()[0] for line in listed.stdout.splitlines()[1:]]
    assert shown == recipes
    for line in listed.stdout.splitlines()[1:]:
        assert "#" in line, f"recipe without a comment line: {line}"
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    missing = [name for name in recipes if f"just {name}" not in readme and name != "default"]
    assert missing == []


def test_every_recipe_answers_help_without_echoing_commands(tmp_path: Path) -> None:
    for recipe in _recipes():
        if recipe in HELP_SKIPPED:
            continue
        done = _just(recipe, "--help", home=tmp_path)
        assert done.returncode == 0, f"just {recipe} --help: {done.stderr}"
        assert "usage" in done.stdout.lower(), recipe
        assert "python -m" not in done.stderr and "python bench" not in done.stderr, recipe
    # `docs` takes the module's own options (it used to take a bare port only)
    docs = _just("docs", "--help", home=tmp_path)
    assert "--no-serve" in docs.stdout and "--port" in docs.stdout
