"""`just build`: ingest, transform and train in one process, each given the options it takes.

    just build --force --seed 7 -q

passes `-q` to every stage, `--force` to the transform and the training, `--seed 7` to the
training; an option no stage takes is a usage error. The stages run in order and the first
that fails (or is interrupted) ends the build with its exit code. Each stage skips itself when
its inputs did not change, so a build with nothing to do takes about a second.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tamales_inc.core.cli import EXIT_CODES, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from tamales_inc.core.errors import UsageError

PROG = "build"


@dataclass(frozen=True)
class Stage:
    """One stage of the build: its command-line parser and entry point."""

    name: str
    parser: argparse.ArgumentParser
    main: Callable[[list[str]], int]


def stages() -> list[Stage]:
    """The build's stages, in order (their CLI modules are cheap to import)."""
    import ingest.__main__ as ingest_cli
    from tamales_inc.forecasting import cli as train_cli
    from tamales_inc.warehouse import transform

    return [
        Stage("ingest", ingest_cli._parser(), ingest_cli.main),
        Stage("transform", transform.build_parser(), transform.main),
        Stage("train", train_cli.build_parser(), train_cli.main),
    ]


def _options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {
        option: action
        for action in parser._actions  # argparse keeps them here; it has no public accessor
        for option in action.option_strings
        if not isinstance(action, argparse._HelpAction)
    }


def split_args(argv: Sequence[str], stage_list: Sequence[Stage]) -> dict[str, list[str]]:
    """Each stage's share of `argv`: every option goes to each stage that takes it, with its
    value (`--seed 7` or `--seed=7`). UsageError for a positional or an option no stage takes."""
    options = {stage.name: _options(stage.parser) for stage in stage_list}
    shares: dict[str, list[str]] = {stage.name: [] for stage in stage_list}
    tokens = list(argv)
    while tokens:
        token = tokens.pop(0)
        if not token.startswith("-"):
            raise UsageError(f"unexpected argument {token!r}: `just build` takes options only")
        option, has_value, _ = token.partition("=")
        takers = {name: found[option] for name, found in options.items() if option in found}
        if not takers:
            raise UsageError(f"no stage takes {option}; see `just build --help`")
        group = [token]
        if not has_value and any(action.nargs != 0 for action in takers.values()):
            if not tokens:
                raise UsageError(f"{option} needs a value")
            group.append(tokens.pop(0))
        for name in takers:
            shares[name] += group
    return shares


def help_text(stage_list: Sequence[Stage]) -> str:
    """`just build --help`: which options go to which stage."""
    lines = [
        f"usage: {PROG} [options of any stage]",
        "",
        "Run ingest, transform and train in order; each stage gets the options it takes and "
        "skips itself when its inputs did not change.",
    ]
    for stage in stage_list:
        lines += ["", f"{stage.name} options:"]
        for action in stage.parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            metavar = "" if action.nargs == 0 else f" {action.dest.upper()}"
            flags = ", ".join(action.option_strings) + metavar
            lines.append(f"  {flags:<30} {action.help or ''}")
    return "\n".join([*lines, "", EXIT_CODES])


def main(argv: Sequence[str] | None = None) -> int:
    """Run every stage with its share of `argv`; the first non-zero exit code, else 0."""
    args = list(sys.argv[1:] if argv is None else argv)
    stage_list = stages()
    if "-h" in args or "--help" in args:
        print(help_text(stage_list))
        return EXIT_OK
    try:
        shares = split_args(args, stage_list)
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    started = time.perf_counter()
    try:
        for stage in stage_list:
            code = stage.main(shares[stage.name])
            if code != EXIT_OK:
                return code
    except KeyboardInterrupt:  # between two stages (each stage handles its own)
        print(f"{PROG}: interrupted", file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    print(f"{PROG}: {len(stage_list)} stages in {time.perf_counter() - started:.1f} s", flush=True)
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
