"""Benchmark the sales API over loopback against the same DuckDB queries run in-process.

The scale-1 sample is generated, landed, transformed and trained once under
`data/bench/api/scale-1/` (reused by later runs). The API then runs as it does in production
(`python -m tamales_sales_service`: uvicorn, uvloop, httptools, one process) on a free
127.0.0.1 port, and a keep-alive load generator (`wrk` when installed, else a small asyncio
client) drives each endpoint for `--seconds` at `--connections`. Next to it, in the same run,
the queries behind each endpoint run in-process on `--threads` threads (a cursor per thread);
the API/in-process ratio is the figure. The server runs with the default settings (no rate
limit, 64 KiB body limit), then with the result cache off, then with a rate limit too high to
throttle (what the limiter costs). Then `POST /predictions` is driven with one registered
version of each model family (baseline, statsforecast, XGBoost, combination), promoted in turn
in a private copy of the home's warehouse and registry (the server reloads `models/current`),
over one connection and over `--connections`, next to the in-process feature-row query and
predict of one row; each family is judged against p99 < 50 ms. Prints Markdown tables, writes
them to `bench/results/api.md` and into docs/benchmarks.md between the `<!-- api:start -->` and
`<!-- api:end -->` markers (`--no-docs` to leave the page alone).

    uv run python bench/bench_api.py [--seconds 10] [--connections 32] [--threads 2] [--home DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
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
import psutil

# bench/measure.py: this script's folder is first on sys.path when run as `python bench/...`
from measure import (
    BENCH_DIR,
    REPO_ROOT,
    markdown_table,
    measured_on,
    sample_container,
    warehouse_is_current,
    write_results,
    write_section,
)

sys.path.insert(0, str(REPO_ROOT))

from tamales_inc.core.months import format_month, month_after, parse_month  # noqa: E402
from tamales_inc.core.settings import ENVIRONMENT, Settings  # noqa: E402
from tamales_inc.forecasting.models import MODEL_CLASSES  # noqa: E402
from tamales_inc.forecasting.models.base import MODEL_FILE  # noqa: E402
from tamales_inc.forecasting.registry import (  # noqa: E402
    RUNS_DIR,
    current_version,
    load_run_record,
    load_version,
    promote,
)
from tamales_sales_service.controllers.predictions import (  # noqa: E402
    prediction_table as score_every_row,
)
from tamales_sales_service.controllers.sales import parse_group_by  # noqa: E402
from tamales_sales_service.queries import (  # noqa: E402
    ForecastQuery,
    SalesQuery,
    Series,
    SeriesFilter,
    feature_rows,
    run_query,
)
from tamales_sales_service.schemas import ForecastRow, SalesRow  # noqa: E402
from tamales_sales_service.served_model import ServedModel  # noqa: E402
from tamales_sales_service.snapshot import connect_read_only, new_cursor  # noqa: E402

BENCH_HOME = BENCH_DIR / "api" / "scale-1"
TARGET_RPS, TARGET_P99_MS, TARGET_RATIO = 2000.0, 30.0, 0.6
DOCS_PATH = REPO_ROOT / "docs" / "benchmarks.md"
DOCS_BEGIN, DOCS_END = "<!-- api:start -->", "<!-- api:end -->"
SALES = "GET /sales (grouped)"
# A rate limit no single client reaches here: the limiter's cost without its throttling.
UNREACHED_RATE_LIMIT = "1000000/second"
PREDICTIONS = "POST /predictions"
TARGET_PREDICTION_P99_MS = 50.0
PREDICTION_BODIES = 8  # (series, month) bodies rotated through per family
# One caller at a time (the latency of a request alone), then --connections: the service runs
# one predict at a time (`ServedModel.predict` holds a lock), so concurrent requests queue.
PREDICTION_ALONE = 1
# The module each model family is defined in (one per family under
# tamales_inc/forecasting/models/) -> the family's name in the table, in the table's order.
FAMILIES = {
    "baselines": "baseline",
    "statistical": "statsforecast",
    "xgboost": "XGBoost",
    "combination": "combination",
}


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
    """An endpoint under load: the URLs (and JSON bodies, for a POST) rotated through and the
    in-process equivalent."""

    name: str
    paths: list[str]
    reference: str
    in_process: Callable[[duckdb.DuckDBPyConnection, int], object]
    bodies: list[bytes] | None = None  # POSTed to paths[0] in turn; None: GET each path

    @property
    def requests(self) -> list[HttpRequest]:
        """The requests the load generator rotates through."""
        if self.bodies is None:
            return [HttpRequest("GET", p) for p in self.paths]
        return [HttpRequest("POST", self.paths[0], b) for b in self.bodies]


@dataclass(frozen=True)
class HttpRequest:
    """One request of a load mix: a GET, or a POST of a JSON body."""

    method: str
    path: str
    body: bytes | None = None

    def raw(self, host: str, port: int) -> bytes:
        """The HTTP/1.1 keep-alive request as sent on the socket."""
        head = f"{self.method} {self.path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        if self.body is None:
            return f"{head}\r\n".encode("ascii")
        head += f"Content-Type: application/json\r\nContent-Length: {len(self.body)}\r\n\r\n"
        return head.encode("ascii") + self.body

    def lua(self) -> str:
        """The request as a Lua table `{method, path, headers, body}` for `wrk.format`."""
        if self.body is None:
            return f'{{"GET", {json.dumps(self.path)}}}'
        body = json.dumps(self.body.decode("ascii"))  # a JSON string of ASCII is a Lua string
        headers = '{["Content-Type"] = "application/json"}'
        return f"{{{json.dumps(self.method)}, {json.dumps(self.path)}, {headers}, {body}}}"


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
            group_by=parse_group_by(str(p["group_by"])),
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
            SALES,
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
local requests = {%s}
local i = 0
request = function()
  i = i + 1
  local r = requests[(i %% #requests) + 1]
  return wrk.format(r[1], r[2], r[3], r[4])
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


def run_wrk(base_url: str, requests: list[HttpRequest], seconds: float, connections: int) -> Load:
    """Drive `requests` round-robin with wrk (keep-alive, `connections` sockets, 2 threads or
    one per connection when fewer: wrk needs a connection per thread)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % ", ".join(r.lua() for r in requests))
    try:
        done = subprocess.run(
            [
                "wrk",
                f"-t{min(2, connections)}",
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
        )
    finally:
        os.unlink(script.name)
    if done.returncode != 0:
        error = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
        raise SystemExit(f"bench-api: wrk exited with code {done.returncode}: {error[-1]}")
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
    host: str, port: int, mix: list[HttpRequest], seconds: float, connections: int
) -> Load:
    """Raw-socket HTTP/1.1 keep-alive load: `connections` sockets, one request in flight each."""
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    requests = [r.raw(host, port) for r in mix]

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
    return Load.from_latencies(f"HTTP load of {mix[0].path}", latencies, elapsed, errors)


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


@dataclass(frozen=True)
class Row:
    """One endpoint under load: how the server ran, the API's load, its in-process reference and
    the server's CPU microseconds per request (steadier than req/s on a shared machine)."""

    run: ServerRun
    endpoint: Endpoint
    api: Load
    reference: Load
    cpu_us: float


@dataclass(frozen=True)
class ServerRun:
    """One way of running the server, and the endpoints measured that way."""

    cache: str  # the table's "result cache" column
    rate_limit: str  # the table's "rate limit" column
    cache_size: int | None  # --cache-size (None: the default)
    env: dict[str, str]  # API settings on top of the defaults
    names: list[str] | None  # endpoints measured (None: all)


SERVER_RUNS = [
    # as `just serve` runs it by default (results cached per warehouse, no rate limit)
    ServerRun("on (default)", "off (default)", None, {}, None),
    # the endpoints that query DuckDB uncached: the HTTP overhead over raw DuckDB
    ServerRun("off", "off (default)", 0, {}, [SALES, "GET /forecasts"]),
    # the limiter on, at a rate never reached: what each request pays for it
    ServerRun(
        "on (default)",
        f"on ({UNREACHED_RATE_LIMIT})",
        None,
        {"TAMALES_API_RATE_LIMIT": UNREACHED_RATE_LIMIT},
        ["GET /health", SALES],
    ),
]


def server_env(settings: Settings, api_env: dict[str, str]) -> dict[str, str]:
    """This environment without the API's own settings (the defaults apply), plus `api_env`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not (k.startswith("TAMALES_API_") and k in ENVIRONMENT)
    }
    return {**env, **api_env, "TAMALES_HOME": str(settings.home)}


def start_server(
    settings: Settings, port: int, cache_size: int | None, api_env: dict[str, str]
) -> subprocess.Popen[bytes]:
    """`python -m tamales_sales_service` on 127.0.0.1:`port` with the default API settings plus
    `api_env`, ready when this returns."""
    env = server_env(settings, api_env)
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


def table(rows: list[Row], generator: str, args: argparse.Namespace) -> str:
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
        "rate limit",
        "API req/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "server CPU us/req",
        "in-process req/s",
        "in-process p50 ms",
        "API / in-process",
        "in-process reference",
    ]
    cells = [
        [
            f"`{r.endpoint.name}`",
            r.run.cache,
            r.run.rate_limit,
            f"{r.api.rps:,.0f}",
            f"{r.api.p50_ms:.2f}",
            f"{r.api.p99_ms:.2f}",
            r.api.errors,
            f"{r.cpu_us:.0f}",
            f"{r.reference.rps:,.0f}",
            f"{r.reference.p50_ms:.3f}",
            f"{r.api.rps / r.reference.rps:.2f}",
            r.endpoint.reference,
        ]
        for r in rows
    ]
    return head + markdown_table(columns, "lllrrrrrrrrl", cells)


def check_every_url(base_url: str, targets: list[Endpoint]) -> None:
    """Every URL of the mix must answer 200 before anything is timed."""
    with httpx.Client(base_url=base_url) as client:
        for endpoint in targets:
            for path in endpoint.paths:
                response = client.get(path)
                if response.status_code != 200:
                    raise SystemExit(f"bench-api: {path} -> {response.status_code} {response.text}")


def load_endpoint(
    generator: str,
    server: subprocess.Popen[bytes],
    port: int,
    endpoint: Endpoint,
    args: argparse.Namespace,
    connections: int | None = None,
) -> tuple[Load, float]:
    """Drive one endpoint's URLs for `args.seconds` over `connections` (default
    `args.connections`) with the chosen load generator: the load and the server's CPU
    microseconds per request over the timed run."""
    base_url = f"http://127.0.0.1:{port}"
    mix = endpoint.requests
    connections = connections or args.connections
    if generator == "wrk":
        run_wrk(base_url, mix, 1, connections)  # warm-up
    process = psutil.Process(server.pid)
    before = process.cpu_times()
    if generator == "wrk":
        load = run_wrk(base_url, mix, args.seconds, connections)
    else:
        load = asyncio.run(_asyncio_load("127.0.0.1", port, mix, args.seconds, connections))
    after = process.cpu_times()
    cpu = (after.user - before.user) + (after.system - before.system)
    return load, cpu / max(load.requests, 1) * 1e6


def measure_api(
    settings: Settings,
    targets: list[Endpoint],
    references: dict[str, Load],
    generator: str,
    args: argparse.Namespace,
) -> list[Row]:
    """Each server run of SERVER_RUNS, each of its endpoints under load, next to in-process."""
    rows: list[Row] = []
    for run in SERVER_RUNS:
        port = free_port()
        server = start_server(settings, port, run.cache_size, run.env)
        base_url = f"http://127.0.0.1:{port}"
        try:
            check_every_url(base_url, targets)
            for endpoint in targets:
                if run.names is not None and endpoint.name not in run.names:
                    continue
                api, cpu_us = load_endpoint(generator, server, port, endpoint, args)
                ref = references[endpoint.name]
                _log(
                    f"{endpoint.name} (cache {run.cache}, rate limit {run.rate_limit}): "
                    f"API {api.rps:,.0f} req/s p50 {api.p50_ms:.2f} ms p99 {api.p99_ms:.2f} ms "
                    f"errors {api.errors}, server CPU {cpu_us:.0f} us/req; "
                    f"in-process {ref.rps:,.0f} req/s"
                )
                rows.append(Row(run, endpoint, api, ref, cpu_us))
        finally:
            server.terminate()
            server.wait(timeout=10)
    return rows


def verdict(rows: list[Row]) -> str:
    """The targets line: /sales as served by default against the targets."""
    sales = next(r for r in rows if r.endpoint.name == SALES and r.run is SERVER_RUNS[0])
    sales_api = sales.api
    ratio = sales_api.rps / sales.reference.rps
    errors = sum(r.api.errors for r in rows)
    met = (
        sales_api.rps >= TARGET_RPS
        and sales_api.p99_ms < TARGET_P99_MS
        and ratio >= TARGET_RATIO
        and errors == 0
    )
    return (
        f"Targets (`/sales` >= {TARGET_RPS:,.0f} req/s, p99 < {TARGET_P99_MS:.0f} ms, >= "
        f"{TARGET_RATIO} of in-process, 0 errors) as served by default: "
        f"{'met' if met else 'MISSED'} ({sales_api.rps:,.0f} req/s, p99 "
        f"{sales_api.p99_ms:.1f} ms, {ratio:.2f} of in-process, {errors} errors in the run)."
    )


# POST /predictions: one registered version of each model family, promoted in turn.


def model_family(settings: Settings, version: str) -> str:
    """The family of a registered version: the module its model kind is defined in."""
    spec = json.loads((settings.models_dir / version / MODEL_FILE).read_text(encoding="utf-8"))
    return FAMILIES[MODEL_CLASSES[spec["kind"]].__module__.rsplit(".", 1)[-1]]


def family_versions(settings: Settings) -> dict[str, str]:
    """One registered version per model family (in FAMILIES order), from the training run that
    registered the promoted version: the promoted version for its own family, for each other
    family its first candidate in the run's order."""
    current = current_version(settings)
    if current is None:
        raise SystemExit(f"bench-api: no model promoted in {settings.models_dir}: run `just train`")
    runs = sorted((settings.models_dir / RUNS_DIR).glob("*.json"))
    records = [load_run_record(settings, path.stem) for path in runs]
    record = next((r for r in records if current in r.get("candidates", {}).values()), None)
    if record is None:
        raise SystemExit(f"bench-api: no run record in {settings.models_dir} registers {current}")
    chosen: dict[str, str] = {}
    for version in [current, *record["candidates"].values()]:
        chosen.setdefault(model_family(settings, version), version)
    missing = [family for family in FAMILIES.values() if family not in chosen]
    if missing:
        raise SystemExit(
            f"bench-api: run {record['run_id']} registered no {', '.join(missing)} model"
        )
    return {family: chosen[family] for family in FAMILIES.values()}


def prediction_bodies(
    con: duckdb.DuckDBPyConnection, count: int = PREDICTION_BODIES
) -> list[dict[str, str]]:
    """`count` valid POST /predictions bodies from the feature mart: `count` series, the k-th
    asking for the month after its k-th latest feature row (so the months differ too)."""
    rows = con.execute(
        """
        with ranked as (
            select
                source,
                product_id,
                zone_id,
                sales_month,
                dense_rank() over (order by series_id) as k,
                row_number() over (partition by series_id order by sales_month desc) as back
            from marts.sales_features
        )
        select source, product_id, zone_id, sales_month from ranked
        where k <= ? and back = k
        order by k
        """,
        [count],
    ).fetchall()
    return [
        {"product_id": p, "zone_id": z, "source": s, "month": format_month(month_after(m, 1))}
        for s, p, z, m in rows
    ]


def prediction_endpoint(family: str, model: ServedModel, bodies: list[dict[str, str]]) -> Endpoint:
    """POST /predictions rotating over `bodies`; in-process, what the handler does for one: the
    series' feature row of the month before, then the served model's predict of that row."""
    asked = [
        (
            Series(b["source"], b["product_id"], b["zone_id"]),
            month_after(parse_month(b["month"]), -1),
        )
        for b in bodies
    ]

    def predict(cur: duckdb.DuckDBPyConnection, i: int) -> object:
        series, month = asked[i % len(asked)]
        return model.predict(feature_rows(cur, series, month)).row(0, named=True)

    return Endpoint(
        f"{PREDICTIONS} ({family})",
        ["/predictions"],
        "feature_rows + ServedModel.predict of one row",
        predict,
        [msgspec.json.encode(b) for b in bodies],
    )


def private_home(settings: Settings, home: Path) -> Settings:
    """A copy of the warehouse and model registry of `settings` under `home`, whose
    `models/current` the benchmark may move."""
    for folder in (settings.warehouse_dir, settings.models_dir):
        shutil.copytree(folder, home / folder.name, symlinks=True)
    return Settings.from_env({"TAMALES_HOME": str(home)})


def wait_for_model(base_url: str, endpoint: Endpoint, version: str, timeout: float = 30) -> None:
    """Wait until the server answers with `version` (it polls `models/current`), then require
    every body of the mix to answer 200 from it."""
    assert endpoint.bodies is not None
    headers = {"Content-Type": "application/json"}
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=base_url, headers=headers) as client:
        while True:
            answer = client.post(endpoint.paths[0], content=endpoint.bodies[0])
            if answer.status_code == 200 and answer.json()["model_version"] == version:
                break
            if time.monotonic() > deadline:
                raise SystemExit(
                    f"bench-api: {timeout:.0f} s after promoting {version} the server answers "
                    f"{answer.status_code} {answer.text[:200]}"
                )
            time.sleep(0.1)
        for body in endpoint.bodies:
            answer = client.post(endpoint.paths[0], content=body)
            if answer.status_code != 200 or answer.json()["model_version"] != version:
                raise SystemExit(
                    f"bench-api: {PREDICTIONS} {body.decode()} -> {answer.status_code} "
                    f"{answer.text[:200]}"
                )


@dataclass(frozen=True)
class PredictionRow:
    """POST /predictions under load with one family's version promoted."""

    family: str
    version: str
    connections: int
    api: Load
    reference: Load
    cpu_us: float
    table_ms: float


def table_build_ms(con: duckdb.DuckDBPyConnection, model: ServedModel, repeat: int = 3) -> float:
    """Milliseconds (best of `repeat`) the service takes to score every feature row in one batch:
    the prediction table a warehouse and model get on their first request."""
    best = math.inf
    for _ in range(repeat):
        started = time.perf_counter()
        score_every_row(new_cursor(con), model)
        best = min(best, time.perf_counter() - started)
    return best * 1000


def measure_predictions(
    settings: Settings, generator: str, args: argparse.Namespace
) -> tuple[list[PredictionRow], int]:
    """POST /predictions for one version of each family, promoted in turn in a private copy of
    the home under one server (no restart), alone and at `args.connections`, next to the
    in-process predict (one thread: the service predicts one row at a time); the rows and the
    number of bodies rotated through."""
    with tempfile.TemporaryDirectory(prefix="bench-api-predictions-") as tmp:
        private = private_home(settings, Path(tmp))
        versions = family_versions(private)
        con = connect_read_only(private.warehouse_path)
        try:
            bodies = prediction_bodies(con)
            models = {f: ServedModel(load_version(private, v)) for f, v in versions.items()}
            targets = {f: prediction_endpoint(f, models[f], bodies) for f in versions}
            references = {
                family: run_in_process(e.name, con, e.in_process, args.in_process_seconds, 1)
                for family, e in targets.items()
            }
            tables = {family: table_build_ms(con, model) for family, model in models.items()}
        finally:
            con.close()
        port = free_port()
        server = start_server(private, port, None, {})
        rows: list[PredictionRow] = []
        try:
            for family, version in versions.items():
                endpoint = targets[family]
                promote(private, version)
                wait_for_model(f"http://127.0.0.1:{port}", endpoint, version)
                ref = references[family]
                for connections in dict.fromkeys((PREDICTION_ALONE, args.connections)):
                    api, cpu_us = load_endpoint(
                        generator, server, port, endpoint, args, connections
                    )
                    _log(
                        f"{endpoint.name} {version} x{connections}: API {api.rps:,.0f} req/s "
                        f"p50 {api.p50_ms:.2f} ms p99 {api.p99_ms:.2f} ms errors {api.errors}, "
                        f"server CPU {cpu_us:.0f} us/req; in-process {ref.rps:,.0f} req/s "
                        f"p50 {ref.p50_ms:.2f} ms"
                    )
                    rows.append(
                        PredictionRow(
                            family, version, connections, api, ref, cpu_us, tables[family]
                        )
                    )
        finally:
            server.terminate()
            server.wait(timeout=10)
    return rows, len(bodies)


def prediction_met(row: PredictionRow) -> bool:
    """Whether a family meets the target: p99 under TARGET_PREDICTION_P99_MS, no errors."""
    return row.api.p99_ms < TARGET_PREDICTION_P99_MS and row.api.errors == 0


def prediction_table(
    rows: list[PredictionRow], bodies: int, generator: str, args: argparse.Namespace
) -> str:
    head = (
        f"`{PREDICTIONS}`, one registered version per model family: {args.seconds:g} s per family "
        f"over {PREDICTION_ALONE} and {args.connections} keep-alive connections ({generator}), "
        f"rotating over {bodies} bodies (series and month) from `marts.sales_features`, against "
        "one server with the default settings whose `models/current` (in a private copy of the "
        "home) is promoted to each family's version in turn and reloaded without a restart; "
        "the service answers from a table of every feature row's prediction, scored in one "
        "batch on the first request for a warehouse and model (table ms: that batch, best of "
        "3); in-process: scoring the one row alone instead (the mart row query and "
        f"`ServedModel.predict` of that row), on 1 thread, {args.in_process_seconds:g} s.\n\n"
    )
    columns = [
        "family",
        "version",
        "connections",
        "API req/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "server CPU us/req",
        "in-process req/s",
        "in-process p50 ms",
        "in-process p99 ms",
        "table ms",
        f"p99 < {TARGET_PREDICTION_P99_MS:.0f} ms",
    ]
    cells = [
        [
            r.family,
            f"`{r.version}`",
            r.connections,
            f"{r.api.rps:,.0f}",
            f"{r.api.p50_ms:.2f}",
            f"{r.api.p99_ms:.2f}",
            r.api.errors,
            f"{r.cpu_us:.0f}",
            f"{r.reference.rps:,.0f}",
            f"{r.reference.p50_ms:.2f}",
            f"{r.reference.p99_ms:.2f}",
            f"{r.table_ms:.0f}",
            "met" if prediction_met(r) else "MISSED",
        ]
        for r in rows
    ]
    return head + markdown_table(columns, "llrrrrrrrrrrl", cells)


def prediction_verdict(rows: list[PredictionRow]) -> str:
    """The target line: POST /predictions p99 per family."""
    families = dict.fromkeys(r.family for r in rows)
    per_family = "; ".join(
        f"{family} "
        + ", ".join(
            f"{'met' if prediction_met(r) else 'MISSED'} x{r.connections} "
            f"(p99 {r.api.p99_ms:.1f} ms, {r.api.errors} errors)"
            for r in rows
            if r.family == family
        )
        for family in families
    )
    return (
        f"Target (`{PREDICTIONS}` p99 < {TARGET_PREDICTION_P99_MS:.0f} ms, 0 errors, every model "
        f"family; xN: over N connections): {per_family}."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--in-process-seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--generator", choices=["auto", "wrk", "asyncio"], default="auto")
    parser.add_argument("--home", type=Path, help="an existing trained TAMALES_HOME to serve")
    parser.add_argument(
        "--no-docs", action="store_true", help=f"do not rewrite the API section of {DOCS_PATH.name}"
    )
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
    rows = measure_api(settings, targets, references, generator, args)
    con.close()
    predictions, bodies = measure_predictions(settings, generator, args)
    footer = measured_on(", load generator and server included")
    text = (
        f"{table(rows, generator, args)}\n\n{verdict(rows)}\n\n"
        f"{prediction_table(predictions, bodies, generator, args)}\n\n"
        f"{prediction_verdict(predictions)}\n{footer}\n"
    )
    write_results("api", text)
    if not args.no_docs:
        write_section(DOCS_PATH, DOCS_BEGIN, DOCS_END, text)
        _log(f"rewrote the API section of {DOCS_PATH.relative_to(REPO_ROOT)}")
    _log(f"{verdict(rows)} {prediction_verdict(predictions)} {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
