"""Build a Bento (the deployable unit: service code + store model + pinned packages) offline.

The build context is a staged folder holding exactly what the service imports (the
`bento/`, `models/` and `data/` packages and pyproject.toml), copied to a fresh temporary
directory outside every runtime home. Why not the checkout itself: BentoML walks the whole
context (`os.walk`, then include/exclude), so with the runtime home inside the checkout (the
README's default) it walks the MLflow artifacts and caches, and its own build folder
(`$BENTOML_HOME/tmp/`) - which a second build copies into itself until the path is too long.
A staged context holds no runtime home, venv or cache wherever `DRIFTWISE_HOME` and
`BENTOML_HOME` are, and it is deleted after the build, failed or not.

`lock_packages: false` keeps `bentoml build` from installing uv and resolving against the
public index (which would pull a CUDA torch): the Bento lists our exact pins from
pyproject.toml instead. `bentoml containerize <tag>` then makes an OCI image for Kubernetes
(needs Docker; not run here).
"""

import shutil
import tempfile
import tomllib
from pathlib import Path

from bento.store import StoredModel, store_name

REPO_ROOT = Path(__file__).resolve().parents[1]
SERVICE = "bento.service:Driftwise"
# What the service imports at run time (bento -> models -> data); the rest stays out.
PACKAGES = ("bento", "models", "data")
INCLUDE = [f"/{p}/**/*.py" for p in PACKAGES] + ["/pyproject.toml"]


def pinned_packages(pyproject: Path = REPO_ROOT / "pyproject.toml") -> list[str]:
    """The project's dependency pins, comments dropped (each is `name==version`)."""
    deps = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    return [str(d).split(";")[0].strip() for d in deps]


def stage_context(source: Path, dest: Path) -> Path:
    """Copy the service's sources (`PACKAGES`' .py files, pyproject.toml) from `source` to
    `dest`; nothing else - no runtime home, caches or venv even when they sit in `source`."""
    for package in PACKAGES:
        for path in sorted((source / package).rglob("*.py")):
            rel = path.relative_to(source)
            if "__pycache__" in rel.parts:
                continue
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest / rel)
    shutil.copy2(source / "pyproject.toml", dest / "pyproject.toml")
    return dest


def build_bento(
    stored: StoredModel, labels: dict[str, str] | None = None, source: Path = REPO_ROOT
) -> str:
    """Build (or find) the Bento serving `stored` as champion; returns its tag."""
    import bentoml
    from bentoml._internal.bento.build_config import BentoEnvSchema

    name = store_name(stored.registered_name)
    version = f"v{stored.version}"
    try:
        return str(bentoml.bentos.get(f"{name}:{version}").tag)
    except bentoml.exceptions.NotFound:
        pass
    with tempfile.TemporaryDirectory(prefix="driftwise-bento-ctx-") as ctx:
        bento = bentoml.bentos.build(
            SERVICE,
            name=name,
            version=version,
            labels={"mlflow_version": stored.version, **(labels or {})},
            description=f"Driftwise: {stored.registered_name} v{stored.version} as champion",
            include=INCLUDE,
            python={"packages": pinned_packages(source / "pyproject.toml"), "lock_packages": False},
            models=[stored.tag],
            envs=[BentoEnvSchema(name="DRIFTWISE_CHAMPION_TAG", value=stored.tag)],
            build_ctx=str(stage_context(source, Path(ctx))),
        )
    return str(bento.tag)
