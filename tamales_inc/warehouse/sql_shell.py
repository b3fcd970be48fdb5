"""A read-only SQL shell on the published DuckDB warehouse (the duckdb CLI is not installed).

The shell is a command: results and the errors of interactive statements are its output.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb

from tamales_inc.core.cli import make_parser, run_command
from tamales_inc.core.errors import TamalesError
from tamales_inc.core.settings import Settings
from tamales_inc.warehouse.publish import require_published

PROG = "sql"
HELP = """Statements end with `;`. Commands: .tables  .schema <table>  .help  .quit
The warehouse is opened read-only: schemas staging, marts, meta, ml."""


class SqlError(TamalesError):
    """A statement failed, or there is no database to open."""


def _show(con: duckdb.DuckDBPyConnection, statement: str, max_rows: int) -> None:
    """Run one statement and print its result (raises duckdb.Error when it fails)."""
    relation = con.sql(statement)
    if relation is not None:
        relation.show(max_rows=max_rows, max_width=200)


def _run(con: duckdb.DuckDBPyConnection, statement: str, max_rows: int) -> bool:
    """Run one statement of the shell; return False (after printing why) on error."""
    try:
        _show(con, statement, max_rows)
    except duckdb.Error as error:
        print(f"error: {error}", file=sys.stderr)
        return False
    return True


def _dot_command(con: duckdb.DuckDBPyConnection, line: str, max_rows: int) -> bool | None:
    """Handle `.tables`, `.schema`, `.help`; None means quit."""
    name, _, argument = line.partition(" ")
    if name in (".quit", ".exit"):
        return None
    if name == ".tables":
        return _run(
            con,
            "select table_schema || '.' || table_name as name, table_type "
            "from information_schema.tables order by 1",
            max_rows,
        )
    if name == ".schema" and argument.strip():
        return _run(con, f"describe {argument.strip()}", max_rows)
    print(HELP)
    return True


def repl(con: duckdb.DuckDBPyConnection, max_rows: int) -> int:
    """Read statements until `.quit` or end of input; return 1 if any statement failed."""
    try:
        import readline  # noqa: F401  (line editing and history when available)
    except ImportError:
        pass
    interactive = sys.stdin.isatty()
    if interactive:
        print(HELP)
    failed = False
    buffer: list[str] = []
    while True:
        try:
            line = input("tamales> " if not buffer else "    ...> ") if interactive else input()
        except EOFError:
            break
        except KeyboardInterrupt:
            buffer.clear()
            print()
            continue
        stripped = line.strip()
        if not buffer and stripped.startswith("."):
            outcome = _dot_command(con, stripped, max_rows)
            if outcome is None:
                break
            failed |= not outcome
            continue
        buffer.append(line)
        if stripped.endswith(";"):
            failed |= not _run(con, "\n".join(buffer), max_rows)
            buffer.clear()
    if buffer and "".join(buffer).strip():
        failed |= not _run(con, "\n".join(buffer), max_rows)
    return 1 if failed else 0


def _database(args: argparse.Namespace) -> Path:
    """The DuckDB file to open: `--database`, else the published warehouse."""
    if args.database is None:
        return require_published(Settings.from_env())
    if not args.database.is_file():
        raise SqlError(f"no DuckDB file at {args.database}")
    return args.database


def _command(args: argparse.Namespace) -> int:
    con = duckdb.connect(str(_database(args)), read_only=True)
    try:
        if args.command is None:
            return repl(con, args.max_rows)
        try:
            _show(con, args.command, args.max_rows)
        except duckdb.Error as error:
            raise SqlError(str(error)) from error
        return 0
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    """CLI: `python -m tamales_inc.warehouse.sql_shell [-c SQL] [--database PATH]`."""
    parser = make_parser(PROG, "Read-only SQL shell on the published warehouse.")
    parser.add_argument("-c", "--command", help="run one statement and exit")
    parser.add_argument("--database", type=Path, help="DuckDB file (default: the published one)")
    parser.add_argument("--max-rows", type=int, default=40, help="rows shown per result")
    return run_command(PROG, parser, _command, argv)


if __name__ == "__main__":
    raise SystemExit(main())
