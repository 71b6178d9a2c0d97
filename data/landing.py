"""The landing zone: where batch files arrive, and how a file becomes a batch id.

A batch id is `<safe file stem>-<first 12 hex of the file's sha256>`: readable in the UI,
and content-addressed so that re-landing the same bytes (under any name) is recognised.
"""

import hashlib
import os
import re
from pathlib import Path

import pandas as pd

from data.readers import COMPRESSED_SUFFIX, SUPPORTED_SUFFIXES, is_supported

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def safe_stem(path: Path) -> str:
    return _UNSAFE.sub("_", path.stem).strip("._-")[:60] or "batch"


def batch_id_for(path: Path, sha256: str | None = None) -> str:
    return f"{safe_stem(path)}-{(sha256 or file_sha256(path))[:12]}"


def content_hash_of(batch_id: str) -> str:
    return batch_id.rsplit("-", 1)[-1]


def landed_files(landing: Path) -> list[Path]:
    """Files ready for ingestion: supported suffix (`.gz` too), not hidden, not a partial write."""
    if not landing.exists():
        return []
    return sorted(
        p
        for p in landing.iterdir()
        if p.is_file() and not p.name.startswith(".") and is_supported(p)
    )


def refused_entries(landing: Path) -> list[tuple[Path, str]]:
    """What sits in the landing zone but can never be a batch, each with the reason.

    Hidden names are partial writes by convention (land_frame, `driftwise run --data`) and are
    not listed; everything else that `landed_files` skips is, so nothing is silently ignored.
    """
    if not landing.exists():
        return []
    out: list[tuple[Path, str]] = []
    for path in sorted(landing.iterdir()):
        if path.name.startswith("."):
            continue
        if path.is_dir():
            out.append((path, "directory: the landing zone takes files, not folders"))
        elif not path.is_file():
            out.append((path, "not_a_file: a socket, device or dangling link"))
        elif not is_supported(path):
            out.append(
                (
                    path,
                    f"unsupported_type: {''.join(path.suffixes[-2:]) or '(no suffix)'!r} is not "
                    f"one of {', '.join(SUPPORTED_SUFFIXES)} (each may end in "
                    f"{COMPRESSED_SUFFIX})",
                )
            )
    return out


def find_landed(landing: Path, batch_id: str) -> Path:
    """The landed file behind a batch id (matching name *and* content)."""
    stem = batch_id.rsplit("-", 1)[0]
    for path in landed_files(landing):
        # Hash only files whose name fits: a landing zone of many large files is not
        # re-read in full by every ingest run.
        if safe_stem(path) == stem and batch_id_for(path) == batch_id:
            return path
    raise FileNotFoundError(f"no file in {landing} matches batch {batch_id!r} (moved or changed?)")


def land_frame(df: pd.DataFrame, landing: Path, name: str) -> Path:
    """Write a CSV into the landing zone atomically (a sensor never sees half a file)."""
    landing.mkdir(parents=True, exist_ok=True)
    final = landing / name
    tmp = landing / f".{name}.tmp"
    df.to_csv(tmp, index=False)
    os.replace(tmp, final)
    return final


def check_readable(files: list[Path]) -> None:
    """Refuse paths that are not files (missing, or a directory) before anything lands."""
    missing = [str(f) for f in files if not Path(f).is_file()]
    if missing:
        raise FileNotFoundError(f"not a readable file: {', '.join(missing)}")
