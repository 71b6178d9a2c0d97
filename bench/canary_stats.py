"""The canary's statistics, measured: false alarms under repeated looks, and detection.

Part A - one test, many looks. Events land on the challenger with its traffic share under
"no difference"; we look after every k events up to n = 5000 and count runs that *ever*
reject at alpha = 0.05:
- **ours**: savvi's Dirichlet-multinomial e-value (evaluation/rollout/sequential.py; the
  closed form it reduces to, checked equal in tests/evaluation/rollout/test_sequential.py);
- **baseline**: a fixed-n two-sided z-test looked at just as often (what a canary tool that
  compares rates "every interval" does);
- **limit**: the fixed-n test looked at once, at the end (exactly alpha, but it cannot stop
  early - a bad model serves until n).

Part B - whole rollouts through the state machine (evaluation/rollout/machine.py `tick`)
on simulated traffic (tests/evaluation/rollout/sim.py: the service's record format):
an equal challenger (false rollbacks; ours vs a per-tick z-test on the same counts at the same
alpha share) and a worse one (accuracy 0.6 vs 0.8: how much traffic it saw before rollback).

    .venv/bin/python bench/canary_stats.py [--runs 2000] [--rollouts 40]

Measured 2026-12-04 (2000 runs, 20 rollouts per row):

| null share | look every | looks | ours (e-value) | fixed-n, same looks | fixed-n, one look |
|---|---|---|---|---|---|
| 0.05 | 1 | 5000 | 0.026 | 0.545 | 0.044 |
| 0.05 | 10 | 500 | 0.025 | 0.469 | 0.044 |
| 0.05 | 100 | 50 | 0.015 | 0.284 | 0.044 |
| 0.05 | 1000 | 5 | 0.003 | 0.128 | 0.044 |
| 0.5 | 1 | 5000 | 0.041 | 0.613 | 0.051 |
| 0.5 | 10 | 500 | 0.033 | 0.462 | 0.051 |
| 0.5 | 100 | 50 | 0.021 | 0.324 | 0.051 |
| 0.5 | 1000 | 5 | 0.007 | 0.141 | 0.051 |

| challenger | promoted | rolled back | per-tick z-test rolls back | exposed (median) | requests |
|---|---|---|---|---|---|
| equal (acc 0.8) | 0.95 (1 still holding at 80 ticks) | 0.00 | 0.45 | 0.242 | 5800 |
| worse (acc 0.6) | 0.00 | 1.00 | 1.00 | 0.050 | 2700 |

Before the non-inferiority step (evidence of safety before 100%), the worse challenger was
promoted in 20% of rollouts: "no test rejected" alone lacks power at these sample sizes.
"""

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import loggamma, xlogy
from scipy.stats import norm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evaluation.rollout.machine import TESTS, ServiceView, start, tick
from evaluation.rollout.policy import RolloutPolicy
from evaluation.rollout.sequential import CONCENTRATION
from tests.evaluation.rollout.sim import Model, traffic

ALPHA = 0.05


def _log_e(c0: np.ndarray, c1: np.ndarray, share: float) -> np.ndarray:
    a0, a1 = CONCENTRATION * (1 - share), CONCENTRATION * share
    return (
        loggamma(a0 + c0)
        + loggamma(a1 + c1)
        - loggamma(a0 + a1 + c0 + c1)
        - (loggamma(a0) + loggamma(a1) - loggamma(a0 + a1))
        - xlogy(c0, 1 - share)
        - xlogy(c1, share)
    )


def part_a(runs: int) -> None:
    rng = np.random.default_rng(0)
    n = 5000
    print(f"A. false-alarm rate, no difference, alpha {ALPHA}, {runs} runs, n = {n} events")
    print(
        f"{'share':>6} {'look every':>10} {'looks':>6} {'ours (e-value)':>15} "
        f"{'fixed-n, same looks':>20} {'fixed-n, one look':>18}"
    )
    for share in (0.05, 0.5):
        x = rng.random((runs, n)) < share
        c1 = np.cumsum(x, axis=1)
        c0 = np.arange(1, n + 1) - c1
        log_e = _log_e(c0, c1, share)
        z_all = (c1 - np.arange(1, n + 1) * share) / np.sqrt(
            np.arange(1, n + 1) * share * (1 - share)
        )
        crit = norm.ppf(1 - ALPHA / 2)
        for every in (1, 10, 100, 1000):
            looks = np.arange(every - 1, n, every)
            ours = (log_e[:, looks] >= math.log(1 / ALPHA)).any(axis=1).mean()
            fixed = (np.abs(z_all[:, looks]) > crit).any(axis=1).mean()
            once = (np.abs(z_all[:, -1]) > crit).mean()
            print(
                f"{share:>6} {every:>10} {len(looks):>6} {ours:>15.3f} {fixed:>20.3f} {once:>18.3f}"
            )


def _z_fires(decision_tests: list[dict], alpha: float) -> bool:
    """A per-tick two-proportion z-test on the same event counts (the baseline)."""
    for t in decision_tests:
        c0, c1 = t["counts"]
        n, p0 = c0 + c1, t["null_share"]
        if n == 0:
            continue
        z = (c1 - n * p0) / math.sqrt(n * p0 * (1 - p0))
        if z > norm.ppf(1 - alpha):  # one-sided: challenger worse
            return True
    return False


def part_b(rollouts: int) -> None:
    policy = RolloutPolicy(bake_s=10, min_requests=150, max_silence_s=60, max_stage_s=600)
    # default non-inferiority margin (0.5): a 2x error rate must not be shown 'not worse'
    alpha_each = policy.alpha / len(TESTS)
    print(
        f"\nB. whole rollouts (shadow, 5%, 25%, 50%, 100%; >= {policy.min_requests} samples "
        f"and {policy.bake_s:.0f}s per stage; alpha {policy.alpha} per rollout)"
    )
    print(
        f"{'challenger':>22} {'rollouts':>8} {'ours: promoted':>15} {'rolled back':>12} "
        f"{'z-test per tick would':>22} {'exposed share (median)':>23} {'requests':>9}"
    )
    for label, challenger in (
        ("equal (acc 0.8)", Model("2")),
        ("worse (acc 0.6)", Model("2", accuracy=0.6)),
    ):
        ours = naive = promoted = 0
        exposure, served = [], []
        for r in range(rollouts):
            rng = np.random.default_rng(1000 + r)
            state = start("m", "1", "2", now=0.0, policy=policy)
            preds, fb = pd.DataFrame(), pd.DataFrame()
            now, fired, n_ch, n_all = 0.0, False, 0, 0
            for _ in range(80):
                mode, weight = state.routing()
                p, f = traffic(rng, Model("1"), challenger, mode, weight, 100, now)
                preds, fb = pd.concat([preds, p]), pd.concat([fb, f])
                n_ch += int((p["arm"] == "challenger").sum())
                n_all += 100
                now += 10.0
                view = ServiceView(
                    reachable=True,
                    champion_version="1",
                    challenger_version="2",
                    mode=mode,
                    weight=weight,
                )
                state, decision = tick(state, preds, fb, view, now)
                fired = fired or _z_fires(
                    [t for t in decision.tests if t["test"] != "traffic_split"], alpha_each
                )
                if not state.active:
                    break
            ours += state.status == "rolled_back"
            promoted += state.status == "promoting"
            naive += fired
            exposure.append(n_ch / n_all)
            served.append(n_all)
        print(
            f"{label:>22} {rollouts:>8} {promoted / rollouts:>15.3f} {ours / rollouts:>12.3f} "
            f"{naive / rollouts:>22.3f} "
            f"{np.median(exposure):>23.3f} {int(np.median(served)):>9}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--rollouts", type=int, default=40)
    args = parser.parse_args()
    part_a(args.runs)
    part_b(args.rollouts)
