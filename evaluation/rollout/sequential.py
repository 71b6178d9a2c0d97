"""Anytime-valid tests on live counts, from savvi (Lindon & Malek's multinomial e-values).

Every canary question is asked the same way: *which arm did each bad event land on?*
Under "no difference", an event (an error, a slow request, a wrong answer) lands on the
challenger with the probability its traffic share gives it (`theta_0`); for paired (shadow)
traffic, a discordant pair is the challenger's fault with probability 1/2. savvi's
`Multinomial` turns the counts into a Dirichlet-mixture e-value: under the null it is a
nonnegative martingale, so by Ville's inequality P(it ever exceeds 1/alpha) <= alpha however
often the sensor looks. A fixed-n test looked at on every tick has no such bound
(tests/evaluation/rollout/test_sequential.py measures both).

The e-value is a function of the total counts only (the mixture telescopes), so the sensor
recomputes it from the log each tick: nothing has to be carried between ticks except the
product of e-values of finished stages (a stage changes `theta_0`; multiplying stage-wise
e-values keeps the whole rollout one test supermartingale).
"""

import math
from dataclasses import dataclass

import numpy as np

# The prior's concentration around the null (savvi's default): mass near small effects, so
# a modest regression is found with modest traffic.
CONCENTRATION = 100.0


@dataclass(frozen=True)
class CountTest:
    """One test's state: counts [not-challenger, challenger] against the null share."""

    name: str
    counts: tuple[int, int]
    null_share: float  # P(an event is the challenger's) if nothing differs
    log_e: float  # this stage's log e-value
    carried_log_e: float  # product (sum of logs) of earlier stages' e-values
    alpha: float
    # "above": evidence that the challenger gets *more* events than `null_share` (harm);
    # "below": evidence that it gets fewer than a boundary share (non-inferiority).
    side: str = "above"

    @property
    def e_value(self) -> float:
        return math.exp(min(self.log_e + self.carried_log_e, 700.0))

    @property
    def observed_share(self) -> float | None:
        total = sum(self.counts)
        return self.counts[1] / total if total else None

    @property
    def rejected(self) -> bool:
        return self.log_e + self.carried_log_e >= math.log(1.0 / self.alpha)

    @property
    def challenger_worse(self) -> bool:
        """Rejected, and more events on the challenger than its share explains."""
        share = self.observed_share
        return self.rejected and share is not None and share > self.null_share

    @property
    def shown_below(self) -> bool:
        """Rejected, with fewer events on the challenger than the (boundary) null share."""
        share = self.observed_share
        return self.rejected and share is not None and share < self.null_share

    def to_dict(self) -> dict:
        return {
            "test": self.name,
            "counts": list(self.counts),
            "null_share": self.null_share,
            "observed_share": self.observed_share,
            "e_value": self.e_value,
            "log_e": self.log_e,
            "carried_log_e": self.carried_log_e,
            "threshold": 1.0 / self.alpha,
            "rejected": self.rejected,
            "challenger_worse": self.challenger_worse,
            "shown_below": self.shown_below,
            "side": self.side,
        }


def log_e_value(counts: tuple[int, int], null_share: float) -> float:
    """log of savvi's Multinomial posterior odds for `counts` against [1-share, share]."""
    if not 0.0 < null_share < 1.0:
        raise ValueError(f"null share must be inside (0, 1), got {null_share}")
    if min(counts) < 0:
        raise ValueError(f"counts must be non-negative, got {counts}")
    if sum(counts) == 0:
        return 0.0
    from savvi.multinomial import Multinomial  # imports cvxpy (~1 s): only when testing

    # savvi checks theta_0.sum() == 1 exactly; (1 - s) + s can miss it by one ulp.
    theta = np.array([1.0 - null_share, null_share])
    theta[0] = 1.0 - theta[1]
    if theta.sum() != 1.0:
        theta = theta / theta.sum()
    test = Multinomial(alpha=0.05, theta_0=theta, k=CONCENTRATION)
    with np.errstate(over="ignore"):
        test.update(np.asarray(counts, dtype=np.int64))
    # Evidence *for* the null can underflow the odds to 0; its log is floored (still valid:
    # a smaller e-value only makes the test more conservative).
    return math.log(max(float(test.odds), 1e-300))


def count_test(
    name: str,
    counts: tuple[int, int],
    null_share: float,
    alpha: float,
    carried_log_e: float = 0.0,
    side: str = "above",
) -> CountTest:
    return CountTest(
        name=name,
        counts=(int(counts[0]), int(counts[1])),
        null_share=null_share,
        log_e=log_e_value(counts, null_share),
        carried_log_e=carried_log_e,
        alpha=alpha,
        side=side,
    )


def boundary_share(share: float, margin: float) -> float:
    """The challenger's share of bad events if its rate were (1 + margin) x the champion's,
    with `share` of the traffic (for paired discordant pairs use share 1/2: approximately
    (1 + margin) / (2 + margin) when bad events are rare)."""
    scaled = share * (1.0 + margin)
    return scaled / (scaled + (1.0 - share))


def rate_test(
    name: str, events: int, trials: int, max_rate: float, alpha: float, carried_log_e: float = 0.0
) -> CountTest:
    """One-sample: is the challenger's event rate above `max_rate`? (events vs non-events)."""
    if events > trials:
        raise ValueError(f"{events} events in {trials} trials")
    return count_test(name, (trials - events, events), max_rate, alpha, carried_log_e)


def carry_forward(test: CountTest) -> float:
    """What a finished stage passes on: its log e-value, but only evidence on the test's own
    side (an e-value capped at 1 is still an e-value, so the product stays valid; without
    the cap a clearly better stage would make a later noisy one look worse)."""
    share = test.observed_share
    if test.side == "above":
        evidence_side = share is not None and share > test.null_share
    else:
        evidence_side = share is not None and share < test.null_share
    return test.carried_log_e + (test.log_e if evidence_side else min(test.log_e, 0.0))
