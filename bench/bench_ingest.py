"""Benchmark `python -m ingest` against DuckDB's own CSV -> parquet COPY over the same files.

For each scale (default 1, 100, 1000) a local sample container is generated once and cached under
`data/bench/containers/`. Our ingest and the DuckDB reference then run in the same session, each in
its own subprocess (wall time from outside; peak RSS = the child's ru_maxrss). Prints a Markdown
table; the figure of merit is our rows/s divided by DuckDB's.

    uv run python bench/bench_ingest.py [--scales 1,100,1000] [--repeat 1]
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import duckdb
import polars as pl

# bench/measure.py: this script's folder is first on sys.path when run as `python bench/...`
from measure import (
    BENCH_DIR,
    Measurement,
    clean_env,
    fastest,
    markdown_table,
    measure,
    measured_on,
    sample_container,
    scale_parser,
    write_results,
)

from ingest.contract import MONTHLY_SALES, TABLES, TableSpec
from ingest.parsing import count_lines as lines_in
from ingest.sample.catalog import TAMALES_INC_DIR, TEINVENTO_DIR

# The reference: DuckDB reads each table's CSV files with the contract's column types and writes one
# parquet file per table and version, all cores, default settings. Its work list comes as JSON in
# argv[3] (see `reference_jobs`), so the child imports nothing but duckdb.
DUCKDB_REFERENCE = r"""
import json, sys, duckdb
from pathlib import Path
container, out, jobs = Path(sys.argv[1]), Path(sys.argv[2]), json.loads(sys.argv[3])
con = duckdb.connect()
con.execute("SET enable_progress_bar=false")
if len(sys.argv) > 4:
    con.execute(sys.argv[4])
rows = 0
for pattern, name, columns in jobs:
    files = sorted(str(p) for p in container.glob(pattern))
    target = out / name
    target.parent.mkdir(parents=True, exist_ok=True)
    con.execute(
        f"COPY (SELECT * FROM read_csv({files!r}, header=false, auto_detect=false, "
        f"delim=',', quote='\"', columns={columns!r})) TO '{target}' (FORMAT parquet)"
    )
    rows += con.execute(f"select count(*) from '{target}'").fetchone()[0]
print(rows)
"""


def duckdb_types(spec: TableSpec) -> dict[str, str]:
    """The DuckDB type of each contract column: DuckDB's own mapping of its polars dtype."""
    empty = pl.DataFrame(schema={column.name: column.dtype for column in spec.columns})
    relation = duckdb.from_arrow(empty.to_arrow())
    return {name: str(dtype) for name, dtype in zip(relation.columns, relation.types, strict=True)}


def reference_jobs(container: Path) -> list[tuple[str, str, dict[str, str]]]:
    """The reference's work list: (CSV glob, `<version>/<table>.parquet`, column types) per
    data version in the container and contract table.
    """
    versions = sorted(path.name for path in (container / TAMALES_INC_DIR).iterdir())
    jobs: list[tuple[str, str, dict[str, str]]] = []
    for version in versions:
        for spec in TABLES.values():
            if spec is MONTHLY_SALES:
                pattern = f"{TAMALES_INC_DIR}/{version}/csv/*/*.csv"
            else:
                pattern = f"{TEINVENTO_DIR}/{version}/{spec.table}/part-*.csv"
            jobs.append((pattern, f"{version}/{spec.table}.parquet", duckdb_types(spec)))
    return jobs


def count_lines(container: Path) -> int:
    return sum(lines_in(path.read_bytes()) for path in container.rglob("*.csv"))


def bench_scale(scale: int, repeat: int) -> dict[str, object]:
    container = sample_container(scale)
    size_mb = sum(p.stat().st_size for p in container.rglob("*.csv")) / 1e6
    rows = count_lines(container)
    jobs = json.dumps(reference_jobs(container))
    ours: list[Measurement] = []
    refs: list[Measurement] = []
    refs_unordered: list[Measurement] = []
    for _ in range(repeat):
        home = BENCH_DIR / "homes" / f"scale-{scale}"
        shutil.rmtree(home, ignore_errors=True)
        env = clean_env(TAMALES_HOME=str(home), TAMALES_SOURCE_DIR=str(container))
        run = measure([sys.executable, "-m", "ingest", "--quiet"], env)
        state = json.loads((home / "manifests" / "ingest_state.json").read_text())
        landed = sum(t["rows_read"] for t in state["tables"].values())
        if landed != rows:
            raise SystemExit(f"bench: ingest read {landed} rows, the files hold {rows}")
        ours.append(run)
        out = BENCH_DIR / "duckdb_out" / f"scale-{scale}"
        unordered = "SET preserve_insertion_order=false"
        for settings, bucket in (("", refs), (unordered, refs_unordered)):
            shutil.rmtree(out, ignore_errors=True)
            argv = [sys.executable, "-c", DUCKDB_REFERENCE, str(container), str(out), jobs]
            ref = measure(argv + ([settings] if settings else []))
            if int(ref["stdout"].split()[-1]) != rows:
                raise SystemExit(f"bench: DuckDB wrote {ref['stdout'].strip()} rows, not {rows}")
            bucket.append(ref)
    shutil.rmtree(BENCH_DIR / "homes" / f"scale-{scale}", ignore_errors=True)  # outputs only;
    shutil.rmtree(BENCH_DIR / "duckdb_out" / f"scale-{scale}", ignore_errors=True)  # inputs stay
    best, ref, ref2 = fastest(ours), fastest(refs), fastest(refs_unordered)
    return {
        "scale": scale,
        "rows": rows,
        "csv_mb": size_mb,
        "ours_s": best["seconds"],
        "ours_cpu": best["cpu_seconds"],
        "ours_rss": best["peak_rss_mb"],
        "ref_s": ref["seconds"],
        "ref_cpu": ref["cpu_seconds"],
        "ref_rss": ref["peak_rss_mb"],
        "ref2_s": ref2["seconds"],
    }


def table(results: list[dict[str, object]]) -> str:
    head = [
        "scale",
        "rows",
        "CSV MB",
        "ingest s",
        "ingest rows/s",
        "ingest peak RSS MB",
        "DuckDB COPY s",
        "DuckDB rows/s",
        "DuckDB peak RSS MB",
        "**ratio** (rows/s, ingest / DuckDB)",
        "ratio, CPU time",
        "ratio vs DuckDB unordered",
    ]
    cells = []
    for r in results:
        rows, ours, ref, ref2 = (float(r[k]) for k in ("rows", "ours_s", "ref_s", "ref2_s"))
        cells.append(
            [
                r["scale"],
                f"{int(rows):,}",
                f"{float(r['csv_mb']):,.1f}",
                f"{ours:.2f}",
                f"{rows / ours:,.0f}",
                f"{float(r['ours_rss']):,.0f}",
                f"{ref:.2f}",
                f"{rows / ref:,.0f}",
                f"{float(r['ref_rss']):,.0f}",
                f"**{ref / ours:.2f}**",
                f"{float(r['ref_cpu']) / float(r['ours_cpu']):.2f}",
                f"{ref2 / ours:.2f}",
            ]
        )
    return markdown_table(head, "r" * len(head), cells)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the Markdown table."""
    opts = scale_parser("bench_ingest", __doc__, "1,100,1000").parse_args(argv)
    results = []
    for scale in opts.scales:
        result = bench_scale(scale, opts.repeat)
        print(
            f"bench: scale {scale}: ingest {float(result['ours_s']):.2f} s, "
            f"DuckDB {float(result['ref_s']):.2f} s",
            flush=True,
        )
        results.append(result)
    footer = measured_on(", shared with other jobs", f", best of {opts.repeat} per cell")
    write_results("ingest", f"{table(results)}\n\n{footer}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
