"""Assemble a tier: its DataModule, its LitModule (with net) and the bundle fields it implies.

Kept apart from `training.train` so tests and benchmarks can put the same parts under their
own Trainer (e.g. `Trainer(fast_dev_run=True)`), or under a plain PyTorch loop.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from torch import nn

from data.schema import SPLIT, TEXT
from models.bundle import LEXICAL_WEIGHTS, HeadConfig, encoder_ref
from models.components.bag import HashedBagNet
from models.components.encoder import EMBEDDING_DIM, MiniLMEncoder
from models.components.head import ClassifierHead, EncoderClassifier
from models.components.wide import WideAndDeep
from models.datamodules import (
    EmbeddingDataModule,
    SnapshotDataModule,
    TextDataModule,
    TfidfBagDataModule,
)
from models.embedding_cache import EmbeddingCache, MiniLMEmbedder, minilm_cache_key
from models.hashing import HashedNgramFeaturizer
from models.lit_modules import ClassifierLitModule, HashedBagLitModule, MiniLMLitModule
from models.spec import RunPlan, TrainSpec
from models.static_embeddings import distilled
from models.tfidf import TfidfFeaturizer

if TYPE_CHECKING:
    from model2vec import StaticModel


@dataclass
class TierParts:
    """What one training run of a tier is made of."""

    datamodule: SnapshotDataModule
    module: ClassifierLitModule
    bundle_fields: dict[str, Any]  # BundleConfig fields specific to the architecture
    featurizer: TfidfFeaturizer | None = None  # a fitted featuriser the bundle must keep
    static: "StaticModel | None" = None  # the fast tier's static embeddings, kept too


def build_tier(
    spec: TrainSpec,
    plan: RunPlan,
    snapshot: pd.DataFrame,
    labels: list[str],
    class_weights: list[float] | None,
    cache_dir: Path,
) -> TierParts:
    """Build the parts for `plan.mode` (`cache_dir`: the embedding cache root)."""
    common: dict[str, Any] = {
        "batch_size": spec.batch_size,
        "seed": spec.seed,
        "num_workers": spec.num_workers,
    }
    num_classes = len(labels)
    if plan.mode == "tfidf_bag":
        # The vocabulary is learned from the train split only: validation and test rows
        # must not decide which n-grams exist (no selection leakage).
        train = snapshot[snapshot[SPLIT] == "train"][TEXT].astype(str).tolist()
        tfidf = TfidfFeaturizer.fit(spec.tfidf, train)
        static = distilled(cache_dir) if spec.static_embeddings else None
        static_dim = static.dim if static is not None else 0
        bag = HashedBagNet(
            tfidf.n_features, spec.embed_dim, num_classes, mode="sum", static_dim=static_dim
        )
        return TierParts(
            TfidfBagDataModule(snapshot, labels, tfidf, static=static, **common),
            HashedBagLitModule(bag, num_classes, class_weights, plan.lr, spec.seed),
            {
                "tfidf": spec.tfidf,
                "n_features": tfidf.n_features,
                "embed_dim": spec.embed_dim,
                "static_dim": static_dim or None,
                "weights": ["model.safetensors"],
            },
            tfidf,
            static,
        )

    head = ClassifierHead(num_classes, EMBEDDING_DIM, spec.head_hidden, spec.dropout)
    head_config = HeadConfig(input_dim=EMBEDDING_DIM, hidden=spec.head_hidden, dropout=spec.dropout)
    featurizer = HashedNgramFeaturizer(spec.hashing) if spec.wide else None
    datamodule: SnapshotDataModule
    net: nn.Module
    if plan.mode == "frozen_encoder":
        cache = EmbeddingCache(cache_dir, minilm_cache_key(spec.max_tokens))
        device = "cuda" if plan.accelerator == "gpu" else "cpu"
        embedder = MiniLMEmbedder(spec.max_tokens, spec.embed_batch_size, device)
        datamodule = EmbeddingDataModule(
            snapshot, labels, cache, embedder, featurizer=featurizer, **common
        )
        net = head
        fields: dict[str, Any] = {
            "encoder": encoder_ref(spec.max_tokens, "package"),
            "head": head_config,
            "weights": ["head.safetensors"],
        }
    else:
        net = EncoderClassifier(MiniLMEncoder(spec.max_tokens), head)
        datamodule = TextDataModule(
            snapshot, labels, spec.max_tokens, featurizer=featurizer, **common
        )
        fields = {
            "encoder": encoder_ref(spec.max_tokens, "bundle"),
            "head": head_config,
            "weights": ["encoder.safetensors", "head.safetensors"],
        }
    if spec.wide:
        net = WideAndDeep(net, HashedBagNet(spec.hashing.n_buckets, spec.embed_dim, num_classes))
        fields |= {
            "hashing": spec.hashing,
            "embed_dim": spec.embed_dim,
            "weights": sorted([*fields["weights"], LEXICAL_WEIGHTS]),
        }
    module = MiniLMLitModule(
        net,
        num_classes,
        class_weights,
        plan.lr,
        spec.seed,
        encoder_lr=spec.encoder_lr,
        weight_decay=spec.weight_decay,
        warmup_ratio=spec.warmup_ratio,
        lexical_lr=spec.lexical_lr,
        lexical_start_epoch=spec.lexical_start_epoch,
        clip_norm=1.0 if plan.mode == "finetune" else None,
    )
    return TierParts(datamodule, module, fields)
