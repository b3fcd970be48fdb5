"""Write the README's configuration table from `tamales_inc.core.settings.ENVIRONMENT`.

`python docs/configuration.py` prints the table; `--write` replaces it in README.md between the
`configuration:begin` / `configuration:end` markers. The test suite fails when they differ.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
README = REPO_ROOT / "README.md"
SECTION = re.compile(
    r"(<!-- configuration:begin[^\n]*-->\n)(.*?)(<!-- configuration:end -->)", re.DOTALL
)


def table(environment: dict[str, str]) -> str:
    """One Markdown row per variable, in the order the settings module declares them."""
    rows = [f"| `{name}` | {meaning.replace('|', '/')} |" for name, meaning in environment.items()]
    return "\n".join(["| variable | meaning |", "|---|---|", *rows]) + "\n"


def readme_table(text: str) -> str:
    """The table between the markers of `text`."""
    match = SECTION.search(text)
    if match is None:
        raise ValueError("README.md has no configuration:begin / configuration:end markers")
    return match.group(2)


def rewrite(text: str, environment: dict[str, str]) -> str:
    readme_table(text)  # the markers must be there
    return SECTION.sub(lambda m: m.group(1) + table(environment) + m.group(3), text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="configuration", description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update README.md in place")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO_ROOT))
    from tamales_inc.core.settings import ENVIRONMENT

    if not args.write:
        sys.stdout.write(table(ENVIRONMENT))
        return 0
    README.write_text(rewrite(README.read_text("utf-8"), ENVIRONMENT), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
