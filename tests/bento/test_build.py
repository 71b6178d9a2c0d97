"""bento/build.py: a Bento builds from a staged context, wherever the runtime home is.

The user's layout (README): the runtime home, and BentoML's home with its `tmp/` build
folder, inside the checkout. The build test runs a real `bentoml.bentos.build` in a
subprocess (BENTOML_HOME is read once per process) over a temporary copy of the checkout
whose BentoML home sits inside it, holding a left-over build folder of an interrupted
build; it builds twice, with a failed build between. Touches: real BentoML store and
builds in that temporary checkout; the staging copy on a fake checkout.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from bento.build import PACKAGES, REPO_ROOT, stage_context

# Run inside the temporary checkout: two store models, a failed build, then two builds.
_SCRIPT = r"""
import json, sys
from pathlib import Path
import bentoml
from bento.build import build_bento
from bento.store import StoredModel

def stored(version):
    tag = f"demo-model:v{version}"
    with bentoml.models.create(tag) as ref:
        Path(ref.path_of("fast")).mkdir()
        Path(ref.path_of("fast/config.json")).write_text("{}")
    return StoredModel(tag, Path(ref.path), "demo-model", str(version), {}, ["a", "b"], {})

out = {}
try:
    build_bento(StoredModel("demo-model:v9", Path("."), "demo-model", "9", {}, [], {}))
except bentoml.exceptions.BentoMLException as exc:  # no such store model: the build fails
    out["failed"] = type(exc).__name__
out["tags"] = [build_bento(stored(v), source=Path.cwd()) for v in (1, 2)]
src = Path(bentoml.bentos.get(out["tags"][1]).path) / "src"
out["files"] = sorted(str(p.relative_to(src)) for p in src.rglob("*") if p.is_file())
print(json.dumps(out))
"""


def _checkout_copy(dest: Path) -> Path:
    """The packages and pyproject.toml of this checkout (what a clone holds of them)."""
    ignore = shutil.ignore_patterns("__pycache__")
    for package in PACKAGES:
        shutil.copytree(REPO_ROOT / package, dest / package, ignore=ignore)
    shutil.copy2(REPO_ROOT / "pyproject.toml", dest / "pyproject.toml")
    return dest


def test_staging_copies_the_service_sources_and_nothing_else(tmp_path: Path) -> None:
    """A checkout with a runtime home, BentoML build folder, venv and caches inside it:
    only the packages' .py files and pyproject.toml reach the context."""
    src = tmp_path / "checkout"
    for rel in (
        "bento/service.py",
        "models/components/net.py",
        "data/schema.py",
        "pyproject.toml",
        ".driftwise/bentoml/tmp/bentoml_bento_x/src/pyproject.toml",
        ".driftwise/mlflow/mlflow.db",
        ".venv/lib/site.py",
        "bento/__pycache__/service.cpython-311.pyc",
        "data/golden/golden_v1.csv",
        "tests/test_x.py",
    ):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text("x")
    staged = stage_context(src, tmp_path / "ctx")
    files = sorted(str(p.relative_to(staged)) for p in staged.rglob("*") if p.is_file())
    assert files == [
        "bento/service.py",
        "data/schema.py",
        "models/components/net.py",
        "pyproject.toml",
    ]


def test_builds_with_the_bentoml_home_inside_the_checkout(tmp_path: Path) -> None:
    """The README's layout: two builds in a row succeed (the second used to copy the first's
    build folder into itself: 'File name too long'), a failed build before them breaks
    neither, and the Bento holds only the service's sources."""
    checkout = _checkout_copy(tmp_path / "clone")
    bentoml_home = checkout / ".driftwise" / "bentoml"
    # what an interrupted build leaves behind: BentoML's build folder, inside the checkout
    leftover = bentoml_home / "tmp" / "bentoml_bento_demo-modelxyz" / "src"
    leftover.mkdir(parents=True)
    shutil.copy2(checkout / "pyproject.toml", leftover / "pyproject.toml")
    env = {
        **os.environ,
        "BENTOML_HOME": str(bentoml_home),
        "PYTHONPATH": str(checkout),
        "BENTOML_DO_NOT_TRACK": "true",
    }
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["failed"] == "BentoMLException"
    assert out["tags"] == ["demo-model:v1", "demo-model:v2"]
    files = out["files"]
    assert "bento/service.py" in files and "pyproject.toml" in files
    assert all(f.split("/")[0] in (*PACKAGES, "pyproject.toml", "bentofile.yaml") for f in files)
    assert not [f for f in files if ".driftwise" in f or f.endswith(".csv")]
