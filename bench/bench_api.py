"""Benchmark the sales API over loopback against the same DuckDB queries run in-process.

The scale-1 sample is generated, landed, transformed and trained once under
`data/bench/api/scale-1/` (reused by later runs). The API then runs as it does in production
(`python -m tamales_sales_service`: uvicorn, uvloop, httptools, one process) on a free
127.0.0.1 port, and a keep-alive load generator (`wrk` when installed, else a small asyncio
client) drives each endpoint for `--seconds` at `--connections`. Next to it, in the same run,
the queries behind each endpoint run in-process on `--threads` threads (a cursor per thread);
the API/in-process ratio is the figure. Prints a Markdown table and writes it to
`bench/results/api.md`.

    uv run python bench/bench_api.py [--seconds 10] [--connections 32] [--threads 2] [--home DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import duckdb
import httpx
import msgspec

# bench/measure.py: this script's folder is first on sys.path when run as `python bench/...`
from measure import (
    BENCH_DIR,
    REPO_ROOT,
    markdown_table,
    measured_on,
    sample_container,
    warehouse_is_current,
    write_results,
)

sys.path.insert(0, str(REPO_ROOT))

from tamales_inc.core.months import parse_month  # noqa: E402
from tamales_inc.core.settings import Settings  # noqa: E402
from tamales_sales_service.queries import (  # noqa: E402
    ForecastQuery,
    SalesQuery,
    SeriesFilter,
    run_query,
)
from tamales_sales_service.schemas import ForecastRow, SalesRow  # noqa: E402
from tamales_sales_service.snapshot import connect_read_only, new_cursor  # noqa: E402

BENCH_HOME = BENCH_DIR / "api" / "scale-1"
TARGET_RPS, TARGET_P99_MS, TARGET_RATIO = 2000.0, 30.0, 0.6


def _log(message: str) -> None:
    print(f"bench-api: {message}", flush=True)


def trained_home() -> Settings:
    """The bench home with a published warehouse and a promoted model (built on first use)."""
    settings = Settings.from_env({"TAMALES_HOME": str(BENCH_HOME)})
    promoted = (settings.models_dir / "current").is_file()
    if promoted and warehouse_is_current(settings.warehouse_path):
        return settings
    from ingest.pipeline import run_ingest
    from tamales_inc.forecasting.train import run_training
    from tamales_inc.warehouse.transform import run_transform

    container = sample_container(1, prog="bench-api")
    settings = Settings.from_env(
        {"TAMALES_HOME": str(BENCH_HOME), "TAMALES_SOURCE_DIR": str(container)}
    )
    _log(f"building the sample warehouse and model in {BENCH_HOME} (first run only)")
    # from scratch: a stale home's models/current must not survive a rebuild that fails later
    shutil.rmtree(BENCH_HOME, ignore_errors=True)
    run_ingest(settings)
    run_transform(settings)
    run_training(settings)
    return settings


@dataclass(frozen=True)
class Endpoint:
    """An endpoint under load: the URLs rotated through and the in-process equivalent."""

    name: str
    paths: list[str]
    reference: str
    in_process: Callable[[duckdb.DuckDBPyConnection, int], object]


def endpoints(con: duckdb.DuckDBPyConnection) -> list[Endpoint]:
    """The four benchmarked endpoints with request mixes drawn from the warehouse."""
    products = [r[0] for r in con.execute("select product_id from marts.dim_product").fetchall()]
    series = con.execute(
        "select distinct product_id, zone_id from ml.forecasts order by all limit 8"
    ).fetchall()
    sales_params: list[dict[str, object]] = [
        {"group_by": "zone"},
        {"group_by": "month", "source": "tamales_inc"},
        {"group_by": "product", "from": "2019-06", "to": "2020-03"},
        {"group_by": "source", "zone_id": "norte"},
        {"group_by": "month", "product_id": products[0], "sort": "sales", "order": "desc"},
    ]
    sales_queries = [
        SalesQuery(
            series=SeriesFilter(
                product_id=p.get("product_id"), zone_id=p.get("zone_id"), source=p.get("source")
            ),
            from_month=parse_month(p["from"]) if "from" in p else None,
            to_month=parse_month(p["to"]) if "to" in p else None,
            group_by=p["group_by"],
            sort=p.get("sort", "key"),
            order=p.get("order", "asc"),
        )
        for p in sales_params
    ]
    forecast_queries = [
        ForecastQuery(series=SeriesFilter(product_id=p, zone_id=z)) for p, z in series
    ]

    def build_info(cur: duckdb.DuckDBPyConnection, i: int) -> object:
        return cur.execute(
            "select built_at, data_version, dbt_version from meta.build_info"
        ).fetchone()

    def product(cur: duckdb.DuckDBPyConnection, i: int) -> object:
        return cur.execute(
            "select * from marts.dim_product where product_id = ?", [products[i % len(products)]]
        ).fetchone()

    def sales(cur: duckdb.DuckDBPyConnection, i: int) -> object:
        query = sales_queries[i % len(sales_queries)]
        return msgspec.json.encode(run_query(cur, query, SalesRow))

    def forecasts(cur: duckdb.DuckDBPyConnection, i: int) -> object:
        query = forecast_queries[i % len(forecast_queries)]
        return msgspec.json.encode(run_query(cur, query, ForecastRow))

    return [
        Endpoint(
            "GET /health", ["/health"], "meta.build_info query (the API caches it)", build_info
        ),
        Endpoint(
            "GET /products/{id}",
            [f"/products/{p}" for p in products],
            "dim_product point query (the API caches it)",
            product,
        ),
        Endpoint(
            "GET /sales (grouped)",
            [f"/sales?{urlencode(p)}" for p in sales_params],
            "run_query(SalesQuery) + JSON encode",
            sales,
        ),
        Endpoint(
            "GET /forecasts",
            [f"/forecasts?{urlencode({'product_id': p, 'zone_id': z})}" for p, z in series],
            "run_query(ForecastQuery) + JSON encode",
            forecasts,
        ),
    ]


@dataclass
class Load:
    """One load-generator run."""

    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float

    @classmethod
    def from_latencies(cls, what: str, latencies: list[float], seconds: float, errors: int) -> Load:
        """The summary of the run `what` from its per-request latencies in seconds."""
        if not latencies:
            raise SystemExit(f"bench-api: {what}: no request completed in {seconds:.1f} s")
        latencies = sorted(latencies)
        return cls(
            requests=len(latencies),
            seconds=seconds,
            errors=errors,
            p50_ms=latencies[len(latencies) // 2] * 1000,
            p99_ms=latencies[int(len(latencies) * 0.99)] * 1000,
        )

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


WRK_SCRIPT = """
local paths = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%%d,"duration_us":%%d,"errors":%%d,"p50_us":%%d,"p99_us":%%d}\\n',
    summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def run_wrk(base_url: str, paths: list[str], seconds: float, connections: int) -> Load:
    """Drive `paths` round-robin with wrk (keep-alive, `connections` sockets, 2 threads)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % ", ".join(json.dumps(p) for p in paths))
    try:
        done = subprocess.run(
            [
                "wrk",
                "-t2",
                f"-c{connections}",
                f"-d{int(seconds)}s",
                "--timeout",
                "5s",
                "-s",
                script.name,
                base_url,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        os.unlink(script.name)
    line = next(x for x in done.stdout.splitlines() if x.startswith("WRK_JSON "))
    data = json.loads(line.removeprefix("WRK_JSON "))
    return Load(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        errors=data["errors"],
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
    )


async def _asyncio_load(
    host: str, port: int, paths: list[str], seconds: float, connections: int
) -> Load:
    """Raw-socket HTTP/1.1 keep-alive load: `connections` sockets, one request in flight each."""
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    requests = [f"GET {p} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode("ascii") for p in paths]

    async def worker(k: int) -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, port)
        i = k
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            writer.write(requests[i % len(requests)])
            i += 1
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if status >= 400:
                errors += 1
        writer.close()

    started = time.perf_counter()
    results = await asyncio.gather(*(worker(k) for k in range(connections)), return_exceptions=True)
    elapsed = time.perf_counter() - started
    errors += sum(isinstance(r, BaseException) for r in results)
    return Load.from_latencies(f"HTTP load of {paths[0]}", latencies, elapsed, errors)


def run_in_process(
    name: str,
    con: duckdb.DuckDBPyConnection,
    call: Callable[[duckdb.DuckDBPyConnection, int], object],
    seconds: float,
    threads: int,
) -> Load:
    """`call` (the in-process twin of endpoint `name`) in a loop on `threads` threads, each with
    its own cursor."""
    per_thread: list[list[float]] = [[] for _ in range(threads)]
    deadline = time.perf_counter() + seconds
    barrier = threading.Barrier(threads)

    def loop(k: int) -> None:
        cur = new_cursor(con)
        out = per_thread[k]
        i = k
        barrier.wait()
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            call(cur, i)
            out.append(time.perf_counter() - started)
            i += 1

    started = time.perf_counter()
    workers = [threading.Thread(target=loop, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    latencies = [x for xs in per_thread for x in xs]
    return Load.from_latencies(f"in-process {name}", latencies, elapsed, errors=0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(settings: Settings, port: int, cache_size: int | None) -> subprocess.Popen[bytes]:
    """`python -m tamales_sales_service` on 127.0.0.1:`port`, ready when this returns."""
    env = {**os.environ, "TAMALES_HOME": str(settings.home)}
    cache = [] if cache_size is None else ["--cache-size", str(cache_size)]
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tamales_sales_service",
            "--port",
            str(port),
            "--log-level",
            "warning",
            *cache,
        ],
        cwd=REPO_ROOT,
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        if server.poll() is not None:
            raise SystemExit(f"bench-api: the server exited with code {server.returncode}")
        time.sleep(0.1)
    server.terminate()
    raise SystemExit("bench-api: the server did not answer /health within 30 s")


def table(
    rows: list[tuple[str, Endpoint, Load, Load]], generator: str, args: argparse.Namespace
) -> str:
    head = (
        f"{args.seconds:g} s per endpoint at {args.connections} keep-alive connections "
        f"({generator}) "
        "against one uvicorn process (uvloop + httptools) on 127.0.0.1; "
        f"in-process: the same queries on {args.threads} threads, a cursor each, "
        f"{args.in_process_seconds:g} s.\n\n"
    )
    columns = [
        "endpoint",
        "result cache",
        "API req/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "in-process req/s",
        "in-process p50 ms",
        "API / in-process",
        "in-process reference",
    ]
    cells = [
        [
            f"`{e.name}`",
            cache,
            f"{api.rps:,.0f}",
            f"{api.p50_ms:.2f}",
            f"{api.p99_ms:.2f}",
            api.errors,
            f"{ref.rps:,.0f}",
            f"{ref.p50_ms:.3f}",
            f"{api.rps / ref.rps:.2f}",
            e.reference,
        ]
        for cache, e, api, ref in rows
    ]
    return head + markdown_table(columns, "llrrrrrrrl", cells)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--in-process-seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--generator", choices=["auto", "wrk", "asyncio"], default="auto")
    parser.add_argument("--home", type=Path, help="an existing trained TAMALES_HOME to serve")
    args = parser.parse_args(argv)
    generator = args.generator
    if generator == "auto":
        generator = "wrk" if shutil.which("wrk") else "asyncio"
    if generator == "wrk" and not shutil.which("wrk"):
        raise SystemExit(
            "bench-api: wrk is not installed (apt-get install wrk) or use --generator asyncio"
        )

    started = time.perf_counter()
    settings = Settings.from_env({"TAMALES_HOME": str(args.home)}) if args.home else trained_home()
    con = connect_read_only(settings.warehouse_path)
    targets = endpoints(con)
    references = {
        e.name: run_in_process(e.name, con, e.in_process, args.in_process_seconds, args.threads)
        for e in targets
    }
    rows: list[tuple[str, Endpoint, Load, Load]] = []
    # the service as `just serve` runs it (results cached per warehouse), then with the cache off
    # for the endpoints that query DuckDB, so the HTTP overhead over raw DuckDB shows too
    for cache_label, cache_size, names in (
        ("on (default)", None, [e.name for e in targets]),
        ("off", 0, ["GET /sales (grouped)", "GET /forecasts"]),
    ):
        port = free_port()
        server = start_server(settings, port, cache_size)
        base_url = f"http://127.0.0.1:{port}"
        try:
            with httpx.Client(base_url=base_url) as client:  # every URL must work before timing
                for endpoint in targets:
                    for path in endpoint.paths:
                        response = client.get(path)
                        if response.status_code != 200:
                            raise SystemExit(
                                f"bench-api: {path} -> {response.status_code} {response.text}"
                            )
            for endpoint in (e for e in targets if e.name in names):
                if generator == "wrk":
                    run_wrk(base_url, endpoint.paths, 1, args.connections)  # warm-up
                    api = run_wrk(base_url, endpoint.paths, args.seconds, args.connections)
                else:
                    api = asyncio.run(
                        _asyncio_load(
                            "127.0.0.1", port, endpoint.paths, args.seconds, args.connections
                        )
                    )
                ref = references[endpoint.name]
                _log(
                    f"{endpoint.name} (cache {cache_label}): API {api.rps:,.0f} req/s "
                    f"p50 {api.p50_ms:.2f} ms p99 {api.p99_ms:.2f} ms errors {api.errors}; "
                    f"in-process {ref.rps:,.0f} req/s"
                )
                rows.append((cache_label, endpoint, api, ref))
        finally:
            server.terminate()
            server.wait(timeout=10)
    footer = measured_on(", load generator and server included")
    write_results("api", f"{table(rows, generator, args)}\n\n{footer}\n")
    sales_api, sales_ref = next(
        (a, r) for c, e, a, r in rows if e.name.startswith("GET /sales") and c != "off"
    )
    ratio = sales_api.rps / sales_ref.rps
    errors = sum(a.errors for _, _, a, _ in rows)
    met = (
        sales_api.rps >= TARGET_RPS
        and sales_api.p99_ms < TARGET_P99_MS
        and ratio >= TARGET_RATIO
        and errors == 0
    )
    _log(
        f"/sales {sales_api.rps:,.0f} req/s (target >= {TARGET_RPS:,.0f}), p99 "
        f"{sales_api.p99_ms:.1f} ms (< {TARGET_P99_MS:.0f}), {ratio:.2f} of in-process "
        f"(>= {TARGET_RATIO}), errors {errors}: "
        f"{'targets met' if met else 'TARGETS MISSED'}; {time.perf_counter() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
