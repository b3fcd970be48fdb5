"""Benchmark `python -m ingest` against DuckDB's own CSV -> parquet COPY over the same files.

For each scale (default 1, 100, 1000) a local sample container is generated once and cached under
`data/bench/containers/`. Our ingest and the DuckDB reference then run in the same session, each in
its own subprocess (wall time from outside; peak RSS = the child's ru_maxrss). Prints a Markdown
table; the figure of merit is our rows/s divided by DuckDB's.

    uv run python bench/bench_ingest.py [--scales 1,100,1000] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = REPO_ROOT / "data" / "bench"
RESULTS = REPO_ROOT / "bench" / "results" / "ingest.md"

# The reference: DuckDB reads each table's CSV files with the contract's column types and writes one
# parquet file per table and version, all cores, default settings.
DUCKDB_REFERENCE = r"""
import sys, duckdb
from pathlib import Path
container, out = Path(sys.argv[1]), Path(sys.argv[2])
T = "tamales_inc/ventas_mensuales_tamales_inc/mx"
M = "teinvento_inc/ventas_reportadas_mercado_tamales/mx"
tables = {
    T + "/{v}/csv/*/*.csv": ("monthly_sales", {
        "year": "INTEGER", "month": "VARCHAR", "country": "VARCHAR",
        "calorie_category": "VARCHAR", "flavor": "VARCHAR", "zone": "VARCHAR",
        "product_code": "VARCHAR", "product_name": "VARCHAR", "sales": "DOUBLE"}),
    M + "/{v}/fact_table/part-*.csv": ("fact_table", {
        "year": "INTEGER", "month": "VARCHAR", "sales": "DOUBLE", "id_region": "BIGINT",
        "id_product": "BIGINT"}),
    M + "/{v}/product_dim/part-*.csv": ("product_dim", {
        "id_product": "BIGINT", "calorie_category": "VARCHAR", "product": "VARCHAR",
        "product_brand": "VARCHAR", "producer": "VARCHAR"}),
    M + "/{v}/region_dim/part-*.csv": ("region_dim", {
        "id_region": "BIGINT", "country": "VARCHAR", "region": "VARCHAR"}),
}
versions = sorted(p.name for p in (container / T).iterdir())
con = duckdb.connect()
con.execute("SET enable_progress_bar=false")
if len(sys.argv) > 3:
    con.execute(sys.argv[3])
rows = 0
for version in versions:
    for pattern, (table, columns) in tables.items():
        files = sorted(str(p) for p in container.glob(pattern.format(v=version)))
        target = out / version / f"{table}.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        con.execute(
            f"COPY (SELECT * FROM read_csv({files!r}, header=false, auto_detect=false, "
            f"delim=',', quote='\"', columns={columns!r})) TO '{target}' (FORMAT parquet)"
        )
        rows += con.execute(f"select count(*) from '{target}'").fetchone()[0]
print(rows)
"""


def measure(argv: list[str], env: dict[str, str] | None = None) -> dict[str, object]:
    """Run `argv` via this script's `_measure` mode: wall seconds and the child's peak RSS."""
    wrapper = [sys.executable, __file__, "_measure", "--", *argv]
    done = subprocess.run(wrapper, env=env, capture_output=True, text=True, cwd=REPO_ROOT)
    if done.returncode != 0:
        raise SystemExit(f"bench: {' '.join(argv[:3])} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _measure_child(argv: list[str]) -> int:
    started = time.perf_counter()
    child = subprocess.run(argv, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if child.returncode != 0:
        sys.stderr.write(child.stdout + child.stderr)
        return child.returncode
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = {
        "seconds": seconds,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "stdout": child.stdout,
    }
    print(json.dumps(result))
    return 0


def container_for(scale: int) -> Path:
    """The cached sample container at `scale` (generated on first use)."""
    target = BENCH_DIR / "containers" / f"scale-{scale}"
    if not target.is_dir():
        from ingest.sample import generate

        print(f"bench: generating the scale-{scale} sample container in {target}", flush=True)
        generate(target, scale=scale)
    return target


def count_lines(container: Path) -> int:
    total = 0
    for path in container.rglob("*.csv"):
        data = path.read_bytes()
        total += data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    return total


def bench_scale(scale: int, repeat: int) -> dict[str, object]:
    container = container_for(scale)
    size_mb = sum(p.stat().st_size for p in container.rglob("*.csv")) / 1e6
    rows = count_lines(container)
    ours: list[dict[str, object]] = []
    refs: list[dict[str, object]] = []
    refs_unordered: list[dict[str, object]] = []
    for _ in range(repeat):
        home = BENCH_DIR / "homes" / f"scale-{scale}"
        shutil.rmtree(home, ignore_errors=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TAMALES_", "AZURE_"))}
        env |= {"TAMALES_HOME": str(home), "TAMALES_SOURCE_DIR": str(container)}
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
            argv = [sys.executable, "-c", DUCKDB_REFERENCE, str(container), str(out)]
            ref = measure(argv + ([settings] if settings else []))
            if int(str(ref["stdout"]).split()[-1]) != rows:
                raise SystemExit(f"bench: DuckDB wrote {ref['stdout'].strip()} rows, not {rows}")
            bucket.append(ref)
    shutil.rmtree(BENCH_DIR / "homes" / f"scale-{scale}", ignore_errors=True)  # outputs only;
    shutil.rmtree(BENCH_DIR / "duckdb_out" / f"scale-{scale}", ignore_errors=True)  # inputs stay
    best = min(ours, key=lambda r: float(r["seconds"]))  # type: ignore[arg-type]
    ref = min(refs, key=lambda r: float(r["seconds"]))  # type: ignore[arg-type]
    ref2 = min(refs_unordered, key=lambda r: float(r["seconds"]))  # type: ignore[arg-type]
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
    lines = [
        "| scale | rows | CSV MB | ingest s | ingest rows/s | ingest peak RSS MB | DuckDB COPY s "
        "| DuckDB rows/s | DuckDB peak RSS MB | **ratio** (rows/s, ingest / DuckDB) "
        "| ratio, CPU time | ratio vs DuckDB unordered |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        rows, ours, ref, ref2 = (float(r[k]) for k in ("rows", "ours_s", "ref_s", "ref2_s"))
        cpu_ratio = float(r["ref_cpu"]) / float(r["ours_cpu"])
        lines.append(
            f"| {r['scale']} | {int(rows):,} | {float(r['csv_mb']):,.1f} | {ours:.2f} "
            f"| {rows / ours:,.0f} | {float(r['ours_rss']):,.0f} | {ref:.2f} | {rows / ref:,.0f} "
            f"| {float(r['ref_rss']):,.0f} | **{ref / ours:.2f}** | {cpu_ratio:.2f} "
            f"| {ref2 / ours:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the Markdown table."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:2] == ["_measure", "--"]:
        return _measure_child(args[2:])
    parser = argparse.ArgumentParser(prog="bench_ingest", description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1,100,1000", help="comma-separated sample scales")
    parser.add_argument("--repeat", type=int, default=1, help="runs per scale (best is kept)")
    opts = parser.parse_args(args)
    scales = [int(s) for s in opts.scales.split(",") if s]
    results = []
    for scale in scales:
        result = bench_scale(scale, opts.repeat)
        print(
            f"bench: scale {scale}: ingest {float(result['ours_s']):.2f} s, "
            f"DuckDB {float(result['ref_s']):.2f} s",
            flush=True,
        )
        results.append(result)
    markdown = table(results)
    load = os.getloadavg()[0]
    machine = (
        f"{os.cpu_count()} cores (1-min load average {load:.1f} at the end, shared with other "
        f"jobs), Python {sys.version.split()[0]}, best of {opts.repeat} per cell"
    )
    text = f"{markdown}\n\nMeasured {time.strftime('%Y-%m-%d')} on {machine}.\n"
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
