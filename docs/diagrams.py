"""Render every Mermaid diagram of README.md and docs/*.md to SVG (`just diagrams`).

The diagrams live in the Markdown as ```mermaid blocks, so the code host draws them where they are
written. This renders each block with the mermaid-cli pinned in package.json (installed by
`npm ci`, with PUPPETEER_SKIP_DOWNLOAD=1: it drives the system's Chromium instead of downloading
one) into `<out>/<page>-<n>.svg`, and fails on the first block that does not parse.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
MMDC = REPO_ROOT / "node_modules" / ".bin" / "mmdc"
DEFAULT_OUT = REPO_ROOT / "docs" / "_diagrams"
BLOCK = re.compile(r"^```mermaid[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


class DiagramError(Exception):
    """A diagram that does not render, or a missing tool, in one line."""


def pages(root: Path = REPO_ROOT) -> list[Path]:
    """README.md and every page under docs/."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def mermaid_blocks(page: Path) -> list[str]:
    """The source of every ```mermaid block of a Markdown page, in order."""
    return BLOCK.findall(page.read_text(encoding="utf-8"))


def find_browser() -> str | None:
    """The Chromium that puppeteer should drive (PUPPETEER_EXECUTABLE_PATH wins)."""
    configured = os.environ.get("PUPPETEER_EXECUTABLE_PATH")
    if configured:
        return configured
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


def render_page(page: Path, out_dir: Path, browser: str) -> list[Path]:
    """Render every Mermaid block of `page` to `<out_dir>/<page stem>-<n>.svg`."""
    count = len(mermaid_blocks(page))
    if count == 0:
        return []
    if not MMDC.exists():
        raise DiagramError(f"{MMDC} not found: run `PUPPETEER_SKIP_DOWNLOAD=1 npm ci`")
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mermaid-") as tmp:
        config = Path(tmp) / "puppeteer.json"
        config.write_text(json.dumps({"executablePath": browser, "args": ["--no-sandbox"]}))
        proc = subprocess.run(
            [str(MMDC), "--quiet", "-p", str(config), "-i", str(page)]
            + ["-o", str(Path(tmp) / page.name), "-a", str(out_dir)],
            capture_output=True,
            text=True,
            timeout=60 + 30 * count,
        )
    if proc.returncode != 0:
        detail = next((ln.strip() for ln in proc.stderr.splitlines() if ln.strip()), "")
        raise DiagramError(f"{page.name}: a Mermaid block does not render: {detail}")
    files = [out_dir / f"{page.stem}-{n}.svg" for n in range(1, count + 1)]
    missing = [f.name for f in files if not f.is_file()]
    if missing:
        raise DiagramError(f"{page.name}: mermaid-cli wrote no {', '.join(missing)}")
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="diagrams", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the SVG files")
    parser.add_argument("pages", nargs="*", type=Path, help="Markdown pages (default: all)")
    args = parser.parse_args(argv)
    browser = find_browser()
    if browser is None:
        print("diagrams: error: no Chromium found; apt-get install chromium", file=sys.stderr)
        return 1
    try:
        for page in args.pages or pages():
            for svg in render_page(page.resolve(), args.out, browser):
                print(svg.relative_to(Path.cwd()) if svg.is_relative_to(Path.cwd()) else svg)
    except (DiagramError, subprocess.TimeoutExpired) as exc:
        print(f"diagrams: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
