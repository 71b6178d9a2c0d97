"""The import direction the README promises, read from the source with `ast` (no imports
run): the pure layers never import Dagster, assets use only the resource types from
orchestration/, and the lower layers never reach up.
"""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PURE = ("data", "models", "evaluation", "bento")
# package -> first-party packages it must not import
FORBIDDEN = {
    "data": {"models", "evaluation", "bento", "assets", "orchestration"},
    "models": {"evaluation", "bento", "assets", "orchestration"},
    "evaluation": {"bento", "assets", "orchestration"},
    "bento": {"evaluation", "assets", "orchestration"},
    "assets": set(),
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def _modules(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


@pytest.mark.parametrize("package", PURE)
def test_pure_layers_do_not_import_dagster(package: str) -> None:
    offenders = {
        str(p.relative_to(REPO)): sorted(n for n in _imports(p) if n.split(".")[0] == "dagster")
        for p in _modules(package)
    }
    assert _modules(package)
    assert {k: v for k, v in offenders.items() if v} == {}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_lower_layers_do_not_reach_up(package: str) -> None:
    bad = {}
    for path in _modules(package):
        names = _imports(path)
        up = sorted(n for n in names if n.split(".")[0] in FORBIDDEN[package])
        if package == "assets":
            # Only the resource types (Dagster injects resources by annotation).
            up = sorted(
                n for n in names if n.startswith("orchestration") and n != "orchestration.resources"
            )
        if up:
            bad[str(path.relative_to(REPO))] = up
    assert bad == {}


# Folders of the same name that are not the runtime home's (a run's artifacts, a training
# work dir, the venv's bin, the prod stand-ins' state folder).
NOT_THE_HOME = {
    ("assets/training.py", "reports"),
    ("models/training.py", "embeddings"),
    ("orchestration/cli/daemon.py", "dagster"),
    ("orchestration/annotation/server.py", "label-studio"),  # the venv's executable
    ("orchestration/prod/stack.py", "logs"),
}


def test_the_runtime_homes_folders_are_named_only_in_its_layout() -> None:
    """data/home.py's HomeLayout names every folder under $DRIFTWISE_HOME; no other module
    joins one of those names onto a path (`x / "rollout"`), read from the source with `ast`."""
    from data.home import HomeLayout

    layout = HomeLayout(Path("/home-root"))
    names = {
        part
        for attr in dir(HomeLayout)
        if isinstance(getattr(HomeLayout, attr), property)
        for part in getattr(layout, attr).relative_to("/home-root").parts
    }
    assert {"rollout", "serving", "bentoml", "prediction_log", "embeddings"} <= names
    found = set()
    for package in (*PURE, "assets", "orchestration", "deploy"):
        for path in _modules(package):
            rel = str(path.relative_to(REPO))
            if rel == "data/home.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.BinOp)
                    and isinstance(node.op, ast.Div)
                    and isinstance(node.right, ast.Constant)
                    and node.right.value in names
                ):
                    found.add((rel, node.right.value))
    assert found - NOT_THE_HOME == set()


def _environment_reads(path: Path) -> list[tuple[int, bool]]:
    """(line, at import?) of every `os.environ` / `os.getenv` in a module."""
    found: list[tuple[int, bool]] = []

    def walk(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
            )
            if (
                isinstance(child, ast.Attribute)
                and isinstance(child.value, ast.Name)
                and child.value.id == "os"
                and child.attr in ("environ", "getenv")
            ):
                found.append((child.lineno, not inside))
            walk(child, inside)

    walk(ast.parse(path.read_text(encoding="utf-8")), False)
    return found


def test_no_module_reads_the_environment_at_import() -> None:
    """Settings are read when a process starts a component, then handed down: importing a
    module never freezes a DRIFTWISE_* value (read from the source with `ast`)."""
    at_import = {
        f"{path.relative_to(REPO)}:{line}"
        for package in (*PURE, "assets", "orchestration")
        for path in _modules(package)
        for line, top_level in _environment_reads(path)
        if top_level
    }
    assert at_import == set()


def test_the_service_reads_its_configuration_only_through_its_settings() -> None:
    """bento/ takes every DRIFTWISE_* value from bento/settings.py's ServiceSettings
    (pydantic-settings: typed, bounded, named in its error), never from os.environ."""
    reads = {
        f"{path.relative_to(REPO)}:{line}"
        for path in _modules("bento")
        for line, _ in _environment_reads(path)
    }
    assert reads == set()
