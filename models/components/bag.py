"""The fast tier's net: mean of hashed n-gram embeddings -> linear classifier (fastText)."""

import torch
from torch import nn


class HashedBagNet(nn.Module):
    """EmbeddingBag over hashed n-gram buckets, then one linear layer.

    Args:
        n_buckets: rows of the embedding table (the featuriser's bucket count).
        embed_dim: width of the bag embedding.
        num_classes: output classes.
        sparse: emit sparse embedding gradients. Each step touches a few thousand of the
            2^18 rows; a dense gradient and a dense optimiser update cost ~20x more per step
            on CPU. Needs an optimiser that takes sparse gradients (Adagrad, SGD, SparseAdam).
    """

    def __init__(self, n_buckets: int, embed_dim: int, num_classes: int, sparse: bool = True):
        super().__init__()
        self.embedding = nn.EmbeddingBag(n_buckets, embed_dim, mode="mean", sparse=sparse)
        self.classifier = nn.Linear(embed_dim, num_classes)
        # fastText's initialisation: small uniform inputs, zero output layer.
        nn.init.uniform_(self.embedding.weight, -1.0 / embed_dim, 1.0 / embed_dim)
        nn.init.zeros_(self.classifier.weight)
        nn.init.zeros_(self.classifier.bias)

    def forward(self, indices: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.embedding(indices, offsets))
