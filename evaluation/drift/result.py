"""Results of a drift check: plain dataclasses with a JSON-safe summary for sensors."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

DriftVerdict = Literal["drift", "no_drift", "insufficient_data"]
# Signals on the inputs themselves; the prediction family says prior shift or confidence.
COVARIATE_SIGNALS = ("text", "descriptors", "embedding")


def _opt(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True)
class SignalResult:
    """One drift signal.

    Attributes:
        name: "text" | "descriptors" | "embedding" | "prediction".
        score: the signal's effect size: domain-classifier ROC AUC (text, embedding; 0.5 =
            indistinguishable), largest KS statistic over descriptors, or max(class-mix total
            variation distance, confidence KS statistic) for predictions.
        p_value: the signal's p-value (Bonferroni-adjusted inside a family of tests).
        alpha: the significance level it was judged at.
        drifted: significant (p_value < alpha) *and* the effect at least `effect_floor`:
            with enough rows any tiny difference is significant; only one that matters
            counts (DriftConfig.effect_floors).
        method: how it was tested (for people reading the summary).
        details: per-test numbers (per-descriptor p-values, critical AUC, ...).
        effect_low, effect_high: 95% interval of `score` (see evaluation.drift.stats).
        effect_floor: the practical floor `score` was held to (None: significance alone).
    """

    name: str
    score: float
    p_value: float
    alpha: float
    drifted: bool
    method: str
    details: dict[str, float] = field(default_factory=dict)
    effect_low: float | None = None
    effect_high: float | None = None
    effect_floor: float | None = None

    @property
    def significant(self) -> bool:
        return self.p_value < self.alpha

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "score": self.score,
            "p_value": self.p_value,
            "alpha": self.alpha,
            "significant": self.significant,
            "effect_low": self.effect_low,
            "effect_high": self.effect_high,
            "effect_floor": self.effect_floor,
            "drifted": self.drifted,
            "method": self.method,
            "details": dict(self.details),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SignalResult":
        return cls(
            name=str(data["name"]),
            score=float(data["score"]),
            p_value=float(data["p_value"]),
            alpha=float(data["alpha"]),
            drifted=bool(data["drifted"]),
            method=str(data["method"]),
            details={str(k): float(v) for k, v in data["details"].items()},
            effect_low=_opt(data.get("effect_low")),
            effect_high=_opt(data.get("effect_high")),
            effect_floor=_opt(data.get("effect_floor")),
        )


@dataclass(frozen=True)
class DriftResult:
    """The outcome of one drift check.

    Attributes:
        verdict: "drift", "no_drift" or "insufficient_data" (too few rows to say anything;
            never read it as "no drift").
        n_reference: rows offered on the reference side.
        n_current: rows offered on the current side.
        n_compared: rows per side actually compared (equal-size subsamples); 0 when
            insufficient.
        signals: the computed signals by name.
        skipped: signals not computed, with the reason (no embed function, no predictions).
        min_drifted_signals: how many drifted signals make a "drift" verdict.
        fp_bound: upper bound on the false-positive rate of the verdict on same-distribution
            data: sum of the computed signals' alphas / min_drifted_signals (union and Markov
            bounds; valid whatever the dependence between signals). None when insufficient.
        config: the DriftConfig used, as a dict.
        report: the Evidently snapshot behind the numbers (not serialised).
    """

    verdict: DriftVerdict
    n_reference: int
    n_current: int
    n_compared: int
    signals: dict[str, SignalResult]
    skipped: dict[str, str]
    min_drifted_signals: int
    fp_bound: float | None
    config: dict[str, Any]
    report: Any = field(default=None, repr=False, compare=False)

    @property
    def drifted(self) -> bool:
        return self.verdict == "drift"

    @property
    def drifted_signals(self) -> list[str]:
        return [name for name, sig in self.signals.items() if sig.drifted]

    @property
    def shift(self) -> dict[str, list[str]]:
        """What moved, by kind, so a retrain reason is specific.

        covariate: input signals that drifted (text, descriptors, embedding); prior: the
        predicted class mix and/or the true label mix (a labelled batch); confidence: the
        model's confidence distribution.
        """
        covariate = [n for n in COVARIATE_SIGNALS if n in self.signals and self.signals[n].drifted]
        prior: list[str] = []
        confidence: list[str] = []
        pred = self.signals.get("prediction")
        if pred is not None and pred.drifted:
            prior = [p for p in ("class_mix", "label_mix") if pred.details.get(f"{p}_drifted")]
            confidence = ["confidence"] if pred.details.get("confidence_drifted") else []
        return {"covariate": covariate, "prior": prior, "confidence": confidence}

    @property
    def shift_reason(self) -> str:
        """The shift in words, e.g. "covariate shift (text, embedding); prior shift (class_mix)"."""
        parts = [
            f"{kind} shift ({', '.join(names)})" for kind, names in self.shift.items() if names
        ]
        return "; ".join(parts) or "no shift"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary (what sensors and decision records read)."""
        return {
            "verdict": self.verdict,
            "drifted": self.drifted,
            "drifted_signals": self.drifted_signals,
            "shift": self.shift,
            "shift_reason": self.shift_reason,
            "n_reference": self.n_reference,
            "n_current": self.n_current,
            "n_compared": self.n_compared,
            "signals": {name: sig.to_dict() for name, sig in self.signals.items()},
            "skipped": dict(self.skipped),
            "min_drifted_signals": self.min_drifted_signals,
            "fp_bound": self.fp_bound,
            "config": dict(self.config),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "DriftResult":
        """Inverse of `to_dict` (without the Evidently report)."""
        verdict = data["verdict"]
        if verdict not in ("drift", "no_drift", "insufficient_data"):
            raise ValueError(f"unknown verdict {verdict!r}")
        fp_bound = data["fp_bound"]
        return cls(
            verdict=verdict,
            n_reference=int(data["n_reference"]),
            n_current=int(data["n_current"]),
            n_compared=int(data["n_compared"]),
            signals={k: SignalResult.from_dict(v) for k, v in data["signals"].items()},
            skipped={str(k): str(v) for k, v in data["skipped"].items()},
            min_drifted_signals=int(data["min_drifted_signals"]),
            fp_bound=None if fp_bound is None else float(fp_bound),
            config=dict(data["config"]),
        )

    def save_html(self, path: Path) -> Path:
        """Write the self-contained Evidently HTML report to `path` and return the path.

        Raises:
            ValueError: there is no report (insufficient data, or a result read back from
                its JSON summary).
        """
        if self.report is None:
            raise ValueError(f"no Evidently report to save (verdict {self.verdict})")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.report.save_html(str(path))
        return path
