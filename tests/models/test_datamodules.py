"""DataModules and the epoch-seeded sampler (models/datamodules.py).

Real snapshot slices and the real featuriser; no Trainer. Checks that batches have the
shapes the nets expect and that shuffling is a pure function of (seed, epoch), which is
what makes a resumed run see the same batches as an uninterrupted one.
"""

import numpy as np
import pytest
import torch

from data.schema import SPLIT, TEXT
from data.snapshot import label_set
from models.datamodules import (
    EpochShuffleSampler,
    TfidfBagDataModule,
    balanced_class_weights,
    frame_fingerprint,
)
from models.tfidf import TfidfConfig, TfidfFeaturizer


def test_sampler_is_a_function_of_seed_and_epoch():
    a, b = EpochShuffleSampler(50, seed=3), EpochShuffleSampler(50, seed=3)
    a.set_epoch(4)
    b.set_epoch(4)
    assert list(a) == list(b)
    assert sorted(a) == list(range(50))
    b.set_epoch(5)
    assert list(a) != list(b)
    assert list(EpochShuffleSampler(50, seed=4)) != list(EpochShuffleSampler(50, seed=3))


def test_tfidf_bag_batches(fast_snapshot):
    labels = label_set(fast_snapshot)
    train = fast_snapshot[fast_snapshot[SPLIT] == "train"][TEXT].tolist()
    featurizer = TfidfFeaturizer.fit(TfidfConfig(), train)
    dm = TfidfBagDataModule(fast_snapshot, labels, featurizer, batch_size=16)
    dm.setup("fit")
    assert {k: len(v) for k, v in dm.datasets.items()} == {"train": 1600, "val": 400, "test": 200}
    batch = next(iter(dm.train_dataloader()))
    assert set(batch) == {"indices", "offsets", "weights", "labels"}
    assert batch["offsets"].shape == (16,) and batch["offsets"][0] == 0
    assert batch["indices"].dtype == torch.long and len(batch["indices"]) > 16
    assert batch["weights"].dtype == torch.float32
    assert batch["weights"].shape == batch["indices"].shape and (batch["weights"] > 0).all()
    assert int(batch["indices"].max()) < featurizer.n_features
    assert set(batch["labels"].tolist()) <= {0, 1}
    # evaluation loaders keep the snapshot's row order
    val = dm.split_frame("val")
    first = next(iter(dm.eval_dataloader("val")))
    assert first["labels"].tolist() == dm.targets(val)[:16].tolist()


def test_balanced_weights_equalise_class_totals():
    labels = np.array([0] * 90 + [1] * 9 + [2] * 1)
    weights = balanced_class_weights(labels, 3)
    totals = [weights[c] * int((labels == c).sum()) for c in range(3)]
    assert totals == pytest.approx([totals[0]] * 3)
    assert weights[2] > weights[1] > weights[0]


def test_fingerprint_follows_content_and_order(fast_snapshot):
    same = fast_snapshot.copy().assign(extra_metadata=1)  # extra columns do not count
    assert frame_fingerprint(same) == frame_fingerprint(fast_snapshot)
    assert frame_fingerprint(fast_snapshot.iloc[::-1]) != frame_fingerprint(fast_snapshot)
    relabelled = fast_snapshot.copy()
    relabelled.loc[relabelled.index[0], "label"] = (
        "positive" if relabelled["label"].iloc[0] == "negative" else "negative"
    )
    assert frame_fingerprint(relabelled) != frame_fingerprint(fast_snapshot)
