"""Benchmark `python -m tamales_inc.transform` (dbt build + publish + exports) at several scales.

For each scale (default 1, 100, 1000) the sample container is generated and landed once into
`data/bench/transform/scale-<n>/` (the container is deleted once landed; the landed parquet is
reused by later runs). The transform then runs in its
own subprocess (wall time from outside; peak RSS = the child's ru_maxrss), next to a bare
`dbt --version` start-up measured in the same run as the reference. Prints a Markdown table and
writes it to `bench/results/transform.md`.

    uv run python bench/bench_transform.py [--scales 1,100,1000] [--repeat 1]
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
RESULTS = REPO_ROOT / "bench" / "results" / "transform.md"
LANDED_TABLES = (
    ("tamales_inc", "monthly_sales"),
    ("teinvento_inc", "fact_table"),
    ("teinvento_inc", "product_dim"),
    ("teinvento_inc", "region_dim"),
)
TARGET_SECONDS = 60.0
TARGET_RSS_MB = 2048.0


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAMALES_", "AZURE_"))}
    env.update(extra)
    return env


def measure(argv: list[str], env: dict[str, str] | None = None) -> dict[str, float | str]:
    """Run `argv` via this script's `_measure` mode: wall seconds and the child's peak RSS."""
    wrapper = [sys.executable, __file__, "_measure", "--", *argv]
    done = subprocess.run(wrapper, env=env, capture_output=True, text=True, cwd=REPO_ROOT)
    if done.returncode != 0:
        raise SystemExit(f"bench: {' '.join(argv[:3])} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _measure_child(argv: list[str]) -> int:
    started = time.perf_counter()
    child = subprocess.run(argv, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if child.returncode != 0:
        sys.stderr.write(child.stdout[-3000:] + child.stderr[-3000:])
        return child.returncode
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    last_line = (child.stdout.strip().splitlines() or [""])[-1]
    print(json.dumps({"seconds": seconds, "peak_rss_mb": peak_kib / 1024, "summary": last_line}))
    return 0


def landed_home(scale: int) -> Path:
    """A TAMALES_HOME with the scale's sample landed (generated and ingested on first use)."""
    from ingest.sample import generate

    home = BENCH_DIR / "transform" / f"scale-{scale}"
    landed = all(list((home / "raw" / s).glob(f"*/{t}.parquet")) for s, t in LANDED_TABLES)
    if not landed:
        container = BENCH_DIR / "transform" / f"container-scale-{scale}"
        shutil.rmtree(container, ignore_errors=True)
        print(f"bench: generating and landing the scale-{scale} sample in {home}", flush=True)
        generate(container, scale=scale)
        env = _clean_env(TAMALES_HOME=str(home), TAMALES_SOURCE_DIR=str(container))
        subprocess.run(
            [sys.executable, "-m", "ingest", "--quiet"], env=env, cwd=REPO_ROOT, check=True
        )
        shutil.rmtree(container)
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


def dbt_version_startup() -> dict[str, float | str]:
    """Wall time and peak RSS of a bare `dbt --version` (import + version check)."""
    dbt = Path(sys.executable).with_name("dbt")
    return measure([str(dbt), "--version"], _clean_env())


def bench_scale(scale: int, repeat: int) -> dict[str, float | int | str]:
    home = landed_home(scale)
    lines = landed_lines(home)
    runs = []
    for _ in range(repeat):
        env = _clean_env(TAMALES_HOME=str(home))
        runs.append(measure([sys.executable, "-m", "tamales_inc.transform"], env))
    best = min(runs, key=lambda r: float(r["seconds"]))
    return {
        "scale": scale,
        "lines": lines,
        "seconds": float(best["seconds"]),
        "rss": float(best["peak_rss_mb"]),
        "summary": str(best["summary"]),
    }


def table(results: list[dict[str, float | int | str]], startup: dict[str, float | str]) -> str:
    dbt_s = float(startup["seconds"])
    lines = [
        "| scale | sales lines (latest version) | transform s | transform peak RSS MB "
        "| `dbt --version` s | ratio (transform / dbt start-up) | lines/s | meets target |",
        "|---:|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    for r in results:
        seconds, rss = float(r["seconds"]), float(r["rss"])
        target = "-"
        if int(r["scale"]) == 1000:
            ok = seconds < TARGET_SECONDS and rss < TARGET_RSS_MB
            target = "yes" if ok else "no"
        lines.append(
            f"| {r['scale']} | {int(r['lines']):,} | {seconds:.1f} | {rss:,.0f} | {dbt_s:.1f} "
            f"| {seconds / dbt_s:.1f} | {int(r['lines']) / seconds:,.0f} | {target} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the Markdown table."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:2] == ["_measure", "--"]:
        return _measure_child(args[2:])
    parser = argparse.ArgumentParser(prog="bench_transform", description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1,100,1000", help="comma-separated sample scales")
    parser.add_argument("--repeat", type=int, default=1, help="runs per scale (best is kept)")
    opts = parser.parse_args(args)
    scales = [int(s) for s in opts.scales.split(",") if s]
    startup = dbt_version_startup()
    print(f"bench: bare `dbt --version` {float(startup['seconds']):.2f} s", flush=True)
    results = []
    for scale in scales:
        result = bench_scale(scale, opts.repeat)
        print(
            f"bench: scale {scale}: transform {float(result['seconds']):.1f} s, "
            f"peak RSS {float(result['rss']):,.0f} MB | {result['summary']}",
            flush=True,
        )
        results.append(result)
    load = os.getloadavg()[0]
    machine = f"{os.cpu_count()} cores (1-min load average {load:.1f} at the end), "
    machine += f"Python {sys.version.split()[0]}"
    text = f"{table(results, startup)}\n\nMeasured {time.strftime('%Y-%m-%d')} on {machine}.\n"
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
