"""Wide & deep: the accurate tier's sentence-embedding net beside a hashed n-gram bag.

Why: a frozen general-purpose encoder blurs the vocabulary that separates many topic classes
(library names, jargon), and reads only a text's first `max_tokens` tokens. The bag (the fast
tier's net, `models.components.bag`) reads every word of the whole text. Their logits add, and
both parts train together, so the tier gets at least the lexical signal a TF-IDF baseline has
and the encoder's semantics on top (bench/baseline_vs_tiers.py measures both).
"""

import torch
from torch import nn

from models.components.bag import HashedBagNet


class WideAndDeep(nn.Module):
    """logits = semantic(**inputs) + lexical(indices, offsets).

    Args:
        semantic: a `ClassifierHead` on cached embeddings, or an `EncoderClassifier`.
        lexical: a `HashedBagNet` with the same number of classes (sparse gradients).
    """

    def __init__(self, semantic: nn.Module, lexical: HashedBagNet) -> None:
        super().__init__()
        self.semantic = semantic
        self.lexical = lexical

    def forward(
        self, indices: torch.Tensor, offsets: torch.Tensor, **inputs: torch.Tensor
    ) -> torch.Tensor:
        return self.semantic(**inputs) + self.lexical(indices, offsets)


def semantic_part(net: nn.Module) -> nn.Module:
    """The encoder/head side of a net, with or without a lexical bag beside it."""
    return net.semantic if isinstance(net, WideAndDeep) else net
