"""Every Mermaid diagram of README.md and docs/ renders (mermaid-cli in the system's Chromium)."""

from __future__ import annotations

from pathlib import Path

import pytest

from docs.diagrams import DiagramError, find_browser, mermaid_blocks, pages, render_page
from tests.conftest import REPO_ROOT

BROWSER = find_browser()
needs_browser = pytest.mark.skipif(
    BROWSER is None, reason="chromium is not installed (apt-get install chromium)"
)
WITH_DIAGRAMS = [page for page in pages() if mermaid_blocks(page)]


def test_the_readme_has_its_three_diagrams() -> None:
    blocks = mermaid_blocks(REPO_ROOT / "README.md")
    assert len(blocks) == 3
    assert [b.split("\n", 1)[0].split()[0] for b in blocks] == ["flowchart"] * 3


@needs_browser
@pytest.mark.slow
@pytest.mark.parametrize("page", WITH_DIAGRAMS, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_diagram_renders(page: Path, tmp_path: Path) -> None:
    assert BROWSER is not None
    svgs = render_page(page, tmp_path, BROWSER)
    assert len(svgs) == len(mermaid_blocks(page))
    for svg in svgs:
        text = svg.read_text("utf-8")
        assert text.lstrip().startswith("<svg") and "Syntax error" not in text


@needs_browser
def test_a_broken_diagram_fails(tmp_path: Path) -> None:
    assert BROWSER is not None
    page = tmp_path / "broken.md"
    page.write_text("# Broken\n\n```mermaid\nflowchart LR\n    a[unclosed --> b\n```\n")
    with pytest.raises(DiagramError, match="broken.md: a Mermaid block does not render"):
        render_page(page, tmp_path / "out", BROWSER)
