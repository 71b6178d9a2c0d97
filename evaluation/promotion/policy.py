"""Promotion policy: turn golden, paired and reference-free evidence into pass/fail + reasons.

Rules, in order (every rule yields reasons; the verdict passes only if all reasons pass):
1. Absolute floors on the candidate's overall golden metrics (always).
2. Optional absolute accuracy floor on every slice large enough to judge (always, if set):
   this is what catches a candidate that is only bad inside one slice when there is no
   champion to compare with.
3. With a champion: macro-F1 non-inferiority (lower bound of the paired bootstrap interval of
   the difference ≥ −margin), overall accuracy non-inferiority (paired bootstrap test),
   McNemar (a significant accuracy loss blocks), and the per-slice accuracy tests after
   Holm/BH correction (`slice_test`: "harm" blocks a slice shown worse than its margin,
   "non_inferiority" makes every slice prove itself; see evaluation.promotion.compare).
   Without a champion: rules 1-2 only. Also with a champion: "no change" — a challenger
   answering exactly as the champion on every golden row is not promoted (the verdict
   reads NO CHANGE when that is its only failure).
3b. Never below the simple baseline: the challenger's golden macro-F1 must not fall below
   the interval of the TF-IDF+LR baseline fitted on the same training split (when the
   evaluation carries it).
4. Label-free estimated accuracy on recent traffic may drop at most
   `max_estimated_accuracy_drop` below the champion's estimate on the same traffic (or below
   the candidate's own golden accuracy when there is no champion).
5. Cost budget (hook): cost units per 1k predictions at most the budget.
Rules 4-5 are reported as skipped when their evidence is absent.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field

from evaluation.golden_eval.report import CorpusThresholds, GoldenReport, check_thresholds
from evaluation.golden_eval.slices import Slice
from evaluation.promotion.compare import (
    Correction,
    PairedComparison,
    SliceComparison,
    SliceTest,
    compare_paired,
)
from evaluation.stats.predictions import Predictions
from evaluation.traffic.reference_free import ReferenceFreeReport

# The rule name of a challenger identical to the champion (a "no change" verdict).
NO_CHANGE = "no_change"


class PromotionPolicy(BaseModel):
    """When a challenger may replace the champion."""

    floors: CorpusThresholds = Field(default_factory=lambda: CorpusThresholds())
    floor_on: Literal["point", "interval"] = Field(
        default="point",
        description="Judge floors on the point estimate or the pessimistic CI bound.",
    )
    slice_accuracy_floor: float | None = Field(
        default=None, ge=0, le=1, description="Absolute accuracy floor for every judged slice."
    )
    min_slice_size: int = Field(
        default=30, ge=1, description="Smaller slices are reported, not judged."
    )
    non_inferiority_margin: float = Field(
        default=0.02, ge=0, le=1, description="Overall accuracy non-inferiority margin."
    )
    slice_margin: float = Field(
        default=0.05, ge=0, le=1, description="Accuracy margin of the per-slice tests."
    )
    slice_margins: dict[str, float] = Field(
        default_factory=dict, description="Per-slice margin overrides, keyed by slice name."
    )
    slice_test: SliceTest = Field(
        default="harm",
        description="'harm': a slice fails when shown worse than its margin; "
        "'non_inferiority': every slice must prove non-inferiority.",
    )
    macro_f1_margin: float = Field(default=0.02, ge=0, le=1)
    alpha: float = Field(default=0.05, gt=0, lt=1)
    correction: Correction = "holm"
    block_on_mcnemar_loss: bool = Field(
        default=True, description="Fail when McNemar shows a significant accuracy loss."
    )
    block_unchanged: bool = Field(
        default=True,
        description="'No change': a challenger answering exactly as the champion on every "
        "golden row is not promoted (a new version that changes nothing is churn).",
    )
    block_below_baseline: bool = Field(
        default=True,
        description="Block a challenger whose golden macro-F1 is below the TF-IDF+LR "
        "baseline's interval (fitted on the same training split, scored on the same rows).",
    )
    max_estimated_accuracy_drop: float | None = Field(default=0.05, ge=0, le=1)
    max_cost_units_per_1k: float | None = Field(
        default=None, ge=0, description="Cost budget hook: filled in by the cost stage."
    )
    n_resamples: int = Field(default=2000, ge=200)
    confidence_level: float = Field(default=0.95, gt=0.5, lt=1)
    seed: int = 0

    def compare(
        self,
        y_true: Sequence[str],
        champion: Predictions,
        challenger: Predictions,
        slices: Sequence[Slice],
    ) -> PairedComparison:
        """The paired comparison with this policy's margins, correction and sizes."""
        return compare_paired(
            y_true,
            champion,
            challenger,
            slices,
            margin=self.non_inferiority_margin,
            slice_margin=self.slice_margin,
            slice_margins=self.slice_margins,
            slice_test=self.slice_test,
            alpha=self.alpha,
            correction=self.correction,
            min_slice_size=self.min_slice_size,
            n_resamples=self.n_resamples,
            confidence_level=self.confidence_level,
            seed=self.seed,
        )


@dataclass(frozen=True)
class CostEvidence:
    """Measured serving cost of the candidate (filled by the cost stage later)."""

    cost_units_per_1k: float
    source: str


@dataclass(frozen=True)
class Reason:
    rule: str
    passed: bool
    message: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PairedEvidence:
    """Both models' predictions on the same golden rows, in the same order."""

    y_true: Sequence[str]
    champion: Predictions
    challenger: Predictions
    slices: Sequence[Slice]


@dataclass(frozen=True)
class PromotionVerdict:
    passed: bool
    reasons: list[Reason]
    comparison: PairedComparison | None = None  # computed by `decide` with the policy's knobs

    def to_dict(self) -> dict[str, Any]:
        """The record's verdict section; the comparison has a section of its own."""
        return {"passed": self.passed, "reasons": self.reasons}

    @property
    def failures(self) -> list[Reason]:
        return [r for r in self.reasons if not r.passed]

    @property
    def unchanged(self) -> bool:
        """Blocked only because the challenger answers exactly as the champion."""
        return [r.rule for r in self.failures] == [NO_CHANGE]

    def summary(self) -> str:
        head = "PROMOTE" if self.passed else "NO CHANGE" if self.unchanged else "BLOCK"
        lines = [f"{head}: {len(self.failures)} of {len(self.reasons)} checks failed"]
        lines += [f"- [{'ok' if r.passed else 'FAIL'}] {r.message}" for r in self.reasons]
        return "\n".join(lines)


def _floor_reasons(policy: PromotionPolicy, report: GoldenReport) -> list[Reason]:
    what = "" if policy.floor_on == "point" else " (CI bound)"
    out = []
    for c in check_thresholds(report.overall, policy.floors, policy.floor_on):
        op = ">=" if c.direction == "min" else "<="
        verb = "meets" if c.passed else "misses"
        out.append(
            Reason(
                "floor",
                c.passed,
                f"{c.metric}{what} {c.value:.3f} {verb} floor {op} {c.threshold:.3f}",
                {"metric": c.metric, "value": c.value, "threshold": c.threshold},
            )
        )
    return out


def _slice_floor_reasons(policy: PromotionPolicy, report: GoldenReport) -> list[Reason]:
    floor = policy.slice_accuracy_floor
    if floor is None:
        return []
    out, judged = [], 0
    for s in report.slices[1:]:
        if s.n < policy.min_slice_size:
            continue
        judged += 1
        value = s.accuracy.point if policy.floor_on == "point" else s.accuracy.low
        if value < floor:
            out.append(
                Reason(
                    "slice_floor",
                    False,
                    f"slice {s.name} (n={s.n}): accuracy {value:.3f} below floor {floor:.3f}",
                    {"slice": s.name, "n": s.n, "value": value, "threshold": floor},
                )
            )
    if not out:
        out.append(
            Reason("slice_floor", True, f"all {judged} judged slices reach accuracy {floor:.3f}")
        )
    return out


def _slice_message(s: SliceComparison, correction: str) -> str:
    d = s.difference
    head = (
        f"slice {s.name} (n={s.n}): accuracy {s.challenger_accuracy:.3f} vs champion "
        f"{s.champion_accuracy:.3f}, diff {d.point:+.3f} CI [{d.low:+.3f}, {d.high:+.3f}]"
    )
    if s.test == "non_inferiority":
        verdict = "non-inferior" if s.passed else "non-inferiority NOT shown"
    else:
        verdict = "no harm shown" if s.passed else "significantly worse"
    return f"{head}; {verdict} at margin {s.margin:.3f} ({correction} p={s.p_adjusted:.3g})"


def _comparison_reasons(policy: PromotionPolicy, cmp: PairedComparison) -> list[Reason]:
    out = []
    f1 = cmp.macro_f1_difference
    ok = f1.low >= -policy.macro_f1_margin
    out.append(
        Reason(
            "macro_f1_non_inferiority",
            ok,
            f"macro-F1 difference {f1.point:+.3f} (CI [{f1.low:+.3f}, {f1.high:+.3f}]) "
            f"{'within' if ok else 'beyond'} margin -{policy.macro_f1_margin:.3f}",
            {"point": f1.point, "low": f1.low, "high": f1.high, "margin": policy.macro_f1_margin},
        )
    )
    o = cmp.overall
    out.append(
        Reason(
            "accuracy_non_inferiority",
            bool(o.passed),
            _slice_message(o, "unadjusted"),
            {
                "diff": o.difference.point,
                "low": o.difference.low,
                "margin": o.margin,
                "p_value": o.p_value,
            },
        )
    )
    mc = cmp.mcnemar
    loss = mc.champion_only > mc.challenger_only and mc.p_value < policy.alpha
    out.append(
        Reason(
            "mcnemar",
            not (loss and policy.block_on_mcnemar_loss),
            f"McNemar p={mc.p_value:.3g}: champion-only correct {mc.champion_only}, "
            f"challenger-only correct {mc.challenger_only}"
            + (" - significant accuracy loss" if loss else ""),
            {
                "p_value": mc.p_value,
                "champion_only": mc.champion_only,
                "challenger_only": mc.challenger_only,
            },
        )
    )
    for s in cmp.slices:
        if s.tested:
            out.append(
                Reason(
                    f"slice_{s.test}",
                    bool(s.passed),
                    _slice_message(s, cmp.correction),
                    {
                        "slice": s.name,
                        "n": s.n,
                        "diff": s.difference.point,
                        "low": s.difference.low,
                        "high": s.difference.high,
                        "margin": s.margin,
                        "p_adjusted": s.p_adjusted,
                    },
                )
            )
    skipped = [s.name for s in cmp.slices if not s.tested]
    if skipped:
        out.append(
            Reason(
                "slice_size",
                True,
                f"not judged (n < {policy.min_slice_size}): {', '.join(skipped)}",
                {"skipped": skipped},
            )
        )
    return out


def _estimate_reasons(
    policy: PromotionPolicy, report: GoldenReport, rf: ReferenceFreeReport | None
) -> list[Reason]:
    allowed = policy.max_estimated_accuracy_drop
    if allowed is None:
        return []
    if rf is None or rf.estimated_accuracy is None:
        return [
            Reason(
                "estimated_accuracy", True, "estimated-accuracy rule skipped: no traffic estimate"
            )
        ]
    est = rf.estimated_accuracy.accuracy.point
    if rf.champion_estimated_accuracy is not None:
        ref, ref_name = rf.champion_estimated_accuracy.accuracy.point, "champion's estimate"
    else:
        ref, ref_name = report.overall.accuracy.point, "candidate's golden accuracy"
    drop = ref - est
    ok = drop <= allowed
    return [
        Reason(
            "estimated_accuracy",
            ok,
            f"label-free estimated accuracy on traffic {est:.3f} ({rf.estimated_accuracy.method}) "
            f"is {abs(drop):.3f} {'below' if drop > 0 else 'above'} the {ref_name} {ref:.3f}; "
            f"allowed drop {allowed:.3f}",
            {
                "estimate": est,
                "reference": ref,
                "drop": drop,
                "allowed": allowed,
                "error_margin": rf.estimated_accuracy.error_margin,
            },
        )
    ]


def _unchanged_reasons(policy: PromotionPolicy, paired: PairedEvidence) -> list[Reason]:
    n = len(paired.y_true)
    differ = sum(
        a != b for a, b in zip(paired.champion.labels, paired.challenger.labels, strict=True)
    )
    if differ or not policy.block_unchanged:
        message = f"challenger answers differently from the champion on {differ} of {n} rows"
        return [Reason(NO_CHANGE, True, message, {"disagreements": differ, "n": n})]
    message = (
        f"no change: the challenger answers exactly as the champion on all {n} golden rows; "
        "not registered as a new champion"
    )
    return [Reason(NO_CHANGE, False, message, {"disagreements": 0, "n": n})]


def _baseline_reasons(
    policy: PromotionPolicy, candidate: GoldenReport, baseline: GoldenReport | None
) -> list[Reason]:
    if baseline is None:
        return []
    ours, base = candidate.overall.macro_f1, baseline.overall.macro_f1
    below = ours.point < base.low
    details = {"macro_f1": ours.point, "baseline": base.point, "baseline_low": base.low}
    if below and policy.block_below_baseline:
        message = (
            f"macro-F1 {ours.point:.3f} is below the TF-IDF+LR baseline's "
            f"{base.point:.3f} [{base.low:.3f}, {base.high:.3f}] on the same golden rows"
        )
        return [Reason("baseline", False, message, details)]
    relation = "below" if below else "within or above"
    message = (
        f"macro-F1 {ours.point:.3f} vs TF-IDF+LR baseline {base.point:.3f} "
        f"[{base.low:.3f}, {base.high:.3f}]: {relation} its interval"
        + ("" if policy.block_below_baseline else " (reported, not blocking)")
    )
    return [Reason("baseline", True, message, details)]


def _cost_reasons(policy: PromotionPolicy, cost: CostEvidence | None) -> list[Reason]:
    budget = policy.max_cost_units_per_1k
    if budget is None:
        if cost is None:
            return []
        message = f"cost {cost.cost_units_per_1k:.3g} units/1k ({cost.source}); no budget set"
        return [Reason("cost", True, message, {"value": cost.cost_units_per_1k})]
    if cost is None:
        return [Reason("cost", True, "cost rule skipped: no cost evidence yet")]
    ok = cost.cost_units_per_1k <= budget
    return [
        Reason(
            "cost",
            ok,
            f"cost {cost.cost_units_per_1k:.3g} units/1k ({cost.source}) vs budget {budget:.3g}",
            {"value": cost.cost_units_per_1k, "budget": budget},
        )
    ]


def decide(
    policy: PromotionPolicy,
    candidate: GoldenReport,
    *,
    paired: PairedEvidence | None = None,
    reference_free: ReferenceFreeReport | None = None,
    cost: CostEvidence | None = None,
    baseline: GoldenReport | None = None,
) -> PromotionVerdict:
    """Apply the policy to the evidence.

    Args:
        policy: The rules.
        candidate: The challenger's golden report.
        paired: Champion and challenger predictions on the golden rows; None when there is
            no champion yet (absolute floors only). `decide` runs the paired comparison
            itself, with this policy's margins and correction, so a comparison computed
            with other settings cannot reach the verdict.
        reference_free: The challenger's reference-free report on recent traffic.
        cost: Measured cost, when the cost stage has run.
        baseline: The TF-IDF+LR baseline's golden report (same training split, same rows):
            the challenger must not fall below its interval.
    """
    reasons = _floor_reasons(policy, candidate) + _slice_floor_reasons(policy, candidate)
    comparison = None
    if paired is None:
        reasons.append(Reason("champion", True, "no champion: judged on absolute floors only"))
    else:
        if paired.challenger.model_id != candidate.model_id:
            raise ValueError(
                f"paired evidence is for {paired.challenger.model_id}, "
                f"report for {candidate.model_id}"
            )
        comparison = policy.compare(
            list(paired.y_true), paired.champion, paired.challenger, paired.slices
        )
        reasons += _comparison_reasons(policy, comparison)
        reasons += _unchanged_reasons(policy, paired)
    reasons += _baseline_reasons(policy, candidate, baseline)
    reasons += _estimate_reasons(policy, candidate, reference_free)
    reasons += _cost_reasons(policy, cost)
    return PromotionVerdict(all(r.passed for r in reasons), reasons, comparison)
