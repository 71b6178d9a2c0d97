"""Which predictions go to the log, and with what weight (ARCHITECTURE.md, log record).

Always logged (weight 1): low confidence, errors, challenger and shadow predictions - the
rare cases the monitors and the canary must see in full. The rest is a uniform sample at
`rate`, each logged row carrying weight 1/rate, so a weighted statistic over the log (the
class mix, mean confidence) is an unbiased estimate of the same statistic over all traffic.
"""

import random
from dataclasses import dataclass


@dataclass
class LogSampler:
    rate: float = 0.1
    low_confidence: float = 0.6
    seed: int | None = None

    def __post_init__(self) -> None:
        if not 0.0 < self.rate <= 1.0:
            raise ValueError("rate must be within (0, 1]")
        self._random = random.Random(self.seed)

    def weight(self, confidence: float, *, always: bool = False) -> float | None:
        """The sampling weight if this prediction is logged, None if it is not."""
        if always or confidence < self.low_confidence:
            return 1.0
        if self._random.random() < self.rate:
            return 1.0 / self.rate
        return None
