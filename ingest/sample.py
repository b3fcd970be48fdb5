"""Sample container generator: writes (and can upload) a container laid out as in RAW_DATA.md."""

from __future__ import annotations

import argparse
import csv
import io
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from ingest.contract import MONTHS
from ingest.sample_catalog import (
    COUNTRY,
    OWN_PRODUCTS,
    PRODUCT_DIM_PARTS,
    PRODUCTS,
    REGION_DIM_PARTS,
    REGIONS,
    TAMALES_INC_DIR,
    TEINVENTO_DIR,
    ZONES,
    fact_part_sizes,
)
from ingest.sample_model import (
    HORIZON_MONTHS,
    OWN_FIRST_T,
    STREAM_UUID,
    base_lines,
    market_facts,
    month_index,
    month_of,
    own_totals,
    restated_facts,
    restated_sales,
    rng_for,
    split_lines,
)
from tamales_inc.core.versions import is_version

DEFAULT_VERSIONS: tuple[str, ...] = ("20200801", "20200901")
MAX_SCALE = 5000


@dataclass(frozen=True)
class SampleSummary:
    """What `generate` wrote: data rows per blob (relative posix blob name), and timing."""

    out_dir: Path
    versions: tuple[str, ...]
    scale: int
    seed: int
    blob_rows: dict[str, int] = field(repr=False)
    seconds: float = 0.0

    @property
    def n_blobs(self) -> int:
        return len(self.blob_rows)

    def rows(
        self, source: str | None = None, version: str | None = None, table: str | None = None
    ) -> int:
        """Data rows over the blobs matching source, version and (teinvento) table."""
        total = 0
        for name, n in self.blob_rows.items():
            parts = name.split("/")
            if source is not None and parts[0] != source:
                continue
            if version is not None and parts[3] != version:
                continue
            if table is not None and parts[4] != table:
                continue
            total += n
        return total

    def line(self) -> str:
        """The one-line summary printed by the CLI."""
        fact = self.rows("teinvento_inc", table="fact_table")
        prod = self.rows("teinvento_inc", table="product_dim")
        reg = self.rows("teinvento_inc", table="region_dim")
        return (
            f"sample: {self.n_blobs} blobs, versions {','.join(self.versions)}, "
            f"tamales_inc {self.rows('tamales_inc'):,} rows, teinvento_inc fact_table {fact:,} / "
            f"product_dim {prod} / region_dim {reg} rows, scale {self.scale}, seed {self.seed}, "
            f"{self.seconds:.1f} s -> {self.out_dir}"
        )


def parse_versions(versions: Sequence[str]) -> tuple[str, ...]:
    """Validate `yyyymmdd` version names (a month Jan 2019 - Dec 2025), sorted and unique."""
    out: set[str] = set()
    for v in versions:
        v = v.strip()
        if not is_version(v):
            raise ValueError(f"version {v!r}: expected a date as yyyymmdd, e.g. 20200801")
        t = month_index(int(v[:4]), int(v[4:6]))
        if not OWN_FIRST_T <= t < HORIZON_MONTHS:
            raise ValueError(f"version {v!r}: must fall between 20190101 and 20251231")
        out.add(v)
    if not out:
        raise ValueError("versions: give at least one version (yyyymmdd)")
    return tuple(sorted(out))


def _cutoff(version: str) -> int:
    return month_index(int(version[:4]), int(version[4:6]))


def _csv_text(rows: list[list[str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerows(rows)
    return buf.getvalue()


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(text)


def _fmt(x: float) -> str:
    return "" if np.isnan(x) else repr(float(x))


def _write_spark_table(
    table_dir: Path,
    rows: list[list[str]],
    part_sizes: Sequence[int],
    job_uuid: uuid.UUID,
    blob_rows: dict[str, int],
    root: Path,
) -> None:
    """Write rows as Spark part files (0 rows = a zero-byte part) and the `_SUCCESS` marker."""
    assert sum(part_sizes) == len(rows)
    table_dir.mkdir(parents=True, exist_ok=True)
    start = 0
    for i, n in enumerate(part_sizes):
        path = table_dir / f"part-{i:05d}-{job_uuid}-c000.csv"
        chunk = rows[start : start + n]
        start += n
        _write(path, _csv_text(chunk))
        blob_rows[path.relative_to(root).as_posix()] = len(chunk)
    success = table_dir / "_SUCCESS"
    success.write_bytes(b"")
    blob_rows[success.relative_to(root).as_posix()] = 0


def _spark_uuid(seed: int, version: str, table: str) -> uuid.UUID:
    rng = rng_for(seed, STREAM_UUID, int(version), sum(map(ord, table)))
    return uuid.UUID(bytes=rng.bytes(16), version=4)


def _generate_into(
    root: Path, scale: int, versions: tuple[str, ...], seed: int, log: Callable[[str], None]
) -> dict[str, int]:
    blob_rows: dict[str, int] = {}
    cutoffs = [_cutoff(v) for v in versions]
    totals = own_totals(seed)
    lines = base_lines(seed, totals)

    # -- tamales_inc: lines of months <= the last version's cutoff ----------------------------
    keep = lines.t <= cutoffs[-1]
    per_version = [s[keep] for s in restated_sales(seed, lines, cutoffs)]
    line_t, line_code, line_zone = lines.t[keep], lines.code[keep], lines.zone[keep]
    low_cal = lines.low_calorie[keep]
    if scale > 1:
        log(f"sample: splitting {keep.sum():,} lines x {scale}")
        per_version, order = split_lines(seed, per_version, scale)
        line_t, line_code, line_zone, low_cal = (
            np.repeat(a, scale) for a in (line_t, line_code, line_zone, low_cal)
        )
    else:
        order = lines.order[keep]
    # one text prefix per (month, code, zone, calorie category)
    prefix_id = ((line_t * len(OWN_PRODUCTS) + line_code) * len(ZONES) + line_zone) * 2 + low_cal
    prefixes: list[str] = []
    for t in range(HORIZON_MONTHS):
        year, month = month_of(t)
        for product in OWN_PRODUCTS:
            for zone in ZONES:
                for category in ("Regular", "Low-Calorie"):
                    fields = [
                        str(year),
                        MONTHS[month - 1],
                        COUNTRY,
                        category,
                        product.flavor,
                        zone.name,
                        product.code,
                        product.product_name,
                    ]
                    prefixes.append(",".join(fields) + ",")
    prefix_series = pl.Series("prefix", prefixes)
    by_zone_sorted = np.lexsort((order, line_zone))
    zone_bounds = np.searchsorted(line_zone[by_zone_sorted], np.arange(len(ZONES) + 1))
    for vi, version in enumerate(versions):
        values = per_version[vi]
        for zi, zone in enumerate(ZONES):
            idx = by_zone_sorted[zone_bounds[zi] : zone_bounds[zi + 1]]
            idx = idx[line_t[idx] <= cutoffs[vi]]
            sales_text = pl.Series("sales", list(map(repr, values[idx].tolist())), dtype=pl.String)
            text = prefix_series.gather(prefix_id[idx]) + sales_text
            rel = (
                f"{TAMALES_INC_DIR}/{version}/csv/{zone.folder}/"
                f"ventas_mensuales_{zone.folder}_{version}.csv"
            )
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            pl.DataFrame({"line": text}).write_csv(
                path, include_header=False, quote_style="never", line_terminator="\n"
            )
            blob_rows[rel] = len(idx)
            if scale > 1:
                log(f"sample: wrote {rel} ({len(idx):,} lines)")

    # -- teinvento_inc: a Spark star schema per version ------------------------------------------
    facts = market_facts(seed, totals)
    fact_sales = restated_facts(seed, facts, cutoffs)
    fact_by_order = np.argsort(facts.order, kind="stable")
    product_rows = [
        [str(p.id_product), p.calorie_category, p.product, p.product_brand, p.producer]
        for p in PRODUCTS
    ]
    region_rows = [[str(rid), country, name] for rid, country, name in REGIONS]
    for vi, version in enumerate(versions):
        base = root / TEINVENTO_DIR / version
        idx = fact_by_order[facts.t[fact_by_order] <= cutoffs[vi]]
        rows = []
        for i in idx.tolist():
            year, month = month_of(int(facts.t[i]))
            rows.append(
                [
                    str(year),
                    MONTHS[month - 1],
                    _fmt(fact_sales[vi][i]),
                    str(facts.id_region[i]),
                    str(facts.id_product[i]),
                ]
            )
        tables = {
            "fact_table": (rows, fact_part_sizes(len(rows))),
            "product_dim": (_shuffled(product_rows, seed, version, 1), PRODUCT_DIM_PARTS),
            "region_dim": (_shuffled(region_rows, seed, version, 2), REGION_DIM_PARTS),
        }
        for table, (table_rows, sizes) in tables.items():
            _write_spark_table(
                base / table, table_rows, sizes, _spark_uuid(seed, version, table), blob_rows, root
            )
    return blob_rows


def _shuffled(rows: list[list[str]], seed: int, version: str, salt: int) -> list[list[str]]:
    perm = rng_for(seed, STREAM_UUID, int(version), salt, 7).permutation(len(rows))
    return [rows[i] for i in perm]


def generate(
    out_dir: Path,
    scale: int = 1,
    versions: Sequence[str] = DEFAULT_VERSIONS,
    seed: int = 42,
    *,
    force: bool = False,
    log: Callable[[str], None] | None = None,
) -> SampleSummary:
    """Write a sample container under `out_dir` (built in a temp sibling, then renamed in place).

    `out_dir` may be missing or empty; a non-empty one is replaced only with `force=True`.
    """
    started = time.perf_counter()
    if isinstance(scale, bool) or not isinstance(scale, int) or not 1 <= scale <= MAX_SCALE:
        raise ValueError(f"scale: expected an integer between 1 and {MAX_SCALE}, got {scale!r}")
    parsed = parse_versions(versions)
    out_dir = Path(out_dir).resolve()
    if out_dir.exists() and not out_dir.is_dir():
        raise FileExistsError(f"{out_dir}: exists and is not a directory")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not force:
        raise FileExistsError(f"{out_dir}: exists and is not empty (use --force to replace it)")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        blob_rows = _generate_into(tmp, scale, parsed, seed, log or (lambda _msg: None))
        _replace_dir(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return SampleSummary(
        out_dir=out_dir,
        versions=parsed,
        scale=scale,
        seed=seed,
        blob_rows=dict(sorted(blob_rows.items())),
        seconds=time.perf_counter() - started,
    )


def _replace_dir(new: Path, target: Path) -> None:
    """Move `new` to `target`; an existing `target` is moved aside first and removed after."""
    if not target.exists():
        os.replace(new, target)
        return
    if not any(target.iterdir()):
        target.rmdir()
        os.replace(new, target)
        return
    trash = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    os.replace(target, trash / "old")
    try:
        os.replace(new, target)
    except BaseException:
        os.replace(trash / "old", target)
        raise
    shutil.rmtree(trash, ignore_errors=True)


def upload(
    local_dir: Path,
    *,
    connection_string: str | None = None,
    container: str | None = None,
    blob_url: str | None = None,
    log: Callable[[str], None] | None = None,
) -> int:
    """Upload every file under `local_dir` (blob name = relative posix path); returns the count.

    Give either `connection_string` + `container` (the container is created if missing) or a
    container SAS `blob_url` (needs write permission).
    """
    from azure.core.exceptions import ResourceExistsError
    from azure.storage.blob import ContainerClient, ContentSettings

    local_dir = Path(local_dir)
    if not local_dir.is_dir():
        raise FileNotFoundError(f"{local_dir}: not a directory")
    if blob_url:
        if connection_string or container:
            raise ValueError("upload: give either blob_url or connection_string + container")
        client = ContainerClient.from_container_url(blob_url)
    elif connection_string and container:
        client = ContainerClient.from_connection_string(connection_string, container)
        try:
            client.create_container()
        except ResourceExistsError:
            pass
    else:
        raise ValueError("upload: give blob_url, or connection_string and container")
    files = sorted(p for p in local_dir.rglob("*") if p.is_file())
    with client:
        for i, path in enumerate(files, 1):
            name = path.relative_to(local_dir).as_posix()
            settings = ContentSettings(
                content_type="text/csv; charset=utf-8" if path.suffix == ".csv" else None
            )
            with path.open("rb") as fh:
                client.upload_blob(
                    name, fh, overwrite=True, content_settings=settings, max_concurrency=2
                )
            if log is not None and (path.stat().st_size > 50_000_000 or i == len(files)):
                log(f"sample: uploaded {i}/{len(files)} blobs ({name})")
    return len(files)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m ingest.sample",
        description="Write a sample Tamales Inc blob container (layout and quirks of RAW_DATA.md).",
    )
    p.add_argument("--out", type=Path, help="folder to write (must be missing or empty)")
    p.add_argument("--scale", type=int, default=1, help="lines per key multiplier (default 1)")
    p.add_argument(
        "--versions",
        default=",".join(DEFAULT_VERSIONS),
        help="comma-separated data versions yyyymmdd (default %(default)s)",
    )
    p.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    p.add_argument("--force", action="store_true", help="replace a non-empty --out folder")
    p.add_argument("--connection-string", help="upload to this Azure storage account")
    p.add_argument("--container", help="container to create/fill with --connection-string")
    p.add_argument("--blob-url", help="upload to this container SAS URL (needs write access)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; returns the exit code."""
    args = _parser().parse_args(argv)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    uploading = bool(args.blob_url or args.connection_string or args.container)
    try:
        if uploading and not args.blob_url and not (args.connection_string and args.container):
            raise ValueError("--connection-string and --container go together")
        if args.blob_url and (args.connection_string or args.container):
            raise ValueError("give --blob-url or --connection-string/--container, not both")
        if args.out is None and not uploading:
            raise ValueError("--out: required unless uploading (--blob-url or --connection-string)")
        versions = [v for v in args.versions.split(",") if v.strip()]
        with tempfile.TemporaryDirectory(prefix="tamales-sample-") as scratch:
            out = args.out if args.out is not None else Path(scratch) / "container"
            summary = generate(
                out, scale=args.scale, versions=versions, seed=args.seed, force=args.force, log=log
            )
            line = summary.line()
            if args.out is None:
                line = line.replace(f" -> {summary.out_dir}", " (temporary folder)")
            if uploading:
                started = time.perf_counter()
                n = upload(
                    summary.out_dir,
                    connection_string=args.connection_string,
                    container=args.container,
                    blob_url=args.blob_url,
                    log=log,
                )
                where = args.container or "the SAS container"
                line += f"; uploaded {n} blobs to {where} in {time.perf_counter() - started:.1f} s"
    except (ValueError, FileExistsError, FileNotFoundError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # azure errors: one line, no SAS token (the SDK redacts signatures)
        status = getattr(exc, "status_code", None)
        hint = ""
        if status in (401, 403):
            hint = " (check the key, or that the SAS allows create+write: sp=...cw...)"
        first = str(exc).splitlines()[0] if str(exc) else ""
        print(f"error: upload failed: {type(exc).__name__}: {first}{hint}", file=sys.stderr)
        return 1
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
