"""The code version behind lineage tags (models/lineage.py): runs the real git on this repo
and in a temp folder outside any checkout.
"""

import re
import subprocess
from pathlib import Path

import pytest

from models.lineage import REPO_ROOT, commit_tag, git_commit


def test_git_commit_of_this_repo_and_outside_git(tmp_path: Path) -> None:
    info = git_commit(REPO_ROOT)
    assert re.fullmatch(r"[0-9a-f]{40}", info["commit"])
    assert isinstance(info["dirty"], bool)
    assert git_commit(tmp_path) == {"commit": None, "dirty": None}


def test_commit_tag_is_head_and_refuses_outside_git(tmp_path: Path) -> None:
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    tag = commit_tag(REPO_ROOT)
    assert tag.removesuffix("+dirty") == head
    assert tag.endswith("+dirty") == git_commit(REPO_ROOT)["dirty"]
    with pytest.raises(RuntimeError, match="not a git checkout"):
        commit_tag(tmp_path)
