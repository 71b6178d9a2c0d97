"""Per-arm live evidence of one rollout stage, from the serving logs (pure pandas).

Inputs are the prediction log and the feedback log as the service writes them
(ARCHITECTURE.md, "Prediction log record"): one record per text, `request_id` =
`<request>-<index>`, `arm` in {champion, challenger, shadow}, `latency_ms` per request,
`error` on a failed request's record. While a rollout runs the service logs every request
of both arms (sampling weight 1), so these are counts, not estimates.

Units: errors, slowness and traffic are counted per request; labels, confidence and
correctness per text. In the shadow stage every text is scored by both models, so the
comparisons are paired: only discordant pairs (one model unsure / slow / wrong, the other
not) carry information about which is worse.
"""

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

ARMS = ("champion", "challenger")


@dataclass(frozen=True)
class Thresholds:
    """What "slow" and "unsure" mean, fixed from the champion's traffic early in the rollout."""

    slow_ms: float
    unsure_below: float


@dataclass(frozen=True)
class ArmEvidence:
    requests: int = 0
    texts: int = 0
    errors: int = 0
    slow: int = 0
    unsure: int = 0
    labelled: int = 0
    wrong: int = 0
    latency_p95_ms: float | None = None
    mean_confidence: float | None = None
    last_seen: float | None = None


@dataclass(frozen=True)
class PairedEvidence:
    """Shadow traffic: the champion answered, the challenger scored the same texts."""

    pairs: int = 0
    disagree: int = 0
    shadow_texts: int = 0
    shadow_errors: int = 0
    unsure: tuple[int, int] = (0, 0)  # (champion only, challenger only)
    slow: tuple[int, int] = (0, 0)  # per request
    wrong: tuple[int, int] = (0, 0)  # on texts with feedback
    labelled: int = 0


@dataclass(frozen=True)
class StageEvidence:
    champion: ArmEvidence = field(default_factory=ArmEvidence)
    challenger: ArmEvidence = field(default_factory=ArmEvidence)
    paired: PairedEvidence = field(default_factory=PairedEvidence)
    newest_timestamp: float | None = None
    foreign_records: int = 0  # records of versions outside this rollout (stale arms)

    def to_dict(self) -> dict:
        return asdict(self)


def _request_root(ids: pd.Series) -> pd.Series:
    return ids.astype(str).str.rsplit("-", n=1).str[0]


def _col(frame: pd.DataFrame, name: str, default: object = None) -> pd.Series:
    if name in frame.columns:
        return frame[name]
    return pd.Series([default] * len(frame), index=frame.index, dtype=object)


def _prepare(
    predictions: pd.DataFrame, since: float, routing: tuple[str, float] | None = None
) -> pd.DataFrame:
    """Records stamped at or after `since`; with `routing`, only those routed under that
    (mode, weight) - records without the fields (older services) are kept."""
    if predictions.empty or "timestamp" not in predictions.columns:
        return pd.DataFrame(columns=["timestamp", "request_id", "arm", "model_version"])
    frame = predictions[pd.to_numeric(predictions["timestamp"], errors="coerce") >= since].copy()
    if routing is not None and {"routing_mode", "routing_weight"} <= set(frame.columns):
        mode, weight = routing
        unknown = frame["routing_mode"].isna()
        same = (frame["routing_mode"] == mode) & np.isclose(
            pd.to_numeric(frame["routing_weight"], errors="coerce").fillna(-1.0), weight
        )
        frame = frame[unknown | same]
    frame["model_version"] = _col(frame, "model_version").astype(str)
    frame["error"] = _col(frame, "error").where(_col(frame, "error").notna(), None)
    frame["confidence"] = pd.to_numeric(_col(frame, "confidence"), errors="coerce")
    frame["latency_ms"] = pd.to_numeric(_col(frame, "latency_ms"), errors="coerce")
    frame["root"] = _request_root(frame["request_id"])
    return frame


def one_label_per_prediction(feedback: pd.DataFrame) -> pd.DataFrame:
    """The first feedback record of each prediction. The service accepts one label per
    prediction (a repeat is not logged, a contradiction is refused with 409); logs written
    before that rule, or a replayed file, may still hold repeats - they never count twice."""
    if feedback.empty or "request_id" not in feedback.columns:
        return feedback
    return feedback.drop_duplicates("request_id", keep="first")


def _feedback_labels(feedback: pd.DataFrame, since: float) -> pd.Series:
    """request_id -> true label (one per prediction: the first)."""
    if feedback.empty or not {"request_id", "label"} <= set(feedback.columns):
        return pd.Series(dtype=object)
    fb = feedback
    if "timestamp" in fb.columns:
        fb = fb[pd.to_numeric(fb["timestamp"], errors="coerce") >= since]
    return one_label_per_prediction(fb).set_index("request_id")["label"]


def _arm(rows: pd.DataFrame, truth: pd.Series, thresholds: Thresholds | None) -> ArmEvidence:
    if rows.empty:
        return ArmEvidence()
    ok = rows[rows["error"].isna()]
    # vectorised "any error in the request" (a lambda per group costs a tick seconds)
    per_request = (
        rows.assign(failed=rows["error"].notna())
        .groupby("root")
        .agg(latency=("latency_ms", "max"), failed=("failed", "any"))
    )
    joined = ok["request_id"].map(truth)
    has_label = joined.notna()
    latency = per_request["latency"].dropna()
    return ArmEvidence(
        requests=len(per_request),
        texts=len(ok),
        errors=int(per_request["failed"].sum()),
        slow=int((latency > thresholds.slow_ms).sum()) if thresholds else 0,
        unsure=int((ok["confidence"] < thresholds.unsure_below).sum()) if thresholds else 0,
        labelled=int(has_label.sum()),
        wrong=int((ok.loc[has_label, "label"] != joined[has_label]).sum()),
        latency_p95_ms=float(np.percentile(latency, 95)) if len(latency) else None,
        mean_confidence=float(ok["confidence"].mean()) if len(ok) else None,
        last_seen=float(rows["timestamp"].max()),
    )


def _paired(
    champion: pd.DataFrame, shadow: pd.DataFrame, truth: pd.Series, thresholds: Thresholds | None
) -> PairedEvidence:
    if shadow.empty:
        return PairedEvidence()
    good_shadow = shadow[shadow["error"].isna()]
    both = champion[champion["error"].isna()].merge(
        good_shadow, on="request_id", suffixes=("_c", "_s")
    )

    def discordant(bad_c: pd.Series, bad_s: pd.Series) -> tuple[int, int]:
        return int((bad_c & ~bad_s).sum()), int((~bad_c & bad_s).sum())

    unsure = slow = (0, 0)
    if thresholds is not None:
        unsure = discordant(
            both["confidence_c"] < thresholds.unsure_below,
            both["confidence_s"] < thresholds.unsure_below,
        )
        per_request = both.groupby("root_c").agg(
            c=("latency_ms_c", "max"), s=("latency_ms_s", "max")
        )
        slow = discordant(
            per_request["c"] > thresholds.slow_ms, per_request["s"] > thresholds.slow_ms
        )
    label = both["request_id"].map(truth)
    has = label.notna()
    wrong = discordant(
        both.loc[has, "label_c"] != label[has], both.loc[has, "label_s"] != label[has]
    )
    return PairedEvidence(
        pairs=len(both),
        disagree=int((both["label_c"] != both["label_s"]).sum()),
        shadow_texts=len(shadow),
        shadow_errors=int(shadow["error"].notna().sum()),
        unsure=unsure,
        slow=slow,
        wrong=wrong,
        labelled=int(has.sum()),
    )


def collect(
    predictions: pd.DataFrame,
    feedback: pd.DataFrame,
    since: float,
    champion_version: str,
    challenger_version: str,
    thresholds: Thresholds | None,
    routing: tuple[str, float] | None = None,
) -> StageEvidence:
    """The evidence of records stamped at or after `since` for this champion/challenger pair
    (and, given `routing`, routed under the stage's split)."""
    frame = _prepare(predictions, since, routing)
    truth = _feedback_labels(feedback, since)
    arm, version = frame.get("arm", pd.Series(dtype=object)), frame["model_version"]
    champion = frame[(arm == "champion") & (version == champion_version)]
    challenger = frame[(arm == "challenger") & (version == challenger_version)]
    shadow = frame[(arm == "shadow") & (version == challenger_version)]
    mine = len(champion) + len(challenger) + len(shadow)
    return StageEvidence(
        champion=_arm(champion, truth, thresholds),
        challenger=_arm(challenger, truth, thresholds),
        paired=_paired(champion, shadow, truth, thresholds),
        newest_timestamp=float(frame["timestamp"].max()) if len(frame) else None,
        foreign_records=len(frame) - mine,
    )


def champion_thresholds(
    predictions: pd.DataFrame,
    since: float,
    champion_version: str,
    slow_quantile: float,
    unsure_quantile: float,
    min_requests: int = 100,
) -> Thresholds | None:
    """The champion's latency and confidence quantiles on rollout traffic (all logged), once
    it has served `min_requests`; None before that."""
    frame = _prepare(predictions, since)
    if frame.empty:
        return None
    rows = frame[(frame["arm"] == "champion") & (frame["model_version"] == champion_version)]
    rows = rows[rows["error"].isna()]
    latency = rows.groupby("root")["latency_ms"].max().dropna()
    if len(latency) < min_requests:
        return None
    return Thresholds(
        slow_ms=float(np.quantile(latency, slow_quantile)),
        unsure_below=float(np.quantile(rows["confidence"].dropna(), unsure_quantile)),
    )
