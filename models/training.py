"""Train one tier on a training snapshot: `train(snapshot, spec, work_dir) -> TrainResult`.

What `work_dir` holds: `checkpoints/` (best + last), `history.jsonl` (per-epoch metrics),
`run.json` (what run the checkpoints belong to) and `bundle/` (the exported model).

* Hardware: `spec.accelerator="auto"` picks a GPU when CUDA is present (the fast tier stays
  on CPU, see models.spec); devices and strategy come from the spec, so the same call runs
  DDP (`strategy="ddp_spawn"` from a long-lived process; `"ddp"` under torchrun, where each
  rank calls `train` and only global rank zero gets a result back). Lightning's own `"ddp"`
  launcher re-executes `sys.argv` and spawn re-imports `__main__`: a script that trains with
  either needs an `if __name__ == "__main__":` guard.
* Resume: an interrupted run (process killed, exception) leaves `checkpoints/last.ckpt`;
  calling `train` again with the same snapshot and spec continues from it (Lightning's
  `ckpt_path`) and ends with the same metrics an uninterrupted run gets. A checkpoint of
  another snapshot or spec is never resumed: that raises.
* Reproducible: `seed_everything(seed, workers=True)`, deterministic kernels, an epoch-seeded
  sampler and per-epoch RNG reseeding, so a CPU rerun reproduces its metrics exactly.
* Long texts: the accurate tier reads at most `spec.max_tokens` tokens of a text. The share
  of training texts cut off is measured (models.truncation), logged with a plain notice,
  returned as `TrainResult.truncation` and stored in the bundle's metrics
  (`train/truncated_share`), which tracking logs to MLflow as a metric and a tag.
"""

import json
import logging
import shutil
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import lightning as L
import numpy as np
import pandas as pd
import torch
from lightning.pytorch.callbacks import Callback, EarlyStopping, ModelCheckpoint
from lightning.pytorch.loggers import Logger
from torch import nn

from data.schema import SPLIT, TEXT
from data.snapshot import check_snapshot, label_set
from models.bundle import BundleConfig, save_bundle
from models.calibration import fit_temperature, nll, softmax, top_label_ece
from models.datamodules import SnapshotDataModule, balanced_class_weights, frame_fingerprint
from models.history import JsonlHistoryLogger, read_history
from models.quiet import quiet_training_warnings
from models.reports import ClassificationReport
from models.spec import RunPlan, TrainSpec, resolve
from models.tiers import build_tier
from models.truncation import TRUNCATED_SHARE, TruncationStats, truncation_stats

log = logging.getLogger(__name__)

MONITOR = "val/macro_f1"


class ResumeError(RuntimeError):
    """`work_dir` holds checkpoints of a different snapshot or spec."""


@dataclass
class TrainResult:
    """Outcome of `train`: scores of the best epoch, where things are, how long it took."""

    tier: str
    mode: str
    labels: list[str]
    spec: TrainSpec
    plan: RunPlan
    val: ClassificationReport
    test: ClassificationReport | None
    history: list[dict[str, float]]
    best_epoch: int
    epochs_completed: int
    best_checkpoint: Path
    bundle_dir: Path
    bundle: BundleConfig
    fit_seconds: float  # this call's fit (after a resume: only the resumed part)
    samples_per_second: float  # train rows x epochs run in this call / fit_seconds
    snapshot_fingerprint: str
    resumed: bool
    net: nn.Module = field(repr=False)  # the best weights, in memory
    # Train-split texts longer than the encoder window (accurate tier only; None: fast tier,
    # whose hashed n-grams read the whole text).
    truncation: TruncationStats | None = None

    @property
    def macro_f1(self) -> float:
        """Validation macro-F1 of the best epoch (the selection metric)."""
        return self.val.macro_f1

    def metrics(self) -> dict[str, float]:
        """Flat scalar metrics (for trackers and Dagster metadata)."""
        out = {
            "val/macro_f1": self.val.macro_f1,
            "val/accuracy": self.val.accuracy,
            "best_epoch": float(self.best_epoch),
            "epochs": float(self.epochs_completed),
            "fit_seconds": self.fit_seconds,
            "train_samples_per_second": self.samples_per_second,
        }
        if self.test is not None:
            out["test/macro_f1"] = self.test.macro_f1
            out["test/accuracy"] = self.test.accuracy
        if self.truncation is not None:
            out[TRUNCATED_SHARE] = self.truncation.share
        return out


def _resume_point(work_dir: Path, fingerprint: str, resume: bool) -> Path | None:
    """The checkpoint to continue from, after checking it belongs to this run."""
    ckpt_dir, state_file = work_dir / "checkpoints", work_dir / "run.json"
    last = ckpt_dir / "last.ckpt"
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    if resume and last.exists() and not state.get("completed"):
        if state.get("fingerprint") != fingerprint:
            raise ResumeError(
                f"{work_dir} holds a checkpoint of run {state.get('fingerprint')!r}, not "
                f"{fingerprint!r}; use another work_dir or resume=False"
            )
        return last
    # A fresh start (or a finished run trained again): stale files must not leak into it.
    shutil.rmtree(ckpt_dir, ignore_errors=True)
    (work_dir / "history.jsonl").unlink(missing_ok=True)
    return None


def _trainer(
    spec: TrainSpec,
    plan: RunPlan,
    work_dir: Path,
    progress: bool,
    callbacks: Sequence[Callback],
    loggers: Sequence[Logger],
) -> tuple[L.Trainer, ModelCheckpoint]:
    checkpoint = ModelCheckpoint(
        dirpath=work_dir / "checkpoints",
        filename="best-{epoch:03d}",
        monitor=MONITOR,
        mode="max",
        save_top_k=1,
        save_last=True,
        auto_insert_metric_name=False,
    )
    trainer = L.Trainer(
        accelerator=plan.accelerator,
        devices=spec.devices,
        strategy=spec.strategy,
        precision=plan.precision,  # type: ignore[arg-type]
        max_epochs=spec.max_epochs,
        min_epochs=spec.min_epochs,
        deterministic=plan.deterministic,
        callbacks=[
            EarlyStopping(MONITOR, mode="max", patience=spec.patience),
            checkpoint,
            *callbacks,
        ],
        logger=[JsonlHistoryLogger(work_dir / "history.jsonl"), *loggers],
        enable_progress_bar=progress,
        enable_model_summary=progress,
        num_sanity_val_steps=0,
        default_root_dir=work_dir,
        # A wide module steps its own optimisers and clips there (models.lit_modules).
        gradient_clip_val=1.0 if plan.mode == "finetune" and not spec.wide else None,
        log_every_n_steps=1,  # nothing is logged per step; this only silences a warning
    )
    return trainer, checkpoint


@contextmanager
def _torch_settings(threads: int | None) -> Iterator[None]:
    """Set intra-op threads for the fit; restore them and the deterministic-algorithms
    switch (which Lightning sets) afterwards: both are process-wide."""
    saved_threads = torch.get_num_threads()
    saved = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
    )
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(saved_threads)
        torch.use_deterministic_algorithms(saved[0], warn_only=saved[1])


@torch.inference_mode()
def _logits(
    net: nn.Module, datamodule: SnapshotDataModule, split: str, device: torch.device
) -> np.ndarray | None:
    loader = datamodule.eval_dataloader(split)
    if loader is None:
        return None
    net.eval().to(device)
    out = []
    with torch.inference_mode():
        for batch in loader:
            inputs = {k: v.to(device) for k, v in batch.items() if k != "labels"}
            out.append(net(**inputs).float().cpu().numpy())
    return np.concatenate(out)


@dataclass(frozen=True)
class _Evaluation:
    reports: dict[str, ClassificationReport]
    temperature: float  # fitted on val for the fast tier (models/calibration.py), else 1.0
    calibration: dict[str, float]  # val ECE/NLL before and after, for the bundle's metrics


def _evaluate(
    net: nn.Module,
    datamodule: SnapshotDataModule,
    labels: list[str],
    plan: RunPlan,
    calibrate: bool,
) -> _Evaluation:
    """Reports of `net` on the val and test splits (on the training device, then CPU), and
    with `calibrate` its temperature fitted on the val split."""
    device = torch.device("cuda" if plan.accelerator == "gpu" else "cpu")
    datamodule.setup("validate")  # spawn-based DDP set it up in the children only
    reports = {}
    temperature, calibration = 1.0, {}
    for split in ("val", "test"):
        logits = _logits(net, datamodule, split, device)
        if logits is None:
            continue
        truth = datamodule.targets(datamodule.split_frame(split))
        reports[split] = ClassificationReport.from_indices(truth, logits.argmax(axis=1), labels)
        if calibrate and split == "val":
            temperature = fit_temperature(logits, truth)
            calibration = {
                "temperature": round(temperature, 4),
                "val/ece_uncalibrated": round(top_label_ece(softmax(logits), truth), 4),
                "val/ece": round(top_label_ece(softmax(logits, temperature), truth), 4),
                "val/nll_uncalibrated": round(nll(logits, truth), 4),
                "val/nll": round(nll(logits, truth, temperature), 4),
            }
    net.cpu()
    return _Evaluation(reports, temperature, calibration)


def train(
    snapshot: pd.DataFrame,
    spec: TrainSpec,
    work_dir: Path,
    *,
    cache_dir: Path | None = None,
    progress: bool = False,
    resume: bool = True,
    callbacks: Sequence[Callback] = (),
    loggers: Sequence[Logger] = (),
    lineage: Mapping[str, str] | None = None,
) -> TrainResult | None:
    """Train `spec.tier` on `snapshot` (contract: data.snapshot) under `work_dir`.

    Args:
        snapshot: training snapshot with train and val splits (test optional).
        spec: what to train; see `TrainSpec`.
        work_dir: checkpoints, history and the bundle go here; reuse it to resume.
        cache_dir: embedding cache root (accurate tier, frozen encoder); share it between
            runs, e.g. `$DRIFTWISE_HOME/cache/embeddings`. Default: `work_dir/embeddings`.
        progress: progress bar and model summary in the terminal (off in tests).
        resume: continue from `work_dir`'s last checkpoint if the run was interrupted.
        callbacks: extra Lightning callbacks (progress reporting, ...).
        loggers: extra Lightning loggers (e.g. MLFlowLogger for live curves).
        lineage: string tags stored in the bundle's config (snapshot tag, git commit...).

    Returns:
        The result on global rank zero; None on other ranks of an externally launched DDP.
    """
    check_snapshot(snapshot)
    quiet_training_warnings()
    if not progress:
        # Quiet means quiet: Lightning's "GPU available…" lines and tips are INFO on its own
        # logger; the chosen hardware is reported in the result instead.
        logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    plan = resolve(spec)
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    snap_fp = frame_fingerprint(snapshot)
    fingerprint = f"{spec.fingerprint()}-{snap_fp}"
    ckpt_path = _resume_point(work_dir, fingerprint, resume)
    (work_dir / "run.json").write_text(json.dumps({"fingerprint": fingerprint, "completed": False}))

    labels = label_set(snapshot)
    L.seed_everything(spec.seed, workers=True, verbose=False)
    train_rows = snapshot[snapshot[SPLIT] == "train"]
    truncation = None
    if plan.mode != "tfidf_bag":  # the bag reads whole texts; the encoder truncates
        truncation = truncation_stats(train_rows[TEXT].astype(str).tolist(), spec.max_tokens)
        log.log(
            logging.WARNING if truncation.share >= 0.05 else logging.INFO,
            "%s",
            truncation.notice("training texts", lexical=spec.wide),
        )
    weights = None
    if spec.class_weighting == "balanced":
        index = {label: i for i, label in enumerate(labels)}
        targets = train_rows["label"].astype(str).map(index).to_numpy(dtype=np.int64)
        weights = balanced_class_weights(targets, len(labels))
    parts = build_tier(
        spec,
        plan,
        snapshot,
        labels,
        weights,
        Path(cache_dir) if cache_dir else work_dir / "embeddings",
    )

    trainer, checkpoint = _trainer(spec, plan, work_dir, progress, callbacks, loggers)
    # Embeddings are computed before threads are limited: MiniLM's matmuls use every core.
    parts.datamodule.prepare_data()
    start_epoch = 0
    if ckpt_path is not None:
        start_epoch = int(torch.load(ckpt_path, map_location="cpu", weights_only=True)["epoch"]) + 1
        log.info("resuming %s from %s (epoch %d)", work_dir, ckpt_path, start_epoch)
    with _torch_settings(plan.threads):
        started = time.perf_counter()
        trainer.fit(
            parts.module,
            datamodule=parts.datamodule,
            ckpt_path=str(ckpt_path) if ckpt_path else None,
        )
        fit_seconds = time.perf_counter() - started
    if not trainer.is_global_zero:
        return None
    if trainer.interrupted:
        raise RuntimeError(f"training in {work_dir} was interrupted; call train again to resume")

    best_path = Path(checkpoint.best_model_path)
    best = torch.load(best_path, map_location="cpu", weights_only=True)
    parts.module.load_state_dict(best["state_dict"])
    net = parts.module.net
    # The fast tier's confidence decides the cascade: calibrate it (models/calibration.py).
    evaluated = _evaluate(net, parts.datamodule, labels, plan, calibrate=spec.tier == "fast")
    reports = evaluated.reports

    epochs_run = max(0, trainer.current_epoch - start_epoch)
    history = read_history(work_dir / "history.jsonl")
    bundle = BundleConfig(
        tier=spec.tier,
        architecture=plan.mode,
        labels=labels,
        version=fingerprint,
        metrics={
            "val/macro_f1": reports["val"].macro_f1,
            **({"test/macro_f1": reports["test"].macro_f1} if "test" in reports else {}),
            **({TRUNCATED_SHARE: round(truncation.share, 4)} if truncation else {}),
            **evaluated.calibration,
        },
        temperature=evaluated.temperature,
        lineage={
            "spec_fingerprint": spec.fingerprint(),
            "snapshot_fingerprint": snap_fp,
            "accelerator": plan.accelerator,
            "precision": plan.precision,
            **dict(lineage or {}),
        },
        **parts.bundle_fields,
    )
    bundle_dir = save_bundle(net, bundle, work_dir / "bundle", parts.featurizer, parts.static)
    (work_dir / "run.json").write_text(json.dumps({"fingerprint": fingerprint, "completed": True}))
    return TrainResult(
        tier=spec.tier,
        mode=plan.mode,
        labels=labels,
        spec=spec,
        plan=plan,
        val=reports["val"],
        test=reports.get("test"),
        history=history,
        best_epoch=int(best["epoch"]),
        epochs_completed=trainer.current_epoch,
        best_checkpoint=best_path,
        bundle_dir=bundle_dir,
        bundle=bundle,
        fit_seconds=fit_seconds,
        samples_per_second=len(train_rows) * epochs_run / max(fit_seconds, 1e-9),
        snapshot_fingerprint=snap_fp,
        resumed=ckpt_path is not None,
        net=net,
        truncation=truncation,
    )
