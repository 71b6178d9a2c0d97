"""The accurate tier's nets: a classification head on sentence embeddings, and encoder + head."""

import torch
from torch import nn

from models.components.encoder import EMBEDDING_DIM, MiniLMEncoder


class ClassifierHead(nn.Module):
    """Sentence embedding -> logits: an MLP with one hidden layer, or linear if hidden == 0."""

    def __init__(
        self,
        num_classes: int,
        input_dim: int = EMBEDDING_DIM,
        hidden: int = 256,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        if hidden > 0:
            self.layers = nn.Sequential(
                nn.Dropout(dropout),
                nn.Linear(input_dim, hidden),
                nn.GELU(),
                nn.Dropout(dropout),
                nn.Linear(hidden, num_classes),
            )
        else:
            self.layers = nn.Sequential(nn.Dropout(dropout), nn.Linear(input_dim, num_classes))

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        return self.layers(embeddings)


class EncoderClassifier(nn.Module):
    """MiniLM encoder + head, trained end to end (the GPU fine-tuning path)."""

    def __init__(self, encoder: MiniLMEncoder, head: ClassifierHead) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head
        # from_pretrained hands the transformer back in eval mode, and Lightning keeps the
        # modes it finds: without this, fine-tuning would run with dropout switched off.
        self.train()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(input_ids, attention_mask))
