"""DataModules: a training snapshot -> per-split datasets for each tier.

`SnapshotDataModule` owns what the tiers share (labels, splits, the epoch-seeded sampler);
subclasses say how a split becomes tensors. Heavy, cacheable preparation happens in
`prepare_data` (runs once per node); `setup` only builds in-memory splits.
"""

import hashlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import lightning as L
import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler, default_collate

from data.schema import LABEL, ROW_ID, SPLIT, TEXT
from data.snapshot import REQUIRED_COLUMNS
from models.embedding_cache import EmbeddingCache
from models.hashing import HashedNgramFeaturizer
from models.static_embeddings import embed as embed_static
from models.tfidf import TfidfFeaturizer

if TYPE_CHECKING:
    from model2vec import StaticModel


def balanced_class_weights(train_labels: np.ndarray, num_classes: int) -> list[float]:
    """n / (k * n_c) per class (sklearn's 'balanced'); every class carries equal total weight."""
    counts = np.bincount(train_labels, minlength=num_classes).astype(np.float64)
    return (counts.sum() / (num_classes * np.maximum(counts, 1.0))).tolist()


def frame_fingerprint(frame: pd.DataFrame) -> str:
    """Content hash of the columns training reads, in row order (row order shapes training).

    `hash_pandas_object` uses a fixed key, so the value is the same in every process.
    """
    hashed = pd.util.hash_pandas_object(frame[list(REQUIRED_COLUMNS)], index=False)
    return hashlib.sha256(hashed.to_numpy().tobytes()).hexdigest()[:16]


class EpochShuffleSampler(Sampler[int]):
    """A permutation that is a pure function of (seed, epoch).

    Why not `shuffle=True`: that draws from the global RNG, whose state a checkpoint does not
    hold, so a resumed run would see other batches than an uninterrupted one. Lightning calls
    `set_epoch` before every epoch (also right after a resume).
    """

    def __init__(self, size: int, seed: int) -> None:
        self.size, self.seed, self.epoch = size, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        return iter(torch.randperm(self.size, generator=generator).tolist())


class _ListDataset(Dataset):
    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self.items[i]


class _ColumnsDataset(Dataset):
    """Row i = {name: column[i]} over equally long tensors."""

    def __init__(self, **columns: torch.Tensor) -> None:
        self.columns = columns

    def __len__(self) -> int:
        return len(next(iter(self.columns.values())))

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {name: column[i] for name, column in self.columns.items()}


class SnapshotDataModule(L.LightningDataModule):
    """Shared split handling; subclasses implement `_build(frame, targets) -> Dataset`."""

    collate_fn: Callable[[list[Any]], Any] | None = None

    def __init__(
        self,
        snapshot: pd.DataFrame,
        labels: list[str],
        batch_size: int = 32,
        seed: int = 0,
        num_workers: int = 0,
    ) -> None:
        super().__init__()
        self.frame = snapshot[[ROW_ID, TEXT, LABEL, SPLIT]].reset_index(drop=True)
        self.labels = labels
        self.batch_size, self.seed, self.num_workers = batch_size, seed, num_workers
        self.datasets: dict[str, Dataset] = {}

    def split_frame(self, split: str) -> pd.DataFrame:
        return self.frame[self.frame[SPLIT] == split].reset_index(drop=True)

    def targets(self, frame: pd.DataFrame) -> np.ndarray:
        index = {label: i for i, label in enumerate(self.labels)}
        return frame[LABEL].astype(str).map(index).to_numpy(dtype=np.int64)

    def setup(self, stage: str | None = None) -> None:
        for split in ("train", "val", "test"):
            frame = self.split_frame(split)
            if len(frame) and split not in self.datasets:
                self.datasets[split] = self._build(frame, self.targets(frame))

    def _build(self, frame: pd.DataFrame, targets: np.ndarray) -> Dataset:
        raise NotImplementedError

    def _loader(self, split: str, sampler: Sampler | None = None) -> DataLoader:
        return DataLoader(
            self.datasets[split],
            batch_size=self.batch_size,
            sampler=sampler,
            shuffle=False,
            num_workers=self.num_workers,
            collate_fn=self.collate_fn,
            persistent_workers=self.num_workers > 0,
            # Each new iterator draws a worker base seed; from its own generator it leaves the
            # global RNG (dropout) alone, wherever the loop happens to create iterators.
            generator=torch.Generator().manual_seed(self.seed),
        )

    def train_dataloader(self) -> DataLoader:
        size = len(self.datasets["train"])  # type: ignore[arg-type]
        trainer = getattr(self, "trainer", None)
        if trainer is not None and trainer.world_size > 1:
            # One shard per rank, reshuffled per epoch from the seed: resumable, like ours.
            sampler: Sampler = DistributedSampler(
                self.datasets["train"], shuffle=True, seed=self.seed
            )
        else:
            sampler = EpochShuffleSampler(size, self.seed)
        return self._loader("train", sampler)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._loader("test")

    def eval_dataloader(self, split: str) -> DataLoader | None:
        """Ordered loader over a split for post-fit evaluation (None if the split is empty)."""
        return self._loader(split) if split in self.datasets else None


def bag_tensors(bags: list[np.ndarray]) -> dict[str, torch.Tensor]:
    """Variable-length bucket lists -> (indices, offsets) for `nn.EmbeddingBag`."""
    lengths = [len(bag) for bag in bags]
    offsets = np.zeros(len(bags), dtype=np.int64)
    np.cumsum(lengths[:-1], out=offsets[1:])
    return {
        "indices": torch.from_numpy(np.concatenate(bags)),
        "offsets": torch.from_numpy(offsets),
    }


def collate_bags(items: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
    """Bag items -> (indices, offsets, labels), plus the rows' `weights` (TF-IDF bags) and
    `static` embeddings when items carry them."""
    batch = {
        **bag_tensors([item["indices"] for item in items]),
        "labels": torch.tensor([item["labels"] for item in items], dtype=torch.long),
    }
    if items and "weights" in items[0]:
        batch["weights"] = torch.from_numpy(np.concatenate([item["weights"] for item in items]))
    if items and "static" in items[0]:
        batch["static"] = torch.from_numpy(np.stack([item["static"] for item in items]))
    return batch


class WithBags:
    """Collate for the wide accurate tier: each item's `indices` become (indices, offsets),
    the rest of the item goes through `inner` (picklable, for spawn-based DDP and workers)."""

    def __init__(self, inner: Callable[[list[Any]], dict[str, torch.Tensor]]) -> None:
        self.inner = inner

    def __call__(self, items: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        rest = [{k: v for k, v in item.items() if k != "indices"} for item in items]
        return {**self.inner(rest), **bag_tensors([item["indices"] for item in items])}


def _bags(featurizer: HashedNgramFeaturizer, texts: list[str]) -> list[np.ndarray]:
    flat, offsets = featurizer(texts)
    return np.split(flat, offsets[1:])


class TfidfBagDataModule(SnapshotDataModule):
    """Fast tier: texts as TF-IDF weighted vocabulary columns (models.tfidf), featurised in
    `setup` by a featuriser already fitted on the train split; with `static` (a model2vec
    model, models.static_embeddings) each row also carries its static embedding."""

    collate_fn = staticmethod(collate_bags)

    def __init__(
        self,
        snapshot: pd.DataFrame,
        labels: list[str],
        featurizer: TfidfFeaturizer,
        static: "StaticModel | None" = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(snapshot, labels, **kwargs)
        self.featurizer = featurizer
        self.static = static

    def _build(self, frame: pd.DataFrame, targets: np.ndarray) -> Dataset:
        texts = frame[TEXT].tolist()
        indices, offsets, weights = self.featurizer(texts)
        cuts = offsets[1:]
        rows = zip(np.split(indices, cuts), np.split(weights, cuts), targets, strict=True)
        items = [{"indices": i, "weights": w, "labels": int(y)} for i, w, y in rows]
        if self.static is not None:
            for item, vector in zip(items, embed_static(self.static, texts), strict=True):
                item["static"] = vector
        return _ListDataset(items)


class EmbeddingDataModule(SnapshotDataModule):
    """Accurate tier, frozen encoder: cached MiniLM embeddings -> head.

    `prepare_data` embeds only rows missing from the on-disk cache (keyed by row id), so a
    new snapshot re-uses every embedding computed for an earlier one. With a `featurizer`
    (the wide tier) each row also carries its hashed n-gram bag.
    """

    def __init__(
        self,
        snapshot: pd.DataFrame,
        labels: list[str],
        cache: EmbeddingCache,
        embed: Callable[[list[str]], np.ndarray],
        featurizer: HashedNgramFeaturizer | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(snapshot, labels, **kwargs)
        self.cache, self.embed, self.featurizer = cache, embed, featurizer
        if featurizer is not None:
            self.collate_fn = WithBags(default_collate)

    def prepare_data(self) -> None:
        self.cache.ensure(self.frame[ROW_ID].tolist(), self.frame[TEXT].tolist(), self.embed)

    def _build(self, frame: pd.DataFrame, targets: np.ndarray) -> Dataset:
        vectors = torch.from_numpy(self.cache.lookup(frame[ROW_ID].tolist()))
        if self.featurizer is None:
            return _ColumnsDataset(embeddings=vectors, labels=torch.from_numpy(targets))
        bags = _bags(self.featurizer, frame[TEXT].tolist())
        return _ListDataset(
            [
                {"embeddings": v, "indices": bag, "labels": int(y)}
                for v, bag, y in zip(vectors, bags, targets, strict=True)
            ]
        )


class TokenizingCollate:
    """Texts -> padded token batch, tokenised per batch (dynamic padding to the longest).

    Picklable (the tokenizer is rebuilt lazily) so it survives spawn-based DDP and workers.
    """

    def __init__(self, max_tokens: int) -> None:
        self.max_tokens = max_tokens
        self._tokenizer: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {"max_tokens": self.max_tokens, "_tokenizer": None}

    def __call__(self, items: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        if self._tokenizer is None:
            from transformers import AutoTokenizer

            from models.components.encoder import encoder_path

            self._tokenizer = AutoTokenizer.from_pretrained(
                str(encoder_path()), local_files_only=True
            )
        tokens = self._tokenizer(
            [item["text"] for item in items],
            padding=True,
            truncation=True,
            max_length=self.max_tokens,
            return_tensors="pt",
        )
        return {
            "input_ids": tokens["input_ids"],
            "attention_mask": tokens["attention_mask"],
            "labels": torch.tensor([item["labels"] for item in items], dtype=torch.long),
        }


class TextDataModule(SnapshotDataModule):
    """Accurate tier, fine-tuning: raw texts, tokenised per batch (plus their hashed n-gram
    bags with a `featurizer`, the wide tier)."""

    def __init__(
        self,
        snapshot: pd.DataFrame,
        labels: list[str],
        max_tokens: int = 128,
        featurizer: HashedNgramFeaturizer | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(snapshot, labels, **kwargs)
        self.featurizer = featurizer
        tokenize = TokenizingCollate(max_tokens)
        self.collate_fn = tokenize if featurizer is None else WithBags(tokenize)

    def _build(self, frame: pd.DataFrame, targets: np.ndarray) -> Dataset:
        items = [{"text": t, "labels": int(y)} for t, y in zip(frame[TEXT], targets, strict=True)]
        if self.featurizer is not None:
            for item, bag in zip(items, _bags(self.featurizer, frame[TEXT].tolist()), strict=True):
                item["indices"] = bag
        return _ListDataset(items)
