"""Benchmark `python -m tamales_inc.warehouse.transform` (dbt build, publish, exports) per scale.

For each scale (default 1, 100, 1000) the cached sample container (`data/bench/containers/`,
shared with the other benchmarks) is landed once into `data/bench/transform/scale-<n>/`; the
landed parquet is reused by later runs. The transform then runs in its
own subprocess (wall time from outside; peak RSS = the child's ru_maxrss), next to a bare
`dbt --version` start-up measured in the same run as the reference. Prints a Markdown table and
writes it to `bench/results/transform.md`.

    uv run python bench/bench_transform.py [--scales 1,100,1000] [--repeat 1] [--engine spark]

`--engine spark` times the Spark transform instead (dbt-spark, then the load into DuckDB; needs
the spark dependency group and Java) and writes `bench/results/transform-spark.md`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# bench/measure.py: this script's folder is first on sys.path when run as `python bench/...`
from measure import (
    BENCH_DIR,
    REPO_ROOT,
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

from tamales_inc.core.settings import ENGINES, Settings
from tamales_inc.warehouse.transform import LANDED_TABLES, landed_versions

TARGET_SECONDS = 60.0
TARGET_RSS_MB = 2048.0


def landed_home(scale: int) -> Path:
    """A TAMALES_HOME with the scale's sample landed (ingested from the cached container)."""
    home = BENCH_DIR / "transform" / f"scale-{scale}"
    if not all(landed_versions(Settings.from_env({"TAMALES_HOME": str(home)})).values()):
        container = sample_container(scale, "bench")
        print(f"bench: landing the scale-{scale} sample in {home}", flush=True)
        env = clean_env(TAMALES_HOME=str(home), TAMALES_SOURCE_DIR=str(container))
        subprocess.run(
            [sys.executable, "-m", "ingest", "--quiet"], env=env, cwd=REPO_ROOT, check=True
        )
    return home


def landed_lines(home: Path) -> int:
    """Sales lines of the latest version the transform reads (both sources)."""
    import duckdb

    total = 0
    for source, table in LANDED_TABLES[:2]:
        pattern = home / "raw" / source / "*" / f"{table}.parquet"
        (count,) = duckdb.sql(
            f"select count(*) from read_parquet('{pattern}') where data_version = "
            f"(select max(data_version) from read_parquet('{pattern}'))"
        ).fetchone()
        total += count
    return total


def dbt_version_startup() -> Measurement:
    """Wall time and peak RSS of a bare `dbt --version` (import + version check)."""
    dbt = Path(sys.executable).with_name("dbt")
    return measure([str(dbt), "--version"], clean_env())


def bench_scale(scale: int, repeat: int, engine: str = "duckdb") -> dict[str, float | int | str]:
    home = landed_home(scale)
    lines = landed_lines(home)
    runs = []
    for _ in range(repeat):
        env = clean_env(TAMALES_HOME=str(home))
        command = [sys.executable, "-m", "tamales_inc.warehouse.transform", "--force"]
        command += ["--engine", engine]
        runs.append(measure(command, env))
    best = fastest(runs)
    return {
        "scale": scale,
        "lines": lines,
        "seconds": best["seconds"],
        "rss": best["peak_rss_mb"],
        "summary": (best["stdout"].strip().splitlines() or [""])[-1],
    }


def table(results: list[dict[str, float | int | str]], startup: Measurement) -> str:
    dbt_s = startup["seconds"]
    head = [
        "scale",
        "sales lines (latest version)",
        "transform s",
        "transform peak RSS MB",
        "`dbt --version` s",
        "ratio (transform / dbt start-up)",
        "lines/s",
        "meets target",
    ]
    cells = []
    for r in results:
        seconds, rss = float(r["seconds"]), float(r["rss"])
        target = "-"
        if int(r["scale"]) == 1000:
            ok = seconds < TARGET_SECONDS and rss < TARGET_RSS_MB
            target = "yes" if ok else "no"
        cells.append(
            [
                r["scale"],
                f"{int(r['lines']):,}",
                f"{seconds:.1f}",
                f"{rss:,.0f}",
                f"{dbt_s:.1f}",
                f"{seconds / dbt_s:.1f}",
                f"{int(r['lines']) / seconds:,.0f}",
                target,
            ]
        )
    return markdown_table(head, "rrrrrrrc", cells)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the Markdown table."""
    parser = scale_parser("bench_transform", __doc__, "1,100,1000")
    parser.add_argument("--engine", choices=ENGINES, default="duckdb", help="transform engine")
    opts = parser.parse_args(argv)
    startup = dbt_version_startup()
    print(f"bench: bare `dbt --version` {startup['seconds']:.2f} s", flush=True)
    results = []
    for scale in opts.scales:
        result = bench_scale(scale, opts.repeat, opts.engine)
        print(
            f"bench: scale {scale}: transform {float(result['seconds']):.1f} s, "
            f"peak RSS {float(result['rss']):,.0f} MB | {result['summary']}",
            flush=True,
        )
        results.append(result)
    name = "transform" if opts.engine == "duckdb" else f"transform-{opts.engine}"
    write_results(name, f"{table(results, startup)}\n\n{measured_on()}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
