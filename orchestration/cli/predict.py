"""`driftwise predict FILE`: batch scoring of a CSV / TSV / JSONL / Parquet file (or stdin)
with a registered version or alias (default: the champion), in this process.

The model is loaded as the service loads it (`bento.store.load_tiers`: the same store
model, the same int8/fp32 runtime) and answers as the service answers (`models.
batch_scoring`: the tuned cascade when the version has one). The output keeps every input
column and adds `prediction`, `confidence`, `tier` and `model_version` (prefixed with
`driftwise_` where the input already has a column of that name). Rows it cannot score -
refused by the parser, no text, a text over the dataset's `max_text_chars` when its
`long_text` policy is `quarantine` - go to a reject file with their source row and reason,
and are counted; nothing is dropped silently. Under `truncate` (the default) a longer text is
scored on its first `max_text_chars` characters, as landing and the service do, and counted.
"""

import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from data.length import LengthPolicy, TextTooLong
from orchestration.settings import DriftwiseSettings

ALIASES = ("champion", "previous", "challenger")
FORMATS = {"csv": ".csv", "tsv": ".tsv", "jsonl": ".jsonl", "parquet": ".parquet"}


class PredictError(ValueError):
    """The command cannot run as asked (no such model, no text column, unreadable input)."""


@dataclass
class Scored:
    model: str
    version: str
    out: Path | None  # None: written to stdout
    rejects: Path | None
    scored: int
    rejected: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    by_tier: dict[str, int] = field(default_factory=dict)
    truncated: int = 0  # scored after a cut to the dataset's max_text_chars (long_text=truncate)


def resolve_version(settings: DriftwiseSettings, model: str) -> tuple[str, str]:
    """(registered name, version) of an alias or a version number."""
    from models.model_registry import aliased_version
    from orchestration.cli.serve import tracking_config

    tracking = tracking_config(settings)
    name = tracking.registered_model_name
    if model in ALIASES:
        found = aliased_version(tracking, name, model)
        if found is None:
            raise PredictError(f"{name} has no {model!r} version")
        return name, found.version
    if not model.isdigit():
        raise PredictError(f"--model takes {', '.join(ALIASES)} or a version number, not {model!r}")
    return name, model


def _load(settings: DriftwiseSettings, name: str, version: str):  # type: ignore[no-untyped-def]
    from bento.store import load_for_scoring
    from orchestration.cli.serve import tracking_config

    try:
        return load_for_scoring(tracking_config(settings), name, version, settings.layout)
    except Exception as exc:  # MLflow's RestException for an unknown version
        raise PredictError(f"{name} has no version {version}: {exc}") from exc


def _read(source: str, fmt: str | None) -> tuple[Path, bytes]:
    """The input's name (its suffix says how to parse it) and bytes."""
    from data.readers import SUPPORTED_SUFFIXES

    if source == "-":
        suffix = FORMATS.get(fmt or "csv")
        if suffix is None:
            raise PredictError(f"--format takes one of {sorted(FORMATS)}")
        return Path(f"stdin{suffix}"), sys.stdin.buffer.read()
    path = Path(source)
    if not path.is_file():
        raise PredictError(f"no such file: {path}")
    path_for_parser = path.with_suffix(FORMATS.get(fmt, path.suffix)) if fmt is not None else path
    if path_for_parser.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise PredictError(
            f"cannot read {path.name}: expected one of {SUPPORTED_SUFFIXES} (or --format)"
        )
    return path_for_parser, path.read_bytes()


def _split(
    frame: pd.DataFrame, text_column: str, length: LengthPolicy
) -> tuple[pd.DataFrame, list[str], list[dict], int]:
    """The rows to score, their texts under the dataset's length policy (cut to its limit
    under `truncate`), the rows refused, each with its reason, and how many were cut."""
    keep: list[bool] = []
    texts: list[str] = []
    rejects: list[dict] = []
    cut = 0
    for row, value in zip(frame["__row"], frame[text_column].fillna(""), strict=True):
        text = str(value).strip()
        reason = "missing_text" if not text else None
        if reason is None:
            try:
                text, was_cut = length.fit(text)
                cut += was_cut
            except TextTooLong as exc:
                reason = str(exc)
        keep.append(reason is None)
        if reason is None:
            texts.append(text)
        else:
            rejects.append({"source_row": int(row), "reason": reason, "text": str(value)[:200]})
    return frame[keep], texts, rejects, cut


def _write(frame: pd.DataFrame, out: Path | None, suffix: str) -> None:
    target = sys.stdout if out is None else out
    if suffix == ".parquet":
        if out is None:
            raise PredictError("Parquet output needs --out FILE (not stdout)")
        frame.to_parquet(out, index=False)
    elif suffix in (".jsonl", ".ndjson"):
        frame.to_json(target, orient="records", lines=True, force_ascii=False)
    else:
        frame.to_csv(target, index=False, sep="\t" if suffix == ".tsv" else ",")


def predict(
    settings: DriftwiseSettings,
    console: Console,
    source: str,
    out: str | None = None,
    model: str = "champion",
    fmt: str | None = None,
    batch_size: int = 64,
) -> Scored:
    from data.readers import UnreadableFile, read_file
    from models.batch_scoring import score_texts

    name, version = resolve_version(settings, model)
    parse_as, payload = _read(source, fmt)
    try:
        raw = read_file(parse_as, payload=payload)
    except UnreadableFile as exc:
        raise PredictError(f"cannot read {source}: {exc}") from exc
    column = settings.dataset.text_column
    if column not in raw.columns:
        raise PredictError(
            f"no {column!r} column in {source} (columns: {raw.columns}); the dataset's "
            "text column is DRIFTWISE_DATASET__TEXT_COLUMN"
        )
    frame = pd.DataFrame(raw.records, columns=raw.columns)
    frame["__row"] = raw.source_rows
    length = settings.dataset.length
    todo, texts, rejects, truncated = _split(frame, column, length)
    rejects += [
        {"source_row": row, "reason": f"unparseable: {reason}", "text": text[:200]}
        for row, text, reason in raw.rejected
    ]
    out_path = _out_path(source, out, parse_as.suffix)
    out_suffix = out_path.suffix.lower() if out_path is not None else parse_as.suffix
    if out_suffix not in (*FORMATS.values(), ".ndjson"):
        raise PredictError(f"--out must end in one of {sorted(FORMATS.values())}")
    tiers, labels, threshold = _load(settings, name, version)
    started = time.perf_counter()
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=out_path is None,
    ) as progress:
        task = progress.add_task(f"{name} v{version}", total=len(todo))
        answers = score_texts(
            tiers,
            labels,
            texts,
            threshold=threshold,
            batch_size=batch_size,
            on_chunk=lambda n: progress.advance(task, n),
        )
    seconds = time.perf_counter() - started
    by_tier = {str(k): int(v) for k, v in answers["tier"].value_counts().items()}
    result = todo.drop(columns="__row").reset_index(drop=True)
    answers = answers.rename(columns={"label": "prediction"}).assign(model_version=version)
    # an input column of the same name (a "tier" of the user's own) is kept as it was
    answers.columns = [f"driftwise_{c}" if c in result.columns else c for c in answers.columns]
    result = pd.concat([result, answers], axis=1)
    _write(result, out_path, out_suffix)
    reject_path = None
    if rejects:
        reject_path = (
            Path(out_path.with_name(out_path.stem + ".rejected.jsonl"))
            if out_path is not None
            else settings.layout.logs / f"predict-{int(time.time())}.rejected.jsonl"
        )
        reject_path.parent.mkdir(parents=True, exist_ok=True)
        with reject_path.open("w") as fh:
            for r in sorted(rejects, key=lambda r: r["source_row"]):
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    return Scored(
        model=name,
        version=version,
        out=out_path,
        rejects=reject_path,
        scored=len(result),
        rejected=Counter(r["reason"].split(" ")[0].rstrip(":") for r in rejects),
        seconds=seconds,
        by_tier=by_tier,
        truncated=truncated,
    )


def _out_path(source: str, out: str | None, suffix: str) -> Path | None:
    """--out, "-" for stdout; default: beside the input (stdout for stdin)."""
    if out == "-" or (out is None and source == "-"):
        return None
    if out is not None:
        return Path(out)
    path = Path(source)
    return path.with_name(f"{path.stem}.predictions{suffix}")
