"""Build a Bento (the deployable unit: service code + store model + pinned packages) offline.

`lock_packages: false` keeps `bentoml build` from installing uv and resolving against the
public index (which would pull a CUDA torch): the Bento lists our exact pins from
pyproject.toml instead. `bentoml containerize <tag>` then makes an OCI image for Kubernetes
(needs Docker; not run here).
"""

import tomllib
from pathlib import Path

from bento.store import StoredModel, store_name

REPO_ROOT = Path(__file__).resolve().parents[1]
SERVICE = "bento.service:Driftwise"
# What the service imports at run time (bento -> models -> data); the rest stays out.
INCLUDE = ["bento/**/*.py", "models/**/*.py", "data/**/*.py", "pyproject.toml"]


def pinned_packages(pyproject: Path = REPO_ROOT / "pyproject.toml") -> list[str]:
    """The project's dependency pins, comments dropped (each is `name==version`)."""
    deps = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    return [str(d).split(";")[0].strip() for d in deps]


def build_bento(stored: StoredModel, labels: dict[str, str] | None = None) -> str:
    """Build (or find) the Bento serving `stored` as champion; returns its tag."""
    import bentoml
    from bentoml._internal.bento.build_config import BentoEnvSchema

    name = store_name(stored.registered_name)
    version = f"v{stored.version}"
    try:
        return str(bentoml.bentos.get(f"{name}:{version}").tag)
    except bentoml.exceptions.NotFound:
        pass
    bento = bentoml.bentos.build(
        SERVICE,
        name=name,
        version=version,
        labels={"mlflow_version": stored.version, **(labels or {})},
        description=f"Driftwise: {stored.registered_name} v{stored.version} as champion",
        include=INCLUDE,
        python={"packages": pinned_packages(), "lock_packages": False},
        models=[stored.tag],
        envs=[BentoEnvSchema(name="DRIFTWISE_CHAMPION_TAG", value=stored.tag)],
        build_ctx=str(REPO_ROOT),
    )
    return str(bento.tag)
