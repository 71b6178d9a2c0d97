"""A long-text, many-class dataset that ships offline: docstrings of the libraries we pin.

Where the text comes from: the source files of ten packages pinned in pyproject.toml, as
installed (numpy 2.4.6, pandas 2.3.3, scipy 1.17.1, scikit-learn 1.9.1, matplotlib 3.11.2,
statsmodels 0.15.0, torch 2.13.0, transformers 5.17.0, dagster 1.13.28, mlflow 3.17.2). The
files are parsed with `ast`, never imported (no import-time side effects, no GPU probing,
seconds instead of minutes); every docstring of a public function, class or method is a
candidate. The label is the top-level library.

Cleaning, so the task is "what library does this prose describe" and not "find the import":
code is removed (doctest blocks from `>>>` to the next blank line, fenced blocks, RST
`.. code-block::` directives), and the
names and usual aliases of every library in `MASKED_NAMES` (numpy, np, pandas, pd, torch,
sklearn, plt, ...) become `<lib>`. Docstrings shorter than `min_words` words after cleaning
(default 150: at least ~200 MiniLM tokens, so all exceed the accurate tier's 128-token
window and many its 256-token maximum) or longer than `max_chars` (default 5,000, the
former ingestion limit, kept so the table stays the same) are left out; so are near
duplicates (same first 20 words, e.g. templated model docs) and texts found in two
libraries.

Deterministic: files, then docstrings, are visited in sorted order and each class is capped
by a seeded sample, so the same pins give the same table on any machine (`library_versions`
says which versions a table came from). With the defaults (`max_per_class=300`) the table has
2,611 rows: 300 each for numpy, scipy, sklearn, statsmodels, torch and transformers, 297
pandas, 208 mlflow, 170 matplotlib, 136 dagster; median 240 words (~470 MiniLM tokens: all
exceed the 128-token window, 96% the 256-token one). Building it parses ~9,000 files
(~95 s of `ast.parse` on one core of the 2-core build machine, spread over every core):
pass `cache_dir` to build once and read the Parquet afterwards.
"""

import ast
import hashlib
import json
import multiprocessing
import os
import re
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from importlib.metadata import version
from importlib.util import find_spec
from pathlib import Path

import pandas as pd

from data.schema import row_id

# Import name -> distribution name (whose pinned version decides the text).
LIBRARIES: dict[str, str] = {
    "numpy": "numpy",
    "pandas": "pandas",
    "scipy": "scipy",
    "sklearn": "scikit-learn",
    "matplotlib": "matplotlib",
    "statsmodels": "statsmodels",
    "torch": "torch",
    "transformers": "transformers",
    "dagster": "dagster",
    "mlflow": "mlflow",
}
# Masked in every text whatever the label: a mention of the library (or of another one) would
# make the class a lookup, not a reading of the prose.
MASKED_NAMES = (
    *("scikit-learn", "numpy", "np", "pandas", "pd", "scipy", "sklearn", "scikit"),
    *("matplotlib", "mpl", "pyplot", "plt", "statsmodels", "smf", "sm", "pytorch", "torch"),
    *("transformers", "huggingface", "dagster", "dg", "mlflow"),
)
MASK = "<lib>"
# Directories that hold tests, benchmarks or vendored third-party code, not the library's own.
SKIP_DIRS = frozenset(
    {
        "tests",
        "test",
        "testing",
        "benchmarks",
        "externals",
        "vendor",
        "vendored",
        "_vendor",
        "_vendored",
        "array_api_compat",
        "array_api_extra",
    }
)
BUILD_VERSION = 1  # bump when the recipe changes: it is part of the cache key
COLUMNS = ["source_id", "library", "text", "words"]
CHUNK_FILES = 250  # files per parse task: ~36 tasks, so the two cores finish together

_MASK_RE = re.compile(r"\b(" + "|".join(map(re.escape, MASKED_NAMES)) + r")\b", re.I)
_FENCE_RE = re.compile(r"```.*?(?:```|\Z)", re.S)
_BLANK_RUN_RE = re.compile(r"\n[ \t]*(?:\n[ \t]*)+\n")
_CODE_DIRECTIVE_RE = re.compile(r"\s*\.\. (code-block|code|sourcecode|testcode|doctest)::")


def library_versions(libraries: Sequence[str] = tuple(LIBRARIES)) -> dict[str, str]:
    """Installed version of each library's distribution (what the table depends on)."""
    return {lib: version(LIBRARIES.get(lib, lib)) for lib in libraries}


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def clean_docstring(doc: str) -> str:
    """Code removed (doctest blocks, fenced blocks, RST code directives), library names
    masked; the prose's own line breaks kept."""
    doc = _FENCE_RE.sub("", doc)
    kept: list[str] = []
    in_doctest, directive = False, -1  # directive: indent of an open code directive
    for line in doc.splitlines():
        stripped = line.strip()
        if directive >= 0:
            if not stripped or _indent(line) > directive:
                continue
            directive = -1
        if _CODE_DIRECTIVE_RE.match(line):
            directive = _indent(line)
            continue
        if stripped.startswith(">>>"):
            in_doctest = True
        elif in_doctest and not stripped:
            in_doctest = False
        if not in_doctest:
            kept.append(line)
    text = _BLANK_RUN_RE.sub("\n\n", "\n".join(kept))  # a removed block leaves one gap
    return _MASK_RE.sub(MASK, text).strip()


def _package_root(library: str) -> Path:
    spec = find_spec(library)  # a top-level name: located, not imported
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"{library} is not an installed package")
    return Path(next(iter(spec.submodule_search_locations)))


def _source_files(root: Path) -> list[Path]:
    files = (p for p in root.rglob("*.py") if not SKIP_DIRS & set(p.relative_to(root).parts[:-1]))
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def _public_docstrings(tree: ast.Module) -> Iterator[tuple[str, str]]:
    """(qualified name, docstring) of public classes, functions and methods (not closures)."""
    stack: list[tuple[str, ast.AST]] = [("", tree)]
    while stack:
        prefix, node = stack.pop(0)
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            if child.name.startswith("_"):
                continue
            name = f"{prefix}{child.name}"
            doc = ast.get_docstring(child)
            if doc:
                yield name, doc
            if isinstance(child, ast.ClassDef):
                stack.append((f"{name}.", child))


def _file_rows(
    library: str, root: Path, paths: list[Path], min_words: int, max_chars: int
) -> list[tuple[str, str, str, int]]:
    """The kept docstrings of some of `library`'s files (one worker's share)."""
    rows = []
    for path in paths:
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue  # a template or a file for another Python: not library prose
        module = path.relative_to(root.parent).as_posix()
        for name, doc in _public_docstrings(tree):
            text = clean_docstring(doc)
            words = len(text.split())
            if words >= min_words and len(text) <= max_chars:
                rows.append((f"{module}:{name}", library, text, words))
    return rows


def _rows(
    libraries: Sequence[str], min_words: int, max_chars: int
) -> list[tuple[str, str, str, int]]:
    """Every library's rows, libraries sorted, files in sorted order within each.

    `ast.parse` of ~9,000 files is ~95% of the build, so the files are parsed in chunks on
    every core (a spawned pool: forking a process that holds torch's threads is unsafe);
    the chunks are joined back in order, so the table does not depend on the core count.
    """
    chunks = []
    for library in sorted(libraries):
        root = _package_root(library)
        files = _source_files(root)
        chunks += [
            (library, root, files[i : i + CHUNK_FILES]) for i in range(0, len(files), CHUNK_FILES)
        ]
    # the cores this process may use (a container's share), where the OS can say so
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    workers = min(cores or 1, len(chunks))
    if workers <= 1:
        return [
            row
            for lib, root, files in chunks
            for row in _file_rows(lib, root, files, min_words, max_chars)
        ]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        parts = pool.map(
            _file_rows,
            *zip(*chunks, strict=True),
            [min_words] * len(chunks),
            [max_chars] * len(chunks),
        )
        return [row for part in parts for row in part]


def build_library_docstrings(
    libraries: Sequence[str] = tuple(LIBRARIES),
    *,
    min_words: int = 150,
    max_chars: int = 5_000,
    max_per_class: int | None = 300,
    seed: int = 0,
) -> pd.DataFrame:
    """Parse the libraries' sources into the table (see the module docstring).

    Returns:
        Columns source_id (`<module path>:<qualified name>`), library (the label), text,
        words; sorted by library then source_id.
    """
    frame = pd.DataFrame(
        _rows(libraries, min_words, max_chars),
        columns=COLUMNS,
    )
    ids = frame["text"].map(row_id)
    # A text found in two libraries has no single answer; one found twice in a library (an
    # inherited or templated docstring) would sit in train and test at once.
    owners = frame.assign(row_id=ids).groupby("row_id")["library"].nunique()
    frame = frame[ids.map(owners) == 1]
    frame = frame[~frame["text"].map(row_id).duplicated()]
    prefix = frame["text"].map(lambda t: " ".join(t.split()[:20]))
    frame = frame[~(frame["library"] + "\x1f" + prefix).duplicated()]
    if max_per_class is not None:
        frame = pd.concat(
            [
                group.sample(min(len(group), max_per_class), random_state=seed)
                for _, group in frame.groupby("library", sort=True)
            ]
        )
    return frame.sort_values(["library", "source_id"], kind="stable").reset_index(drop=True)


def load_library_docstrings(
    cache_dir: Path | None = None,
    libraries: Sequence[str] = tuple(LIBRARIES),
    **options: int | None,
) -> pd.DataFrame:
    """The table, read from `cache_dir` when it was built there before with the same
    library versions and options (else built, and written there when `cache_dir` is set)."""
    if cache_dir is None:
        return build_library_docstrings(libraries, **options)  # type: ignore[arg-type]
    key = json.dumps(
        {"build": BUILD_VERSION, "versions": library_versions(libraries), "options": options},
        sort_keys=True,
    )
    path = Path(cache_dir) / f"library-docstrings-{hashlib.sha256(key.encode()).hexdigest()[:16]}"
    path = path.with_suffix(".parquet")
    if path.exists():
        return pd.read_parquet(path)
    frame = build_library_docstrings(libraries, **options)  # type: ignore[arg-type]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".partial")
    frame.to_parquet(tmp, index=False)
    tmp.replace(path)
    return frame
