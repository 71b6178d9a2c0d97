"""Lightning vs a plain PyTorch loop: same net, same optimiser, same batches, same steps.

Both loops get their parts from `models.tiers.build_tier` (the modules `train` uses) and
time the same number of optimiser steps after a warm-up; the plain loop does what
Lightning's does per step (forward, weighted loss, train metric update, backward, step,
per-epoch reseed). Final weights are compared to show the two did the same work.

    .venv/bin/python bench/lightning_vs_plain.py [--steps 600] [--warmup 50]

Rows: the accurate tier's head on cached MiniLM embeddings (frozen encoder; the CPU path)
and, for contrast, the fast tier's hashed bag. `bench/gpu_train.py` reuses this harness for
the bf16 fine-tune on a GPU.
"""

import argparse
import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import pandas as pd
import torch

from orchestration.cli import offline

STEPS, WARMUP = 600, 50


@dataclass
class Timing:
    seconds: float  # wall time of the timed steps (after warm-up)
    steps: int
    samples: int
    peak_bytes: int
    net: torch.nn.Module

    @property
    def samples_per_second(self) -> float:
        return self.samples / self.seconds


def build(spec: Any, snapshot: pd.DataFrame, cache_dir: Path) -> tuple[Any, Any, Any]:
    """(plan, module, datamodule) seeded exactly as `train` would build them."""
    from data.snapshot import label_set
    from models.spec import resolve
    from models.tiers import build_tier

    plan = resolve(spec)
    L.seed_everything(spec.seed, workers=True, verbose=False)
    parts = build_tier(spec, plan, snapshot, label_set(snapshot), None, cache_dir)
    parts.datamodule.prepare_data()
    parts.datamodule.setup("fit")
    return plan, parts.module, parts.datamodule


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _peak(device: torch.device) -> int:
    return torch.cuda.max_memory_allocated(device) if device.type == "cuda" else 0


class _StepClock(L.Callback):
    """Starts the clock at step `warmup`, stops it after the last step."""

    def __init__(self, warmup: int, device: torch.device) -> None:
        self.warmup, self.device = warmup, device
        self.start = self.end = 0.0
        self.samples = 0

    def on_train_batch_start(self, trainer: L.Trainer, module: Any, batch: Any, idx: int) -> None:
        if trainer.global_step == self.warmup:
            _sync(self.device)
            self.start = time.perf_counter()
        if trainer.global_step >= self.warmup:
            self.samples += len(batch["labels"])

    def on_train_end(self, trainer: L.Trainer, module: Any) -> None:
        _sync(self.device)
        self.end = time.perf_counter()


def time_lightning(
    spec: Any, snapshot: pd.DataFrame, cache_dir: Path, steps: int, warmup: int
) -> Timing:
    plan, module, dm = build(spec, snapshot, cache_dir)
    device = torch.device("cuda" if plan.accelerator == "gpu" else "cpu")
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    clock = _StepClock(warmup, device)
    trainer = L.Trainer(
        accelerator=plan.accelerator,
        devices=1,
        precision=plan.precision,
        max_steps=warmup + steps,
        max_epochs=-1,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        deterministic=plan.deterministic,
        callbacks=[clock],
        gradient_clip_val=1.0 if plan.mode == "finetune" else None,
    )
    trainer.fit(module, train_dataloaders=dm.train_dataloader())
    return Timing(clock.end - clock.start, steps, clock.samples, _peak(device), module.net)


def _batches(dm: Any) -> Iterator[tuple[int, dict[str, torch.Tensor]]]:
    loader = dm.train_dataloader()
    for epoch in range(1_000_000):
        loader.sampler.set_epoch(epoch)
        for batch in loader:
            yield epoch, batch


def time_plain(
    spec: Any, snapshot: pd.DataFrame, cache_dir: Path, steps: int, warmup: int
) -> Timing:
    plan, module, dm = build(spec, snapshot, cache_dir)
    device = torch.device("cuda" if plan.accelerator == "gpu" else "cpu")
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    module.to(device).train()
    optimizer, scheduler = module.build_optimizer(warmup + steps)
    autocast = (
        torch.autocast(device.type, dtype=torch.bfloat16)
        if plan.precision.startswith("bf16")
        else contextlib.nullcontext()
    )
    current_epoch, samples, start = -1, 0, 0.0
    for step, (epoch, batch) in enumerate(_batches(dm)):
        if step == warmup + steps:
            break
        if step == warmup:
            _sync(device)
            start = time.perf_counter()
        if epoch != current_epoch:  # what on_train_epoch_start does under the Trainer
            current_epoch = epoch
            torch.manual_seed(module.epoch_seed(epoch))
        batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
        with autocast:
            loss, preds, targets = module.model_step(batch)
        module.train_loss.update(loss.detach())
        module.train_f1.update(preds, targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if plan.mode == "finetune":
            torch.nn.utils.clip_grad_norm_(module.parameters(), 1.0)
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        if step >= warmup:
            samples += len(targets)
    _sync(device)
    return Timing(time.perf_counter() - start, steps, samples, _peak(device), module.net)


def max_weight_gap(a: torch.nn.Module, b: torch.nn.Module) -> float:
    sb = b.state_dict()
    return max(
        (v.float().cpu() - sb[k].float().cpu()).abs().max().item()
        for k, v in a.state_dict().items()
        if v.is_floating_point()
    )


def compare(
    name: str, spec: Any, snapshot: pd.DataFrame, cache_dir: Path, steps: int, warmup: int
) -> dict[str, Any]:
    plain = time_plain(spec, snapshot, cache_dir, steps, warmup)
    lightning = time_lightning(spec, snapshot, cache_dir, steps, warmup)
    return {
        "name": name,
        "lightning": lightning,
        "plain": plain,
        "ratio": lightning.seconds / plain.seconds,
        "overhead_ms": (lightning.seconds - plain.seconds) / steps * 1000,
        "gap": max_weight_gap(lightning.net, plain.net),
    }


def print_table(rows: list[dict[str, Any]], memory: bool = False) -> None:
    head = (
        f"{'net':<34} {'steps':>5} {'lightning/s':>12} {'plain/s':>10} "
        f"{'L/plain time':>12} {'ms/step':>8} {'max|dw|':>9}"
    )
    if memory:
        head += f" {'peak MiB L':>10} {'plain':>8}"
    print("\n" + head + "\n" + "-" * len(head))
    for r in rows:
        line = (
            f"{r['name']:<34} {r['plain'].steps:5d} {r['lightning'].samples_per_second:12.0f} "
            f"{r['plain'].samples_per_second:10.0f} {r['ratio']:12.2f} "
            f"{r['overhead_ms']:8.2f} {r['gap']:9.1e}"
        )
        if memory:
            line += (
                f" {r['lightning'].peak_bytes / 2**20:10.0f} {r['plain'].peak_bytes / 2**20:8.0f}"
            )
        print(line)
    print(
        "samples/s over the timed steps; L/plain time > 1 means Lightning is slower; "
        "ms/step = Lightning's extra time per step; max|dw| = largest weight difference "
        "after training (0 = identical work)."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--warmup", type=int, default=WARMUP)
    args = parser.parse_args()
    offline.apply()

    from train_throughput import home, load_data, movie_snapshot

    from models.spec import TrainSpec

    snapshot = movie_snapshot(load_data())
    cache_dir = home() / "cache" / "embeddings"
    rows = []
    # Same thread setting as `train` uses for these small-op nets (models.spec.resolve).
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    for name, spec in (
        ("accurate head (frozen MiniLM)", TrainSpec(tier="accurate", accelerator="cpu")),
        ("fast hashed bag", TrainSpec(tier="fast")),
    ):
        rows.append(compare(name, spec, snapshot, cache_dir, args.steps, args.warmup))
    print_table(rows)


if __name__ == "__main__":
    main()
