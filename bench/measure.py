"""Shared benchmark plumbing: measured child runs, sample containers, Markdown tables, results."""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TypedDict

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = REPO_ROOT / "data" / "bench"
RESULTS_DIR = REPO_ROOT / "bench" / "results"
ERROR_TAIL = 3000  # characters of a failed child's output shown
ALIGN = {"l": "---", "r": "---:", "c": ":---:"}


class Measurement(TypedDict):
    """One measured child run."""

    seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    stdout: str


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without TAMALES_* and AZURE_* variables, plus `extra`.

    PYTHONDONTWRITEBYTECODE is dropped too: with it set and no `.pyc` files, every measured
    process would compile polars' and dbt's sources first (about 0.4 s for polars alone), a
    cost no normally set-up Python pays twice; the reference's DuckDB is compiled code.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TAMALES_", "AZURE_")) and k != "PYTHONDONTWRITEBYTECODE"
    }
    env.update(extra)
    return env


def measure(argv: list[str], env: dict[str, str] | None = None) -> Measurement:
    """Run `argv` under this module's child mode: wall and CPU seconds, peak RSS, its stdout.

    The wrapper process runs `argv` as its only child, so its RUSAGE_CHILDREN is `argv`'s alone.
    """
    wrapper = [sys.executable, __file__, "--", *argv]
    done = subprocess.run(wrapper, env=env, capture_output=True, text=True, cwd=REPO_ROOT)
    if done.returncode != 0:
        raise SystemExit(f"bench: {' '.join(argv[:3])} failed:\n{done.stderr[-ERROR_TAIL:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _measure_child(argv: list[str]) -> int:
    """Run `argv` and print its Measurement as one JSON line (the wrapper side of `measure`)."""
    started = time.perf_counter()
    child = subprocess.run(argv, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if child.returncode != 0:
        sys.stderr.write(child.stdout[-ERROR_TAIL:] + child.stderr[-ERROR_TAIL:])
        return child.returncode
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    result: Measurement = {
        "seconds": seconds,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "stdout": child.stdout,
    }
    print(json.dumps(result))
    return 0


def fastest(runs: Iterable[Measurement]) -> Measurement:
    """The run with the least wall time."""
    return min(runs, key=lambda r: r["seconds"])


DEFAULT_SEED = 42  # the seed of `ingest.sample.generate`, i.e. of `just build`'s sample


def sample_name(scale: int, seed: int = DEFAULT_SEED) -> str:
    """`scale-<n>`, with `-seed-<k>` for a generator seed other than the default."""
    return f"scale-{scale}" if seed == DEFAULT_SEED else f"scale-{scale}-seed-{seed}"


def sample_container(
    scale: int, prog: str = "bench", seed: int = DEFAULT_SEED, series: int | None = None
) -> Path:
    """The cached sample container at `scale` (and generator `seed`, and `series` series when
    not the default), shared by the benchmarks (generated on first use)."""
    name = sample_name(scale, seed) + ("" if series is None else f"-series-{series}")
    target = BENCH_DIR / "containers" / name
    if not target.is_dir():
        from ingest.sample import generate

        print(f"{prog}: generating the {name} sample container in {target}", flush=True)
        extra = {} if series is None else {"series": series}
        generate(target, scale=scale, seed=seed, **extra)
    return target


def warehouse_is_current(warehouse: Path) -> bool:
    """Whether a cached warehouse exists and its feature mart has every column training reads
    (a warehouse built by older code is rebuilt)."""
    if not warehouse.is_file():
        return False
    import duckdb

    from tamales_inc.forecasting.data import check_columns

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        check_columns(con.execute("select * from marts.sales_features limit 0").pl())
    except (duckdb.CatalogException, ValueError):
        return False
    finally:
        con.close()
    return True


def _scale_list(text: str) -> list[int]:
    try:
        return [int(s) for s in text.split(",") if s]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not comma-separated integers: {text!r}") from None


def scale_parser(prog: str, doc: str, default_scales: str) -> argparse.ArgumentParser:
    """An argument parser with `--scales` (parsed to a list of ints) and `--repeat`."""
    parser = argparse.ArgumentParser(prog=prog, description=doc.splitlines()[0])
    parser.add_argument(
        "--scales", type=_scale_list, default=default_scales, help="comma-separated sample scales"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per scale (best is kept)")
    return parser


def markdown_table(head: Sequence[str], align: str, rows: Iterable[Sequence[object]]) -> str:
    """A Markdown table; `align` has a letter per column: l(eft), r(ight) or c(entre)."""

    def line(cells: Sequence[object]) -> str:
        return "| " + " | ".join(str(c) for c in cells) + " |"

    rule = "|" + "|".join(ALIGN[a] for a in align) + "|"
    return "\n".join([line(head), rule, *(line(r) for r in rows)])


def measured_on(load_note: str = "", extra: str = "") -> str:
    """The footer: `Measured <date> on <cores> cores (1-min load average ...), Python <version>.`"""
    load = os.getloadavg()[0]
    return (
        f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores (1-min load average "
        f"{load:.1f} at the end{load_note}), Python {sys.version.split()[0]}{extra}."
    )


def write_section(path: Path, begin: str, end: str, text: str) -> None:
    """Replace what lies between the markers `begin` and `end` of `path` with `text` (a page of
    the docs holds one generated table per benchmark, each between its own markers)."""
    from tamales_inc.core.files import write_text_atomic

    doc = path.read_text(encoding="utf-8")
    start, stop = doc.find(begin), doc.find(end)
    if start < 0 or stop < start:
        raise SystemExit(f"bench: {path} lacks the markers {begin} ... {end}")
    head = doc[: start + len(begin)]
    write_text_atomic(path, f"{head}\n\n{text.strip()}\n\n{doc[stop:]}")


def write_results(name: str, text: str) -> None:
    """Write `text` to bench/results/<name>.md and print it."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"{name}.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    if sys.argv[1:2] != ["--"]:
        raise SystemExit("usage: python bench/measure.py -- COMMAND [ARG ...]")
    sys.exit(_measure_child(sys.argv[2:]))
