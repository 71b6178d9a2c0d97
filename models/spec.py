"""What to train and on what hardware: `TrainSpec` (config) and `RunPlan` (its resolution).

The two tiers:

* **fast** — TF-IDF word + char n-gram bag (models.tfidf; fastText-like net) with static
  embeddings beside it (models.static_embeddings: model2vec from the packaged MiniLM). Trains in
  seconds on a CPU.
  `accelerator="auto"` resolves to CPU for this tier: its steps are sparse, latency-bound
  lookups that a GPU does not speed up, and CPU keeps its results identical everywhere.
* **accurate** — all-MiniLM-L6-v2 with a classification head, and (`lexical=True`; the
  retrain decides it per run, models.lexical_policy) a hashed n-gram bag beside it whose
  logits add to the head's (models.components.wide): the encoder reads a text's first
  `max_tokens` tokens, the bag reads all of it. `accurate_mode="auto"` follows the hardware:
  on a GPU the encoder is fine-tuned end to end in bf16-mixed; on a CPU the encoder is
  frozen, its embeddings cached on disk per row, and only the head trains (a full
  fine-tuning step takes ~3.6 s on this CPU; a head epoch well under a second).

Class imbalance: with `class_weighting="balanced"` the cross-entropy weights class c by
n / (k * n_c) over the train split (sklearn's "balanced"), so every class carries the same
total weight in the loss; macro-F1 is the selection metric for the same reason.
"""

import hashlib
import json
from dataclasses import dataclass
from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field

from models.choices import Accelerator, AccurateMode, Tier
from models.hashing import HashingConfig
from models.tfidf import TfidfConfig

Mode = Literal["tfidf_bag", "frozen_encoder", "finetune"]

_DEFAULT_LR: dict[Mode, float] = {
    # Adagrad. Over TF-IDF features 0.1 overfits after one epoch (VADER val .760 -> .745);
    # 0.03 kept every bench dataset above the TF-IDF+LR baseline (models.tfidf).
    "tfidf_bag": 0.03,
    "frozen_encoder": 1e-3,  # AdamW on the head
    "finetune": 1e-3,  # the head's rate; the encoder uses encoder_lr
}


class TrainSpec(BaseModel):
    """Everything that decides a training run (hashed into its lineage)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tier: Tier = Field(
        "fast", description="fast (TF-IDF n-gram bag + static embeddings) or accurate (MiniLM)."
    )
    accurate_mode: AccurateMode = Field(
        "auto", description="accurate tier: auto = finetune on GPU, frozen encoder on CPU."
    )
    max_epochs: int = Field(10, ge=1)
    min_epochs: int = Field(1, ge=0)
    # 5, not 2: val macro-F1 is noisy epoch to epoch, and with 2 the accurate tier stopped
    # while still improving (long-text docstrings: best epoch 3 of 6, test macro-F1 .756;
    # with 5: best epoch 15 of 20, .784). Neutral for the fast tier (bench/baseline_vs_tiers).
    patience: int = Field(5, ge=1, description="Early stopping on val/macro_f1 (epochs).")
    batch_size: int = Field(32, ge=1)
    lr: float | None = Field(None, gt=0, description="None = the mode's default.")
    encoder_lr: float = Field(3e-5, gt=0, description="Encoder rate when fine-tuning.")
    weight_decay: float = Field(0.01, ge=0, description="AdamW decay (accurate tier).")
    warmup_ratio: float = Field(0.06, ge=0, lt=1, description="Linear warmup when fine-tuning.")
    seed: int = 0
    accelerator: Accelerator = "auto"
    devices: int | str = Field("auto", description="Lightning devices (int, list str, auto).")
    strategy: str = Field("auto", description="Lightning strategy: auto, ddp, ddp_spawn...")
    precision: str = Field("auto", description="auto = bf16-mixed when fine-tuning on GPU.")
    deterministic: bool | Literal["warn"] | None = Field(
        None,
        description="None = True on CPU, 'warn' on GPU (some CUDA ops have no "
        "deterministic kernel).",
    )
    class_weighting: Literal["balanced", "none"] = "balanced"
    num_workers: int = Field(0, ge=0, description="DataLoader workers.")
    torch_threads: int | None = Field(
        None,
        ge=1,
        description="torch intra-op threads during fit; None = 1 for the small-op "
        "modes (tfidf_bag, frozen_encoder), unchanged when fine-tuning.",
    )
    # fast tier (and `hashing` for the accurate tier's lexical bag)
    tfidf: TfidfConfig = Field(default_factory=TfidfConfig)
    hashing: HashingConfig = Field(default_factory=HashingConfig)
    embed_dim: int = Field(32, ge=2, description="Bag embedding width (both bags).")
    # On: trained by `make run` on movies only, the bag alone scored .645 on the four-domain
    # golden set and the cascade escalated 83% of it; with static embeddings beside it .685
    # (bench/cascade_fast_tier.py). Costs one distillation per home (~12 s) and ~15 MB a bundle.
    static_embeddings: bool = Field(
        True,
        description="fast tier: add model2vec static embeddings distilled from the packaged "
        "MiniLM (models.static_embeddings) beside the TF-IDF bag; their logits add.",
    )
    # accurate tier
    # 256, not 512: 512 raised mean val macro-F1 on the three bench datasets (.802 -> .812)
    # but on a small training set it made the head overconfident on irrelevant words (the
    # person-name invariance test in tests/models/test_behaviour.py: spread 0.09 -> 0.51).
    head_hidden: int = Field(256, ge=0, description="Head hidden units; 0 = linear head.")
    dropout: float = Field(0.1, ge=0, lt=1)
    max_tokens: int = Field(128, ge=8, le=512)
    embed_batch_size: int = Field(32, ge=1, description="Batch size when caching embeddings.")
    # Off in a bare spec; the retrain asset decides per run (`TrainConfig.accurate_lexical`,
    # default auto: models.lexical_policy). In domain the bag lifts held-out macro-F1 to or
    # above TF-IDF+LR (long docstrings: .953 vs .784 encoder-only; bench/baseline_vs_tiers).
    # Across domains it hurts: the default loop's first model (movies only) judged on the
    # four-domain golden set scored macro-F1 .697 with ECE .171 wide against .740 / .030
    # encoder-only (NYT .574 vs .654, tweets .661 vs .754), and the gate rightly blocked it.
    # The bag learns the training domain's words; the frozen encoder's semantics travel.
    lexical: bool = Field(
        False,
        description="accurate tier: add a hashed word + char n-gram bag (`hashing`, "
        "`embed_dim`) whose logits add to the head's; it reads the whole text.",
    )
    lexical_lr: float = Field(0.1, gt=0, description="Adagrad rate of the lexical bag.")
    # 2, not 0: on a small training set (440 movie snippets) a bag trained from the first
    # step memorised it and pushed the head aside (val macro-F1 .706 vs .814 encoder-only);
    # starting after the head, with checkpoint selection on val, the bag only adds what
    # improves validation (long docstrings still need its full rate: .950 at 0.1, .808 at
    # 0.01).
    lexical_start_epoch: int = Field(
        2, ge=0, description="Epoch from which the lexical bag trains (the head trains first)."
    )

    @property
    def wide(self) -> bool:
        """True when this spec trains an accurate tier with a lexical bag beside it."""
        return self.tier == "accurate" and self.lexical

    def fingerprint(self) -> str:
        """Stable hash of the spec (lineage tag, resume guard)."""
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


@dataclass(frozen=True)
class RunPlan:
    """A spec resolved against the hardware this process sees."""

    mode: Mode
    accelerator: str  # "cpu" | "gpu"
    precision: str
    lr: float
    deterministic: bool | Literal["warn"]
    threads: int | None  # torch intra-op threads during fit (None = leave as is)


def resolve(spec: TrainSpec, cuda_available: bool | None = None) -> RunPlan:
    """Turn `auto` fields into concrete choices (`cuda_available` overrides detection)."""
    cuda = torch.cuda.is_available() if cuda_available is None else cuda_available
    if spec.accelerator == "gpu" and not cuda:
        raise RuntimeError("accelerator='gpu' was forced but CUDA is not available")
    if spec.tier == "fast":
        mode: Mode = "tfidf_bag"
        accelerator = "gpu" if spec.accelerator == "gpu" else "cpu"
    else:
        accelerator = spec.accelerator if spec.accelerator != "auto" else ("gpu" if cuda else "cpu")
        if spec.accurate_mode == "auto":
            mode = "finetune" if accelerator == "gpu" else "frozen_encoder"
        else:
            mode = "finetune" if spec.accurate_mode == "finetune" else "frozen_encoder"
    if spec.precision != "auto":
        precision = spec.precision
    else:
        precision = "bf16-mixed" if (mode == "finetune" and accelerator == "gpu") else "32-true"
    if spec.deterministic is None:
        deterministic: bool | Literal["warn"] = True if accelerator == "cpu" else "warn"
    else:
        deterministic = spec.deterministic
    lr = spec.lr if spec.lr is not None else _DEFAULT_LR[mode]
    # The bag and head steps are sub-millisecond ops where OpenMP hand-offs cost more than
    # they save: on the 2-core build machine, 2 epochs of the fast tier took 82 s with 2
    # threads and 3.2 s with 1. Fine-tuning (large matmuls) keeps every thread.
    threads = spec.torch_threads or (None if mode == "finetune" else 1)
    return RunPlan(mode, accelerator, precision, lr, deterministic, threads)
