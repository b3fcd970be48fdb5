"""README.md and docs/ are self-contained: every local link and #anchor resolves, nothing points
outside the repository but public web pages, and no page speaks of internal notes."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

PAGES = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`+[^`\n]*`+")
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s*\[[^\]]+\]:\s*(\S+)", re.MULTILINE)
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
HTML_ANCHOR = re.compile(r"<a\s+(?:id|name)=\"([^\"]+)\"")
# what a reader outside the team cannot open or has never seen
INTERNAL = re.compile(
    r"\.\./shared|(?-i:RAW_DATA\.md)|house style|style guide|\bthe issues?\b", re.IGNORECASE
)


def prose(text: str) -> str:
    """The page without fenced code blocks and inline code spans (links there are examples)."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def github_slug(heading: str) -> str:
    """The anchor a code host gives a heading: lower case, punctuation dropped, spaces as '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


@cache
def anchors(page: Path) -> frozenset[str]:
    text = FENCE.sub("", page.read_text("utf-8"))
    seen: dict[str, int] = {}
    found = set(HTML_ANCHOR.findall(text))
    for heading in HEADING.findall(text):
        slug = github_slug(heading)
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return frozenset(found)


def links(page: Path) -> list[str]:
    text = prose(page.read_text("utf-8"))
    return LINK.findall(text) + REFERENCE.findall(text)


def broken_link(page: Path, target: str) -> str | None:
    """Why `target` (a link on `page`) does not resolve, or None when it does."""
    if re.match(r"^(https?:)?//", target):
        return None if target.startswith("https://") else "not https"
    if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
        return "only https:// links may leave the repository"
    path_part, _, fragment = target.partition("#")
    resolved = (page.parent / path_part).resolve() if path_part else page
    if not resolved.is_relative_to(REPO_ROOT):
        return "points outside the repository"
    if not resolved.exists():
        return "no such file"
    if fragment and resolved.suffix == ".md" and fragment not in anchors(resolved):
        return f"no heading #{fragment} in {resolved.relative_to(REPO_ROOT)}"
    return None


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_link_resolves(page: Path) -> None:
    problems = [f"{target}: {why}" for target in links(page) if (why := broken_link(page, target))]
    assert not problems, f"{page.relative_to(REPO_ROOT)}: " + "; ".join(problems)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_no_page_refers_to_internal_notes(page: Path) -> None:
    hits = [m.group(0) for m in INTERNAL.finditer(page.read_text("utf-8"))]
    assert not hits, f"{page.relative_to(REPO_ROOT)} mentions {hits}"


def test_the_checker_catches_what_it_should(tmp_path: Path) -> None:
    page = REPO_ROOT / "README.md"
    assert broken_link(page, "docs/ingest.md") is None
    assert broken_link(page, "#design-proposal") is None
    assert broken_link(page, "docs/no_such_page.md") == "no such file"
    assert broken_link(page, "#no-such-heading") == "no heading #no-such-heading in README.md"
    assert broken_link(page, "../shared/RAW_DATA.md") == "points outside the repository"
    assert broken_link(page, "file:///etc/passwd") is not None
    assert github_slug("2. Landed raw parquet (`ingest/`, in `contract.py`)") == (
        "2-landed-raw-parquet-ingest-in-contractpy"
    )
    assert github_slug("The data's path") == "the-datas-path"
    fenced = tmp_path / "p.md"
    fenced.write_text("# A\n\n```\n# not a heading\n[x](missing.md)\n```\n\n## A\n")
    assert anchors(fenced) == {"a", "a-1"}
    assert links(fenced) == []
