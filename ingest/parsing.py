"""Parse one headerless CSV blob into typed contract rows and quarantined contract violations.

Fast path: a blob without quotes is read by polars straight into the contract types (polars
rejects bad UTF-8, unparseable values and over-long lines; short lines are caught by their null
last column). Otherwise the text path: numpy classifies each line, the well-shaped ones are still
read by polars as text and cast, the odd ones (quoted fields, bad UTF-8, wrong column count) go
through Python's csv module. Either way every line is landed or quarantined with its reason.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from ingest.contract import QUARANTINE_SCHEMA, Column, TableSpec

if TYPE_CHECKING:
    import numpy as np

BOM = b"\xef\xbb\xbf"
_NEWLINE, _COMMA, _QUOTE, _CR = 10, 44, 34, 13


def count_lines(data: bytes) -> int:
    """Lines in a `\\n`-separated blob (a final newline does not start a new line; a leading
    UTF-8 BOM is not a line)."""
    if data.startswith(BOM):
        data = data[len(BOM) :]
    if not data:
        return 0
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


def _read_fields(buffer: bytes, spec: TableSpec) -> pl.DataFrame:
    """Every field as text (empty -> null); the buffer holds no quotes and only whole lines."""
    return pl.read_csv(
        buffer,
        has_header=False,
        new_columns=spec.names,
        schema=dict.fromkeys(spec.names, pl.String()),
        quote_char=None,
        encoding="utf8",
    )


def _is_utf8(data: bytes) -> bool:
    if data.isascii():
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _only_crlf(data: bytes) -> bool:
    """True when every carriage return is part of a `\\r\\n` line end (polars drops those)."""
    return b"\r" not in data or data.count(b"\r") == data.count(b"\r\n")


def _well_shaped(data: bytes, spec: TableSpec, n_lines: int) -> bool:
    """No quotes, no stray carriage returns, valid UTF-8 and `columns - 1` commas per line on
    average (polars then rejects any line with too many, so none can have too few)."""
    return (
        b'"' not in data
        and _only_crlf(data)
        and data.count(b",") == (len(spec.columns) - 1) * n_lines
        and _is_utf8(data)
    )


def _fast_fields(data: bytes, spec: TableSpec, n_lines: int) -> pl.DataFrame | None:
    """Text fields of a well-shaped blob, or None when any line needs a closer look."""
    if not _well_shaped(data, spec, n_lines):
        return None
    try:
        fields = _read_fields(data, spec)
    except pl.exceptions.ComputeError:  # a line with too many fields
        return None
    if fields.height != n_lines:
        return None
    return fields.with_columns(line_number=pl.int_range(1, n_lines + 1, dtype=pl.Int64))


def _line_bounds(data: bytes, n_lines: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The bytes as an array, each line's start offset and end offset (newline excluded)."""
    import numpy as np

    arr = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(arr == _NEWLINE)
    starts = np.empty(n_lines, dtype=np.int64)
    starts[0] = 0
    starts[1:] = newlines[: n_lines - 1] + 1
    ends = np.empty(n_lines, dtype=np.int64)
    ends[: len(newlines[:n_lines])] = newlines[:n_lines]
    if len(newlines) < n_lines:  # last line without a newline
        ends[-1] = len(data)
    return arr, starts, ends


def _per_line(starts: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """How many masked bytes each line holds (segments include their newline: never empty)."""
    import numpy as np

    return np.add.reduceat(mask, starts, dtype=np.int64)


def _odd_lines(data: bytes, spec: TableSpec, arr: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """A boolean per line: True when polars cannot be trusted to split it."""
    odd = _per_line(starts, arr == _COMMA) != len(spec.columns) - 1
    if b'"' in data:
        odd |= _per_line(starts, arr == _QUOTE) > 0
    if not _only_crlf(data):
        odd |= _per_line(starts, arr == _CR) > 0
    if not _is_utf8(data):
        odd |= _per_line(starts, arr >= 0x80) > 0
    return odd


def _good_buffer(data: bytes, starts: np.ndarray, odd_idx: np.ndarray) -> bytes:
    """The blob without its odd lines (each kept line keeps its newline)."""
    if len(odd_idx) == 0:
        return data
    pieces: list[bytes] = []
    previous = 0
    for index in odd_idx.tolist():
        if index > previous:
            pieces.append(data[starts[previous] : starts[index]])
        previous = index + 1
    if previous < len(starts):
        pieces.append(data[starts[previous] :])
    return b"".join(pieces)


def _split_odd_line(raw: bytes, n_columns: int) -> tuple[list[str | None] | None, str, str | None]:
    """Fields of one odd line, its text and, when it breaks the contract, the reason."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return (
            None,
            raw.decode("utf-8", "backslashreplace"),
            f"invalid UTF-8 at byte {exc.start + 1}",
        )
    if text.endswith("\r"):
        text = text[:-1]
    if text == "":
        return None, text, "empty line"
    if '"' in text:
        try:
            fields: list[str] = next(csv.reader([text], strict=True))
        except csv.Error as exc:
            return None, text, f"malformed quoting: {exc}"
    else:
        fields = text.split(",")
    if len(fields) != n_columns:
        return None, text, f"wrong column count: {len(fields)} (expected {n_columns})"
    return [field if field != "" else None for field in fields], text, None


def _exact_fields(data: bytes, spec: TableSpec, n_lines: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Fields of every well-shaped line plus the (line_number, raw_line, reason) of broken ones."""
    import numpy as np

    arr, starts, ends = _line_bounds(data, n_lines)
    odd = _odd_lines(data, spec, arr, starts)
    del arr
    odd_idx = np.flatnonzero(odd)
    good_numbers = np.flatnonzero(~odd) + 1
    frames: list[pl.DataFrame] = []
    if len(good_numbers):
        good = _read_fields(_good_buffer(data, starts, odd_idx), spec)
        if good.height != len(good_numbers):
            raise RuntimeError(
                f"parsed {good.height} well-shaped lines, expected {len(good_numbers)}"
            )
        frames.append(
            good.with_columns(
                line_number=pl.Series(good_numbers, dtype=pl.Int64),
                raw_line=pl.lit(None, pl.String),
            )
        )
    rows: list[list[str | None]] = []
    broken: list[tuple[int, str, str]] = []
    n_columns = len(spec.columns)
    for index in odd_idx.tolist():
        fields, text, reason = _split_odd_line(data[starts[index] : ends[index]], n_columns)
        if fields is None:
            broken.append((index + 1, text, reason or "unreadable line"))
        else:
            rows.append([*fields, index + 1, text])
    if rows:
        schema = dict.fromkeys(spec.names, pl.String()) | {
            "line_number": pl.Int64(),
            "raw_line": pl.String(),
        }
        frames.append(pl.DataFrame(rows, schema=schema, orient="row"))
    fields = pl.concat(frames) if frames else _empty_fields(spec)
    if len(frames) > 1:
        fields = fields.sort("line_number")
    structural = pl.DataFrame(
        broken,
        schema={"line_number": pl.Int64(), "raw_line": pl.String(), "reason": pl.String()},
        orient="row",
    )
    return fields, structural


def _empty_fields(spec: TableSpec) -> pl.DataFrame:
    return pl.DataFrame(
        schema=dict.fromkeys(spec.names, pl.String())
        | {"line_number": pl.Int64(), "raw_line": pl.String()}
    )


def _typed(spec: TableSpec) -> list[pl.Expr]:
    """Text fields cast to the contract types (unparseable values become null)."""
    return [_value(column, pl.col(column.name)) for column in spec.columns]


def _value(column: Column, text: pl.Expr) -> pl.Expr:
    """A text field cast to its column's type (null where it does not parse)."""
    return text if column.dtype == pl.String() else text.cast(column.dtype, strict=False)


def _violations(spec: TableSpec, *, typed_input: bool) -> pl.Expr:
    """True for rows that break a contract rule (cheap boolean checks, no strings built).

    Over typed columns the `parse` rules are left out: the typed read refused unparseable text.
    """
    flags: list[pl.Expr] = []
    for rule in spec.rules:
        field = pl.col(rule.column.name)
        if not typed_input:
            flags.append(rule.broken(field, _value(rule.column, field)))
        elif not rule.parse:
            flags.append(rule.broken(field, field))
    return pl.any_horizontal(flags).fill_null(False)


def _reasons(spec: TableSpec) -> pl.Expr:
    """Over text fields: the reason of the first rule (in contract order) a row breaks."""
    reasons: list[pl.Expr] = []
    for rule in spec.rules:
        text = pl.col(rule.column.name)
        reasons.append(
            pl.when(rule.broken(text, _value(rule.column, text))).then(rule.reason(text))
        )
    return pl.coalesce(reasons)


def empty_quarantine() -> pl.DataFrame:
    """A quarantine frame with no rows."""
    return pl.DataFrame(schema=QUARANTINE_SCHEMA)


def _raw_lines(data: bytes, numbers: list[int]) -> list[str]:
    """The text of the given 1-based lines (undecodable bytes shown as \\x escapes)."""
    import numpy as np

    newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == _NEWLINE)
    lines = []
    for number in numbers:
        start = 0 if number == 1 else int(newlines[number - 2]) + 1
        end = int(newlines[number - 1]) if number - 1 < len(newlines) else len(data)
        text = data[start:end].decode("utf-8", "backslashreplace")
        lines.append(text[:-1] if text.endswith("\r") else text)
    return lines


def _fast_typed(data: bytes, spec: TableSpec, n_lines: int) -> pl.DataFrame | None:
    """A blob whose every line is well shaped and every value parses, read straight into the
    contract types; None sends it down the text path.

    polars rejects invalid UTF-8, unparseable values and lines with too many fields; a line with
    too few leaves its last column null, so only those lines' commas are counted here.
    """
    if b'"' in data or not _only_crlf(data):
        return None
    try:
        frame = pl.read_csv(
            data,
            has_header=False,
            new_columns=spec.names,
            schema={column.name: column.dtype for column in spec.columns},
            quote_char=None,
            encoding="utf8",
        )
    except pl.exceptions.PolarsError:
        return None
    if frame.height != n_lines:
        return None
    frame = frame.with_columns(line_number=pl.int_range(1, n_lines + 1, dtype=pl.Int64))
    short = frame[spec.columns[-1].name].is_null()
    if short.any():
        numbers = frame.filter(short)["line_number"].to_list()
        expected = len(spec.columns) - 1
        if any(line.count(",") != expected for line in _raw_lines(data, numbers)):
            return None
    return frame


def _text_fields_of(lines: list[str], numbers: list[int], spec: TableSpec) -> pl.DataFrame:
    """Text fields of unquoted, well-shaped lines (empty -> null)."""
    rows = [[f if f != "" else None for f in line.split(",")] for line in lines]
    frame = pl.DataFrame(rows, schema=dict.fromkeys(spec.names, pl.String()), orient="row")
    return frame.with_columns(
        line_number=pl.Series(numbers, dtype=pl.Int64), raw_line=pl.Series(lines, dtype=pl.String)
    )


class BlobParser:
    """One blob's landed rows as a stream of batches; once the stream ends, its quarantined lines,
    counts and sales total.

    A blob without quotes or stray carriage returns is read by polars' streaming CSV reader
    straight into the contract types. Rows that break a rule, or whose last column is empty (a
    short line reads that way), are held back and re-read through the exact path below; when
    polars refuses a value, a long line or bad UTF-8 mid-blob, the lines it delivered stand and
    the rest of the blob goes the exact way. Any other blob is parsed whole by the exact path.
    """

    def __init__(
        self,
        content: bytes | Path,
        spec: TableSpec,
        *,
        blob_name: str,
        data_version: str,
        ingested_at: datetime,
        batch_rows: int | None = None,
        lines: int | None = None,
    ) -> None:
        if isinstance(content, Path):  # a plain file (no BOM): polars reads it by path
            self._path: Path | None = content
            self._bytes = b""
        else:
            self._path = None
            self._bytes = content[len(BOM) :] if content.startswith(BOM) else content
        self.spec = spec
        self.blob_name = blob_name
        self.n_lines = count_lines(self._bytes) if lines is None else lines
        self.rows_landed = 0
        self.quarantined = empty_quarantine()
        self._batch_rows = batch_rows
        self._sales: list[float] = []
        self._bad_parts: list[pl.DataFrame] = []
        self._lineage = {
            "blob_name": pl.lit(blob_name, pl.String),
            "data_version": pl.lit(data_version, pl.String),
            "ingested_at": pl.lit(ingested_at, pl.Datetime("us")),
        }

    @property
    def rows_read(self) -> int:
        return self.n_lines

    @property
    def sales_total(self) -> float:
        """Sum of the landed `sales` (0 for a table without them)."""
        return math.fsum(self._sales)

    def batches(self) -> Iterator[pl.DataFrame]:
        """Landed rows (contract + lineage columns), batch by batch, not in line order."""
        if self.n_lines:
            data = self._bytes
            if self._path is not None or (b'"' not in data and _only_crlf(data)):
                parts = self._streamed()
            else:
                good, bad = _split_lines(data, self.spec, self.n_lines)
                self._bad_parts += bad
                parts = iter([good])
            has_sales = "sales" in self.spec.names
            for part in parts:
                if part.height:
                    landed = self._landed(part)
                    self.rows_landed += landed.height
                    if has_sales:
                        self._sales.append(float(landed["sales"].sum()))
                    yield landed
        self._finish()

    def _landed(self, part: pl.DataFrame) -> pl.DataFrame:
        """A part in the landed schema (the streamed batches come with their lineage)."""
        if part.columns == list(self.spec.landed_schema):
            return part
        return part.select(_columns(self.spec.landed_schema, self._lineage))

    def _streamed(self) -> Iterator[pl.DataFrame]:
        """Typed batches from polars' streaming reader, then the lines it could not vouch for."""
        spec = self.spec
        last = spec.columns[-1].name
        typed = (
            pl.scan_csv(
                self._path if self._path is not None else self._bytes,
                has_header=False,
                schema={column.name: column.dtype for column in spec.columns},
                quote_char=None,
                encoding="utf8",
            )
            .with_row_index("line_number", offset=1)
            .with_columns(
                pl.col("line_number").cast(pl.Int64),
                _suspect=_violations(spec, typed_input=True) | pl.col(last).is_null(),
            )
            .select(*_columns(spec.landed_schema, self._lineage), "_suspect")
        )
        read = 0
        suspects: list[pl.Series] = []
        stream = iter(typed.collect_batches(chunk_size=self._batch_rows))
        while True:
            try:
                batch = next(stream)
            except StopIteration:
                break
            except pl.exceptions.PolarsError:  # unparseable value, long line, bad UTF-8
                yield from self._exact_rest(read)
                break
            if not batch.height:
                continue
            if batch["line_number"][0] != read + 1:
                raise RuntimeError(f"{self.blob_name}: the CSV reader skipped or reordered lines")
            read += batch.height
            flagged = batch.drop_in_place("_suspect")
            if flagged.any():
                suspects.append(batch.filter(flagged)["line_number"])
                batch = batch.filter(~flagged)
            yield batch
        if suspects:
            yield self._recheck(pl.concat(suspects).to_list())

    def _data(self) -> bytes:
        """The blob's bytes (read from its file once, when a line needs the exact path)."""
        if self._path is not None and not self._bytes:
            self._bytes = self._path.read_bytes()
        return self._bytes

    def _exact_rest(self, done: int) -> Iterator[pl.DataFrame]:
        """The lines after the first `done` through the exact path (line numbers kept)."""
        import numpy as np

        data = self._data()
        start = 0
        if done:
            newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == _NEWLINE)
            start = int(newlines[done - 1]) + 1
        good, bad = _split_lines(data[start:], self.spec, self.n_lines - done)
        shift = pl.col("line_number") + done
        self._bad_parts += [part.with_columns(shift) for part in bad]
        yield good.with_columns(shift)

    def _recheck(self, numbers: list[int]) -> pl.DataFrame:
        """Held-back lines through the exact path: the good ones, the rest quarantined."""
        lines = _raw_lines(self._data(), numbers)
        data = "".join(line + "\n" for line in lines).encode("utf-8")
        good, bad = _split_lines(data, self.spec, len(numbers))
        original = pl.Series("line_number", numbers, dtype=pl.Int64)

        def renumbered(part: pl.DataFrame) -> pl.DataFrame:
            return part.with_columns(original.gather(part["line_number"] - 1))

        self._bad_parts += [renumbered(part) for part in bad]
        return renumbered(good)

    def _finish(self) -> None:
        """Build the quarantine frame and check every line was landed or quarantined once."""
        self._bytes = b""
        if self._bad_parts:
            bad = pl.concat(self._bad_parts).sort("line_number")
            if bad["reason"].null_count():
                raise RuntimeError(f"{self.blob_name}: a rejected line has no reason")
            self.quarantined = bad.select(_columns(QUARANTINE_SCHEMA, self._lineage))
        if self.rows_landed + self.quarantined.height != self.n_lines:
            raise RuntimeError(
                f"{self.blob_name}: {self.n_lines} lines but {self.rows_landed} landed + "
                f"{self.quarantined.height} quarantined"
            )


def _columns(names: Iterable[str], constants: dict[str, pl.Expr]) -> list[pl.Expr]:
    """The named columns in order, each taken from the frame or, if given, as its constant."""
    return [constants[n].alias(n) if n in constants else pl.col(n) for n in names]


def _split_lines(
    data: bytes, spec: TableSpec, n_lines: int
) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    """The rows that honour the contract (typed columns + line_number), and the broken lines as
    `(line_number, raw_line, reason)` frames."""
    typed = _fast_typed(data, spec, n_lines)
    if typed is not None:
        bad_rows = typed.select(_violations(spec, typed_input=True)).to_series()
        if not bad_rows.any():
            return typed, []
        numbers = typed.filter(bad_rows)["line_number"].to_list()
        rejected = _text_fields_of(_raw_lines(data, numbers), numbers, spec)
        return typed.filter(~bad_rows), [_with_reasons(rejected, data, spec)]
    bad_parts: list[pl.DataFrame] = []
    fields = _fast_fields(data, spec, n_lines)
    if fields is None:
        fields, structural = _exact_fields(data, spec, n_lines)
        if structural.height:
            bad_parts.append(structural)
    checked = fields.with_columns(_bad=_violations(spec, typed_input=False))
    rejected = checked.filter(pl.col("_bad"))
    if rejected.height:
        bad_parts.append(_with_reasons(rejected, data, spec))
    return checked.filter(~pl.col("_bad")).select(*_typed(spec), "line_number"), bad_parts


def _with_reasons(rejected: pl.DataFrame, data: bytes, spec: TableSpec) -> pl.DataFrame:
    """`(line_number, raw_line, reason)` of rows that break a rule; the lines polars read take
    their text from the blob (once)."""
    if "raw_line" not in rejected.columns:
        rejected = rejected.with_columns(raw_line=pl.lit(None, pl.String))
    missing = rejected.filter(pl.col("raw_line").is_null())["line_number"].to_list()
    if missing:
        text = dict(zip(missing, _raw_lines(data, missing), strict=True))
        rejected = rejected.with_columns(
            raw_line=pl.coalesce(
                pl.col("raw_line"),
                pl.Series([text.get(n) for n in rejected["line_number"]], dtype=pl.String),
            )
        )
    return rejected.select("line_number", "raw_line", _reasons(spec).alias("reason"))
