"""Predictors rebuilt from model bundles: `load_predictor(bundle_dir)`.

Every predictor answers `labels`, `predict_proba(texts) -> [n, k] float32` (rows sum to 1,
columns in `labels` order) and `predict(texts) -> list[str]`.
"""

from abc import ABC, abstractmethod
from collections.abc import Sequence
from importlib.metadata import version as package_version
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from safetensors.torch import load_file

from models.bundle import (
    LEXICAL_WEIGHTS,
    STATIC_DIR,
    BundleConfig,
    EncoderRef,
    read_bundle_config,
)
from models.components.bag import HashedBagNet
from models.components.encoder import MiniLMEncoder
from models.components.head import ClassifierHead
from models.hashing import HashedNgramFeaturizer
from models.static_embeddings import embed as embed_static
from models.static_embeddings import load as load_static
from models.tfidf import TfidfFeaturizer

if TYPE_CHECKING:
    from model2vec import StaticModel

    from models.encoder_runtime import Encoder


class Predictor(ABC):
    """A trained classifier that maps texts to class probabilities."""

    def __init__(self, config: BundleConfig) -> None:
        self.config = config

    @property
    def labels(self) -> list[str]:
        return list(self.config.labels)

    @property
    def tier(self) -> str:
        return self.config.tier

    @property
    def version(self) -> str:
        return self.config.version

    @abstractmethod
    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities [len(texts), len(labels)] (float32)."""

    def predict(self, texts: Sequence[str]) -> list[str]:
        probs = self.predict_proba(texts)
        return [self.config.labels[i] for i in probs.argmax(axis=1)]

    def _empty(self) -> np.ndarray:
        return np.zeros((0, len(self.config.labels)), dtype=np.float32)


class BagScorer:
    """A bag net with its featuriser: texts -> logits. The fast tier's TF-IDF bag
    (`featurizer` given), or a hashed bag (a wide accurate tier's lexical part, or an older
    fast-tier bundle) whose featuriser comes from the config's hashing settings."""

    def __init__(
        self,
        config: BundleConfig,
        net: HashedBagNet,
        batch_size: int = 1024,
        featurizer: TfidfFeaturizer | None = None,
        static: "StaticModel | None" = None,
    ) -> None:
        if featurizer is None and config.hashing is None:
            raise ValueError(f"{config.architecture} bundle lacks the hashing config of its bag")
        self.featurizer: TfidfFeaturizer | HashedNgramFeaturizer = featurizer or (
            HashedNgramFeaturizer(config.hashing)  # type: ignore[arg-type]
        )
        self.net = net.eval()
        self.batch_size = batch_size
        self.static = static

    @torch.inference_mode()
    def logits(self, texts: Sequence[str]) -> torch.Tensor:
        out = []
        device = self.net.classifier.weight.device
        for start in range(0, len(texts), self.batch_size):
            chunk = list(texts[start : start + self.batch_size])
            inputs = [torch.from_numpy(a).to(device) for a in self.featurizer(chunk)]
            if self.static is not None:  # only a tfidf_bag has them: (indices, offsets, weights)
                inputs.append(torch.from_numpy(embed_static(self.static, chunk)).to(device))
            out.append(self.net(*inputs))
        return torch.cat(out).float()


def load_bag(config: BundleConfig, bundle_dir: Path, file: str, device: str = "cpu") -> BagScorer:
    """The bag stored in `bundle_dir / file` (`model.safetensors`, `lexical.safetensors`)."""
    if config.embed_dim is None:
        raise ValueError(f"{config.architecture} bundle lacks embed_dim for its bag")
    if config.architecture == "tfidf_bag":
        featurizer = TfidfFeaturizer.load(bundle_dir)
        if featurizer.n_features != config.n_features:
            raise ValueError(
                f"featurizer has {featurizer.n_features} columns, config {config.n_features}"
            )
        static = load_static(Path(bundle_dir) / STATIC_DIR) if config.static_dim else None
        if static is not None and static.dim != config.static_dim:
            raise ValueError(f"static embeddings are {static.dim} wide, config {config.static_dim}")
        net = HashedBagNet(
            featurizer.n_features,
            config.embed_dim,
            len(config.labels),
            mode="sum",
            static_dim=config.static_dim or 0,
        )
        net.load_state_dict(load_file(str(Path(bundle_dir) / file)))
        return BagScorer(config, net.to(device), featurizer=featurizer, static=static)
    if config.hashing is None:
        raise ValueError(f"{config.architecture} bundle lacks hashing for its bag")
    net = HashedBagNet(config.hashing.n_buckets, config.embed_dim, len(config.labels))
    net.load_state_dict(load_file(str(Path(bundle_dir) / file)))
    return BagScorer(config, net.to(device))


class BagPredictor(Predictor):
    """Fast tier: featurise texts (TF-IDF columns, or hashed buckets in older bundles), sum
    or average their embeddings, linear layer."""

    def __init__(self, config: BundleConfig, bag: BagScorer) -> None:
        super().__init__(config)
        self.bag = bag
        self.net = bag.net

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 0:
            return self._empty()
        logits = self.bag.logits(texts) / self.config.temperature  # calibrated at training
        return torch.softmax(logits, dim=-1).cpu().numpy()


class MiniLMPredictor(Predictor):
    """Accurate tier: MiniLM sentence embedding (frozen or fine-tuned), then the head; a wide
    bundle adds its lexical bag's logits (models.components.wide)."""

    def __init__(
        self,
        config: BundleConfig,
        encoder: "MiniLMEncoder | Encoder",
        head: ClassifierHead,
        batch_size: int = 32,
        lexical: BagScorer | None = None,
    ) -> None:
        super().__init__(config)
        if config.lexical and lexical is None:
            raise ValueError("a wide bundle's predictor needs its lexical bag")
        # A torch module, or a runtime variant of it (models/encoder_runtime: ONNX, int8).
        self.encoder = encoder.eval() if isinstance(encoder, torch.nn.Module) else encoder
        self.head = head.eval()
        self.batch_size = batch_size
        self.lexical = lexical

    @torch.inference_mode()
    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 0:
            return self._empty()
        embeddings = self.encoder.embed(list(texts), batch_size=self.batch_size)
        device = next(self.head.parameters()).device
        logits = self.head(torch.from_numpy(embeddings).to(device)).float()
        if self.lexical is not None:
            logits = logits + self.lexical.logits(texts).to(device)
        return torch.softmax(logits, dim=-1).cpu().numpy()


def _encoder_ref(config: BundleConfig) -> EncoderRef:
    ref = config.encoder
    if ref is None:
        raise ValueError(f"{config.architecture} bundle without an encoder reference")
    installed = package_version(ref.package)
    if installed != ref.package_version:
        raise RuntimeError(
            f"bundle needs {ref.package}=={ref.package_version}, installed is {installed}"
        )
    return ref


def _load_encoder(config: BundleConfig, bundle_dir: Path) -> MiniLMEncoder:
    ref = _encoder_ref(config)
    encoder = MiniLMEncoder(max_tokens=ref.max_tokens)
    if ref.weights == "bundle":
        encoder.transformer.load_state_dict(load_file(str(bundle_dir / "encoder.safetensors")))
    return encoder


def load_predictor(
    bundle_dir: Path,
    device: str = "cpu",
    encoder_variant: str = "torch-fp32",
    cache_dir: Path | None = None,
) -> Predictor:
    """Rebuild the predictor stored in `bundle_dir` (safetensors + JSON only, no pickle).

    `encoder_variant` runs a MiniLM bundle's encoder on another runtime
    (models/encoder_runtime.py: "onnx-int8", "onnx-fp32", ...; exported once under
    `cache_dir`); the fast tier has no encoder and ignores it."""
    bundle_dir = Path(bundle_dir)
    config = read_bundle_config(bundle_dir)
    if config.is_bag:
        return BagPredictor(config, load_bag(config, bundle_dir, "model.safetensors"))
    head = _load_head(config, bundle_dir).to(device)
    lexical = load_bag(config, bundle_dir, LEXICAL_WEIGHTS, device) if config.lexical else None
    if encoder_variant == "torch-fp32":
        encoder = _load_encoder(config, bundle_dir).to(device)
        return MiniLMPredictor(config, encoder, head, lexical=lexical)
    from models.encoder_runtime import make_encoder

    ref = _encoder_ref(config)
    # Packaged weights: the runtime loads (or reuses its cached export of) them itself.
    module = _load_encoder(config, bundle_dir) if ref.weights == "bundle" else None
    runtime = make_encoder(encoder_variant, ref.max_tokens, cache_dir, module=module)
    return MiniLMPredictor(config, runtime, head, lexical=lexical)


def _load_head(config: BundleConfig, bundle_dir: Path) -> ClassifierHead:
    if config.head is None:
        raise ValueError(f"{config.architecture} bundle lacks its head config")
    head = ClassifierHead(
        len(config.labels), config.head.input_dim, config.head.hidden, config.head.dropout
    )
    head.load_state_dict(load_file(str(Path(bundle_dir) / "head.safetensors")))
    return head.eval()


class CachedScorer:
    """Class probabilities for identified rows (row id + text), bundle by bundle.

    Frozen-encoder bundles read MiniLM embeddings from the runtime home's row-id cache (the
    one training fills), so each text is embedded once for training, golden-set and traffic
    evaluation alike instead of on every evaluation. Another `encoder_variant` (ONNX...)
    reads that runtime's own namespace: the packaged encoder is the same in every
    frozen-encoder model, so judging a second challenger's runtime on the same golden rows
    embeds nothing. Other bundles go through `load_predictor` (loaded once per bundle and
    runtime): a fine-tuned encoder is the bundle's own, no cache can hold its vectors.
    """

    def __init__(self, embeddings_root: Path) -> None:
        self.root = Path(embeddings_root)
        self._embedders: dict[tuple[int, str], object] = {}
        self._predictors: dict[tuple[Path, str], Predictor] = {}

    def predict_proba(
        self,
        bundle_dir: Path,
        row_ids: Sequence[str],
        texts: Sequence[str],
        encoder_variant: str = "torch-fp32",
    ) -> np.ndarray:
        from models.embedding_cache import (
            EmbeddingCache,
            MiniLMEmbedder,
            RuntimeEmbedder,
            cache_key,
        )

        bundle_dir = Path(bundle_dir)
        config = read_bundle_config(bundle_dir)
        if config.architecture != "frozen_encoder" or not config.encoder or not config.head:
            key = (bundle_dir, encoder_variant)
            if key not in self._predictors:
                self._predictors[key] = load_predictor(
                    bundle_dir, encoder_variant=encoder_variant, cache_dir=self.root.parent
                )
            return self._predictors[key].predict_proba(list(texts))
        ref = config.encoder
        installed = package_version(ref.package)
        if installed != ref.package_version:  # cached vectors would be another encoder's
            raise RuntimeError(
                f"bundle needs {ref.package}=={ref.package_version}, installed is {installed}"
            )
        cache = EmbeddingCache(self.root, cache_key(ref.max_tokens, encoder_variant))
        embedder = self._embedders.get((ref.max_tokens, encoder_variant))
        if embedder is None:
            embedder = (
                MiniLMEmbedder(ref.max_tokens)
                if encoder_variant == "torch-fp32"
                else RuntimeEmbedder(encoder_variant, ref.max_tokens, self.root.parent)
            )
            self._embedders[(ref.max_tokens, encoder_variant)] = embedder
        cache.ensure(list(row_ids), list(texts), embedder)  # type: ignore[arg-type]
        head = _load_head(config, bundle_dir)
        with torch.inference_mode():
            logits = head(torch.from_numpy(cache.lookup(list(row_ids)))).float()
            if config.lexical:
                logits = logits + load_bag(config, bundle_dir, LEXICAL_WEIGHTS).logits(texts)
            return torch.softmax(logits, dim=-1).numpy()
