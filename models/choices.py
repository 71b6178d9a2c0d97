"""The named choices of a training run, in a module without torch: the Dagster run config
(assets/training.py) types its fields with them when the definitions load, and
models/spec.py's TrainSpec uses the same ones."""

from typing import Literal

Tier = Literal["fast", "accurate"]
AccurateMode = Literal["auto", "frozen", "finetune"]
Accelerator = Literal["auto", "cpu", "gpu"]
