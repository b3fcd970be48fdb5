"""Benchmark every stage on one machine as the data grows: time and peak RSS per stage and scale.

Per scale (default 1, 100, 1000; `--scales 10000` opts into the ~110M-line sample, about 9 GB of
CSV and 45 minutes), each stage runs in its own measured subprocess (wall time from outside,
peak RSS = the child's ru_maxrss), one after the other on the same TAMALES_HOME:

  generate   `python -m ingest.sample --scale N` (into `data/bench/scale/`; it then becomes the
             cached container `data/bench/containers/scale-N` the other benchmarks share, or is
             deleted when that cache exists)
  ingest     `python -m ingest --quiet` from that container
  transform  `python -m tamales_inc.warehouse.transform --force`
  train      `python -m tamales_inc.forecasting.train --no-report`

Prints a Markdown table, writes it to `bench/results/scale.md` and into the `scale` section of
docs/benchmarks.md, where a row measured earlier at a scale not run this time is kept (so the
opt-in scale-10000 row survives a default run). The home is deleted afterwards (`--keep` keeps it).

    uv run python bench/bench_scale.py [--scales 1,100,1000] [--no-docs] [--keep]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

# bench/measure.py: this script's folder is first on sys.path when run as `python bench/...`
from measure import (
    BENCH_DIR,
    REPO_ROOT,
    Measurement,
    clean_env,
    markdown_table,
    measure,
    sample_name,
    write_results,
    write_section,
)

from ingest.parsing import count_lines

STAGES = ("generate", "ingest", "transform", "train")
DOCS_PATH = REPO_ROOT / "docs" / "benchmarks.md"
DOCS_BEGIN = "<!-- scale:start -->"
DOCS_END = "<!-- scale:end -->"
HEAD = [
    "scale",
    "CSV lines",
    "CSV MB",
    *(f"{stage} s / peak RSS MB" for stage in STAGES),
    "measured",
]


def stage_commands(scale: int, out: Path) -> dict[str, list[str]]:
    """The command of each stage at `scale`, generating into `out`."""
    python = sys.executable
    return {
        "generate": [python, "-m", "ingest.sample", "--scale", str(scale), "--out", str(out)],
        "ingest": [python, "-m", "ingest", "--quiet"],
        "transform": [python, "-m", "tamales_inc.warehouse.transform", "--force"],
        "train": [python, "-m", "tamales_inc.forecasting.train", "--no-report"],
    }


def csv_size(container: Path) -> tuple[int, float]:
    """CSV lines and megabytes in a container (read a file at a time)."""
    lines = size = 0
    for path in container.rglob("*.csv"):
        data = path.read_bytes()
        lines += count_lines(data)
        size += len(data)
    return lines, size / 1e6


def bench_scale(scale: int, keep: bool, memory_limit: str | None = None) -> list[object]:
    """Run the four stages at `scale`; the table row."""
    root = BENCH_DIR / "scale" / f"scale-{scale}"
    shutil.rmtree(root, ignore_errors=True)
    container, home = root / "container", root / "home"
    commands = stage_commands(scale, container)
    runs: dict[str, Measurement] = {}
    try:
        runs["generate"] = measure(commands["generate"], clean_env())
        print(f"bench: scale {scale}: generate {_cell(runs['generate'])}", flush=True)
        lines, megabytes = csv_size(container)
        env = clean_env(TAMALES_HOME=str(home), TAMALES_SOURCE_DIR=str(container))
        if memory_limit:
            env["TAMALES_DUCKDB_MEMORY_LIMIT"] = memory_limit
        for stage in STAGES[1:]:
            runs[stage] = measure(commands[stage], env)
            print(f"bench: scale {scale}: {stage} {_cell(runs[stage])}", flush=True)
    finally:
        cached = BENCH_DIR / "containers" / sample_name(scale)
        if container.is_dir() and not cached.exists():
            cached.parent.mkdir(parents=True, exist_ok=True)
            os.replace(container, cached)
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
    load = os.getloadavg()[0]
    measured = f"{time.strftime('%Y-%m-%d')}, load {load:.1f}"
    if memory_limit:
        measured += f", DuckDB memory limit {memory_limit}"
    return [
        scale,
        f"{lines:,}",
        f"{megabytes:,.0f}",
        *(_cell(runs[stage]) for stage in STAGES),
        measured,
    ]


def _cell(run: Measurement) -> str:
    return f"{run['seconds']:,.1f} / {run['peak_rss_mb']:,.0f}"


def earlier_rows(doc: str) -> dict[int, list[str]]:
    """The rows of the table in the docs section, by scale."""
    start, end = doc.find(DOCS_BEGIN), doc.find(DOCS_END)
    rows: dict[int, list[str]] = {}
    for line in doc[start:end].splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0].isdigit() and len(cells) == len(HEAD):
            rows[int(cells[0])] = cells
    return rows


def merged_table(rows: list[list[object]]) -> str:
    """This run's rows with the docs' rows of the other scales, by scale."""
    doc = DOCS_PATH.read_text(encoding="utf-8") if DOCS_PATH.is_file() else ""
    by_scale: dict[int, list[object]] = dict(earlier_rows(doc))  # type: ignore[arg-type]
    by_scale.update({int(str(row[0])): row for row in rows})
    align = "rrr" + "r" * len(STAGES) + "l"
    return markdown_table(HEAD, align, [by_scale[k] for k in sorted(by_scale)])


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the Markdown table."""
    parser = argparse.ArgumentParser(prog="bench-scale", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scales",
        default="1,100,1000",
        help="comma-separated sample scales (default 1,100,1000; 10000 is opt-in)",
    )
    parser.add_argument(
        "--duckdb-memory-limit",
        help="TAMALES_DUCKDB_MEMORY_LIMIT of the transform (default: the setting's default, 1GB)",
    )
    parser.add_argument("--no-docs", action="store_true", help="leave docs/benchmarks.md as is")
    parser.add_argument("--keep", action="store_true", help="keep each scale's home and container")
    args = parser.parse_args(argv)
    try:
        scales = [int(s) for s in args.scales.split(",") if s]
    except ValueError:
        parser.error(f"--scales: not comma-separated integers: {args.scales!r}")
    rows = [bench_scale(scale, args.keep, args.duckdb_memory_limit) for scale in scales]
    table = merged_table(rows)
    write_results("scale", table + "\n")
    if not args.no_docs:
        write_section(DOCS_PATH, DOCS_BEGIN, DOCS_END, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
