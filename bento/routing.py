"""Which arm answers a request: weighted, sticky by request key, or shadow mirroring.

Sticky: the arm is a pure function of (key, weight), via a hash of the key to [0, 1), so a
caller keeps its arm for as long as the weight stays, and raising the weight only moves
callers champion -> challenger (never back and forth). Shadow: the champion always answers
and the challenger is scored on the same texts for the log.
"""

import hashlib
from dataclasses import dataclass
from typing import Literal

Mode = Literal["off", "canary", "shadow"]
Arm = Literal["champion", "challenger"]


def key_position(key: str) -> float:
    """A uniform, stable position in [0, 1) for `key` (first 8 bytes of its sha256)."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass(frozen=True)
class Routing:
    mode: Mode = "off"
    challenger_weight: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.challenger_weight <= 1.0:
            raise ValueError("challenger_weight must be within [0, 1]")

    def arm(self, key: str, has_challenger: bool) -> Arm:
        """The arm that answers; the champion whenever no challenger is loaded."""
        if self.mode != "canary" or not has_challenger:
            return "champion"
        return "challenger" if key_position(key) < self.challenger_weight else "champion"

    def shadows(self, has_challenger: bool) -> bool:
        return self.mode == "shadow" and has_challenger
