"""The README and docs/ name files of this repository: every one of them exists.

Reads README.md and docs/*.md as text (no imports of the code): each backticked path that
starts with one of the repository's top-level folders or files (`bento/service.py`,
`evaluation/rollout/`, `Makefile`), and each relative Markdown link
(`[canary](docs/canary.md)`), must name something in the checkout. Paths under the runtime
home (`.driftwise/...`, `$DRIFTWISE_HOME/...`) and templates (`<id>`, `*`) are not the
repository's and are skipped.
"""

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
TOP = ("orchestration", "assets", "models", "evaluation", "bento", "data", "deploy", "tests")
TOP += ("bench", "docs", ".ci")
FILES = ("Makefile", "pyproject.toml", "README.md", ".env")
TEMPLATE = re.compile(r"[<>*{}$…]|\.\.\.")


def named_paths(text: str) -> set[str]:
    """Repository paths in `text`: backticked ones (a `path: symbol` keeps its path) and
    relative link targets."""
    found: set[str] = set()
    for span in re.findall(r"`([^`\n]+)`", text):
        for word in re.split(r"[\s,:()]+", span):
            word = word.rstrip(".;")
            if TEMPLATE.search(word) or ("/" not in word and word not in FILES):
                continue
            if word in FILES or word.split("/")[0] in TOP:
                found.add(word)
    for target in re.findall(r"\]\(([^)#\s]+)", text):
        if not re.match(r"[a-z]+:", target):  # not http:, mailto:
            found.add(target)
    return found


def test_a_path_that_does_not_exist_is_found() -> None:
    """The reader itself: it sees backticked paths, `path: symbol` and links, and skips
    templates and runtime-home paths."""
    text = (
        "`bento/nope.py: thing` and [x](docs/missing.md), `models/`, `a.b.c`, "
        "`.driftwise/logs/run.pid`, `data/<id>.csv`, [web](https://example.org)"
    )
    assert named_paths(text) == {"bento/nope.py", "docs/missing.md", "models/"}


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_named_path_exists(doc: Path) -> None:
    """Each path `doc` names exists (links relative to the page, backticked paths relative to
    the repository root)."""
    text = doc.read_text()
    links = {t for t in re.findall(r"\]\(([^)#\s]+)", text) if not re.match(r"[a-z]+:", t)}
    missing = []
    for path in sorted(named_paths(text)):
        base = doc.parent if path in links else REPO
        if not (base / path).exists():
            missing.append(path)
    assert not missing, f"{doc.name} names paths that do not exist: {missing}"
