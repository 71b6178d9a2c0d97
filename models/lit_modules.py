"""LightningModules of the two tiers. Each receives its net (a plain nn.Module).

Batches are dicts: `labels` plus the net's keyword inputs, so one shared `model_step` serves
every net (`indices/offsets`, `embeddings`, or `input_ids/attention_mask`).
"""

import math
from typing import Any

import lightning as L
import torch
from torch import nn
from torchmetrics import MaxMetric, MeanMetric
from torchmetrics.classification import MulticlassF1Score

from models.components.wide import WideAndDeep, semantic_part


class ClassifierLitModule(L.LightningModule):
    """Weighted cross-entropy classifier with macro-F1 per split.

    Args:
        net: maps the batch's keyword inputs to logits.
        num_classes: number of labels.
        class_weights: per-class loss weights (see models.spec on class imbalance).
        lr: learning rate (the head's, when fine-tuning).
        seed: reseeds the global RNG at every epoch start (dropout), so epoch e draws the
            same masks whether or not the run was interrupted and resumed before it.
    """

    def __init__(
        self,
        net: nn.Module,
        num_classes: int,
        class_weights: list[float] | None = None,
        lr: float = 1e-3,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["net"])
        self.net = net
        weights = torch.tensor(class_weights, dtype=torch.float32) if class_weights else None
        self.criterion = nn.CrossEntropyLoss(weight=weights)
        self.train_f1 = MulticlassF1Score(num_classes=num_classes, average="macro")
        self.val_f1 = MulticlassF1Score(num_classes=num_classes, average="macro")
        self.test_f1 = MulticlassF1Score(num_classes=num_classes, average="macro")
        self.train_loss, self.val_loss, self.test_loss = MeanMetric(), MeanMetric(), MeanMetric()
        self.val_f1_best = MaxMetric()
        # Part of the checkpoint, so a resumed run reports the same running best.
        self.val_f1_best.persistent(True)

    def forward(self, **inputs: torch.Tensor) -> torch.Tensor:
        return self.net(**inputs)

    def model_step(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        inputs = {k: v for k, v in batch.items() if k != "labels"}
        logits = self.net(**inputs)
        loss = self.criterion(logits.float(), batch["labels"])
        return loss, logits.argmax(dim=-1), batch["labels"]

    def epoch_seed(self, epoch: int, rank: int = 0) -> int:
        return self.hparams["seed"] * 1_000_003 + epoch * 101 + rank

    def on_train_epoch_start(self) -> None:
        torch.manual_seed(self.epoch_seed(self.current_epoch, self.global_rank))

    def build_optimizer(self, total_steps: int) -> tuple[torch.optim.Optimizer, Any]:
        """(optimizer, per-step LR scheduler or None) for a run of `total_steps` steps.

        Separate from `configure_optimizers` so a plain PyTorch loop (bench/) can train with
        exactly the same optimiser as the Trainer.
        """
        raise NotImplementedError

    def configure_optimizers(self) -> Any:
        optimizer, scheduler = self.build_optimizer(int(self.trainer.estimated_stepping_batches))
        if scheduler is None:
            return optimizer
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }

    # Metrics are `update`d, not called: with on_epoch-only logging the per-batch value a
    # call computes would be thrown away, on every step.
    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss, preds, targets = self.model_step(batch)
        self.train_loss.update(loss.detach())
        self.train_f1.update(preds, targets)
        size = len(targets)
        self.log(
            "train/loss",
            self.train_loss,
            on_step=False,
            on_epoch=True,
            prog_bar=True,
            batch_size=size,
        )
        self.log("train/macro_f1", self.train_f1, on_step=False, on_epoch=True, batch_size=size)
        return loss

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        loss, preds, targets = self.model_step(batch)
        self.val_loss.update(loss.detach())
        self.val_f1.update(preds, targets)
        size = len(targets)
        self.log("val/loss", self.val_loss, on_step=False, on_epoch=True, batch_size=size)
        self.log(
            "val/macro_f1",
            self.val_f1,
            on_step=False,
            on_epoch=True,
            prog_bar=True,
            batch_size=size,
        )

    def on_validation_epoch_end(self) -> None:
        if self.trainer.sanity_checking:
            return
        self.val_f1_best(self.val_f1.compute())
        self.log("val/macro_f1_best", self.val_f1_best.compute(), sync_dist=True)

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        loss, preds, targets = self.model_step(batch)
        self.test_loss.update(loss.detach())
        self.test_f1.update(preds, targets)
        size = len(targets)
        self.log("test/loss", self.test_loss, on_step=False, on_epoch=True, batch_size=size)
        self.log("test/macro_f1", self.test_f1, on_step=False, on_epoch=True, batch_size=size)


class HashedBagLitModule(ClassifierLitModule):
    """Fast tier. Adagrad: it takes the bag's sparse gradients and dense ones in one
    optimiser, and on movies it beat SGD (unstable at every rate tried) at equal speed."""

    def build_optimizer(self, total_steps: int) -> tuple[torch.optim.Optimizer, Any]:
        return torch.optim.Adagrad(self.net.parameters(), lr=self.hparams["lr"]), None


class MiniLMLitModule(ClassifierLitModule):
    """Accurate tier: a head on frozen embeddings, or encoder + head fine-tuned together,
    optionally wide (a lexical bag beside them, models.components.wide).

    Fine-tuning (the net has an `encoder`): AdamW with the encoder at `encoder_lr` and the
    fresh head at `lr`, linear warmup then linear decay over the run's steps.

    Wide: the bag's embedding table has 2^18 rows and sparse gradients, which AdamW cannot
    take (and a dense update of the whole table costs ~95 ms a step on this CPU, against
    ~2 ms sparse). So the bag gets its own Adagrad, the fast tier's optimiser, at
    `lexical_lr`, and the module steps both optimisers itself (Lightning's manual
    optimisation; `clip_norm` then clips the dense side here instead of in the Trainer).
    The bag starts at `lexical_start_epoch`: until then its logits stay zero (its output
    layer starts at zero), so the head learns first, and validation-based checkpoint
    selection keeps the bag only where it helps.
    """

    def __init__(
        self,
        net: nn.Module,
        num_classes: int,
        class_weights: list[float] | None = None,
        lr: float = 1e-3,
        seed: int = 0,
        encoder_lr: float = 3e-5,
        weight_decay: float = 0.01,
        warmup_ratio: float = 0.06,
        lexical_lr: float = 0.1,
        lexical_start_epoch: int = 0,
        clip_norm: float | None = None,
    ) -> None:
        super().__init__(net, num_classes, class_weights, lr, seed)
        self.save_hyperparameters(ignore=["net"])
        self.wide = isinstance(net, WideAndDeep)
        self.automatic_optimization = not self.wide

    def build_optimizer(self, total_steps: int) -> tuple[torch.optim.Optimizer, Any]:
        """The dense side's optimiser (encoder and head; not a wide net's lexical bag)."""
        hp = self.hparams
        semantic = semantic_part(self.net)
        encoder = getattr(semantic, "encoder", None)
        if encoder is None:
            optimizer = torch.optim.AdamW(
                semantic.parameters(), lr=hp["lr"], weight_decay=hp["weight_decay"]
            )
            return optimizer, None
        head: nn.Module = semantic.head  # type: ignore[assignment]
        optimizer = torch.optim.AdamW(
            [
                {"params": encoder.parameters(), "lr": hp["encoder_lr"]},
                {"params": head.parameters(), "lr": hp["lr"]},
            ],
            weight_decay=hp["weight_decay"],
        )
        total = max(1, total_steps)
        warmup = max(1, math.ceil(total * hp["warmup_ratio"]))

        def factor(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            return max(0.0, (total - step) / max(1, total - warmup))

        return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, factor)

    def configure_optimizers(self) -> Any:
        if not self.wide:
            return super().configure_optimizers()
        optimizer, scheduler = self.build_optimizer(int(self.trainer.estimated_stepping_batches))
        lexical = torch.optim.Adagrad(
            self.net.lexical.parameters(),  # type: ignore[union-attr]
            lr=self.hparams["lexical_lr"],
        )
        schedulers = [{"scheduler": scheduler, "interval": "step"}] if scheduler else []
        return [optimizer, lexical], schedulers

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = super().training_step(batch, batch_idx)
        if self.automatic_optimization:
            return loss
        optimizers: list[Any] = self.optimizers()  # type: ignore[assignment]
        dense, lexical = optimizers
        dense.zero_grad()
        lexical.zero_grad()
        self.manual_backward(loss)
        if self.hparams["clip_norm"]:
            self.clip_gradients(
                dense, gradient_clip_val=self.hparams["clip_norm"], gradient_clip_algorithm="norm"
            )
        dense.step()
        if self.current_epoch >= self.hparams["lexical_start_epoch"]:
            lexical.step()
        scheduler = self.lr_schedulers()
        if scheduler is not None:
            scheduler.step()  # type: ignore[union-attr]
        return loss
