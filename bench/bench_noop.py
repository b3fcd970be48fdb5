"""Benchmark a no-op `just build` (nothing changed since the last build) next to a full one.

On the cached scale-1 sample container (`data/bench/containers/`, shared with the other
benchmarks), in `data/bench/noop/scale-1/`: a full `just build` from an empty TAMALES_HOME
(ingest, dbt build + publish, training), then `--repeat` no-op `just build` runs, each stage of
a no-op run on its own, and the no-op through `uv run` as a user types it. Every run is its own
subprocess (wall time from outside; CPU time and peak RSS of the child). Prints a Markdown
table, writes it to `bench/results/noop.md` and between the `noop` markers of
docs/benchmarks.md.

    uv run python bench/bench_noop.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
from pathlib import Path

# bench/measure.py: this script's folder is first on sys.path when run as `python bench/...`
from measure import (
    BENCH_DIR,
    REPO_ROOT,
    Measurement,
    clean_env,
    markdown_table,
    measure,
    measured_on,
    sample_container,
    write_results,
    write_section,
)

from tamales_inc.core.files import remove_path

TARGET_SECONDS = 3.0
DOCS_PATH = REPO_ROOT / "docs" / "benchmarks.md"
DOCS_BEGIN = "<!-- noop:start -->"
DOCS_END = "<!-- noop:end -->"
JUST = str(Path(sys.executable).with_name("just"))
STAGES = {
    "ingest (no-op)": [sys.executable, "-m", "ingest"],
    "transform (no-op)": [sys.executable, "-m", "tamales_inc.warehouse.transform"],
    "train (no-op)": [sys.executable, "-m", "tamales_inc.forecasting"],
}


def _row(name: str, runs: list[Measurement]) -> list[object]:
    best = min(runs, key=lambda run: run["seconds"])
    median = statistics.median(run["seconds"] for run in runs)
    last = (best["stdout"].strip().splitlines() or [""])[-1]
    return [
        name,
        len(runs),
        f"{best['seconds']:.2f}",
        f"{median:.2f}",
        f"{best['cpu_seconds']:.2f}",
        f"{best['peak_rss_mb']:.0f}",
        f"`{last[:90]}`",
    ]


def run_benchmark(repeat: int) -> str:
    home = BENCH_DIR / "noop" / "scale-1"
    remove_path(home)
    env = clean_env(TAMALES_HOME=str(home), TAMALES_SOURCE_DIR=str(sample_container(1, "bench")))
    print(f"bench: full build in {home}", flush=True)
    full = measure([JUST, "build"], env)
    rows = [_row("`just build`, from an empty home", [full])]
    noop = [measure([JUST, "build"], env) for _ in range(repeat)]
    rows.append(_row("`just build`, nothing changed", noop))
    for name, argv in STAGES.items():
        rows.append(_row(name, [measure(argv, env) for _ in range(repeat)]))
    uv = shutil.which("uv")
    if uv:
        typed = [measure([uv, "run", "--quiet", "just", "build"], env) for _ in range(repeat)]
        rows.append(_row("`uv run just build`, nothing changed", typed))
    best_noop = min(run["seconds"] for run in noop)
    head = ["run", "runs", "best s", "median s", "CPU s", "peak RSS MB", "last line"]
    verdict = "meets" if best_noop < TARGET_SECONDS else "misses"
    return "\n".join(
        [
            markdown_table(head, "lrrrrrl", rows),
            "",
            f"A no-op `just build` took {best_noop:.2f} s (best of {len(noop)}; {verdict} the "
            f"< {TARGET_SECONDS:.0f} s target) against {full['seconds']:.1f} s for the full "
            f"build. {measured_on()}",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench-noop", description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="no-op runs per row (default 5)")
    parser.add_argument(
        "--no-docs", action="store_true", help="do not rewrite the section of docs/benchmarks.md"
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    text = run_benchmark(args.repeat)
    write_results("noop", text + "\n")
    if not args.no_docs:
        write_section(DOCS_PATH, DOCS_BEGIN, DOCS_END, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
