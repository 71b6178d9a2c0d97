"""A bag of n-gram embeddings -> linear classifier (fastText): the fast tier's net over TF-IDF
weighted vocabulary columns (models.tfidf), and the accurate tier's lexical bag over hashed
buckets (models.hashing)."""

import torch
from torch import nn


class HashedBagNet(nn.Module):
    """EmbeddingBag over n-gram rows (hashed buckets or vocabulary columns), then one linear
    layer.

    Args:
        n_buckets: rows of the embedding table (the featuriser's bucket or vocabulary size).
        embed_dim: width of the bag embedding.
        num_classes: output classes.
        sparse: emit sparse embedding gradients. Each step touches a few thousand of the
            2^18 rows; a dense gradient and a dense optimiser update cost ~20x more per step
            on CPU. Needs an optimiser that takes sparse gradients (Adagrad, SGD, SparseAdam).
        mode: "mean" of the rows (hashed buckets, every n-gram alike) or "sum" weighted by
            the featuriser's per-row `weights` (TF-IDF values).
        static_dim: width of a dense per-text vector (the fast tier's static embedding,
            models.static_embeddings) whose linear logits add to the bag's; 0 = none.
    """

    def __init__(
        self,
        n_buckets: int,
        embed_dim: int,
        num_classes: int,
        sparse: bool = True,
        mode: str = "mean",
        static_dim: int = 0,
    ):
        super().__init__()
        self.embedding = nn.EmbeddingBag(n_buckets, embed_dim, mode=mode, sparse=sparse)
        self.classifier = nn.Linear(embed_dim, num_classes)
        self.static = nn.Linear(static_dim, num_classes, bias=False) if static_dim else None
        # fastText's initialisation: small uniform inputs, zero output layer.
        nn.init.uniform_(self.embedding.weight, -1.0 / embed_dim, 1.0 / embed_dim)
        nn.init.zeros_(self.classifier.weight)
        nn.init.zeros_(self.classifier.bias)
        if self.static is not None:
            nn.init.zeros_(self.static.weight)

    def forward(
        self,
        indices: torch.Tensor,
        offsets: torch.Tensor,
        weights: torch.Tensor | None = None,
        static: torch.Tensor | None = None,
    ) -> torch.Tensor:
        logits = self.classifier(self.embedding(indices, offsets, per_sample_weights=weights))
        if self.static is not None:
            if static is None:
                raise ValueError("this bag was trained with static embeddings; pass them")
            # Unit-length inputs have ~1/sqrt(d) per coordinate: scaled to ~1, so under the
            # shared Adagrad rate the dense part moves its logits as fast as the bag does.
            logits = logits + self.static(static * self.static.in_features**0.5)
        return logits
